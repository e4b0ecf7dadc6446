"""Train every learning-rate candidate at once: a population of P models as one.

    >>> models = [make_model("gru", keys=88, hidden_size=46, seed=0) for _ in lrs]
    >>> configs = [TrainConfig(lr=lr) for lr in lrs]
    >>> trainer = PopulationTrainer(models, train_rolls, valid_rolls, configs,
    ...                             out_dirs=[f"runs/gru/lr{i}" for i in range(len(lrs))])
    >>> results = trainer.fit()          # one TrainResult per member (FailedResult if it diverged)

Why this is cheap. The paper picks each model's learning rate among 10 candidates, i.e. trains
10 models that differ only in their weights. At the paper's sizes (a few hundred units, small
batches) one time step of one model is a handful of tiny matrix products: the CPU or GPU spends
far more time LAUNCHING each op (Python, the dispatcher, a kernel launch: microseconds) than
computing it. Ten models trained one after the other pay ten launches per op. Stacked, member m
of parameter ``W`` is ``W[m]`` of ONE tensor (P, ...), and ``torch.vmap`` runs the model's own
code on the stack: every op is launched once for the whole population, on a P times bigger
tensor, so a step of 10 models costs about what a step of one does.

Exactness. Every member follows the protocol of ``Trainer`` (trainer.py) exactly, because
``PopulationTrainer`` IS a Trainer: the update (noise, gradient at the noisy weights, restore,
clip, step, skip a NaN), the epoch, the run, the end-of-epoch bookkeeping and the checkpoint
files are the Trainer's own methods, written over its live members (the protocol functions
take (P, ...) tensors, member m at [m]), and the optimiser's formula is optim.py's. This class
supplies only the layout:

* the parameters: member m of parameter ``W`` is ``params["W"][m]``, one (P, ...) leaf;
* the gradient: ``totals = vmap(member_loss)(params, buffers, x, lengths)`` gives the (P,) NLLs,
  and the backward of their sum (in the Trainer's update) puts member m's own gradient in
  ``params[name]``'s gradient at [m] (member m's loss does not depend on the others' weights);
* the learning rate: each member has its own (and its own linear decay), a (P, 1, ...) tensor;
* RMSProp: the running mean square and velocity are stacked (P, ...), one slice per member;
* weight noise: member m's noise comes from a generator seeded as a single Trainer seeds its
  own from m's config.seed, so a member draws the noise it would draw alone.

The shared protocol then gives each member its own run: clipping by its own gradient norm,
never the population's joint norm; early stopping, max_epochs, max_seconds per member
(seconds are the shared wall time); with ``prune=True``, the one rule that looks across
members: a member that cannot catch the leader stops (trainer.hopeless), which changes nothing
for the others; and divergence: a NaN/inf loss or validation NLL fails
THAT member, with the message a single Trainer's DivergedError carries; the others go on
unchanged.

A member that stops or fails is REMOVED from the stacked tensors (index_select), so it costs
nothing more; its best.pt stays. All members see the same batches: the batch order depends
only on (config.seed, epoch), so the configs must share the seed -- in fact they may differ in
``lr`` only (anything else would make them different experiments, not candidates).

Files: each member's out_dir gets exactly what a single run writes (best.pt, last.pt,
records.json/.csv, result.json), loadable by ``gru_lib.tasks.load_model``; a member's last.pt
is even resumable by a single Trainer. The population's checkpoint IS the members' last.pt
files (plus ``failed.json`` for a failed member): an interrupted population (request_stop(),
or SIGINT/SIGTERM through ``StopOnSignals`` in ``train_population``) writes them all at the
same update, and ``PopulationTrainer(..., resume=True)`` continues from there with the same
numbers as a run that never stopped.

The models must run under ``torch.vmap``: build them with ``backend="python"`` (or a backend
whose autograd Functions have vmap rules).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..checks import instance
from .batching import eval_batches
from .callbacks import PopulationProgressBars, StopOnSignals
from .evaluation import nll_per_step
from .optim import RMSPropMomentumStack
from .trainer import (
    FailedResult,
    Member,
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    check_data,
    divergence_message,
    hopeless,
    noisy_parameters,
    step_clip,
)

__all__ = ["FailedResult", "PopulationTrainer", "PopulationUpdate", "replay_pruning",
           "train_population"]


@dataclass
class PopulationUpdate:
    """What one update measured, per LIVE member (in the order of ``live``)."""

    losses: list                  # average NLL per step of the batch, at the noisy weights
    steps: int                    # real time steps in the batch (the same for every member)
    grad_norms: list              # each member's gradient norm BEFORE clipping


class _Method(nn.Module):
    """Makes ``model.nll_sum`` a module's forward, for torch.func.functional_call (which calls
    forward only). Its parameters are the model's, named "model.<name>"."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, lengths, keep=None):
        if keep is None:                        # models without dropout take no mask
            return self.model.nll_sum(x, lengths)
        return self.model.nll_sum(x, lengths, keep=keep)


class PopulationTrainer(Trainer):
    """Trains P models of one class and size, one TrainConfig each (they may differ in lr
    only), as one population; see the module docstring.

    out_dirs: one folder per member (None: keep the best weights in memory, ``Member.best_state``).
    resume: continue from the members' last.pt files where they exist.
    Callbacks (``add_callback``) get the trainer: ``last_update`` (a PopulationUpdate over the
    members that were live for it), ``members`` (every Member, live or not), ``live``.
    The Trainer's one-model conveniences (``state``, ``best_state``, ``result()``, the record
    ``run_epoch`` returns) are member 0's.
    """

    def __init__(self, models: list, train_rolls: list, valid_rolls: list, configs: list,
                 out_dirs: list | None = None, resume: bool = False,
                 trained_on: dict | None = None):
        models, configs = list(models), list(configs)
        self._check(models, train_rolls, valid_rolls, configs, out_dirs, resume)
        self.base = models[0]                   # the code every member runs (with its own weights)
        self._start([Member(i, m, c, None if out_dirs is None else out_dirs[i])
                     for i, (m, c) in enumerate(zip(models, configs))], train_rolls, valid_rolls,
                    resume, trained_on)
        self._call = _Method(self.base)
        name_of = {id(p): n for n, p in self.base.named_parameters()}
        # Noise goes where a single Trainer puts it, in the same order (the draws must match).
        self.noisy_names = [name_of[id(p)] for p in noisy_parameters(self.base, self.config.noise_on)] \
            if self.config.weight_noise > 0 else []
        where = {(m.state.epoch, m.state.batch, m.state.updates) for m in self.live}
        if len(where) > 1:
            raise ValueError(f"resume: the members' last.pt files are at different points "
                             f"(epoch, batch, updates) {sorted(where)}; a population's members "
                             f"are always saved together, so these come from different runs "
                             f"(or members that had stopped early were resumed with more "
                             f"lr_drops beside others: resume those on their own)")
        self._stack()
        if self.config.progress:
            PopulationProgressBars().attach(self)

    @staticmethod
    def _check(models, train_rolls, valid_rolls, configs, out_dirs, resume) -> None:
        if not models:
            raise ValueError("models: expected a non-empty list of models")
        if len(configs) != len(models):
            raise ValueError(f"configs: expected one TrainConfig per model ({len(models)}), got "
                             f"{len(configs)}")
        for i, c in enumerate(configs):
            instance(f"configs[{i}]", c, TrainConfig)
        if len({id(m) for m in models}) != len(models):
            raise ValueError("models: each member needs its own model object (the same one twice)")
        base = models[0]
        check_data(base, train_rolls, valid_rolls)
        shapes = lambda m: [(n, tuple(t.shape), t.dtype) for n, t in m.state_dict().items()]
        for i, m in enumerate(models[1:], 1):
            if type(m) is not type(base) or m.meta() != base.meta() or shapes(m) != shapes(base):
                raise ValueError(f"models[{i}] is a {type(m).__name__} {m.meta()}, models[0] a "
                                 f"{type(base).__name__} {base.meta()}: a population's members "
                                 f"must differ in their weights only")
        shared = lambda c: {k: v for k, v in asdict(c).items() if k != "lr"}
        for i, c in enumerate(configs[1:], 1):
            diff = sorted(k for k, v in shared(c).items() if shared(configs[0])[k] != v)
            if diff:
                raise ValueError(f"configs[{i}] differs from configs[0] in {diff}: the members of a "
                                 f"population may differ in lr only (they share the batches, "
                                 f"whose order depends on seed)")
        if out_dirs is not None:
            out_dirs = [Path(d) for d in out_dirs]
            if len(out_dirs) != len(models) or len(set(out_dirs)) != len(out_dirs):
                raise ValueError(f"out_dirs: expected {len(models)} distinct folders, one per "
                                 f"member, got {[str(d) for d in out_dirs]}")
        if resume and out_dirs is None:
            raise ValueError("resume=True needs out_dirs (where the members' last.pt are)")

    # -- the stacks: every live member's weights and optimiser state, (P, ...) per tensor -----

    def _stack(self) -> None:
        """Stack the live members' weights (from their model objects) and optimiser state."""
        if not self.live:
            self.params, self.buffers, self.optimizer = {}, {}, None
            return
        # params[name]: (P, ...) leaf tensors that require grad; buffers likewise, without grad.
        self.params, self.buffers = torch.func.stack_module_state([m.model for m in self.live])
        c = self.config
        self.optimizer = RMSPropMomentumStack(list(self.params.values()), decay=c.rms_decay,
                                              eps=c.rms_eps, momentum=c.momentum,
                                              step_clip=step_clip(c))
        for s, m in enumerate(self.live):
            if m.saved_optimizer is not None:                      # resumed: its saved state
                self.optimizer.load_member(s, m.saved_optimizer)
                m.saved_optimizer = None
        # Each member's learning rate now, so update() works before any epoch has begun too
        # (run_updates sets the decayed rates again at the start of every epoch).
        self.optimizer.set_lrs([m.lr for m in self.live])
        # Members whose generators are in the same state (the usual case: one seed) share one
        # generator object: it draws once for all of them (add_weight_noise_), and stays equal
        # to what each would have drawn alone, because they all draw the same shapes.
        by_state = {}
        for m in self.live:
            m.noise_gen = by_state.setdefault(m.noise_gen.get_state().numpy().tobytes(), m.noise_gen)

    def _keep(self, index: list[int]) -> None:
        """Keep only the slots ``index`` of every stacked tensor (the others left the population)."""
        idx = torch.tensor(index, dtype=torch.long, device=self.device)
        self.params = {n: p.detach().index_select(0, idx).requires_grad_() for n, p in self.params.items()}
        self.buffers = {n: b.index_select(0, idx) for n, b in self.buffers.items()}
        self.optimizer.keep(idx, list(self.params.values()))
        self.live = [self.live[s] for s in index]

    @property
    def size(self) -> int:
        """How many members are still training."""
        return len(self.live)

    # -- the layout: what differs from a single model's ----------------------------------------

    def _leaves(self) -> list:
        return list(self.params.values())

    def _noisy_leaves(self) -> list:
        return [self.params[n] for n in self.noisy_names]

    @staticmethod
    def _stacked(t: torch.Tensor) -> torch.Tensor:
        return t                                                 # already (P, ...)

    def _nll_sums(self, x, lengths, keep=None):
        """(totals (P,), steps): every live member's nll_sum on one batch, in one vmapped call;
        ``keep`` (P, T, B, H): their dropout masks (None: no dropout)."""
        seen = []

        def member(p, b, x, lengths, keep):                      # p, b, keep: ONE member's
            total, steps = torch.func.functional_call(
                self._call, ({f"model.{k}": v for k, v in p.items()},
                             {f"model.{k}": v for k, v in b.items()}), (x, lengths, keep))
            seen.append(steps)                                   # an int: the same for all
            return total
        # Dropout masks come in drawn (Trainer._update, from each member's seeded generator),
        # so no random op runs under vmap: one that did would be an error ("error"), not a
        # silent draw from torch's global generator.
        totals = torch.vmap(member, in_dims=(0, 0, None, None, None if keep is None else 0),
                            randomness="error")(self.params, self.buffers, x, lengths, keep)
        return totals, seen[0]

    def evaluate(self, rolls) -> list:
        """The clean NLL (no weight noise) of every live member on ``rolls``: one float each,
        the same number as Trainer.evaluate of that member alone."""
        was_training = self.base.training
        self.base.eval()
        try:
            with torch.no_grad():
                param = next(iter(self.params.values()))
                return nll_per_step(self._nll_sums, eval_batches(list(rolls),
                                    self.config.eval_batch_size), param).tolist()
        finally:
            self.base.train(was_training)

    def _evaluations(self, rolls) -> list:
        return self.evaluate(rolls)

    def _measured(self, losses: list, steps: int, norms: list) -> PopulationUpdate:
        return PopulationUpdate(losses=losses, steps=steps, grad_norms=norms)

    def _fail(self, m: Member, what: str, value: float) -> None:
        """``what`` is NaN/inf: THAT member fails, with the message a single run would raise;
        it leaves the population, the others go on."""
        m.failure = divergence_message(what, value, m.state, m.config)

    def member_weights(self, slot: int) -> dict:
        """A live member's weights (by slot) as its model's state_dict would hold them."""
        return {k: (self.params[k] if k in self.params else self.buffers[k])[slot].detach().clone()
                for k in self.base.state_dict()}

    @torch.no_grad()
    def _set_member_weights(self, slot: int, weights: dict) -> None:
        """Give a live member these weights (a state_dict of its model): its slices [slot]."""
        for k, stack in (*self.params.items(), *self.buffers.items()):
            stack[slot].copy_(weights[k])

    def _drop(self, slots: list) -> None:
        """Members that stopped or failed leave the stacks (index_select): each model object gets
        the weights it stopped at."""
        for s in slots:
            self.live[s].model.load_state_dict(self.member_weights(s))
        self._keep([s for s in range(len(self.live)) if s not in slots])

    def _write_back(self) -> None:
        """Copy each live member's current weights into its own model object."""
        for s, m in enumerate(self.live):
            m.model.load_state_dict(self.member_weights(s))

    def fit(self) -> list:
        """Train until every member has stopped (early stopping, max_epochs, max_seconds,
        pruning) or failed, or until a stop request; returns ``results()``."""
        super().fit()
        return self.results()


# -- the whole run in one call -----------------------------------------------------------------

def train_population(models: list, train_rolls: list, valid_rolls: list, configs: list,
                     out_dirs: list | None = None, resume: bool = False,
                     trained_on: dict | None = None) -> list:
    """Train the members with ``PopulationTrainer`` and return its ``results()``: the
    population's ``train``. Ctrl-C / SIGTERM save every live member's last.pt and raise
    TrainingInterrupted (its ``checkpoint`` is the first live member's last.pt; resume=True
    continues them all). Without out_dirs each model ends on its best weights. trained_on:
    the data, written into every checkpoint (see trainer.best_payload)."""
    trainer = PopulationTrainer(models, train_rolls, valid_rolls, configs, out_dirs=out_dirs,
                                resume=resume, trained_on=trained_on)
    with StopOnSignals(trainer):
        results = trainer.fit()
    if trainer.stop_reason is not None and not trainer.finished:
        last = next((str(m.last_path) for m in trainer.live if m.last_path), None)
        raise TrainingInterrupted(
            f"{trainer.stop_reason} received: stopped after update {trainer.live[0].state.updates} "
            f"(epoch {trainer.live[0].state.epoch + 1}) with {trainer.size} members training; "
            f"their last.pt files are saved; run again with resume to continue", last)
    if out_dirs is None:
        for m in trainer.members:
            if m.best_state is not None:
                m.model.load_state_dict(m.best_state)          # in memory: end on the best weights
    return results


def replay_pruning(records: dict, max_epochs: int) -> dict:
    """What ``prune=True`` would have done to a population that trained without it.

    records: {member name: its per-epoch records (records.json: epoch 0 first)}, every member
    of ONE population. The replay walks the epochs as ``PopulationTrainer`` does: after each,
    the leader is the best validation NLL any member has reached so far (stopped members
    included), and a member still training stops when ``hopeless`` says so. A member's records
    are the same with or without pruning up to the epoch it stops, so the replay is exact.
    Returns {"winner": the member with the best validation NLL, "winner_kept": whether pruning
    would have left it to finish, "pruned_at": {member: epoch it stops}, "last_epoch" and
    "member_epochs" (with pruning) beside "last_epoch_unpruned", "member_epochs_unpruned"}."""
    if len(records) < 2:
        raise ValueError(f"records: expected the records of every member of a population (2 or "
                         f"more), got {len(records)}")
    last = {name: len(rows) - 1 for name, rows in records.items()}      # epochs each trained
    stopped = {}
    for epoch in range(1, max(last.values()) + 1):
        seen = {name: rows[:min(epoch, stopped.get(name, last[name])) + 1]
                for name, rows in records.items()}
        leader = min(min(r["valid_nll"] for r in rows) for rows in seen.values())
        for name in records:
            if name not in stopped and last[name] >= epoch and \
                    hopeless(seen[name], max_epochs, leader):
                stopped[name] = epoch
    best = lambda name, upto: min(r["valid_nll"] for r in records[name][:upto + 1])
    winner = min(records, key=lambda n: best(n, last[n]))
    kept = min(records, key=lambda n: best(n, stopped.get(n, last[n])))
    ends = {n: stopped.get(n, last[n]) for n in records}
    return {"winner": winner, "winner_kept": kept == winner, "pruned_at": stopped,
            "last_epoch": max(ends.values()), "last_epoch_unpruned": max(last.values()),
            "member_epochs": sum(ends.values()), "member_epochs_unpruned": sum(last.values())}
