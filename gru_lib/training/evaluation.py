"""The paper's metric: negative log-likelihood in nats per real time step, without weight noise.

Padding never counts: the model's ``nll_sum`` returns (total nats, real steps) of a batch, and
the split's NLL is total over total, so the number does not depend on the batch size.
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

