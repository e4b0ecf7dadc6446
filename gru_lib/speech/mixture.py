"""A mixture of diagonal Gaussians: the output layer of the paper's speech models.

Chung et al. (2014, section 4.1) model raw audio: at every step the network predicts the
next F = 10 samples with a mixture of C = 20 Gaussians. We use diagonal covariances (each
component is F independent Gaussians), the usual choice (Graves 2013):

    p(y | h) = Σ_c  π_c(h) · Π_f  N(y_f ; μ_cf(h), σ_cf(h)²)

A linear layer maps the hidden state h to C + 2·C·F numbers, read as

    π = softmax(a)                    C mixing logits a
    μ = m                             C·F means
    σ = min_std + softplus(s)         C·F standard deviations, never below min_std

Numerically:

* log π comes from ``log_softmax``, never from log(softmax(...)), which underflows;
* log p(y) = logsumexp_c [log π_c + Σ_f log N(y_f; μ_cf, σ_cf)] -- the sum over
  components is taken in log space, so a component whose density is e^-1000 at y costs
  nothing and no exp() ever overflows;
* the floor on σ bounds every density from above (by 1 / (min_std·√(2π)) per sample), so
  the loss cannot run to -∞ on digital silence (runs of exactly equal samples), and
  dividing by σ never divides by ~0. softplus keeps a gradient everywhere, unlike a clamp.

The metric is the negative log-likelihood in nats per step, summed over the F samples of
the step, so it is a density, and can be negative. Its scale depends on the units of y:
measuring y in units s times larger shifts the NLL by F·log(s) nats per step; with y in
[-1, 1) and quiet speech, the NLL is NEGATIVE (densities above 1). The speech models'
floor σ ≥ 1e-3 (about 33 steps of the 16-bit quantiser) bounds the best possible NLL at
F·(log 1e-3 + ½ log 2π) ≈ -59.9 nats per step, so stretches of digital silence cannot
dominate the average.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import checks

LOG_2PI = math.log(2 * math.pi)


class Mixture(NamedTuple):
    """Parameters of one mixture per position; leading dims (...) are e.g. (T, B)."""
    logits: Tensor                  # (..., C)     mixing logits: π = softmax(logits)
    means: Tensor                   # (..., C, F)
    stds: Tensor                    # (..., C, F)  already floored: σ ≥ min_std


def n_outputs(components: int, dims: int) -> int:
    """How many numbers the linear layer must produce: C logits + C·F means + C·F stds."""
    return components + 2 * components * dims


def split(out: Tensor, components: int, dims: int, min_std: float) -> Mixture:
    """Read a linear layer's output (..., C + 2·C·F) as a Mixture.

    Layout of the last dimension: [C logits | C·F means | C·F raw stds], means and stds
    grouped by component (component c owns entries c·F .. c·F + F - 1 of each block).
    """
    C, Fd = components, dims
    if out.shape[-1] != n_outputs(C, Fd):
        raise ValueError(f"out: expected a last dimension of C + 2·C·F = {n_outputs(C, Fd)} "
                         f"(C={C} components, F={Fd} dims), got shape {tuple(out.shape)}")
    if not min_std > 0:
        raise ValueError(f"min_std: expected a positive floor on the standard deviations, got {min_std!r}")
    lead = out.shape[:-1]
    logits = out[..., :C]                                                  # (..., C)
    means = out[..., C:C + C * Fd].reshape(*lead, C, Fd)                   # (..., C, F)
    stds = min_std + F.softplus(out[..., C + C * Fd:]).reshape(*lead, C, Fd)  # (..., C, F)
    return Mixture(logits, means, stds)


def log_prob(mix: Mixture, y: Tensor) -> Tensor:
    """log p(y) under the mixture, in nats: y (..., F) -> (...,).

    Summed over the F dims (one density of the whole step), log-sum-exp
    over components.
    """
    expected = mix.means.shape[:-2] + mix.means.shape[-1:]     # (..., F)
    if y.shape != expected:
        raise ValueError(f"y: expected shape {tuple(expected)} "
                         f"(the mixture's leading dims and F), "
                         f"got {tuple(y.shape)}")
    # shapes: z, per_dim (..., C, F); per_component, log_pi (..., C)
    z = (y.unsqueeze(-2) - mix.means) / mix.stds   # (y_f - μ_cf) / σ_cf
    per_dim = (-0.5 * z.square() - mix.stds.log()
               - 0.5 * LOG_2PI)                    # log N(y_f; μ_cf, σ_cf²)
    per_component = per_dim.sum(-1)                # Σ_f log N(y_f; ...)
    log_pi = F.log_softmax(mix.logits, dim=-1)     # log π_c
    return torch.logsumexp(log_pi + per_component,   # log Σ_c π_c Π_f N
                           dim=-1)                   # (...,)


def nll(mix: Mixture, y: Tensor) -> Tensor:
    """Negative log-likelihood in nats, per position: y (..., F) -> (...,)."""
    return -log_prob(mix, y)


def sample(mix: Mixture, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
    """Draw one y (..., F) per position: pick a component c ~ π, then y = μ_c + σ_c·ε.

    temperature scales the standard deviations (1 = the model's own distribution; below 1
    gives smoother, less noisy audio). The component choice is not tempered.
    """
    temperature = checks.positive_number("temperature", temperature)
    lead, (C, Fd) = mix.logits.shape[:-1], mix.means.shape[-2:]
    probs = F.softmax(mix.logits, dim=-1).reshape(-1, C)                  # (N, C)
    c = torch.multinomial(probs, 1, generator=generator).squeeze(1)        # (N,)
    rows = torch.arange(c.shape[0], device=c.device)
    mean = mix.means.reshape(-1, C, Fd)[rows, c]                           # (N, F)
    std = mix.stds.reshape(-1, C, Fd)[rows, c]                             # (N, F)
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return (mean + temperature * std * eps).reshape(*lead, Fd)
