"""What a gate that cannot see the state loses: chapter 9's two measurements.

The minimal units (nn/minimal.py) compute their gates from x_t alone, so that h_t is linear in
h_{t−1} and a parallel scan exists. Two plain functions measure what that costs:

    >>> gate_spread(model, rolls)          # how much of each gate's variation the state causes
    {'update': {'within_input': 0.019, 'overall': 0.068, 'steps': 4602, 'repeated_inputs': ...}}
    >>> bits, parity = running_parity(64, 20, torch.Generator().manual_seed(0))   # (T, B, 1)

* ``gate_spread``: steps of real pieces grouped by their input x_t (the chord before). A gate
  computed from x_t alone takes ONE value per group; a GRU's or LSTM's also reads h_{t−1}, so
  it varies inside a group. The mean standard deviation inside groups, beside the overall one,
  is the share of a gate's movement that only the state explains.
* ``running_parity``: batches of the running parity y_t = x_1 ⊕ … ⊕ x_t of a bit stream. With
  h_t = a(x_t) ⊙ h_{t−1} + b(x_t) and 0 < a < 1, a one-layer minimal unit cannot flip a stored
  bit (swapping two states A, B needs a = −1), so from t = 2 on it is at chance; a tanh-RNN,
  GRU or LSTM learns it in a few hundred updates. Each stacked minimal layer adds a
  non-linearity between time steps, which buys a few more steps.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..checks import instance
from ..music.model import PianoRollModel, shift_right

__all__ = ["gate_spread", "running_parity"]


@torch.no_grad()
def gate_spread(model: PianoRollModel, rolls: list) -> dict:
    """{gate: {"within_input", "overall", "steps", "repeated_inputs"}} of ``model`` on ``rolls``.

    ``within_input``: the standard deviation of the gate across the steps that share one input
    x_t, averaged over the units and over the inputs seen at least twice (``repeated_inputs``
    of them, ``steps`` steps in all). ``overall``: its standard deviation over all steps,
    averaged over the units. A gate of x_t alone has ``within_input`` 0 (to rounding). In a
    stack the gates are named "l.gate" (layer l from 0), and only layer 0 reads x_t itself.
    """
    instance("model", model, PianoRollModel)
    if not rolls or any(not isinstance(r, Tensor) or r.dim() != 2 or r.shape[1] != model.keys
                        for r in rolls):
        raise ValueError(f"rolls must be a non-empty list of (T, K={model.keys}) tensors")
    model = model.eval()
    inputs, gates = [], {}
    for roll in rolls:
        x = shift_right(roll.to(model.readout.weight).unsqueeze(1))    # (T, 1, K): x_t
        out = model.rnn(x, return_gates=True)
        for name, g in out.gates.items():
            if name.rpartition(".")[2] != "candidate":                 # not a gate
                gates.setdefault(name, []).append(g[:, 0].cpu().double())   # (T, H)
        inputs.append(x[:, 0].cpu())
    x = torch.cat(inputs)                                              # (N, K) binary
    _, group = torch.unique(x, dim=0, return_inverse=True)             # (N,) input id
    counts = torch.bincount(group)
    repeated = counts >= 2
    spread = {}
    for name, parts in gates.items():
        g = torch.cat(parts)                                           # (N, H)
        n = counts[:, None].double()
        mean = torch.zeros(len(counts), g.shape[1], dtype=g.dtype).index_add_(0, group, g) / n
        square = torch.zeros_like(mean).index_add_(0, group, g * g) / n
        std = (square - mean ** 2).clamp_min(0).sqrt()                  # (groups, H)
        spread[name] = {"within_input": float(std[repeated].mean()),
                        "overall": float(g.std(0, unbiased=False).mean()),
                        "steps": int(g.shape[0]), "repeated_inputs": int(repeated.sum())}
    return spread


def running_parity(batch: int, steps: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """(bits, parity), each (T, B, 1) floats: random bits and y_t = x_1 ⊕ … ⊕ x_t."""
    bits = torch.randint(0, 2, (steps, batch, 1), generator=generator).float()
    return bits, bits.cumsum(0) % 2
