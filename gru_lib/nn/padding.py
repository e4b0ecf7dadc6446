"""Padded steps, sealed: what lies past a sequence's length never reaches an output, a state
or a gradient.

A batch of sequences of different lengths is padded to the longest, (T, B, ·), with lengths
(B,). Multiplying by a 0/1 mask is NOT enough to seal the padding: NaN · 0 = NaN, inf · 0 =
NaN, and in the backward pass a zero upstream gradient times a NaN local slope is NaN again,
so one non-finite value in a padded step poisons the weight gradients of the whole batch.
Selecting (``torch.where``) is exact: the padded values are replaced, not scaled, before
anything is computed from them.
"""
from __future__ import annotations

import torch
from torch import Tensor


def real_steps(lengths: Tensor, T: int) -> Tensor:
    """(T, B) bool: True at the real steps t < lengths[b], False at padding."""
    return torch.arange(T, device=lengths.device).unsqueeze(1) < lengths.unsqueeze(0)


def zero_padding(x: Tensor, lengths: Tensor | None) -> Tensor:
    """x (T, B, ...) with every padded step replaced by zeros (x itself where nothing is padded)."""
    if lengths is None or int(lengths.min()) >= x.shape[0]:
        return x
    alive = real_steps(lengths.to(x.device), x.shape[0])                 # (T, B)
    return torch.where(alive.view(*alive.shape, *([1] * (x.dim() - 2))), x, torch.zeros((), dtype=x.dtype,
                                                                                      device=x.device))
