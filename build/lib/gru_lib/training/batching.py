"""TODO docstring"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


# -----------------------------------------------------------------------------
# batching


def batches(rolls, batch_size, *, shuffle=True, seed=0, by_length=True):
    """Yield padded batches (x, lengths) from a list of (T, K) rolls.

    x: (T_max, B, K) float32, zero after each sequence's end; lengths: (B,) int64.
    Within a batch the sequences are longest first, as
    ``torch.nn.utils.rnn.pack_padded_sequence`` expects by default.

    by_length: group sequences of similar length, so one 4,000-step MuseData piece
        does not make every batch 4,000 steps long (and most of it padding). The
        sequences are shuffled, stably sorted by length (so ties stay in random
        order), cut into batches, and the batches are shuffled.
    shuffle / seed: a seeded shuffle (pass e.g. seed=epoch for a new order each epoch).
    """
    if not isinstance(rolls, (list, tuple)) or len(rolls) == 0:
        raise ValueError(f"rolls: expected a non-empty list of (T, K) tensors, got {type(rolls).__name__}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
    width = None
    for i, r in enumerate(rolls):
        if not isinstance(r, torch.Tensor) or r.ndim != 2 or r.shape[0] == 0:
            raise ValueError(f"rolls[{i}]: expected a non-empty (T, K) tensor, got "
                             f"{tuple(r.shape) if isinstance(r, torch.Tensor) else type(r).__name__}")
        if width is not None and r.shape[1] != width:
            raise ValueError(f"rolls[{i}]: has {r.shape[1]} keys, rolls[0] has {width}")
        width = r.shape[1]

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rolls)) if shuffle else np.arange(len(rolls))
    if by_length:
        order = sorted(order, key=lambda i: rolls[i].shape[0])  # stable: ties keep the shuffle
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        chunks = [chunks[i] for i in rng.permutation(len(chunks))]
    for chunk in chunks:
        chunk = sorted(chunk, key=lambda i: -rolls[i].shape[0])
        lengths = torch.tensor([rolls[i].shape[0] for i in chunk], dtype=torch.int64)  # (B,)
        x = torch.nn.utils.rnn.pad_sequence([rolls[i].float() for i in chunk])  # (T, B, K)
        yield x, lengths

def step_mask(lengths: Tensor | None, T: int, B: int, device=None) -> Tensor:
    """(T, B) float mask: 1 at real steps t < lengths[b], 0 at padding."""
    if lengths is None:
        return torch.ones(T, B, device=device)
    lengths = torch.as_tensor(lengths, device=device)
    return (torch.arange(T, device=device).unsqueeze(1) < lengths.unsqueeze(0)).float()
