"""Tests of gru_lib.literature: the other published numbers and the floor chosen from them."""
import pytest

from gru_lib import literature
from gru_lib.paper import TABLE2


def test_every_music_set_of_table2_has_a_floor_that_is_the_lowest_plain_rnn():
    for dataset in TABLE2:
        nll, whose = literature.best_other_plain_rnn(dataset)
        plain = [n[dataset] for n in literature.PLAIN_RNN.values() if dataset in n]
        bai = [v for k, v in literature.BAI2018.get(dataset, {}).items() if k != "TCN"]
        assert nll == min(plain + bai)
        assert whose.endswith("'s RNN") or whose.startswith("Bai et al.'s ")


def test_the_floor_names_its_source_and_leaves_out_the_tcn():
    """Bai et al.'s TCN (3.07 on Nottingham) is not a plain recurrent net."""
    assert literature.best_other_plain_rnn("nottingham") == (3.29, "Bai et al.'s LSTM")
    assert literature.best_other_plain_rnn("jsb") == (8.43, "Bai et al.'s GRU")
    assert literature.best_other_plain_rnn("musedata") == (6.99, "Pascanu et al.'s RNN")
    assert literature.best_other_plain_rnn("piano-midi") == (7.46, "Pascanu et al.'s RNN")


def test_an_unknown_set_names_the_known_ones():
    with pytest.raises(ValueError, match="no published plain RNN on 'fsdd'.*nottingham"):
        literature.best_other_plain_rnn("fsdd")
