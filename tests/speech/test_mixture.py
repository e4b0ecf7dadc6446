"""Tests of gru_lib.speech.mixture: the mixture-of-Gaussians output layer of the speech models.

The log-density is checked against a direct computation with torch.distributions
(MixtureSameFamily of Independent Normals) on small random cases, then pushed to
extremes where a naive computation overflows.
"""

import math

import pytest
import torch
from torch import distributions as D

from gru_lib.speech import mixture


def reference(mix):
    """The same mixture built from torch.distributions, the straightforward way."""
    return D.MixtureSameFamily(D.Categorical(logits=mix.logits),
                               D.Independent(D.Normal(mix.means, mix.stds), 1))


def random_mixture(lead=(5, 3), C=4, F=3, min_std=1e-3, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    out = scale * torch.randn(*lead, mixture.n_outputs(C, F), generator=g, dtype=torch.float64)
    return mixture.split(out, C, F, min_std), g


def test_split_layout_and_floor():
    C, F = 3, 2
    out = torch.arange(mixture.n_outputs(C, F), dtype=torch.float64).reshape(1, -1)
    mix = mixture.split(out, C, F, min_std=0.5)
    assert mix.logits.tolist() == [[0, 1, 2]]
    assert mix.means.tolist() == [[[3, 4], [5, 6], [7, 8]]]             # grouped by component
    raw = torch.tensor([[9, 10], [11, 12], [13, 14]], dtype=torch.float64)
    torch.testing.assert_close(mix.stds[0], 0.5 + torch.nn.functional.softplus(raw))
    # the floor holds however negative the raw output is
    low = mixture.split(torch.full((2, mixture.n_outputs(C, F)), -1e4), C, F, min_std=1e-3)
    assert (low.stds >= 1e-3).all() and torch.isfinite(low.stds.log()).all()


@pytest.mark.parametrize("C,F", [(1, 1), (2, 3), (20, 10)])
def test_log_prob_matches_torch_distributions(C, F):
    mix, g = random_mixture(C=C, F=F, seed=C * 10 + F)
    y = torch.randn(5, 3, F, generator=g, dtype=torch.float64)
    torch.testing.assert_close(mixture.log_prob(mix, y), reference(mix).log_prob(y), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(mixture.nll(mix, y), -reference(mix).log_prob(y), rtol=1e-12, atol=1e-12)


def test_single_component_is_a_diagonal_gaussian():
    mix, g = random_mixture(lead=(7,), C=1, F=4, seed=3)
    y = torch.randn(7, 4, generator=g, dtype=torch.float64)
    direct = D.Normal(mix.means[:, 0], mix.stds[:, 0]).log_prob(y).sum(-1)
    torch.testing.assert_close(mixture.log_prob(mix, y), direct)


def test_extremes_stay_finite_where_a_naive_sum_overflows():
    C, F = 20, 10
    mix, g = random_mixture(lead=(4,), C=C, F=F, seed=1, scale=30.0)   # huge logits, tiny/large σ
    y = 1e3 * torch.randn(4, F, generator=g, dtype=torch.float64)       # far from every mean
    lp = mixture.log_prob(mix, y)
    assert torch.isfinite(lp).all()
    torch.testing.assert_close(lp, reference(mix).log_prob(y), rtol=1e-10, atol=1e-8)
    # the naive way: log Σ π_c exp(log N_c) underflows to log(0) = -inf
    comp = D.Independent(D.Normal(mix.means, mix.stds), 1).log_prob(y.unsqueeze(-2))
    naive = (torch.softmax(mix.logits, -1) * comp.exp()).sum(-1).log()
    assert torch.isinf(naive).any()
    # and gradients are finite too, in float32 as in training
    out = (30 * torch.randn(4, mixture.n_outputs(C, F), generator=g)).requires_grad_()
    mixture.nll(mixture.split(out, C, F, 1e-3), y.float()).sum().backward()
    assert torch.isfinite(out.grad).all()


def test_floor_bounds_the_density():
    """With every σ at the floor and y on a mean, the NLL is exactly F·(log σ_min + ½ log 2π)."""
    C, F, floor = 2, 10, 1e-3
    out = torch.full((1, mixture.n_outputs(C, F)), -1e4, dtype=torch.float64)
    out[0, C:C + C * F] = 0.25
    mix = mixture.split(out, C, F, floor)
    best = mixture.nll(mix, torch.full((1, F), 0.25, dtype=torch.float64))
    torch.testing.assert_close(best, torch.tensor([F * (math.log(floor) + 0.5 * math.log(2 * math.pi))],
                                                  dtype=torch.float64), rtol=1e-6, atol=1e-6)
    assert -60.0 < float(best) < -59.8          # the bound quoted in gru_lib/speech/mixture.py


def test_sampling_follows_the_mixture():
    C, F = 2, 3
    out = torch.zeros(20000, mixture.n_outputs(C, F))
    out[:, 0], out[:, 1] = math.log(0.25), math.log(0.75)                # π = (0.25, 0.75)
    out[:, C:C + F], out[:, C + F:C + 2 * F] = -5.0, 5.0                   # μ_0 = -5, μ_1 = +5
    out[:, C + 2 * C * F - 2 * F:] = -10.0                                 # raw σ -> ~min_std
    mix = mixture.split(out, C, F, min_std=0.1)
    y = mixture.sample(mix, torch.Generator().manual_seed(0))
    assert y.shape == (20000, F)
    frac_high = (y[:, 0] > 0).float().mean().item()
    assert abs(frac_high - 0.75) < 0.02
    # all F dims come from the SAME component (the covariance is diagonal per component)
    assert ((y > 0).all(1) | (y < 0).all(1)).all()
    # repeatable with a seeded generator; temperature shrinks the spread around the means
    assert torch.equal(y, mixture.sample(mix, torch.Generator().manual_seed(0)))
    cold = mixture.sample(mix, torch.Generator().manual_seed(0), temperature=0.1)
    assert (cold - cold.round()).abs().max() < (y - y.round()).abs().max()


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"out: expected a last dimension of C \+ 2·C·F = 14"):
        mixture.split(torch.zeros(3, 13), 2, 3, 1e-3)
    with pytest.raises(ValueError, match="min_std"):
        mixture.split(torch.zeros(3, 14), 2, 3, 0.0)
    mix, _ = random_mixture(C=2, F=3)
    with pytest.raises(ValueError, match=r"y: expected shape \(5, 3, 3\)"):
        mixture.log_prob(mix, torch.zeros(5, 3, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="temperature"):
        mixture.sample(mix, temperature=0)
