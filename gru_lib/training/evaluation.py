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
    total, steps = 0.0, 0
    param = next(model.parameters())                      # the model's device and dtype
    for rolls, lengths in batches:
        batch_total, batch_steps = model.nll_sum(rolls.to(param), lengths)   # rolls (T, B, row)
        total += float(batch_total)
        steps += batch_steps
    model.train(was_training)
    if steps == 0:
        raise ValueError("evaluate: the batches hold no time steps")
    return total / steps

