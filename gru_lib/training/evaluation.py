"""The paper's metric: negative log-likelihood in nats per real time step, without weight noise.

Padding never counts: the model's ``nll_sum`` returns (total nats, real steps) of a batch, and
the split's NLL is total over total, so the number does not depend on the batch size.

"Per time step" can be averaged two ways, and the paper does not say which it used:
- ``evaluate``: total nats of the split / total steps of the split (every step weighs the
  same; Boulanger-Lewandowski et al.'s definition, and this library's headline number);
- ``evaluate_per_piece``: the mean over pieces of each piece's nats per step (every piece
  weighs the same, so a short piece counts as much as a long one).
They differ when short and long pieces are predicted unequally well; results report both.
"""
from __future__ import annotations

import torch


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
        return float(nll_per_step(model.nll_sum, batches, param))
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



@torch.no_grad()
def evaluate_per_piece(model, sequences) -> float:
    """The mean over ``sequences`` of each one's NLL per real step (see the module's note).

    sequences: a list of (T_i, row) tensors. Each piece runs alone (a batch of one), so no
    padding is involved at all; slower than ``evaluate`` on many short pieces, and exact.
    """
    if not sequences:
        raise ValueError("evaluate_per_piece: no sequences given")
    was_training = model.training
    model.eval()
    param = next(model.parameters())
    try:
        per_piece = [float(nll_per_step(model.nll_sum, [(piece.unsqueeze(1), None)], param))
                     for piece in sequences]                     # piece (T, row) -> (T, 1, row)
    finally:
        model.train(was_training)
    return sum(per_piece) / len(per_piece)
