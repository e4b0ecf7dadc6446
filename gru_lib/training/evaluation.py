"""The paper's metric: negative log-likelihood in nats per real time step, without weight noise.

Padding never counts: the model's ``nll_sum`` returns (total nats, real steps) of a batch, and
the split's NLL is total over total, so the number does not depend on the batch size.

"Per time step" can be averaged two ways, and the paper does not say which it used:
- ``evaluate``: total nats of the split / total steps of the split (every step weighs the
  same; Boulanger-Lewandowski et al.'s definition, and this library's headline number);
- ``evaluate_per_piece``: the mean over pieces of each piece's nats per step (every piece
  weighs the same, so a short piece counts as much as a long one).
They differ when short and long pieces are predicted unequally well; results report both.
A third choice is which steps are predicted at all: this library predicts step 0 from silence,
the authors' code reads ``seq[:-1]`` and scores ``seq[1:]``; ``per_step_readings`` gives all
four combinations.
"""
from __future__ import annotations

import torch
from torch.nn.utils.rnn import pad_sequence

from ..checks import positive_int
from .batching import length_groups


@torch.no_grad()
def evaluate(model, batches) -> float:
    """The paper's metric on a split: total nats / total real steps over all ``batches``.

    ``batches`` yields (rolls (T, B, K), lengths (B,)). The model is put in eval mode (no
    weight noise ever reaches evaluation: noise is added only inside the training step).
    """
    was_training = model.training
    model.eval()
    param = next(model.parameters())                      # the model's device and dtype
    try:
        return float(nll_per_step(model.nll_sum, _checked_batches(model, batches), param))
    finally:
        model.train(was_training)


def nll_per_step(nll_sum, batches, like: torch.Tensor) -> torch.Tensor:
    """Total nats / total real steps over ``batches``, as a float64 tensor.

    nll_sum(rolls, lengths) -> (total, steps): a model's own (total a scalar), or a population's
    (total (P,), one per member; population.py), so both share this one definition of the
    metric. Totals are summed in float64 in the order of the batches: a scalar sum here is the
    same number as summing Python floats.
    """
    total, steps = None, 0
    for rolls, lengths in batches:
        batch_total, batch_steps = nll_sum(rolls.to(like), lengths)      # rolls (T, B, row)
        batch_total = batch_total.detach().double()
        total = batch_total if total is None else total + batch_total
        steps += batch_steps
    if steps == 0:
        raise ValueError("evaluate: the batches hold no time steps")
    return total / steps



def _check_rows(model, rows, where: str, dims: int) -> None:
    """ValueError unless ``rows`` is a finite tensor of ``dims`` dimensions holding what the
    model's rows hold (``model.check_rows``: 0/1 for a piano roll); a 0.5 or a NaN would
    otherwise come back as a number that is not the metric."""
    if not isinstance(rows, torch.Tensor) or rows.dim() != dims:
        shape = "(T, row)" if dims == 2 else "(T, B, row)"
        got = f"shape {tuple(rows.shape)}" if isinstance(rows, torch.Tensor) else type(rows).__name__
        raise ValueError(f"{where}: expected a {shape} tensor, got {got}")
    if hasattr(model, "check_rows"):
        model.check_rows(rows, where)
    elif rows.is_floating_point() and not bool(torch.isfinite(rows).all()):
        raise ValueError(f"{where}: contains NaN or infinite values")


def _checked_batches(model, batches):
    """``batches``, each checked: a (rolls, lengths) pair of valid rows."""
    if isinstance(batches, torch.Tensor):
        batches = [batches]              # reported below, as a list of rolls would be
    for i, item in enumerate(batches):
        if not (isinstance(item, tuple) and len(item) == 2):
            raise ValueError(f"evaluate: batches must yield (rolls (T, B, row), lengths) pairs, "
                             f"got a {type(item).__name__} at item {i}; pass "
                             f"eval_batches(sequences, 64) (gru_lib.training.batching), "
                             f"or use evaluate_per_piece for a list of sequences")
        _check_rows(model, item[0], f"evaluate: batch {i}", dims=3)
        yield item


@torch.no_grad()
def _each_piece(model, sequences, caller: str, step_0: bool = False,
                batch_size: int = 64) -> list:
    """[(nats, steps, nats of step 0 or None)] of each of ``sequences``, in eval mode; ``step_0``
    also gives each piece's first step's cost, which is step 0's cost when the model predicts
    every row.

    A model with ``nll_steps`` (a piano-roll model: every step's nats, (T, B)) is run on padded
    batches of similar lengths (``length_groups``): column b summed is piece b's nats, row 0
    its step 0, and padding comes after a piece's end, so it cannot change them. Any other
    model runs each piece alone (a batch of one, no padding at all).
    """
    positive_int("batch_size", batch_size)            # any model: a bad one is refused alike
    if isinstance(sequences, torch.Tensor) or not sequences:
        raise ValueError(f"{caller}: no sequences given (expected a non-empty list of "
                         f"(T, row) tensors)")
    for i, piece in enumerate(sequences):
        _check_rows(model, piece, f"sequences[{i}]", dims=2)
    was_training = model.training
    model.eval()
    param = next(model.parameters())
    costs = [None] * len(sequences)
    try:
        if hasattr(model, "nll_steps"):
            lengths = [piece.shape[0] for piece in sequences]
            for group in length_groups(lengths, batch_size):
                rolls = pad_sequence([sequences[i] for i in group]).to(param)   # (T, B, row)
                per_step = model.nll_steps(rolls, torch.tensor([lengths[i] for i in group]))
                per_step = per_step.double()                                    # (T, B)
                for b, i in enumerate(group):
                    costs[i] = (float(per_step[:, b].sum()), lengths[i],
                                float(per_step[0, b]) if step_0 else None)
            return costs
        for i, piece in enumerate(sequences):
            rolls = piece.unsqueeze(1).to(param)                     # (T, row) -> (T, 1, row)
            total, steps = model.nll_sum(rolls, None)
            first = None
            if step_0:
                if steps != piece.shape[0]:
                    raise ValueError(f"{caller}: the model predicts {steps} steps from "
                                     f"{piece.shape[0]} rows; step 0 is defined for models "
                                     f"that predict every row (a piano-roll model), not this one")
                first = float(model.nll_sum(rolls[:1], None)[0])
            costs[i] = (float(total), steps, first)
    finally:
        model.train(was_training)
    return costs


def evaluate_per_piece(model, sequences, batch_size: int = 64) -> float:
    """The mean over ``sequences`` of each one's NLL per real step (see the module's note).

    sequences: a list of (T_i, row) tensors. A piano-roll model reads them in padded batches
    of similar lengths and each piece's nats are its own column; another model reads each
    piece alone (slower on many short pieces).
    """
    costs = _each_piece(model, sequences, "evaluate_per_piece", batch_size=batch_size)
    return sum(nats / steps for nats, steps, _ in costs) / len(costs)


def per_step_readings(model, sequences, batch_size: int = 64) -> dict:
    """The four readings of "NLL per time step" on a split: every step or every piece weighing
    the same, and step 0 counted (this library) or not (the authors' code scores ``seq[1:]``).

    sequences: a list of (T_i, row) tensors, read as in ``evaluate_per_piece``: one pass.
    Returns {"total", "piece_mean", "total_from_step_1", "piece_mean_from_step_1"}: the first
    two are ``evaluate``'s and ``evaluate_per_piece``'s numbers. Step 0's cost is the NLL of the
    piece cut to its first step, since a step is predicted only from the steps before it; so
    the model must predict every row (a piano-roll model; a speech model reads two frames
    before its first prediction). A piece of one step has no step from 1 on: it is left out of
    the two "_from_step_1" readings.
    """
    costs = _each_piece(model, sequences, "per_step_readings", step_0=True,
                        batch_size=batch_size)
    later = [(nats - first, steps - 1) for nats, steps, first in costs if steps > 1]
    if not later:
        raise ValueError("per_step_readings: every piece has a single step, so none has a step "
                         "from 1 on to score")
    return {"total": sum(c[0] for c in costs) / sum(c[1] for c in costs),
            "piece_mean": sum(nats / steps for nats, steps, _ in costs) / len(costs),
            "total_from_step_1": sum(n for n, _ in later) / sum(t for _, t in later),
            "piece_mean_from_step_1": sum(n / t for n, t in later) / len(later)}
