"""Markdown tables, which the book renders (and a terminal still reads), from rows of cells.

    >>> print(markdown_table(["model", "test NLL"], [["GRU", "8.44"], ["minGRU", "8.57"]]))
    | model | test NLL |
    | :-- | --: |
    | GRU | 8.44 |
    | minGRU | 8.57 |
"""
from __future__ import annotations

from collections.abc import Sequence

__all__ = ["markdown_table"]

RULES = {"l": ":--", "r": "--:", "c": ":-:"}


def _is_cells(value) -> bool:
    """A list, tuple, numpy array, ... of cells (a string is one cell, not a row of them)."""
    return (not isinstance(value, (str, bytes, dict)) and hasattr(value, "__len__")
            and hasattr(value, "__iter__"))


def _cell(value) -> str:
    """One cell's text: a "|" would end the cell and a newline the row, breaking the table, so
    "|" is escaped and line breaks become spaces."""
    return " ".join(str(value).replace("|", "\\|").splitlines())


def markdown_table(header: list, rows: list, align: str | Sequence[str] | None = None) -> str:
    """A Markdown table; ``align`` one letter per column (l, r, c), as a string ("lrr") or a
    sequence of letters (["l", "r", "r"]); default (None) "l" then "r"s. A "|" in a cell is
    escaped and a newline becomes a space."""
    if not _is_cells(header):
        raise TypeError(f"header must be a list of column names, got {type(header).__name__}")
    if len(header) == 0:
        raise ValueError("header is empty: give at least one column name")
    # Only None means the default: an empty "" or [] is a mistake, not "no preference".
    letters = list("l" + "r" * (len(header) - 1) if align is None else align)
    if len(letters) != len(header) or any(a not in RULES for a in letters):
        raise ValueError(f"align must give one of l, r, c per column ({len(header)}), "
                         f"got {align!r}")
    if isinstance(rows, (str, bytes, dict)) or not hasattr(rows, "__iter__"):
        raise TypeError(f"rows must be a list of rows, got {type(rows).__name__}")
    rows = list(rows)
    for i, row in enumerate(rows):
        if not _is_cells(row):
            raise TypeError(f"rows[{i}] must be a list of cells, got {type(row).__name__} "
                            f"{row!r}")
        if len(row) != len(header):
            raise ValueError(f"rows[{i}] has {len(row)} cells, the header {len(header)}")
    lines = [[_cell(h) for h in header], [RULES[a] for a in letters],
             *([_cell(c) for c in row] for row in rows)]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)
