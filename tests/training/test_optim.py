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


def test_step_clip_rescales_the_applied_step_and_the_velocity():
    """The authors' momentum_clipping: v = 0.9 v - lr g / max(√ms, 0.01), then v ← v · min(1,
    c / |v|) over all parameters together, then θ += v."""
    torch.manual_seed(0)
    a, b = torch.randn(3, 4, requires_grad=True), torch.randn(5, requires_grad=True)
    start = [a.detach().clone(), b.detach().clone()]
    opt = RMSPropMomentum([a, b], lr=0.5, step_clip=0.1)
    a.grad, b.grad = torch.randn(3, 4), torch.randn(5)
    grads = [a.grad.clone(), b.grad.clone()]
    opt.step()
    # by hand: the first step from zero state
    v = [-0.5 * g / torch.clamp(torch.sqrt(0.05 * g * g), min=0.01) for g in grads]
    norm = torch.sqrt(sum((x.double() ** 2).sum() for x in v))
    assert norm > 0.1                                             # so the clip acts
    v = [x * float(0.1 / (norm + 1e-6)) for x in v]
    for p, p0, x in zip((a, b), start, v):
        torch.testing.assert_close(p.detach(), p0 + x)
        torch.testing.assert_close(opt.state[p]["velocity"], x)   # the next step starts from it
    moved = torch.sqrt(sum(((p.detach() - p0) ** 2).sum() for p, p0 in zip((a, b), start)))
    assert abs(float(moved) - 0.1) < 1e-5


def test_step_clip_in_a_population_clips_each_member_by_its_own_norm():
    from gru_lib.training.optim import RMSPropMomentumStack

    torch.manual_seed(1)
    singles = [[torch.randn(3, 4, requires_grad=True), torch.randn(5, requires_grad=True)]
               for _ in range(2)]
    grads = [[torch.randn(3, 4) * s, torch.randn(5) * s] for s in (0.001, 10.0)]
    stacked = [torch.stack([m[i].detach() for m in singles]).requires_grad_() for i in range(2)]
    stack = RMSPropMomentumStack(stacked, step_clip=0.05)
    stack.set_lrs([1e-3, 0.3])
    for i in range(2):
        stacked[i].grad = torch.stack([g[i] for g in grads])
    stack.step()
    for m, (params, g, lr) in enumerate(zip(singles, grads, (1e-3, 0.3))):
        opt = RMSPropMomentum(params, lr=lr, step_clip=0.05)
        for p, gi in zip(params, g):
            p.grad = gi
        opt.step()
        for i in range(2):
            torch.testing.assert_close(stacked[i][m].detach(), params[i].detach())
