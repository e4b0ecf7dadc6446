import pytest

from gru_lib.experiments.tables import markdown_table


def test_markdown_table_lines_and_alignment():
    text = markdown_table(["model", "NLL"], [["GRU", 8.44], ["minGRU", "8.57"]])
    assert text.splitlines() == ["| model | NLL |", "| :-- | --: |", "| GRU | 8.44 |",
                                 "| minGRU | 8.57 |"]
    assert markdown_table(["a", "b"], [], align="cc").splitlines()[1] == "| :-: | :-: |"


@pytest.mark.parametrize("header, rows, align, match", [
    (["a", "b"], [[1]], None, r"rows\[0\] has 1 cells, the header 2"),
    (["a", "b"], [[1, 2]], "l", "one of l, r, c per column"),
    (["a", "b"], [[1, 2]], "lx", "one of l, r, c per column"),
])
def test_markdown_table_rejects_mismatched_rows_and_alignment(header, rows, align, match):
    with pytest.raises(ValueError, match=match):
        markdown_table(header, rows, align)
