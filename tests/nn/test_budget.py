"""Tests of gru_lib.nn.budget: Table 1, derived: parameter counts and matched sizes."""
import pytest

from gru_lib.nn.budget import (PAPER_PARAMS, PAPER_UNITS, count_parameters, formula_parameters,
                               matched_units, paper_units, units_for_budget)


def test_speech_counts_are_exactly_the_papers():
    """Recurrent layer only, input 20, one bias per gate, three peepholes for the LSTM."""
    assert count_parameters("lstm", 20, 195) == 169_065
    assert count_parameters("gru", 20, 227) == 168_888
    assert count_parameters("tanh", 20, 400) == 168_400
    for kind, units in PAPER_UNITS["speech"].items():
        assert count_parameters(kind, 20, units) == PAPER_PARAMS["speech"][kind]


def test_music_counts_fit_only_approximately():
    """With D = 100 the counts land within 0.5% of the rounded Table 1 figures; with the
    real 88-key input they do not -- which D the authors counted cannot be pinned down."""
    near = {k: count_parameters(k, 100, h) for k, h in PAPER_UNITS["music"].items()}
    assert near == {"tanh": 20_100, "gru": 20_286, "lstm": 19_836}
    for kind, count in near.items():
        assert abs(count - PAPER_PARAMS["music"][kind]) / PAPER_PARAMS["music"][kind] < 0.005
    at_88 = {k: count_parameters(k, 88, h) for k, h in PAPER_UNITS["music"].items()}
    assert at_88 == {"tanh": 18_900, "gru": 18_630, "lstm": 18_108}


@pytest.mark.parametrize("kind", ["tanh", "gru", "lstm"])
@pytest.mark.parametrize("D,H", [(20, 195), (88, 46), (1, 1), (7, 13)])
def test_formula_agrees_with_built_cells(kind, D, H):
    assert formula_parameters(kind, D, H) == count_parameters(kind, D, H)


def test_gate_switches_change_the_count():
    full = count_parameters("lstm", 20, 10)
    assert count_parameters("lstm", 20, 10, peepholes=False) == full - 3 * 10
    assert count_parameters("lstm", 20, 10, coupled=True) == full - (10 * 20 + 10 * 10 + 10) - 10
    assert count_parameters("gru", 20, 10, variant="torch") == count_parameters("gru", 20, 10) + 10


def test_units_for_budget_finds_the_papers_sizes():
    for kind, units in PAPER_UNITS["speech"].items():
        assert units_for_budget(kind, PAPER_PARAMS["speech"][kind], 20) == units
    assert paper_units("music") == {"tanh": 100, "gru": 46, "lstm": 36}


def test_matched_units_are_closest_to_the_budget():
    units = matched_units(20_000, 88)
    for kind, h in units.items():
        here = abs(count_parameters(kind, 88, h) - 20_000)
        assert here <= abs(count_parameters(kind, 88, h - 1) - 20_000)
        assert here <= abs(count_parameters(kind, 88, h + 1) - 20_000)
    assert units == {"tanh": 104, "gru": 48, "lstm": 39}
    assert units_for_budget("tanh", 1, 88) == 1


@pytest.mark.parametrize("call,message", [
    (lambda: units_for_budget("gru", 0, 20), "budget must be a positive number"),
    (lambda: units_for_budget("elman", 100, 20), "kind must be one of"),
    (lambda: formula_parameters("elman", 100, 20), "kind must be one of"),
    (lambda: paper_units("video"), "task must be one of music, speech"),
])
def test_bad_budget_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
