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

Exactness. Every member follows the protocol of ``Trainer`` (trainer.py) exactly, because the
two share its pieces -- weight noise, clipping, the learning-rate schedule, the end-of-epoch
bookkeeping and the checkpoint files (the "protocol" functions of trainer.py) and the
optimiser's formula (optim.py):

* the gradient: ``losses = vmap(member_loss)(params, buffers, x, lengths)`` gives the (P,) NLLs,
  and ``losses.sum().backward()`` puts member m's own gradient in ``params[name].grad[m]``
  (member m's loss does not depend on the other members' weights);
* the learning rate: each member has its own (and its own linear decay), a (P, 1, ...) tensor;
* RMSProp: the running mean square and velocity are stacked (P, ...), one slice per member;
* weight noise: member m's noise comes from a generator seeded as a single Trainer seeds its
  own from m's config.seed, so a member draws the noise it would draw alone;
* clipping: by each member's own gradient norm, never the population's joint norm;
* early stopping, max_epochs, max_seconds: per member (seconds are the shared wall time);
* divergence: a NaN/inf loss or validation NLL fails THAT member, with the message a single
  Trainer's DivergedError carries; the others go on unchanged.

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

import json
import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..checks import instance, one_of, positive_int
from ..device import pick_device
from .batching import batches
from .callbacks import PopulationProgressBars, StopOnSignals
from .checkpoints import atomic_write, load_checkpoint, save_checkpoint, write_records
from .evaluation import nll_per_step
from .optim import RMSPropMomentumStack
from .trainer import (
    TrainConfig,
    TrainingInterrupted,
    TrainResult,
    TrainState,
    add_weight_noise_,
    best_payload,
    clip_gradients_,
    divergence_message,
    epoch_record,
    last_payload,
    noisy_parameters,
    read_last,
    result_of,
    scheduled_lr,
    settle_epoch,
)

EVENTS = ("on_run_start", "on_update", "on_epoch_end", "on_member_end", "on_run_end")


@dataclass
class FailedResult(TrainResult):
    """The result of a member that diverged: ``stopped`` is "diverged" and ``error`` the message
    a single Trainer's DivergedError would have carried. Its best.pt (if any) is kept."""

    error: str = ""


@dataclass
class PopulationUpdate:
    """What one update measured, per LIVE member (in the order of ``live``)."""

    losses: list                  # average NLL per step of the batch, at the noisy weights
    steps: int                    # real time steps in the batch (the same for every member)
    grad_norms: list              # each member's gradient norm BEFORE clipping


class Member:
    """One candidate: its model object (which gets its weights back when it leaves the
    population), config, files, TrainState and, while it trains, its slot in the stacks."""

    def __init__(self, index: int, model: nn.Module, config: TrainConfig, out_dir):
        self.index, self.model, self.config = index, model, config
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.state = TrainState()
        self.best_state: dict | None = None     # the best epoch's weights, also without out_dir
        self.failure: str | None = None         # the divergence message once it has failed
        self.lr = config.lr                     # the current (decayed) learning rate
        self.noise_gen: torch.Generator | None = None
        self._optimizer_state: dict | None = None   # from last.pt, until the stacks exist

    @property
    def live(self) -> bool:
        return self.failure is None and self.state.stopped is None

    @property
    def best_path(self):
        return self.out_dir / "best.pt" if self.out_dir else None

    @property
    def last_path(self):
        return self.out_dir / "last.pt" if self.out_dir else None

    @property
    def failed_path(self):
        return self.out_dir / "failed.json" if self.out_dir else None


class _Method(nn.Module):
    """Makes ``model.nll_sum`` a module's forward, for torch.func.functional_call (which calls
    forward only). Its parameters are the model's, named "model.<name>"."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, lengths):
        return self.model.nll_sum(x, lengths)


class PopulationTrainer:
    """Trains P models of one class and size, one TrainConfig each (they may differ in lr
    only), as one population; see the module docstring.

    out_dirs: one folder per member (None: keep the best weights in memory, ``Member.best_state``).
    resume: continue from the members' last.pt files where they exist.
    Callbacks (``add_callback``) get the trainer: ``last_update`` (a PopulationUpdate over the
    members that were live for it), ``members`` (every Member, live or not), ``live``.
    """

    def __init__(self, models: list, train_rolls: list, valid_rolls: list, configs: list,
                 out_dirs: list | None = None, resume: bool = False):
        models, configs = list(models), list(configs)
        self._check(models, train_rolls, valid_rolls, configs, out_dirs, resume)
        self.config = config = configs[0]       # what all members share (lr aside)
        self.train_rolls, self.valid_rolls = list(train_rolls), list(valid_rolls)
        self.device = pick_device(config.device)
        for model in models:
            model.to(self.device)
        self.members = [Member(i, m, c, None if out_dirs is None else out_dirs[i])
                        for i, (m, c) in enumerate(zip(models, configs))]
        self.base = models[0]                   # the code every member runs (with its own weights)
        self._call = _Method(self.base)
        name_of = {id(p): n for n, p in self.base.named_parameters()}
        # Noise goes where a single Trainer puts it, in the same order (the draws must match).
        self.noisy_names = [name_of[id(p)] for p in noisy_parameters(self.base, config.noise_on)] \
            if config.weight_noise > 0 else []
        self.last_update: PopulationUpdate | None = None
        self.ended: Member | None = None        # the member that just left (on_member_end)
        self.stop_reason: str | None = None     # set by request_stop(), from any thread
        self.interrupted = False
        self.callbacks = defaultdict(list)
        self._order = (None, [])                # (epoch, its batches), built once per epoch
        self._since = None                      # the clock, while run_updates runs
        self._lr_cache = (None, None)           # (members and their lrs, that (P,) tensor)
        for m in self.members:
            m.noise_gen = torch.Generator(device=self.device)
            m.noise_gen.manual_seed(m.config.seed)
            if resume:
                self._load(m)
        where = {(m.state.epoch, m.state.batch, m.state.updates) for m in self.members if m.live}
        if len(where) > 1:
            raise ValueError(f"resume: the members' last.pt files are at different points "
                             f"(epoch, batch, updates) {sorted(where)}; a population's members "
                             f"are always saved together, so these come from different runs")
        self._stack()
        if config.progress:
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
        if not all(hasattr(base, a) for a in ("nll_sum", "meta", "rnn", "row_size")):
            raise ValueError(f"models must have nll_sum, meta, rnn and row_size (a PianoRollModel "
                             f"or a SpeechModel), got {type(base).__name__}")
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
        for name, rolls in (("train_rolls", train_rolls), ("valid_rolls", valid_rolls)):
            if not isinstance(rolls, (list, tuple)) or not rolls:
                raise ValueError(f"{name} must be a non-empty list of (T, row_size) tensors")
            if rolls[0].dim() != 2 or rolls[0].shape[1] != base.row_size:
                raise ValueError(f"{name}[0] has shape {tuple(rolls[0].shape)}; the models expect "
                                 f"(T, row_size={base.row_size})")
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
        self.live = [m for m in self.members if m.live]           # slot s of the stacks = live[s]
        if not self.live:
            self.params, self.buffers, self.optimizer, self.generators = {}, {}, None, []
            return
        # params[name]: (P, ...) leaf tensors that require grad; buffers likewise, without grad.
        self.params, self.buffers = torch.func.stack_module_state([m.model for m in self.live])
        c = self.config
        self.optimizer = RMSPropMomentumStack(list(self.params.values()), decay=c.rms_decay,
                                                eps=c.rms_eps, momentum=c.momentum)
        for s, m in enumerate(self.live):
            if m._optimizer_state is not None:                     # resumed: its saved state
                self.optimizer.load_member(s, m._optimizer_state)
                m._optimizer_state = None
        # Members whose generators are in the same state (the usual case: one seed) share one
        # generator object: it draws once for all of them (add_weight_noise_), and stays equal
        # to what each would have drawn alone, because they all draw the same shapes.
        by_state = {}
        for m in self.live:
            m.noise_gen = by_state.setdefault(m.noise_gen.get_state().numpy().tobytes(), m.noise_gen)
        self.generators = [m.noise_gen for m in self.live]

    def _keep(self, index: list[int]) -> None:
        """Keep only the slots ``index`` of every stacked tensor (the others left the population)."""
        idx = torch.tensor(index, dtype=torch.long, device=self.device)
        self.params = {n: p.detach().index_select(0, idx).requires_grad_() for n, p in self.params.items()}
        self.buffers = {n: b.index_select(0, idx) for n, b in self.buffers.items()}
        self.optimizer.keep(idx)
        self.generators = [self.generators[s] for s in index]
        self.live = [self.live[s] for s in index]

    def member_weights(self, slot: int) -> dict:
        """A live member's weights (by slot) as its model's state_dict would hold them."""
        return {k: (self.params[k] if k in self.params else self.buffers[k])[slot].detach().clone()
                for k in self.base.state_dict()}

    def _write_back(self) -> None:
        """Copy each live member's current weights into its own model object."""
        for s, m in enumerate(self.live):
            m.model.load_state_dict(self.member_weights(s))

    def _lrs(self, like) -> torch.Tensor:
        """(P,) the live members' learning rates, in the parameters' dtype (as a single run's
        step casts its lr), built once per epoch or change of members, not at every update."""
        key = tuple((id(m), m.lr) for m in self.live)
        if self._lr_cache[0] != key:
            self._lr_cache = (key, torch.tensor([m.lr for m in self.live], dtype=like.dtype,
                                                device=like.device))
        return self._lr_cache[1]

    @property
    def size(self) -> int:
        """How many members are still training."""
        return len(self.live)

    # -- hooks ----------------------------------------------------------------------------------

    def add_callback(self, event: str, fn) -> None:
        """Call ``fn(trainer)`` at ``event``: on_run_start / on_run_end (fit), on_update,
        on_epoch_end, on_member_end (a member stopped or failed: ``trainer.ended`` is it)."""
        self.callbacks[one_of("event", event, EVENTS)].append(fn)

    def _trigger(self, event: str) -> None:
        for fn in self.callbacks[event]:
            fn(self)

    def request_stop(self, reason: str = "stop requested") -> None:
        """End the run after the current update (safe from any thread); every live member's
        last.pt is saved, so resume=True continues with the same numbers."""
        if self.stop_reason is None:
            self.stop_reason = reason

    @property
    def finished(self) -> bool:
        return not self.live

    # -- one update -----------------------------------------------------------------------------

    def _nll_sums(self, x, lengths):
        """(totals (P,), steps): every live member's nll_sum on one batch, in one vmapped call."""
        seen = []

        def member(p, b, x, lengths):                            # p, b: ONE member's tensors
            total, steps = torch.func.functional_call(
                self._call, ({f"model.{k}": v for k, v in p.items()},
                             {f"model.{k}": v for k, v in b.items()}), (x, lengths))
            seen.append(steps)                                   # an int: the same for all
            return total
        totals = torch.vmap(member, in_dims=(0, 0, None, None))(self.params, self.buffers, x, lengths)
        return totals, seen[0]

    def update(self, rolls, lengths) -> PopulationUpdate:
        """One update of every live member -- steps 1-5 of trainer.py's docstring -- on a batch
        rolls (T, B, row_size), lengths (B,). Only the weights and the optimiser state change."""
        noisy = [self.params[n] for n in self.noisy_names]        # each (P, ...)
        clean = [p.detach().clone() for p in noisy]
        with torch.no_grad():                                     # θ + ε, each member its own ε
            add_weight_noise_(noisy, self.generators, self.config.weight_noise)
        for p in self.params.values():
            p.grad = None
        param = next(iter(self.params.values()))                  # the device and dtype
        totals, steps = self._nll_sums(rolls.to(param), lengths)  # (P,)
        losses = totals / steps                                   # (P,) nats per step
        losses.sum().backward()      # member m's loss involves only its slices: grad[m] is its own
        with torch.no_grad():
            for p, c in zip(noisy, clean):                        # restore exactly: no noise in θ
                p.copy_(c)
        norm, peak = clip_gradients_([p.grad for p in self.params.values() if p.grad is not None],
                                     self.config.clip_norm)       # each member by its own norm
        # One transfer for all three (a single trainer syncs for its loss and peak too).
        values, peaks, norms = torch.stack([losses.detach().double(), peak.double(), norm]).tolist()
        # Never step on a NaN/inf gradient: such a member keeps its weights and state.
        frozen = [s for s, (v, k) in enumerate(zip(values, peaks))
                  if not (math.isfinite(v) and math.isfinite(k))]
        self.optimizer.apply_update(list(self.params.values()), self._lrs(param), frozen)
        return PopulationUpdate(losses=values, steps=steps, grad_norms=norms)

    # -- updates, epochs, the run -------------------------------------------------------------

    def begin(self) -> None:
        """Score the untrained members as epoch 0 (once; resumed members have done it)."""
        fresh = [s for s, m in enumerate(self.live) if not m.state.records]
        if not fresh:
            return
        records = self._score()
        for s in fresh:
            m, record = self.live[s], records[s]
            if record is None:
                continue                                          # failed: valid NLL not finite
            m.state.records.append(record)
            m.state.best_valid, m.state.best_epoch = record["valid_nll"], 0
            self._keep_best(s)
        self._remove_ended()

    def run_updates(self, n: int | None = None) -> int:
        """Up to ``n`` more updates of the current epoch (None: to its end); returns how many
        ran. The epoch's last batch ends the epoch: every live member is scored and recorded."""
        positive_int("n", n, allow_none=True)
        if self.finished:
            return 0
        self.begin()
        if self.stop_reason is not None:
            self._pause()
            return 0
        ran = 0
        self._since = time.perf_counter()
        try:
            if not self.live:
                return 0
            order = self._epoch_batches()
            for m in self.live:
                m.lr = scheduled_lr(m.config, m.state.epoch)
            self.base.train()
            while self.live and self._batch < len(order) and (n is None or ran < n):
                rolls, lengths = order[self._batch]
                self.last_update = u = self.update(rolls, lengths)
                ran += 1
                for m, loss in zip(self.live, u.losses):
                    s = m.state
                    s.updates, s.batch = s.updates + 1, s.batch + 1
                    s.run_sum += loss * u.steps
                    s.run_steps += u.steps
                self._trigger("on_update")
                for m, loss in zip(self.live, u.losses):
                    if not math.isfinite(loss):
                        m.failure = divergence_message("the training loss", loss, m.state, m.config)
                self._remove_ended()
                if self.stop_reason is not None:
                    self._pause()
                    return ran
            if self.live and self._batch == len(order):
                self._end_epoch()
        finally:
            self._stop_clock()
        return ran

    def run_epoch(self) -> None:
        """Train to the end of the current epoch (or a stop request)."""
        self.run_updates(None)

    def fit(self) -> list:
        """Train until every member has stopped (early stopping, max_epochs, max_seconds) or
        failed, or until a stop request; returns ``results()``."""
        if not self.finished:
            self.begin()
            self._trigger("on_run_start")
            try:
                while not self.finished and not self.interrupted:
                    self.run_epoch()
            finally:
                self._write_back()
                self._trigger("on_run_end")
        return self.results()

    def results(self) -> list:
        """One TrainResult per member, in the order of ``models``; a member that diverged gets a
        FailedResult (stopped="diverged", error=the message); one still training (interrupted)
        has stopped="interrupted" (or None before any stop)."""
        out = []
        for m in self.members:
            result = result_of(m.state, self.interrupted, m.best_path, m.last_path)
            if m.failure is not None:
                result = FailedResult(**{**asdict(result), "stopped": "diverged", "error": m.failure})
            out.append(result)
        return out

    def evaluate(self, rolls) -> list:
        """The clean NLL (no weight noise) of every live member on ``rolls``: one float each,
        the same number as Trainer.evaluate of that member alone."""
        was_training = self.base.training
        self.base.eval()
        try:
            with torch.no_grad():
                param = next(iter(self.params.values()))
                return nll_per_step(self._nll_sums, batches(list(rolls), self.config.eval_batch_size,
                                                            shuffle=False), param).tolist()
        finally:
            self.base.train(was_training)

    # -- inside an epoch ----------------------------------------------------------------------

    @property
    def _batch(self) -> int:
        return self.live[0].state.batch                          # live members move in lockstep

    def _epoch_batches(self) -> list:
        # The order depends only on (seed, epoch), as a single run's: members share the seed.
        epoch = self.live[0].state.epoch
        if self._order[0] != epoch:
            self._order = (epoch, list(batches(self.train_rolls, self.config.batch_size,
                                               shuffle=True, seed=[self.config.seed, epoch])))
        return self._order[1]

    @property
    def batches_per_epoch(self) -> int:
        return len(self._epoch_batches()) if self.live else 0

    def _score(self) -> list:
        """Each live member's record (None for one whose validation NLL is not finite: it is
        marked failed), from one vmapped evaluation of the training and validation sets."""
        train_nll = self.evaluate(self.train_rolls) if self.config.eval_train else [None] * self.size
        valid_nll = self.evaluate(self.valid_rolls)
        records = []
        for m, t, v in zip(self.live, train_nll, valid_nll):
            if not math.isfinite(v):
                m.failure = divergence_message("the validation NLL", v, m.state, m.config)
                records.append(None)
            else:
                records.append(epoch_record(m.state, t, v, m.lr))
        return records

    def _end_epoch(self) -> None:
        for m in self.live:
            m.state.epoch, m.state.batch = m.state.epoch + 1, 0
        records = self._score()
        self._stop_clock()                                       # the scoring counts as training time
        for s, (m, record) in enumerate(zip(self.live, records)):
            if record is None:
                continue
            record["seconds"] = round(m.state.seconds, 3)
            if settle_epoch(m.state, m.config, record):
                self._keep_best(s)
            self._save_last(s)
            if m.out_dir is not None:
                write_records(m.state.records, m.out_dir)
        self._remove_ended()
        self._trigger("on_epoch_end")

    def _remove_ended(self) -> None:
        """Members that stopped or failed leave the stacks (their files are written first)."""
        ended = [s for s, m in enumerate(self.live) if not m.live]
        if not ended:
            return
        for s in ended:
            m = self.live[s]
            m.model.load_state_dict(self.member_weights(s))      # its model ends where it stopped
            if m.out_dir is not None:
                if m.failure is not None:
                    atomic_write(m.failed_path, json.dumps({"error": m.failure}, indent=1))
                else:
                    atomic_write(m.out_dir / "result.json", json.dumps(asdict(
                        result_of(m.state, False, m.best_path, m.last_path)), indent=1))
        ended = [self.live[s] for s in ended]
        self._keep([s for s, m in enumerate(self.live) if m.live])
        for m in ended:
            self.ended = m
            self._trigger("on_member_end")

    def _stop_clock(self) -> None:
        """Add the time since run_updates started to every live member's seconds (shared wall
        time), and stop the clock: saving and callbacks are not training time."""
        if self._since is not None:
            elapsed = time.perf_counter() - self._since
            for m in self.live:
                m.state.seconds += elapsed
            self._since = None

    def _pause(self) -> None:
        """Honour a stop request: save every live member where it is, so a resume continues."""
        self._stop_clock()
        for s in range(self.size):
            self._save_last(s)
        self._write_back()
        self.interrupted = True

    # -- checkpoints --------------------------------------------------------------------------

    def _keep_best(self, slot: int) -> None:
        m = self.live[slot]
        m.best_state = self.member_weights(slot)
        if m.best_path is not None:
            save_checkpoint(best_payload(m.model.meta(), m.best_state, m.state), m.best_path)

    def _save_last(self, slot: int) -> None:
        m = self.live[slot]
        if m.last_path is not None:
            save_checkpoint(last_payload(m.model.meta(), self.member_weights(slot),
                                         self.optimizer.member_state_dict(slot, m.lr),
                                         m.noise_gen.get_state(), m.state, m.config), m.last_path)

    def _load(self, m: Member) -> None:
        """Resume member m from its files: failed.json (it had diverged), else last.pt."""
        if m.failed_path.is_file():
            m.failure = json.loads(m.failed_path.read_text())["error"]
        if m.last_path.is_file():
            ckpt, m.state = read_last(m.last_path, m.model.meta(), self.device)
            m.model.load_state_dict(ckpt["model"])
            m.noise_gen.set_state(ckpt["noise_rng"].to("cpu"))
            m._optimizer_state = ckpt["optimizer"]
            m.lr = ckpt["optimizer"]["param_groups"][0]["lr"]
        if m.best_path.is_file():
            m.best_state = load_checkpoint(m.best_path, map_location=self.device)["model"]


# -- the whole run in one call -----------------------------------------------------------------

def train_population(models: list, train_rolls: list, valid_rolls: list, configs: list,
                     out_dirs: list | None = None, resume: bool = False) -> list:
    """Train the members with ``PopulationTrainer`` and return its ``results()``: the
    population's ``train``. Ctrl-C / SIGTERM save every live member's last.pt and raise
    TrainingInterrupted (its ``checkpoint`` is the first live member's last.pt; resume=True
    continues them all). Without out_dirs each model ends on its best weights."""
    trainer = PopulationTrainer(models, train_rolls, valid_rolls, configs, out_dirs=out_dirs,
                                resume=resume)
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
