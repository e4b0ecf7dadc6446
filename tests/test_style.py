"""gru_lib.style: the names and colours every figure and table shares."""
import pytest

from gru_lib.nn.kinds import ALL_KINDS
from gru_lib.style import COLOURS, NAMES, colour, display_name, kind_of


def test_every_kind_has_a_name_and_a_colour():
    assert set(NAMES) == set(COLOURS) == set(ALL_KINDS)


@pytest.mark.parametrize("name, shown", [
    ("gru", "GRU"), ("lstm", "LSTM"), ("tanh", "tanh-RNN"), ("mingru", "minGRU"),
    ("minlstm-3", "minLSTM-3"), ("mingru-2", "minGRU-2"), ("tanh-2", "tanh-RNN-2"),
    ("GRU", "GRU"), ("minGRU-2", "minGRU-2"), ("tanh-RNN", "tanh-RNN"),
    # not a model name: left as it is
    ("gru 46", "gru 46"), ("lr 1e-3", "lr 1e-3"), ("grux", "grux"), ("", ""), ("gru-", "gru-"),
])
def test_display_name(name, shown):
    assert display_name(name) == shown


@pytest.mark.parametrize("name, kind", [
    ("GRU 46 #2", "gru"), ("gru", "gru"), ("minGRU-2", "mingru"), ("tanh-RNN 99", "tanh"),
    ("LSTM 36 (no peepholes)", "lstm"), ("lr 1e-3", None), ("", None), (None, None),
    (46, None), ("gruish 3", None),
])
def test_kind_of_reads_the_first_word_either_way(name, kind):
    assert kind_of(name) == kind
    assert colour(name, "C7") == (COLOURS[kind] if kind else "C7")
