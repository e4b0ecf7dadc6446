"""Parameter budgets: Table 1 of the paper, derived.

The paper compares units at (roughly) equal numbers of parameters, not equal numbers of
units. Counting one recurrent layer with D inputs and H units, with one bias per gate:

    tanh:  H·D + H² + H                      one block:  W, U, b
    GRU:   3 (H·D + H² + H)                  three:      update, reset, candidate
    LSTM:  4 (H·D + H² + H) + 3H             four blocks + three diagonal peepholes V_i, V_f, V_o

Speech (D = 20, the 20 samples read per step) reproduces the paper's counts EXACTLY:
    LSTM 195 -> 169,065    GRU 227 -> 168,888    tanh 400 -> 168,400

Music does not. The piano rolls are 93-108 wide, but the reported ≈19.8K / 20.2K / 20.1K
for LSTM 36 / GRU 46 / tanh 100 fit only approximately, and best with D ≈ 100 and the
recurrent layer alone (19,836 / 20,286 / 20,100). Adding the output layer (H·D + D) or
using the real widths moves every count away from the table, so which D and which layers
the authors counted cannot be pinned down; we use their unit counts and say so.

The paper's own numbers (Table 1's units and counts) live in ``gru_lib.paper``; they are
re-exported here as PAPER_UNITS and PAPER_PARAMS, the names the notebooks use.

The minimal units (nn/minimal.py) have no U, so a layer is linear in H, not quadratic:

    minGRU:   2 (H·D + H)                    two blocks: update, candidate
    minLSTM:  3 (H·D + H)                    three:      forget, input, candidate

and a stack of L layers of width H (nn/stack.py) counts the first layer at D inputs and the
other L − 1 at H inputs. Models outside Table 1 (the minimal units, any stack) get their units
the way Table 1's were chosen: the width whose recurrent layers come closest to the task's
budget, ``TASK_BUDGET`` (``task_units``), at the input width of ``TASK_INPUT_SIZE``.
"""
from __future__ import annotations

import torch

from .. import checks
from ..paper import KINDS, SPEECH_READ
from ..paper import PARAMS as PAPER_PARAMS  # Table 1, by task and kind
from ..paper import UNITS as PAPER_UNITS
from .cells import MAX_PARAMETERS
from .kinds import ALL_KINDS, MINIMAL_KINDS, layer_count, make_cell, model_name

__all__ = ["ALL_KINDS", "KINDS", "MINIMAL_KINDS", "PAPER_PARAMS", "PAPER_UNITS", "TASK_BUDGET",
           "TASK_INPUT_SIZE", "budget_table", "count_parameters", "formula_parameters",
           "matched_units", "paper_units", "task_units", "units_for_budget"]

# The input width each task's recurrent layer reads: the 88 piano keys (music/keys.py), the
# 20 samples of two speech frames. (nn/ sits below music/, so the 88 is written here.)
TASK_INPUT_SIZE = {"music": 88, "speech": SPEECH_READ}
# Each task's budget for the recurrent layers: the round thousand nearest the mean of Table 1's
# three counts (music 20,033 -> 20,000; speech 168,784 -> 169,000).
TASK_BUDGET = {task: int(round(sum(counts.values()) / len(counts), -3))
               for task, counts in PAPER_PARAMS.items()}


def count_parameters(kind: str, input_size: int, hidden_size: int, layers: int = 1,
                     **options) -> int:
    """Parameters of ``layers`` stacked recurrent layers (one by default), counted by building
    them (so gate switches count too), on the meta device: no memory, however wide.

    >>> count_parameters("lstm", 20, 195)
    169065
    """
    layer_count(layers)
    with torch.device("meta"):
        cells = [make_cell(kind, input_size if i == 0 else hidden_size, hidden_size, **options)
                 for i in range(min(layers, 2))]         # layers 2..L are all alike
    first, *rest = [sum(p.numel() for p in cell.parameters()) for cell in cells]
    return first + (layers - 1) * sum(rest)


def formula_parameters(kind: str, input_size: int, hidden_size: int) -> int:
    """The closed forms in this module's docstring, for the default cells (one layer)."""
    if kind not in ALL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(ALL_KINDS)}, got {kind!r}")
    D, H = input_size, hidden_size
    block = H * D + H * H + H
    return {"tanh": block, "gru": 3 * block, "lstm": 4 * block + 3 * H,
            "mingru": 2 * (H * D + H), "minlstm": 3 * (H * D + H)}[kind]


def units_for_budget(kind: str, budget: int, input_size: int, layers: int = 1,
                     **options) -> int:
    """The number of units per layer whose parameter count (``layers`` layers) is closest to
    ``budget``.

    >>> units_for_budget("gru", 168_888, 20)
    227
    """
    if not checks.is_int(budget) or not 1 <= budget <= MAX_PARAMETERS:   # 10**30: bisecting
        # toward it would build cells no memory holds
        raise ValueError(f"budget must be a positive number of parameters, at most "
                         f"{MAX_PARAMETERS:.0e}, got {budget!r}")
    count = lambda h: count_parameters(kind, input_size, h, layers, **options)  # noqa: E731
    if count(1) >= budget:
        return 1
    # The count grows with H (quadratically), so bisect for the last H under the budget.
    low, high = 1, 2
    while count(high) < budget:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if count(mid) < budget else (low, mid)
    return min((low, high), key=lambda h: abs(count(h) - budget))


def matched_units(budget: int, input_size: int, kinds=KINDS, **options_by_kind) -> dict:
    """Units of each kind at one budget: ``matched_units(20_000, 88)`` -> {"tanh": .., ...}.

    ``options_by_kind`` maps a kind to its cell options, e.g. ``lstm={"peepholes": False}``.
    """
    return {k: units_for_budget(k, budget, input_size, **options_by_kind.get(k, {})) for k in kinds}


def paper_units(task: str) -> dict:
    """Table 1's units for ``task`` ("music" or "speech")."""
    if task not in PAPER_UNITS:
        raise ValueError(f"task must be one of {', '.join(PAPER_UNITS)}, got {task!r}")
    return dict(PAPER_UNITS[task])


def task_units(task: str, name: str, budget: int | None = None) -> int:
    """Units per layer of model ``name`` ("gru", "mingru", "minlstm-3", ...) in ``task``:
    Table 1's for the paper's three (one layer), else the width closest to TASK_BUDGET; with
    ``budget`` (parameters), every model's width closest to that budget instead (a capacity
    study: the paper's protocol at another size).

    >>> task_units("music", "mingru"), task_units("music", "gru", budget=60_000)
    (112, 104)
    """
    kind, layers = model_name(name)
    if budget is not None:
        return units_for_budget(kind, budget, TASK_INPUT_SIZE[task], layers)
    if kind in KINDS and layers == 1:
        return paper_units(task)[kind]
    return units_for_budget(kind, TASK_BUDGET[task], TASK_INPUT_SIZE[task], layers)


def budget_table(kinds=ALL_KINDS, layers=(1, 2, 3)) -> list[dict]:
    """Units per layer and parameter count of each kind and depth at each task's budget: rows
    {"task", "kind", "layers", "units", "params"} (the paper's three at one layer: Table 1)."""
    rows = []
    for task in TASK_BUDGET:
        for kind in kinds:
            for n in layers:
                name = kind if n == 1 else f"{kind}-{n}"
                units = task_units(task, name)
                rows.append({"task": task, "kind": kind, "layers": n, "units": units,
                             "params": count_parameters(kind, TASK_INPUT_SIZE[task], units, n)})
    return rows
