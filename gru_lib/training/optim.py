"""The optimiser of the paper's authors: RMSProp with momentum (their librnn RMSPropMomentum).

Only ``Trainer`` (trainer.py) steps it: the update there adds weight noise, clips the gradient
and then calls ``step``; nothing else in the library touches an optimiser.

``RMSPropMomentumStack`` is the same optimiser for a population of P models trained at once
(population.py): its state is stacked, (P, ...) per parameter, and each member has its own
learning rate. Both apply the one formula, ``rmsprop_momentum_``, so they cannot drift apart,
and both speak the Trainer's one interface -- ``set_lrs``, ``step(frozen=...)``,
``member_state_dict``, ``load_member`` -- a single model being member 0 of a population of one.
"""
from __future__ import annotations

import torch
from torch import Tensor


def rmsprop_momentum_(param: Tensor, grad: Tensor, square_avg: Tensor, velocity: Tensor, lr,
                      decay: float, eps: float, momentum: float) -> None:
    """One step of the authors' rule, in place on ``param``, ``square_avg`` and ``velocity``.

    lr: a number (one model), or a tensor that broadcasts against ``param`` -- (P, 1, ...) for
    a population whose member m sits at param[m] and has learning rate lr[m].
    """
    rmsprop_velocity_(grad, square_avg, velocity, lr, decay, eps, momentum)
    param.add_(velocity)                                                # θ ← θ + v


def rmsprop_velocity_(grad: Tensor, square_avg: Tensor, velocity: Tensor, lr, decay: float,
                      eps: float, momentum: float) -> None:
    """The rule's first two lines, in place: the running mean square and the step v."""
    square_avg.mul_(decay).addcmul_(grad, grad, value=1 - decay)        # ms ← decay·ms + (1-decay)·g²
    rms = square_avg.sqrt().clamp_(min=eps)                             # max(√ms, eps): a floor
    if isinstance(lr, Tensor) or abs(lr) > torch.finfo(grad.dtype).max:
        # (a rate past the weights' float range cannot be addcdiv's value: as a product it is
        # inf, the step inf, and the loss then NaN -- a run that diverged, reported as such)
        # (-lr·g)/rms, the same products in the same order as addcdiv's value·g/rms below.
        velocity.mul_(momentum).addcdiv_(grad * -lr, rms)
    else:
        velocity.mul_(momentum).addcdiv_(grad, rms, value=-lr)          # v ← momentum·v - lr·g/rms


def clip_steps_(velocities: list, max_norm: float, population: bool) -> Tensor:
    """Rescale the step about to be applied, v, to norm ≤ max_norm, in place -- the authors'
    ``momentum_clipping`` (their code clips the update; the paper's text says the gradient).

    population: each tensor is (P, ...) and every member is rescaled by its own norm (over all
    its tensors); otherwise the tensors are one model's. The clipped v is also the velocity the
    next step starts from, as in the authors' code. Returns the norm(s) before clipping.
    """
    if population:
        squares = sum(v.double().square().flatten(1).sum(1) for v in velocities)   # (P,)
    else:
        squares = sum(v.double().square().sum() for v in velocities)
    norm = squares.sqrt()
    coef = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    for v in velocities:
        v.mul_((coef.view(-1, *[1] * (v.dim() - 1)) if population else coef).to(v.dtype))
    return norm


def without_velocity(state_dict: dict) -> dict:
    """A copy of an RMSPropMomentum state_dict with every velocity zero (a learning-rate drop
    starts without the momentum of the steps it abandons); the mean squares are kept."""
    return {**state_dict, "state": {i: {**entry, "velocity": torch.zeros_like(entry["velocity"])}
                                    for i, entry in state_dict["state"].items()}}


# -- the optimiser -----------------------------------------------------------------------------

class RMSPropMomentum(torch.optim.Optimizer):
    """RMSProp with momentum exactly as the authors' RMSPropMomentum (librnn):

        ms ← decay·ms + (1 - decay)·g²
        v  ← momentum·v - lr · g / max(√ms, eps)
        θ  ← θ + v

    Unlike ``torch.optim.RMSprop`` the RMS is floored at ``eps`` (1e-2) instead of having eps
    added, and lr sits inside the velocity (the two agree only when lr is constant).
    """

    def __init__(self, params, lr=1e-3, decay=0.95, eps=1e-2, momentum=0.9,
                 step_clip: float | None = None):
        # step_clip: rescale each step v to norm ≤ step_clip before applying it (clip_steps_)
        super().__init__(params, dict(lr=lr, decay=decay, eps=eps, momentum=momentum))
        self.step_clip = step_clip

    def set_lrs(self, lrs: list) -> None:
        """The learning rate of member 0, the one model (the Trainer's schedule sets it)."""
        for group in self.param_groups:
            group["lr"] = lrs[0]

    def member_state_dict(self, m: int, lr: float) -> dict:
        return self.state_dict()

    def load_member(self, m: int, state_dict: dict) -> None:
        self.load_state_dict(state_dict)

    @torch.no_grad()
    def step(self, closure=None, frozen=()):
        """One step from the gradients in ``p.grad``; frozen=[0] (the one model) skips it."""
        if frozen:
            return
        stepped = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.zeros_like(p)
                    state["velocity"] = torch.zeros_like(p)
                if self.step_clip is None:
                    rmsprop_momentum_(p, p.grad, state["square_avg"], state["velocity"],
                                      group["lr"], group["decay"], group["eps"], group["momentum"])
                else:                              # every v first: the clip needs their norm
                    rmsprop_velocity_(p.grad, state["square_avg"], state["velocity"], group["lr"],
                                      group["decay"], group["eps"], group["momentum"])
                    stepped.append((p, state["velocity"]))
        if stepped:
            clip_steps_([v for _, v in stepped], self.step_clip, population=False)
            for p, v in stepped:
                p.add_(v)                                               # θ ← θ + clipped v


class RMSPropMomentumStack:
    """RMSPropMomentum for P models at once: parameter i of every member lives in ONE stacked
    tensor (P, ...), and so do its running mean square and velocity. Member m's learning rate
    is lrs[m]; apart from that every member follows exactly RMSPropMomentum's formula.

    It is not a torch.optim.Optimizer: removing a member (``keep``) replaces the stacked
    parameters by smaller ones, which the population trainer hands it there.
    ``member_state_dict(m)`` / ``load_member`` translate member m's slice to and from
    RMSPropMomentum's own state_dict, so a member's last.pt is resumable by a single Trainer.
    """

    def __init__(self, params: list, decay=0.95, eps=1e-2, momentum=0.9,
                 step_clip: float | None = None):
        self.decay, self.eps, self.momentum, self.step_clip = decay, eps, momentum, step_clip
        self.params = list(params)                                 # each (P, ...), a leaf
        self.square_avg = [torch.zeros_like(p) for p in params]    # each (P, ...) like its param
        self.velocity = [torch.zeros_like(p) for p in params]
        self.lrs: Tensor | None = None

    def set_lrs(self, lrs: list) -> None:
        """The members' learning rates, as a (P,) tensor in the parameters' dtype (as a single
        run's step casts its lr)."""
        like = self.params[0]
        self.lrs = torch.tensor(lrs, dtype=like.dtype, device=like.device)

    @torch.no_grad()
    def step(self, frozen: list | None = None) -> None:
        """θ += v for every member, from the gradients in ``params[i].grad`` (each (P, ...)).

        frozen: member positions that must not move at all (a NaN gradient): their θ, ms and v
        are put back after the step, as a single trainer skips its step on a NaN/inf gradient.
        """
        saved = [(t, t[frozen].clone()) for t in (*self.params, *self.square_avg, *self.velocity)] \
            if frozen else []
        stepped = []
        for p, ms, v in zip(self.params, self.square_avg, self.velocity):
            if p.grad is None:
                continue
            lr = self.lrs.view(-1, *[1] * (p.dim() - 1))              # (P, 1, ...): one per member
            if self.step_clip is None:
                rmsprop_momentum_(p, p.grad, ms, v, lr, self.decay, self.eps, self.momentum)
            else:                                  # every v first: the clip needs their norm
                rmsprop_velocity_(p.grad, ms, v, lr, self.decay, self.eps, self.momentum)
                stepped.append((p, v))
        if stepped:
            clip_steps_([v for _, v in stepped], self.step_clip, population=True)
            for p, v in stepped:
                p.add_(v)                                              # θ ← θ + clipped v
        for t, old in saved:                                           # rare: only after a NaN
            t[frozen] = old

    def keep(self, index: Tensor, params: list) -> None:
        """Keep only the members at ``index`` (a (P',) long tensor), in that order; ``params``
        are the parameters' new (P', ...) leaves."""
        self.params = list(params)
        self.square_avg = [t.index_select(0, index) for t in self.square_avg]
        self.velocity = [t.index_select(0, index) for t in self.velocity]
        if self.lrs is not None:
            self.lrs = self.lrs.index_select(0, index)

    def member_state_dict(self, m: int, lr: float) -> dict:
        """Member m's state as RMSPropMomentum(model.parameters()).state_dict() would hold it."""
        n = len(self.square_avg)
        return {"state": {i: {"square_avg": self.square_avg[i][m].clone(),
                              "velocity": self.velocity[i][m].clone()} for i in range(n)},
                "param_groups": [dict(lr=lr, decay=self.decay, eps=self.eps, momentum=self.momentum,
                                      params=list(range(n)))]}

    @torch.no_grad()
    def load_member(self, m: int, state_dict: dict) -> None:
        """Put an RMSPropMomentum state_dict (a single run's, or member_state_dict's) at member m.
        Parameters without state (no step yet) keep zeros, which is how the optimiser starts."""
        for i, entry in state_dict["state"].items():
            self.square_avg[int(i)][m].copy_(entry["square_avg"])
            self.velocity[int(i)][m].copy_(entry["velocity"])

