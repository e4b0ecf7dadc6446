"""TODO docstring"""
from __future__ import annotations

import json
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
import torch
from tqdm.auto import tqdm
from ..device import pick_device
from .batching import batches
from .checkpoints import atomic_write, load_checkpoint, save_checkpoint, write_records
from .evaluation import evaluate
from .optim import RMSPropMomentum

# -- errors ------------------------------------------------------------------------------------

class DivergedError(RuntimeError):
    """The loss became NaN or infinite: this run (this learning-rate candidate) has failed."""


class TrainingInterrupted(RuntimeError):
    """SIGINT/SIGTERM arrived; a checkpoint was saved and ``train(..., resume=True)`` continues."""

    def __init__(self, message: str, checkpoint: str | None):
        super().__init__(message)
        self.checkpoint = checkpoint


# -- configuration -----------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """Every knob of a training run. Defaults follow the paper; where the paper is silent, the
    authors' public JSB configuration (github.com/jych/librnn, exp/music/jsb/gru.yaml and
    pylearn2/training_algorithms/learning_rule.py)."""

    lr: float = 1e-3              # authors' JSB config; the paper picks it by search (search.py)
    # RMSProp as in the authors' RMSPropMomentum: ms = decay·ms + (1-decay)·g²,
    # v = momentum·v - lr·g / max(sqrt(ms), eps), θ += v.
    rms_decay: float = 0.95       # authors' "averaging_coeff" (paper: not stated)
    rms_eps: float = 1e-2         # authors' "stabilizer": a FLOOR on the RMS, not an additive eps
    momentum: float = 0.9         # authors' "init_momentum" (paper: not stated)
    weight_noise: float = 0.075   # paper §4: std of Gaussian weight noise; 0 disables
    # Which parameters get noise: "recurrent" = the recurrent layer's W and U (the authors'
    # pylearn2 RNN layers add noise to W and U only); "weights" = every weight matrix, output
    # layer included; "all" = every parameter, biases too.
    noise_on: str = "recurrent"
    clip_norm: float | None = 1.0  # paper §4: rescale the gradient to norm 1; None disables
    batch_size: int = 1           # authors' config (paper: not stated); larger is faster on CPU
    eval_batch_size: int = 64     # evaluation is exact for any size (padding is masked)
    max_epochs: int = 500         # authors' config
    patience: int | None = 20     # epochs without a better valid NLL before stopping (our choice)
    # Linear learning-rate decay to lr·lr_decay_to at the last epoch; the authors' config decays
    # to 0.01, the paper does not mention it, so it is off (1.0) by default.
    lr_decay_to: float = 1.0
    max_seconds: float | None = None  # stop (after the epoch) once this much time is spent
    seed: int = 0                 # batch order and weight noise (model init: see make_model)
    device: str = "auto"
    eval_train: bool = True       # clean NLL on the training set each epoch (Table 2 "train")
    progress: bool = True         # tqdm bars with the current NLL

    def __post_init__(self):
        def positive(name, integer=False, allow_none=False, allow_zero=False):
            value = getattr(self, name)
            if value is None and allow_none:
                return
            ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
            if isinstance(value, bool) or not ok_type or not (value >= 0 if allow_zero else value > 0) \
                    or (not integer and not math.isfinite(value)):
                what = "integer" if integer else "number"
                raise ValueError(f"TrainConfig.{name} must be a {'non-negative' if allow_zero else 'positive'} "
                                 f"{what}{' or None' if allow_none else ''}, got {value!r}")
        positive("lr")
        positive("rms_eps")
        positive("weight_noise", allow_zero=True)
        positive("clip_norm", allow_none=True)
        positive("batch_size", integer=True)
        positive("eval_batch_size", integer=True)
        positive("max_epochs", integer=True)
        positive("patience", integer=True, allow_none=True)
        positive("max_seconds", allow_none=True)
        for name in ("rms_decay", "momentum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"TrainConfig.{name} must be a number in [0, 1), got {value!r}")
        if isinstance(self.lr_decay_to, bool) or not isinstance(self.lr_decay_to, (int, float)) \
                or not 0 < self.lr_decay_to <= 1:
            raise ValueError(f"TrainConfig.lr_decay_to must be in (0, 1] (1 = no decay), "
                             f"got {self.lr_decay_to!r}")
        if self.noise_on not in ("recurrent", "weights", "all"):
            raise ValueError(f"TrainConfig.noise_on must be 'recurrent', 'weights' or 'all', "
                             f"got {self.noise_on!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"TrainConfig.seed must be a non-negative integer, got {self.seed!r}")

    def replace(self, **changes) -> "TrainConfig":
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s) {unknown}; the fields are "
                             f"{[f.name for f in fields(self)]}")
        return TrainConfig(**{**asdict(self), **changes})


def noisy_parameters(model, noise_on: str) -> list:
    """The parameters that receive weight noise (see TrainConfig.noise_on)."""
    if noise_on == "recurrent":
        cell = model.rnn.cell
        return [cell.weight_ih, cell.weight_hh]
    if noise_on == "weights":
        return [p for p in model.parameters() if p.dim() > 1]
    return list(model.parameters())


class _StopSignals:
    """While active, SIGINT/SIGTERM only set a flag; the loop saves a checkpoint and stops at
    the end of the current update. A second Ctrl-C interrupts at once, as usual."""

    def __init__(self):
        self.received = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@dataclass
class TrainResult:
    best_valid_nll: float
    best_epoch: int
    epochs: int                   # epochs completed
    updates: int
    seconds: float
    stopped: str                  # "early-stopping", "max-epochs" or "max-seconds"
    records: list = field(default_factory=list)
    best_checkpoint: str | None = None
    last_checkpoint: str | None = None


# -- the loop ----------------------------------------------------------------------------------

def train(model, train_rolls: list, valid_rolls: list, config: TrainConfig | None = None,
          out_dir=None, resume: bool = False, on_update=None) -> TrainResult:
    """Train ``model`` on a list of (T, K) rolls with early stopping on ``valid_rolls``.

    out_dir: where best.pt, last.pt, records.json/.csv and result.json go (None: keep the best
        weights in memory only; interruption then cannot be resumed).
    resume: continue from out_dir/last.pt if it exists (a finished run returns its result).
    on_update: optional callback(updates, loss) after every update (tests use it).
    Raises DivergedError on a NaN/inf loss and TrainingInterrupted on SIGINT/SIGTERM.
    """
    config = config or TrainConfig()
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not all(hasattr(model, a) for a in ("nll_sum", "meta", "rnn")):
        raise ValueError(f"model must be a PianoRollModel or a SpeechModel, got {type(model).__name__}")
    for name, rolls in (("train_rolls", train_rolls), ("valid_rolls", valid_rolls)):
        if not isinstance(rolls, (list, tuple)) or not rolls:
            raise ValueError(f"{name} must be a non-empty list of (T, K) rolls, got "
                             f"{type(rolls).__name__}{'' if rolls else ' (empty)'}")
        if rolls[0].dim() != 2 or rolls[0].shape[1] != model.keys:
            raise ValueError(f"{name}[0] has shape {tuple(rolls[0].shape)}; the model expects "
                             f"(T, K={model.keys})")
    if resume and out_dir is None:
        raise ValueError("resume=True needs out_dir (where last.pt is)")
    out_dir = Path(out_dir) if out_dir is not None else None
    device = pick_device(config.device)
    model.to(device)
    optimizer = RMSPropMomentum(model.parameters(), lr=config.lr, decay=config.rms_decay,
                                eps=config.rms_eps, momentum=config.momentum)
    noise_gen = torch.Generator(device=device)
    noise_gen.manual_seed(config.seed)
    noisy = noisy_parameters(model, config.noise_on) if config.weight_noise > 0 else []

    # Everything that changes during training and must survive an interruption.
    s = dict(epoch=0, batch=0, updates=0, seconds=0.0, run_sum=0.0, run_steps=0,
             best_valid=math.inf, best_epoch=0, bad_epochs=0, records=[], stopped=None)
    best_state = None
    last_path = out_dir / "last.pt" if out_dir else None
    best_path = out_dir / "best.pt" if out_dir else None
    if resume and last_path.is_file():
        ckpt = load_checkpoint(last_path, map_location=device)
        if ckpt["meta"] != model.meta():
            raise ValueError(f"resume: {last_path} holds a {ckpt['meta']} model, not {model.meta()}")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        noise_gen.set_state(ckpt["noise_rng"].to("cpu"))
        s.update(ckpt["progress"])
        if s["stopped"] is not None:                      # already finished: nothing to do
            return _result(s, best_path, last_path)

    def checkpoint() -> None:
        if last_path is not None:
            save_checkpoint({"meta": model.meta(), "model": model.state_dict(),
                             "optimizer": optimizer.state_dict(), "noise_rng": noise_gen.get_state(),
                             "progress": s, "config": asdict(config)}, last_path)

    def eval_rolls(rolls):
        return evaluate(model, batches(list(rolls), config.eval_batch_size, shuffle=False))

    def check_finite(value, what):
        if not math.isfinite(value):
            raise DivergedError(
                f"{what} is {value} at epoch {s['epoch'] + 1}, update {s['updates']} with lr="
                f"{config.lr:.3g}: training diverged. This learning rate has failed; try a "
                f"smaller one (or keep gradient clipping on: clip_norm={config.clip_norm}).")

    def end_of_epoch_record():
        train_nll = eval_rolls(train_rolls) if config.eval_train else None
        valid_nll = eval_rolls(valid_rolls)
        check_finite(valid_nll, "the validation NLL")
        running = s["run_sum"] / s["run_steps"] if s["run_steps"] else None   # None: not measured
        s["records"].append(dict(epoch=s["epoch"], updates=s["updates"], seconds=round(s["seconds"], 3),
                                 train_nll=train_nll, valid_nll=valid_nll, noisy_train_nll=running,
                                 lr=optimizer.param_groups[0]["lr"]))
        return valid_nll

    start = time.perf_counter()
    epochs_bar = tqdm(total=config.max_epochs, initial=s["epoch"], desc=f"{model.kind} lr={config.lr:.2g}",
                      unit="epoch", disable=not config.progress, leave=False)
    try:
        with _StopSignals() as stop:
            if not s["records"]:                          # epoch 0: the untrained model
                s["best_valid"] = end_of_epoch_record()
                s["best_epoch"] = 0
                best_state = _save_best(model, s, best_path)
                start = time.perf_counter()               # the clock counts training, from update 1
            while s["stopped"] is None:
                epoch = s["epoch"]
                # Linear decay from lr to lr·lr_decay_to over max_epochs (authors' LinearDecayOverEpoch).
                frac = epoch / max(config.max_epochs - 1, 1)
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * (1 - frac * (1 - config.lr_decay_to))
                # The batch order depends only on (seed, epoch), so a resumed epoch sees the same order.
                order = list(batches(list(train_rolls), config.batch_size, shuffle=True,
                                             seed=[config.seed, epoch]))
                bar = tqdm(order, desc=f"epoch {epoch + 1}", leave=False, unit="batch",
                           disable=not config.progress, initial=s["batch"], total=len(order))
                model.train()
                for i in range(s["batch"], len(order)):
                    rolls, lengths = order[i]
                    loss, steps = _update(model, optimizer, rolls.to(device), lengths, noisy,
                                          config, noise_gen)
                    check_finite(loss, "the training loss")
                    s["updates"] += 1
                    s["batch"] = i + 1
                    s["run_sum"] += loss * steps
                    s["run_steps"] += steps
                    bar.update(1)
                    bar.set_postfix(nll=f"{s['run_sum'] / s['run_steps']:.3f}")
                    if on_update is not None:
                        on_update(s["updates"], loss)
                    if stop.received:
                        s["seconds"] += time.perf_counter() - start
                        start = time.perf_counter()
                        checkpoint()
                        raise TrainingInterrupted(
                            f"{stop.received} received: stopped after update {s['updates']} "
                            f"(epoch {epoch + 1}); checkpoint saved to {last_path}; run again "
                            f"with resume to continue", str(last_path) if last_path else None)
                bar.close()
                s["epoch"], s["batch"] = epoch + 1, 0
                valid = end_of_epoch_record()
                s["seconds"] += time.perf_counter() - start
                start = time.perf_counter()
                s["records"][-1]["seconds"] = round(s["seconds"], 3)
                s["run_sum"], s["run_steps"] = 0.0, 0
                if valid < s["best_valid"]:               # early stopping keeps the best epoch
                    s["best_valid"], s["best_epoch"], s["bad_epochs"] = valid, s["epoch"], 0
                    best_state = _save_best(model, s, best_path)
                else:
                    s["bad_epochs"] += 1
                if config.patience is not None and s["bad_epochs"] >= config.patience:
                    s["stopped"] = "early-stopping"
                elif s["epoch"] >= config.max_epochs:
                    s["stopped"] = "max-epochs"
                elif config.max_seconds is not None and s["seconds"] >= config.max_seconds:
                    s["stopped"] = "max-seconds"
                checkpoint()
                if out_dir is not None:
                    write_records(s["records"], out_dir)
                epochs_bar.update(1)
                epochs_bar.set_postfix(valid=f"{valid:.3f}", best=f"{s['best_valid']:.3f}")
            if stop.received:     # arrived during the last evaluation: the run is finished and
                raise TrainingInterrupted(   # saved, but whoever runs it must still stop
                    f"{stop.received} received during the final evaluation; the run finished "
                    f"and is saved to {last_path}", str(last_path) if last_path else None)
    finally:
        epochs_bar.close()
    if best_state is not None and best_path is None:
        model.load_state_dict(best_state)                 # in-memory run: end on the best weights
    result = _result(s, best_path, last_path)
    if out_dir is not None:
        atomic_write(out_dir / "result.json", json.dumps(asdict(result), indent=1))
    return result


def _update(model, optimizer, rolls, lengths, noisy, config, noise_gen) -> tuple[float, int]:
    """One update at noisy weights; returns (average NLL per step of the batch, steps)."""
    clean = [p.detach().clone() for p in noisy]
    with torch.no_grad():
        for p in noisy:                                   # θ + ε, ε ~ N(0, 0.075²) (Graves 2011)
            p.add_(torch.randn(p.shape, generator=noise_gen, device=p.device, dtype=p.dtype),
                   alpha=config.weight_noise)
    optimizer.zero_grad(set_to_none=True)
    total, steps = model.nll_sum(rolls, lengths)
    loss = total / steps                                  # nats per step, summed over keys
    loss.backward()                                       # gradient at the noisy weights
    with torch.no_grad():
        for p, c in zip(noisy, clean):                    # restore exactly: no noise in θ
            p.copy_(c)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    peak = float(torch.stack([g.abs().max() for g in grads]).max())   # NaN if any entry is NaN
    if config.clip_norm is not None:                      # rescale to norm ≤ 1 (Pascanu et al. 2013)
        if 1e12 < peak < math.inf:
            # An exploding gradient (a 400-unit tanh-RNN under weight noise reaches 1e25) has a
            # norm whose square overflows float32: clip_grad_norm_ would see inf and zero it.
            # Dividing by the largest entry first keeps its direction; the clip then sets the norm.
            for g in grads:
                g.div_(peak)
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
    value = float(loss.detach())
    if math.isfinite(value) and math.isfinite(peak):     # never step on a NaN/inf gradient
        optimizer.step()
    return value, steps


def _save_best(model, s, best_path):
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_path is not None:
        save_checkpoint({"meta": model.meta(), "model": state, "epoch": s["epoch"],
                         "valid_nll": s["best_valid"]}, best_path)
    return state


def _result(s, best_path, last_path) -> TrainResult:
    return TrainResult(best_valid_nll=s["best_valid"], best_epoch=s["best_epoch"], epochs=s["epoch"],
                       updates=s["updates"], seconds=round(s["seconds"], 3), stopped=s["stopped"],
                       records=list(s["records"]),
                       best_checkpoint=str(best_path) if best_path else None,
                       last_checkpoint=str(last_path) if last_path else None)

