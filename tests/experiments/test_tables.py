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
