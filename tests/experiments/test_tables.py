import pytest

from gru_lib.experiments.tables import markdown_table


def test_markdown_table_lines_and_alignment():
    text = markdown_table(["model", "NLL"], [["GRU", 8.44], ["minGRU", "8.57"]])
    assert text.splitlines() == ["| model | NLL |", "| :-- | --: |", "| GRU | 8.44 |",
                                 "| minGRU | 8.57 |"]
    assert markdown_table(["a", "b"], [], align="cc").splitlines()[1] == "| :-: | :-: |"


def test_markdown_table_takes_alignment_as_a_sequence_of_letters():
    as_text = markdown_table(["a", "b", "c"], [[1, 2, 3]], align="lcr")
    assert markdown_table(["a", "b", "c"], [[1, 2, 3]], align=["l", "c", "r"]) == as_text
    assert markdown_table(["a", "b"], [], align=("r", "l")).splitlines()[1] == "| --: | :-- |"


@pytest.mark.parametrize("header, rows, align, match", [
    (["a", "b"], [[1]], None, r"rows\[0\] has 1 cells, the header 2"),
    (["a", "b"], [[1, 2]], "l", "one of l, r, c per column"),
    (["a", "b"], [[1, 2]], "lx", "one of l, r, c per column"),
    (["a", "b"], [[1, 2]], ["l"], "one of l, r, c per column"),
    (["a", "b"], [[1, 2]], ["lr", "r"], "one of l, r, c per column"),
])
def test_markdown_table_rejects_mismatched_rows_and_alignment(header, rows, align, match):
    with pytest.raises(ValueError, match=match):
        markdown_table(header, rows, align)


def test_a_bar_or_newline_in_a_cell_does_not_break_the_table():
    text = markdown_table(["a|b", "c"], [["two\nlines", "1|2"]])
    assert text.splitlines() == ["| a\\|b | c |", "| :-- | --: |", "| two lines | 1\\|2 |"]


@pytest.mark.parametrize("header, rows, align, error, match", [
    (["a"], [], "", ValueError, r"one of l, r, c per column \(1\), got ''"),    # was the default
    (["a"], [], [], ValueError, r"one of l, r, c per column \(1\), got \[\]"),
    ([], [], None, ValueError, "header is empty"),                               # was "got None"
    (["a"], [5], None, TypeError, r"rows\[0\] must be a list of cells, got int 5"),
    (["a", "b"], [["x", "y"], "xy"], None, TypeError, r"rows\[1\] must be a list of cells"),
])
def test_markdown_table_refuses_empty_alignment_header_and_non_rows(header, rows, align, error,
                                                                    match):
    with pytest.raises(error, match=match):
        markdown_table(header, rows, align)
