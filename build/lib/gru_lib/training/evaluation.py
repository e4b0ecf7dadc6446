"""TODO docstring"""
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
    param = model.readout.weight
    for rolls, lengths in batches:
        batch_total, batch_steps = model.nll_sum(rolls.to(param), lengths)
        total += float(batch_total)
        steps += batch_steps
    model.train(was_training)
    if steps == 0:
        raise ValueError("evaluate: the batches hold no time steps")
    return total / steps

