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
    assert literature.best_other_plain_rnn("musedata") == (6.97, "Pascanu et al.'s RNN")
    assert literature.best_other_plain_rnn("piano-midi") == (7.46, "Pascanu et al.'s RNN")


def test_an_unknown_set_names_the_known_ones():
    with pytest.raises(ValueError, match="no published plain RNN on 'fsdd'.*nottingham"):
        literature.best_other_plain_rnn("fsdd")


def test_every_source_says_whether_it_was_checked_against_the_original():
    cited = set(literature.PLAIN_RNN) | {"Bai et al. 2018"}
    assert set(literature.SOURCES) == cited
    for how in literature.SOURCES.values():
        assert how.startswith(("checked against Table 1 of", "quoted from later papers"))


def test_the_arxiv_version_of_pascanu_et_al_differs_only_where_its_run_did():
    """The proceedings' MSGD+CR beats arXiv v2's SGD+CR on Nottingham and MuseData and ties
    on Piano-midi.de: the floor uses the proceedings, the version the book cites."""
    proceedings = literature.PLAIN_RNN["Pascanu et al. 2013"]
    v2 = literature.PASCANU2013_ARXIV_V2
    assert set(v2) == set(proceedings)
    assert all(proceedings[d] <= v2[d] for d in v2)
    assert proceedings["piano-midi"] == v2["piano-midi"]
