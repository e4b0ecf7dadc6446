"""A recipe study, read from the per-epoch records its runs leave behind.

A recipe variant is one ``reproduce`` run that changes one thing (``--set weight_noise=0``,
``--recurrent-init orthogonal``, ...). Each of its learning-rate candidates writes
MODEL/lrN/records.json: one record per epoch (epoch 0 is the untrained model). A variant is
compared with another by what early stopping would keep: the epoch of the lowest validation
NLL, either over the whole run or over its first ``upto`` epochs (so a 15-epoch probe and a run
to convergence can be read at the same epoch). The chapter on Table 2 builds its recipe table
from these two functions.

    >>> row = compare_candidates({0: records_lr0, 1: records_lr1}, upto=15)
    >>> row["candidate"], row["best"]["valid_nll"], row["best"]["train_nll"]
"""
from __future__ import annotations

import math


def best_record(records: list, upto: int | None = None) -> dict | None:
    """The record early stopping keeps: the lowest finite validation NLL among epochs 1..upto
    (all epochs if upto is None); None if there is none (no epoch trained yet, or all NaN)."""
    if upto is not None and (isinstance(upto, bool) or not isinstance(upto, int) or upto < 1):
        raise ValueError(f"upto: expected a positive number of epochs or None, got {upto!r}")
    trained = [r for r in records if r["epoch"] >= 1 and (upto is None or r["epoch"] <= upto)
               and r.get("valid_nll") is not None and math.isfinite(r["valid_nll"])]
    return min(trained, key=lambda r: r["valid_nll"], default=None)


def compare_candidates(records_by_candidate: dict, upto: int | None = None) -> dict | None:
    """The leading candidate of one variant: {"candidate", "lr", "epochs" (epochs it has
    trained, up to ``upto``), "best" (its best_record)}; None if no candidate has a record."""
    rows = []
    for candidate, records in records_by_candidate.items():
        best = best_record(records, upto)
        if best is not None:
            trained = max(r["epoch"] for r in records)
            rows.append({"candidate": candidate, "lr": best["lr"], "best": best,
                         "epochs": trained if upto is None else min(trained, upto)})
    return min(rows, key=lambda row: row["best"]["valid_nll"], default=None)
