"""backend="scan": every step of a linear recurrence at once, in log space (Heinsen 2023).

A minimal cell (nn/minimal.py) computes h_t = a_t ⊙ h_{t−1} + b_t with a_t ∈ (0, 1) and
b_t > 0 read off x_t alone. Unrolled,

    h_t = A_t ⊙ h_0 + Σ_{s≤t} (A_t / A_s) ⊙ b_s,        A_t = Π_{s≤t} a_s,

and with a*_t = log A_t = cumsum(log a)_t the sum is one log-cumulative-sum-exp:

    log(h_t − A_t ⊙ h_0) = a*_t + logcumsumexp(log b − a*)_t.

Two cumulative ops over T replace the loop of T steps: O(log T) depth on a parallel machine,
and a handful of big ops instead of T small ones on a CPU.

Why log space. A_t underflows fast (a = 0.5 gives A_4273 ≈ 10^−1286), so the linear form
A_t ⊙ Σ b_s / A_s multiplies 0 by inf. In log space every term stays representable: a*_t is
merely very negative, log b − a* merely large, and their difference in the exponent is the
log of a sum of products of gates ≤ 1, bounded by the b's themselves.

The initial state. log h_0 does not exist for h_0 ≤ 0, so h_0 is not folded into the
logcumsumexp (where it would need a sign); its term A_t ⊙ h_0 = exp(a*_t) ⊙ h_0 is added
separately, for any sign (and is exactly 0 for the default h_0 = 0).

Padding: as in bptt.run, every sequence runs all T steps (its padded inputs are zeros,
finite); a step depends only on the steps before it, so the real steps are exact, and the
padded steps are then dropped by selection: outputs zeroed after each length, and the final
state taken at step length − 1.

Under torch.vmap (a population of cells, training/population.py) cumsum and logcumsumexp
have batching rules, so the same lines run P members at once.

Gradients are autograd's, exact to first order (tests/nn/test_minimal.py). Second order
(a gradient of a gradient) is NaN wherever an upstream gradient is exactly 0, e.g. at padded
steps: torch's logcumsumexp backward works with log |grad|. Training needs first order only.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .minimal import MinimalCell, why_no_scan
from .padding import real_steps

__all__ = ["linear_scan", "run", "why_no_scan"]


def linear_scan(log_a: Tensor, log_b: Tensor, h0: Tensor) -> Tensor:
    """h_t = a_t ⊙ h_{t−1} + b_t for t = 1..T: (T, B, H), from log a, log b (T, B, H), h0 (B, H)."""
    a_star = torch.cumsum(log_a, dim=0)                           # a*_t = Σ_{s≤t} log a_s
    log_h = a_star + torch.logcumsumexp(log_b - a_star, dim=0)    # log Σ_s (A_t/A_s) b_s
    return torch.exp(log_h) + torch.exp(a_star) * h0              # + A_t ⊙ h_0, any sign


def run(cell: MinimalCell, x: Tensor, lengths: Tensor | None, state: tuple) -> tuple:
    """(outputs (T, B, H), final state) of ``cell`` over x: (T, B, D), as Recurrent returns them."""
    log_a, log_b = cell.log_coefficients(cell.input_projection(x))   # (T, B, H) each
    outputs = linear_scan(log_a, log_b, state[0])                     # (T, B, H)
    if lengths is None:
        return outputs, (outputs[-1],)
    T, B = outputs.shape[:2]
    last = (lengths - 1, torch.arange(B, device=lengths.device))
    alive = real_steps(lengths, T).unsqueeze(2)                       # (T, B, 1)
    return torch.where(alive, outputs, 0.0), (outputs[last],)         # select, not scale
