"""Tests of gru_lib.paper: the paper's numbers are defined there, once."""
from gru_lib import paper
from gru_lib.nn import budget


def test_the_papers_numbers_are_defined_once_in_gru_lib_paper():
    """budget re-exports Table 1 from gru_lib.paper; it keeps no copy of its own."""
    assert budget.PAPER_UNITS is paper.UNITS and budget.PAPER_PARAMS is paper.PARAMS
    assert budget.KINDS is paper.KINDS
    assert budget.TASK_INPUT_SIZE["speech"] == paper.SPEECH_READ
