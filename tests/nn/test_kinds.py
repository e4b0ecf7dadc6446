"""Tests of gru_lib.nn.kinds: every cell by name, and model names "kind" / "kind-L"."""
import pytest

from gru_lib.nn.kinds import ALL_KINDS, MINIMAL_KINDS, make_cell, model_label, model_name
from gru_lib.paper import KINDS


def test_the_kinds():
    assert KINDS == ("tanh", "gru", "lstm")                     # the paper's stay the paper's
    assert MINIMAL_KINDS == ("mingru", "minlstm") and ALL_KINDS == KINDS + MINIMAL_KINDS
    assert [make_cell(k, 3, 2).kind for k in ALL_KINDS] == list(ALL_KINDS)


@pytest.mark.parametrize("name,parsed", [("gru", ("gru", 1)), ("mingru-2", ("mingru", 2)),
                                         ("minlstm-3", ("minlstm", 3)), ("lstm-1", ("lstm", 1))])
def test_model_names(name, parsed):
    assert model_name(name) == parsed
    assert model_name(model_label(*parsed)) == parsed


@pytest.mark.parametrize("name", ["", "gru-", "gru-0", "gru-9", "gru-2-2", "GRU", "mingru-two", 3])
def test_bad_model_names_say_what_a_name_is(name):
    with pytest.raises(ValueError, match=r"a model is a kind \(tanh, gru, lstm, mingru, minlstm\)"):
        model_name(name)


@pytest.mark.parametrize("kind", [["gru"], None, 3])
def test_make_cell_with_a_kind_that_is_not_a_name(kind):
    with pytest.raises(ValueError, match="kind must be one of tanh, gru"):
        make_cell(kind, 3, 4)                   # ["gru"] was "unhashable type: 'list'"


def test_layer_count_has_the_bound_of_model_names():
    from gru_lib.nn.kinds import MAX_LAYERS, layer_count
    assert layer_count(MAX_LAYERS) == MAX_LAYERS
    for bad in (0, MAX_LAYERS + 1, 100, 2.0, True):
        with pytest.raises(ValueError, match=f"layers must be a positive integer, at most {MAX_LAYERS}"):
            layer_count(bad)
