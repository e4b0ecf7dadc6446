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


def markdown_table(header: list, rows: list, align: str | Sequence[str] | None = None) -> str:
    """A Markdown table; ``align`` one letter per column (l, r, c), as a string ("lrr") or a
    sequence of letters (["l", "r", "r"]); default "l" then "r"s."""
    letters = list(align or "l" + "r" * (len(header) - 1))
    if len(letters) != len(header) or any(a not in RULES for a in letters):
        raise ValueError(f"align must give one of l, r, c per column ({len(header)}), "
                         f"got {align!r}")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"rows[{i}] has {len(row)} cells, the header {len(header)}")
    lines = [header, [RULES[a] for a in letters], *rows]
    return "\n".join("| " + " | ".join(map(str, line)) + " |" for line in lines)
