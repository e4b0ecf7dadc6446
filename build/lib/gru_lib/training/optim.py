"""TODO docstring"""
from __future__ import annotations

import torch

# -- the optimiser -----------------------------------------------------------------------------

class RMSPropMomentum(torch.optim.Optimizer):
    """RMSProp with momentum exactly as the authors' RMSPropMomentum (librnn):

        ms ← decay·ms + (1 - decay)·g²
        v  ← momentum·v - lr · g / max(√ms, eps)
        θ  ← θ + v

    Unlike ``torch.optim.RMSprop`` the RMS is floored at ``eps`` (1e-2) instead of having eps
    added, and lr sits inside the velocity (the two agree only when lr is constant).
    """

    def __init__(self, params, lr=1e-3, decay=0.95, eps=1e-2, momentum=0.9):
        super().__init__(params, dict(lr=lr, decay=decay, eps=eps, momentum=momentum))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.zeros_like(p)
                    state["velocity"] = torch.zeros_like(p)
                ms, v = state["square_avg"], state["velocity"]
                ms.mul_(group["decay"]).addcmul_(p.grad, p.grad, value=1 - group["decay"])
                rms = ms.sqrt().clamp_(min=group["eps"])
                v.mul_(group["momentum"]).addcdiv_(p.grad, rms, value=-group["lr"])
                p.add_(v)

