"""Tests of gru_lib.training.optim: the authors' RMSProp with momentum."""
import torch

from gru_lib.training.optim import RMSPropMomentum


def test_rmsprop_momentum_follows_the_authors_formula():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    opt = RMSPropMomentum([p], lr=0.1, decay=0.9, eps=1e-2, momentum=0.5)
    ms, v, theta = torch.zeros(3), torch.zeros(3), p.detach().clone()
    for g in (torch.tensor([0.3, -1e-4, 2.0]), torch.tensor([-0.1, 1e-4, 1.0])):
        p.grad = g.clone()
        opt.step()
        ms = 0.9 * ms + 0.1 * g ** 2
        v = 0.5 * v - 0.1 * g / torch.clamp(ms.sqrt(), min=1e-2)   # RMS floored, not + eps
        theta = theta + v
        assert torch.allclose(p.detach(), theta, atol=1e-7)
