"""Training with the paper's protocol (Chung et al. 2014, section 4; REFERENCE.md §3).

    >>> from gru_lib.training.trainer import TrainConfig, train
    >>> model = make_model("gru", keys=88, hidden_size=46, seed=0)
    >>> result = train(model, train_rolls, valid_rolls, TrainConfig(lr=1e-3), out_dir="runs/gru")

One update, as the paper describes it:

1. add Gaussian weight noise (std 0.075, Graves 2011) to the weights,
2. forward and backward on a batch at the NOISY weights,
3. put the clean weights back (the noise is never part of the stored model),
4. rescale the gradient to norm 1 if it is longer (Pascanu et al. 2013),
5. one RMSProp step (with momentum, as in the authors' code).

After every epoch: NLL on the training and validation sets without noise; early stopping on
the validation NLL keeps the best weights in ``best.pt`` (with ``lr_drops``, running out of
patience first goes back to them at a lower learning rate). ``last.pt`` holds everything needed
to continue exactly where a run stopped (weights, optimiser, random generators, position in
the epoch, records), so an interrupted run that is resumed ends with the same numbers as one
that never stopped.

All of this is ONE class, ``Trainer``: it owns the update, the epoch and the run, and keeps
everything that changes in one typed ``TrainState``. ``train`` is a thin wrapper around it
(plus Ctrl-C handling); whoever needs more drives the Trainer directly, as the playground does:

    >>> trainer = Trainer(model, train_rolls, valid_rolls, config)
    >>> trainer.add_callback("on_epoch_end", lambda t: print(t.state.records[-1]))
    >>> trainer.run_updates(10)      # ten updates, then return (a "step" button)
    >>> trainer.run_epoch()          # on to the end of this epoch, which is then scored
    >>> trainer.fit()                # on to the end of the run; request_stop() ends it early

``PopulationTrainer`` (population.py) trains several learning-rate candidates at once with this
same protocol, because it IS this Trainer: the run is written over ``live``, the members still
training (a Trainer has one), and every protocol function below takes tensors with a leading
MEMBER axis, (P, ...). The Trainer passes its parameters as a population of one, (1, ...)
views, so both run the very same arithmetic; the population overrides only the layout (stacked
parameters, a vmapped loss, a stacked optimiser, members leaving the stacks).

The trainer knows nothing about music or speech. A model needs ``nll_sum(rolls, lengths)``
(total nats, real steps), ``meta()``, ``row_size`` (the width of one row of a batch: K keys,
F samples), ``rnn.cell`` (where weight noise goes) and its parameters. For TrainConfig.dropout
it also needs a ``dropout`` attribute, ``hidden_size`` and ``nll_sum(rolls, lengths, keep=)``:
the masks are drawn here, from the member's seeded generator (``draw_dropout_keep``), and
passed in, so that a run with dropout is the same run every time.
"""
from __future__ import annotations

import ast
import json
import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch

from ..atomic import atomic_write, refuse_a_file_in_the_path
from ..checks import seed as check_seed
from ..checks import (
    instance,
    non_negative_int,
    number_in,
    one_of,
    positive_int,
    positive_number,
)
from ..device import check_device_name, pick_device
from ..nn.stack import recurrent_weights
from .batching import batches, eval_batches
from .callbacks import ProgressBars, StopOnSignals
from .checkpoints import load_checkpoint, save_checkpoint, write_records
from .evaluation import evaluate
from .optim import RMSPropMomentum, without_velocity

# -- errors ------------------------------------------------------------------------------------

class DivergedError(RuntimeError):
    """The loss became NaN or infinite: this run (this learning-rate candidate) has failed."""


class TrainingInterrupted(RuntimeError):
    """SIGINT/SIGTERM arrived; a checkpoint was saved and ``train(..., resume=True)`` continues."""

    def __init__(self, message: str, checkpoint: str | None):
        super().__init__(message)
        self.checkpoint = checkpoint


# -- configuration -----------------------------------------------------------------------------

# The largest float32: the float fields of a TrainConfig end up in float32 tensors.
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


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
    # Dropout on the recurrent layer's outputs, before the readout, during training only (the
    # "non-recurrent" dropout of Zaremba et al. 2014: the recurrence itself is never dropped,
    # so the gates' memory is not cut). Not in the paper (0: none): a regulariser for the sets
    # the models overfit (Piano-midi). The model must have a ``dropout`` attribute (the music
    # model has); the trainer sets it from here, like the weight noise it adds.
    dropout: float = 0.0
    clip_norm: float | None = 1.0  # paper §4: rescale the gradient to norm 1; None disables
    # What clip_norm bounds: "gradient" (the paper's text, Pascanu et al. 2013) or "update" (the
    # step θ moves by, after RMSProp and momentum: the authors' code, momentum_clipping).
    clip_on: str = "gradient"
    batch_size: int = 1           # authors' config (paper: not stated); larger is faster on CPU
    eval_batch_size: int = 64     # evaluation is exact for any size (padding is masked)
    max_epochs: int = 500         # authors' config
    patience: int | None = 20     # epochs without a better valid NLL before stopping (our choice)
    # Linear learning-rate decay to lr·lr_decay_to at the last epoch; the authors' config decays
    # to 0.01, the paper does not mention it, so it is off (1.0) by default.
    lr_decay_to: float = 1.0
    # Learning-rate drops (reduce on plateau): when patience runs out, go back to the best
    # epoch's weights and go on at lr_drop_factor times the rate, up to lr_drops times; the run
    # stops the next time patience runs out. Not in the paper (0: none), a recipe study: under
    # weight noise a smaller step settles lower in the minimum the larger one found.
    lr_drops: int = 0
    lr_drop_factor: float = 0.1
    max_seconds: float | None = None  # stop (after the epoch) once this much time is spent
    # A population member stops ("pruned") once even its fastest recent progress, kept up to
    # max_epochs, would not reach the population's best validation NLL so far (see hopeless).
    # Off by default: the paper trains every candidate until it stops by itself.
    prune: bool = False
    seed: int = 0                 # batch order and weight noise (model init: see make_model)
    device: str = "auto"
    eval_train: bool = True       # clean NLL on the training set each epoch (Table 2 "train")
    progress: bool = True         # tqdm bars with the current NLL

    def __post_init__(self):
        # The float fields reach torch as float32 scalars: a value past float32's largest
        # (1e300) would be accepted here and fail mid-run ("cannot be converted to type float
        # without overflow"), after OUT was started. lr may be absurd (a run that diverges on
        # purpose: optim turns a step past float32 into inf, and the run fails as diverged); a
        # search's candidates have a tighter bound (training.search.MAX_LR).
        number_in("TrainConfig.lr", self.lr, 0, math.inf, low_open=True)
        number_in("TrainConfig.rms_eps", self.rms_eps, 0, FLOAT32_MAX, low_open=True)
        number_in("TrainConfig.rms_decay", self.rms_decay, 0, 1, high_open=True)
        number_in("TrainConfig.momentum", self.momentum, 0, 1, high_open=True)
        number_in("TrainConfig.weight_noise", self.weight_noise, 0, FLOAT32_MAX)
        one_of("TrainConfig.noise_on", self.noise_on, ("recurrent", "weights", "all"))
        number_in("TrainConfig.dropout", self.dropout, 0, 1, high_open=True)
        number_in("TrainConfig.clip_norm", self.clip_norm, 0, FLOAT32_MAX, low_open=True,
                  allow_none=True)
        one_of("TrainConfig.clip_on", self.clip_on, ("gradient", "update"))
        positive_int("TrainConfig.batch_size", self.batch_size)
        positive_int("TrainConfig.eval_batch_size", self.eval_batch_size)
        positive_int("TrainConfig.max_epochs", self.max_epochs)
        positive_int("TrainConfig.patience", self.patience, allow_none=True)
        number_in("TrainConfig.lr_decay_to", self.lr_decay_to, 0, 1, low_open=True)  # 1 = no decay
        non_negative_int("TrainConfig.lr_drops", self.lr_drops)
        number_in("TrainConfig.lr_drop_factor", self.lr_drop_factor, 0, 1, low_open=True,
                  high_open=True)
        if self.lr_drops and self.patience is None:
            raise ValueError(f"TrainConfig.lr_drops: {self.lr_drops} drops, but patience is None; "
                             f"a drop happens when patience runs out, so give a patience "
                             f"(e.g. patience=20) or set lr_drops=0")
        positive_number("TrainConfig.max_seconds", self.max_seconds, allow_none=True)
        check_seed("TrainConfig.seed", self.seed)     # torch's generators would overflow mid-run
        check_device_name("TrainConfig.device", self.device)    # it must exist only when used
        for name in ("prune", "eval_train", "progress"):
            instance(f"TrainConfig.{name}", getattr(self, name), bool, "bool (True or False)")

    def replace(self, **changes) -> TrainConfig:
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s) {unknown}; the fields are "
                             f"{[f.name for f in fields(self)]}")
        return TrainConfig(**{**asdict(self), **changes})


# Fields a run's caller sets through their own arguments, not as a recipe setting.
NOT_SETTINGS = ("seed", "device", "progress")


def parse_setting(text: str) -> tuple:
    """"FIELD=VALUE" -> (field, value) for a TrainConfig field (reproduce --set): VALUE read as
    a Python literal (a number, None, True/False), else kept as a word (noise_on=weights).
    The value itself is checked when the TrainConfig is built."""
    known = [f.name for f in fields(TrainConfig) if f.name not in NOT_SETTINGS + ("lr",)]
    name, sep, raw = str(text).partition("=")
    if sep and name.strip() == "lr":
        # each candidate trains at its own rate: a --set lr would be ignored, yet recorded
        raise ValueError(f"lr is not a setting of a run (each candidate trains at its own "
                         f"learning rate), got {text!r}; give the rates with --lrs "
                         f"2.8e-4,5.9e-4 or their number with --candidates")
    if not sep or name.strip() not in known:
        raise ValueError(f"expected FIELD=VALUE with FIELD one of {', '.join(known)}, "
                         f"got {text!r}")
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        value = raw.strip()
    return name.strip(), value


def noisy_parameters(model, noise_on: str) -> list:
    """The parameters that receive weight noise (see TrainConfig.noise_on)."""
    if noise_on == "recurrent":
        return recurrent_weights(model.rnn)   # W and U of every layer (minimal cells: W only)
    if noise_on == "weights":
        return [p for p in model.parameters() if p.dim() > 1]
    return list(model.parameters())


# -- the protocol, over members (a Trainer has one, a PopulationTrainer P) ----------------------
#
# Every tensor below has a leading member axis: (P, ...) holds P models' copies of one parameter
# (or gradient), member m at [m]. A single Trainer passes p.unsqueeze(0), a (1, ...) view.

def _drawn_per_member(generators: list, draw) -> torch.Tensor:
    """(P, ...): draw(generators[m]) for each member m, called once per generator object:
    members whose generators would be in the same state draw the same numbers anyway."""
    drawn = {}                                      # id(generator) -> its draw
    for g in generators:
        if id(g) not in drawn:
            drawn[id(g)] = draw(g)
    return torch.stack([drawn[id(g)] for g in generators])


def add_weight_noise_(tensors: list, generators: list, std: float) -> None:
    """θ ← θ + std·ε, ε ~ N(0, 1) (Graves 2011), in place on each (P, ...) tensor.

    Member m's ε is drawn from generators[m], tensor after tensor, exactly as a single run with
    that generator draws it. One generator object may serve several members: members whose
    generators would be in the same state draw the same numbers, so it is drawn once for them.
    """
    for p in tensors:
        p.add_(_drawn_per_member(generators, lambda g: torch.randn(
            p.shape[1:], generator=g, device=p.device, dtype=p.dtype)), alpha=std)   # (P, ...)


def draw_dropout_keep(generators: list, p: float, shape: tuple, like: torch.Tensor) -> torch.Tensor:
    """(P, *shape): member m's dropout mask (TrainConfig.dropout), 1/(1-p) where a unit is kept
    and 0 where it is dropped (inverted dropout, as F.dropout scales), drawn from
    generators[m] -- the member's seeded generator -- so that a run with dropout is the same
    run every time, resumes exactly from last.pt, and in a population gets the masks it
    would draw alone. Like add_weight_noise_, one draw per generator object."""
    return _drawn_per_member(generators, lambda g: torch.empty(
        shape, device=like.device, dtype=like.dtype).bernoulli_(1 - p, generator=g) / (1 - p))


def _per_member(tensors: list, reduce) -> torch.Tensor:
    """(P, n): reduce(t.flatten(1)) -> (P,) for each of the n tensors, side by side."""
    return torch.stack([reduce(t.flatten(1)) for t in tensors], dim=1)


def gradient_clip(config) -> float | None:
    """The bound on the gradient's norm (None: the gradient is not clipped)."""
    return config.clip_norm if config.clip_on == "gradient" else None


def step_clip(config) -> float | None:
    """The bound on the norm of the step the optimiser applies (None: not clipped)."""
    return config.clip_norm if config.clip_on == "update" else None


def clip_gradients_(grads: list, clip_norm: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rescale each member's gradient to norm ≤ clip_norm (Pascanu et al. 2013), in place.

    grads: the (P, ...) gradients; member m's norm is taken over ITS slices [m] only, never over
    the whole population. Returns (norm, peak), both (P,): the norm before clipping (float64,
    for whoever studies exploding gradients: an exploding gradient's squared norm overflows
    float32) and the largest |entry| (NaN if any entry is NaN: the caller skips that member).
    """
    norm = torch.linalg.vector_norm(_per_member(
        grads, lambda g: torch.linalg.vector_norm(g, dim=1, dtype=torch.float64)), dim=1)
    peak = _per_member(grads, lambda g: g.abs().amax(dim=1)).amax(dim=1)
    if clip_norm is not None:
        # An exploding gradient (a 400-unit tanh-RNN under weight noise reaches 1e25) has a norm
        # whose square overflows float32: clipping would see inf and zero it. Dividing by the
        # largest entry first keeps its direction; the clip then sets the norm. (x / 1 is exact,
        # so members below 1e12 are untouched.)
        scale = torch.where((peak > 1e12) & (peak < math.inf), peak, torch.ones_like(peak))
        for g in grads:
            g.div_(scale.view(-1, *[1] * (g.dim() - 1)))
        # What torch.nn.utils.clip_grad_norm_ computes, member by member.
        total = torch.linalg.vector_norm(_per_member(
            grads, lambda g: torch.linalg.vector_norm(g, dim=1)), dim=1)               # (P,)
        coef = torch.clamp(clip_norm / (total + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *[1] * (g.dim() - 1)))
    return norm, peak


def scheduled_lr(config: TrainConfig, epoch: int, drops: int = 0) -> float:
    """The learning rate during epoch ``epoch`` + 1: linear decay from lr to lr·lr_decay_to over
    max_epochs (the authors' LinearDecayOverEpoch), times lr_drop_factor for each of the
    ``drops`` learning-rate drops taken so far."""
    frac = epoch / max(config.max_epochs - 1, 1)
    return config.lr * (1 - frac * (1 - config.lr_decay_to)) * config.lr_drop_factor ** drops


def divergence_message(what: str, value: float, state: TrainState, config: TrainConfig) -> str:
    """Why a run failed: the text of DivergedError (a population keeps it per member)."""
    return (f"{what} is {value} at epoch {state.epoch + 1}, update {state.updates} "
            f"with lr={config.lr:.3g}: training diverged. This learning rate has failed; "
            f"try a smaller one (or keep gradient clipping on: clip_norm={config.clip_norm}).")


def epoch_record(state: TrainState, train_nll, valid_nll: float, lr: float) -> dict:
    """One row of records.json: clean NLLs, and the running NLL of the epoch's noisy updates."""
    return dict(epoch=state.epoch, updates=state.updates, seconds=round(state.seconds, 3),
                train_nll=train_nll, valid_nll=valid_nll, noisy_train_nll=state.running_nll, lr=lr)


def settle_epoch(state: TrainState, config: TrainConfig, record: dict) -> bool:
    """Append an epoch's record and apply early stopping; True if it is the best epoch so far
    (the caller then keeps its weights). Sets ``state.stopped`` when the run is over; takes a
    learning-rate drop (``state.drops`` grows) instead when patience runs out and one is left."""
    state.records.append(record)
    state.run_sum, state.run_steps = 0.0, 0
    improved = record["valid_nll"] < state.best_valid
    if improved:                                              # early stopping keeps the best epoch
        state.best_valid, state.best_epoch, state.bad_epochs = record["valid_nll"], state.epoch, 0
    else:
        state.bad_epochs += 1
    out_of_patience = config.patience is not None and state.bad_epochs >= config.patience
    if out_of_patience and state.drops < config.lr_drops:
        take_lr_drop(state)             # the caller puts the best epoch's weights back
        out_of_patience = False
    if out_of_patience:
        state.stopped = "early-stopping"
    elif state.epoch >= config.max_epochs:
        state.stopped = "max-epochs"
    elif config.max_seconds is not None and state.seconds >= config.max_seconds:
        state.stopped = "max-seconds"
    return improved


def take_lr_drop(state: TrainState) -> None:
    """Patience ran out and a drop is left: count it and give patience afresh. The lower rate
    applies from the next epoch (scheduled_lr); the trainer puts the best epoch's weights back
    and clears the momentum (``Trainer._drop_lr``)."""
    state.drops, state.bad_epochs = state.drops + 1, 0


def can_drop_after_stop(state: TrainState, config: TrainConfig) -> bool:
    """A run that stopped early may go on when it is resumed with more drops than it has taken:
    it continues exactly as a run started with them would have (the drop happens at the epoch
    patience ran out, from the best epoch's weights, which best.pt holds)."""
    return state.stopped == "early-stopping" and state.drops < config.lr_drops


# Windows (epochs) over which a member's recent progress is measured for pruning; none is
# judged before it has 2 × the shortest behind it.
PRUNE_WINDOWS = (10, 20, 40)


def hopeless(records: list, max_epochs: int, leader_best: float) -> bool:
    """True if a member cannot catch the population's leader, judged optimistically: its best
    validation NLL so far, falling on at its FASTEST rate of the last 10, 20 or 40 epochs all
    the way to max_epochs, still ends above ``leader_best`` (the best validation NLL any member
    has reached so far). Learning curves flatten, so the straight line overestimates what is
    left to gain; a member it stops is worse than the leader already, so it could never have
    been chosen at the epoch it stops. ``records``: the member's epochs (epoch 0 = untrained,
    as records.json holds them)."""
    best, bests = math.inf, []
    for r in records:
        best = min(best, r["valid_nll"])
        bests.append(best)
    epoch = len(bests) - 1
    if epoch < 2 * min(PRUNE_WINDOWS) or not math.isfinite(leader_best):
        return False
    rate = max((bests[epoch - w] - bests[epoch]) / w for w in PRUNE_WINDOWS if epoch >= w)
    return bests[epoch] - rate * max(max_epochs - epoch, 0) > leader_best


def best_payload(meta: dict, weights: dict, state: TrainState,
                 trained_on: dict | None = None) -> dict:
    """What best.pt holds (gru_lib.tasks.load_model reads it). ``trained_on``: the data the
    model learned from, e.g. {"dataset": "jsb", "key_range": "88"}, so that evaluate and
    sample need not be told (absent from checkpoints written before it was kept)."""
    return {"meta": meta, "model": weights, "epoch": state.best_epoch, "valid_nll": state.best_valid,
            **({} if trained_on is None else {"trained_on": trained_on})}


def last_payload(meta: dict, weights: dict, optimizer: dict, noise_rng: torch.Tensor,
                 state: TrainState, config: TrainConfig, trained_on: dict | None = None) -> dict:
    """What last.pt holds: everything a Trainer with resume=True needs to continue exactly."""
    return {"meta": meta, "model": weights, "optimizer": optimizer, "noise_rng": noise_rng,
            "state": asdict(state), "config": asdict(config),
            **({} if trained_on is None else {"trained_on": trained_on})}


def check_trained_on(trained_on) -> dict | None:
    """``trained_on`` is None or {"dataset": a name, "key_range": a name or None}: what every
    checkpoint records of its data (torch's safe loader reads it back as plain values), and
    what ``evaluate`` scores a checkpoint on when not told (it must name one of gru_lib's data
    sets for that; gru_lib.tasks.trained_on checks it against the model when it is read)."""
    if trained_on is None:
        return None
    if not isinstance(trained_on, dict) or set(trained_on) - {"dataset", "key_range"} \
            or not isinstance(trained_on.get("dataset"), str) or not trained_on["dataset"] \
            or not isinstance(trained_on.get("key_range"), (str, type(None))):
        raise ValueError(f"trained_on must be None or {{'dataset': NAME, 'key_range': NAME or "
                         f"None}}, e.g. {{'dataset': 'jsb', 'key_range': '88'}}, got "
                         f"{trained_on!r}")
    return {"dataset": trained_on["dataset"], "key_range": trained_on.get("key_range")}


def read_last(path, meta: dict, device) -> tuple[dict, TrainState]:
    """last.pt, checked to hold a model like ``meta``, and its TrainState."""
    ckpt = load_checkpoint(path, map_location=device)
    # Checkpoints written before models named their kind in meta() lack "model", and those
    # written before stacks of layers lack "layers" (one layer, as every model was then).
    saved = {"model": meta.get("model"), **ckpt["meta"]}
    if "layers" in meta and "layers" not in saved:
        saved["layers"] = 1
    if saved != meta:
        raise ValueError(f"resume: {path} holds a {ckpt['meta']} model, not {meta}")
    # "progress": the same fields, as a plain dict, in checkpoints written before TrainState.
    return ckpt, TrainState(**ckpt["state" if "state" in ckpt else "progress"])


def result_of(state: TrainState, interrupted: bool, best_path, last_path) -> TrainResult:
    return TrainResult(best_valid_nll=state.best_valid, best_epoch=state.best_epoch,
                       epochs=state.epoch, updates=state.updates, seconds=round(state.seconds, 3),
                       stopped=state.stopped or ("interrupted" if interrupted else None),
                       records=list(state.records),
                       best_checkpoint=str(best_path) if best_path else None,
                       last_checkpoint=str(last_path) if last_path else None)


# -- state -------------------------------------------------------------------------------------

@dataclass
class TrainState:
    """Everything about a run that changes while it trains and must survive an interruption
    (saved in last.pt beside the weights, the optimiser and the noise generator)."""

    epoch: int = 0                # epochs completed
    batch: int = 0                # batches of the current epoch done (a resume starts there)
    updates: int = 0
    seconds: float = 0.0          # training time: the updates and the end-of-epoch scoring
    run_sum: float = 0.0          # nats of this epoch's updates, at the noisy weights ...
    run_steps: int = 0            # ... over this many steps: their ratio is the running NLL
    best_valid: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0           # epochs since the last better validation NLL
    drops: int = 0                # learning-rate drops taken (TrainConfig.lr_drops)
    records: list = field(default_factory=list)   # one dict per epoch, epoch 0 = untrained
    stopped: str | None = None    # None while running; why the run ended once it has

    @property
    def running_nll(self) -> float | None:
        """The average NLL of this epoch's updates so far (None before the first)."""
        return self.run_sum / self.run_steps if self.run_steps else None


@dataclass
class Update:
    """What one update measured."""

    loss: float                   # average NLL per step of the batch, at the noisy weights
    steps: int                    # real (unpadded) time steps in the batch
    grad_norm: float              # the gradient's norm BEFORE clipping (float64, never overflows)


@dataclass
class TrainResult:
    """What ``train`` / ``Trainer.fit`` return (and result.json holds): the best epoch, the
    totals and every epoch's record."""

    best_valid_nll: float
    best_epoch: int
    epochs: int                   # epochs completed
    updates: int
    seconds: float
    # "early-stopping", "max-epochs", "max-seconds" or "pruned" (TrainConfig.prune); "interrupted" if request_stop() ended
    # Trainer.fit early (a Trainer with resume=True continues it); None while still running.
    stopped: str | None
    records: list = field(default_factory=list)
    best_checkpoint: str | None = None
    last_checkpoint: str | None = None


# -- the trainer -------------------------------------------------------------------------------

EVENTS = ("on_run_start", "on_update", "on_epoch_end", "on_member_end", "on_run_end")


def check_data(model, train_rolls, valid_rolls) -> None:
    """The model has what the trainer calls, and both splits are lists of (T, row_size)."""
    if not all(hasattr(model, a) for a in ("nll_sum", "meta", "rnn", "row_size")):
        raise ValueError(f"model must have nll_sum, meta, rnn and row_size (a PianoRollModel "
                         f"or a SpeechModel), got {type(model).__name__}")
    for name, rolls in (("train_rolls", train_rolls), ("valid_rolls", valid_rolls)):
        if not isinstance(rolls, (list, tuple)) or not rolls:
            raise ValueError(f"{name} must be a non-empty list of (T, row_size) tensors, got "
                             f"{type(rolls).__name__}{'' if rolls else ' (empty)'}")
        # Every sequence, once, before the first update: a bad one found in epoch 30 (or a NaN
        # that silently turns the loss into NaN) would cost the run.
        for i, roll in enumerate(rolls):
            where = f"{name}[{i}]"
            if not isinstance(roll, torch.Tensor):
                kind = type(roll)
                kind = kind.__name__ if kind.__module__ == "builtins" else \
                    f"{kind.__module__.split('.')[0]}.{kind.__name__}"
                raise ValueError(f"{where} is a {kind}, not a torch tensor; "
                                 f"convert it first, e.g. torch.as_tensor(x, dtype=torch.float32)")
            if roll.dim() != 2 or roll.shape[0] == 0 or roll.shape[1] != model.row_size:
                raise ValueError(f"{where} has shape {tuple(roll.shape)}; the model expects "
                                 f"(T, row_size={model.row_size}) with T >= 1")
            if not roll.is_floating_point():
                raise ValueError(f"{where} has dtype {roll.dtype}; the model reads floating-point "
                                 f"rows: use x.float()")
            if not bool(torch.isfinite(roll).all()):
                raise ValueError(f"{where} holds NaN or infinite values")
            if hasattr(model, "check_rows"):
                model.check_rows(roll, where)           # what the task's rows must hold


@dataclass
class FailedResult(TrainResult):
    """The result of a population member that diverged: ``stopped`` is "diverged" and ``error``
    the message a single Trainer's DivergedError would have carried. Its best.pt (if any) is kept."""

    error: str = ""


# The files a run writes in its out_dir (Member's paths, write_records, _remove_ended).
RUN_FILES = ("best.pt", "last.pt", "records.json", "records.csv", "result.json", "failed.json")


def check_out_dir(out_dir, resume: bool, what: str = "out_dir") -> None:
    """out_dir can hold a run: not a file, nor under one; and, unless ``resume``, free of the
    files a run writes. A run started there without resume would replace them (they may be the
    user's own, or another run's), and would still mix its records with them if resumed later."""
    if out_dir is None:
        return
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{what}: {str(out_dir)!r} is a file; give the folder to write the run "
                         f"to (it is created if missing)")
    refuse_a_file_in_the_path(out_dir, what)
    if not resume and out_dir.is_dir():
        there = [name for name in RUN_FILES if (out_dir / name).exists()]
        if there:
            raise ValueError(f"{what}: {str(out_dir)!r} already holds {', '.join(there)}; a new "
                             f"run would write over {'it' if len(there) == 1 else 'them'}: pass "
                             f"resume=True to continue that run, or give a new or empty folder")


class Member:
    """One model being trained: its model object (a population gives it its weights back when
    it leaves), config, files, TrainState and noise generator. A Trainer has one; a
    PopulationTrainer one per candidate, and while it trains, ``live[slot]`` is it."""

    def __init__(self, index: int, model, config: TrainConfig, out_dir):
        self.index, self.model, self.config = index, model, config
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.state = TrainState()
        self.best_state: dict | None = None     # the best epoch's weights, also without out_dir
        self.failure: str | None = None         # the divergence message once it has failed
        self.lr = config.lr                     # the current (decayed) learning rate
        self.noise_gen: torch.Generator | None = None
        self.saved_optimizer: dict | None = None    # from last.pt, until the optimiser exists

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


class Trainer:
    """Trains ``model`` on a list of (T, row_size) sequences with early stopping on
    ``valid_rolls``; see the module docstring for the protocol.

    out_dir: where best.pt, last.pt, records.json/.csv and result.json go (None: keep the best
        weights in memory only, in ``best_state``; an interruption then cannot be resumed). A
        folder that already holds any of them is refused unless ``resume`` (RUN_FILES: a new run
        never writes over files it did not make).
    resume: continue from out_dir/last.pt if it exists (a finished run has nothing left to do).
    trained_on: what the data is, e.g. {"dataset": "jsb", "key_range": "88"}, written into
        best.pt and last.pt so that a checkpoint says what it was trained on (``evaluate`` then
        needs no --dataset, and refuses another set by mistake). None: not recorded.
    Callbacks (``add_callback``) get the trainer: the latest update is ``last_update``, the
    latest epoch's record ``state.records[-1]``.

    The run -- the clock, callbacks, stop requests, epochs, the end-of-epoch bookkeeping and
    the checkpoints -- is written over ``live``, the members still training (here: the one
    model, until it stops), so that ``PopulationTrainer`` (population.py) runs the very same
    loop. What it overrides is the LAYOUT, the methods of the "layout" section below: how the
    parameters are held (here the model's own, seen as (1, ...) views), how the loss is
    computed, how a member is scored and how one leaves.
    """

    def __init__(self, model, train_rolls: list, valid_rolls: list, config: TrainConfig | None = None,
                 out_dir=None, resume: bool = False, trained_on: dict | None = None):
        config = instance("config", TrainConfig() if config is None else config, TrainConfig)
        check_data(model, train_rolls, valid_rolls)
        if resume and out_dir is None:
            raise ValueError("resume=True needs out_dir (where last.pt is)")
        self.model = model
        self._start([Member(0, model, config, out_dir)], train_rolls, valid_rolls, resume,
                    trained_on)
        self.optimizer = RMSPropMomentum(model.parameters(), lr=config.lr, decay=config.rms_decay,
                                         eps=config.rms_eps, momentum=config.momentum,
                                         step_clip=step_clip(config))
        if self.members[0].saved_optimizer is not None:
            self.optimizer.load_member(0, self.members[0].saved_optimizer)
        self.noisy = noisy_parameters(model, config.noise_on) if config.weight_noise > 0 else []
        if config.progress:
            ProgressBars().attach(self)

    def _start(self, members: list, train_rolls: list, valid_rolls: list, resume: bool,
               trained_on: dict | None = None) -> None:
        """What every trainer holds: the members (resumed from their files), data, hooks, clock."""
        self.trained_on = check_trained_on(trained_on)    # written into every checkpoint
        for m in members:                      # before anything is read, moved or written
            check_out_dir(m.out_dir, resume, "out_dir" if len(members) == 1
                          else f"out_dirs[{m.index}]")
        self.members, self.config = members, members[0].config   # what all members share (lr aside)
        self.train_rolls, self.valid_rolls = list(train_rolls), list(valid_rolls)
        self.device = pick_device(self.config.device)
        self.last_update = None
        self.ended: Member | None = None       # the member that just left (on_member_end)
        self.stop_reason: str | None = None    # set by request_stop(), from any thread
        self.interrupted = False               # True once a stop request has been honoured
        self.callbacks = defaultdict(list)
        self._order = (None, [])               # (epoch, its batches), built once per epoch
        self._since = None                     # the clock: when run_updates started, while it runs
        for m in members:
            if self.config.dropout and not (hasattr(m.model, "dropout")
                                            and hasattr(m.model, "hidden_size")):
                raise ValueError(f"TrainConfig.dropout: {self.config.dropout} asks for dropout, "
                                 f"and a {type(m.model).__name__} has none (the music model, "
                                 f"PianoRollModel, has); set dropout=0.0")
            if hasattr(m.model, "dropout"):
                m.model.dropout = self.config.dropout     # used in train() mode only
            m.model.to(self.device)
            m.noise_gen = torch.Generator(device=self.device)
            m.noise_gen.manual_seed(m.config.seed)
            if resume:
                self._load(m)
        self.live = [m for m in members if m.live]   # slot s (of a population's stacks) = live[s]

    # The one member's TrainState, best weights, noise generator and files.
    state = property(lambda self: self.members[0].state)
    best_state = property(lambda self: self.members[0].best_state)
    noise_gen = property(lambda self: self.members[0].noise_gen)
    out_dir = property(lambda self: self.members[0].out_dir)
    last_path = property(lambda self: self.members[0].last_path)
    best_path = property(lambda self: self.members[0].best_path)

    # -- hooks --------------------------------------------------------------------------------

    def add_callback(self, event: str, fn) -> None:
        """Call ``fn(trainer)`` at ``event``: on_run_start / on_run_end (fit), on_update (after
        every update, even one whose loss is NaN, before DivergedError), on_epoch_end,
        on_member_end (a member stopped or failed: ``trainer.ended`` is it)."""
        self.callbacks[one_of("event", event, EVENTS)].append(fn)

    def _trigger(self, event: str) -> None:
        for fn in self.callbacks[event]:
            fn(self)

    def request_stop(self, reason: str = "stop requested") -> None:
        """End the run after the current update (safe from any thread: setting one attribute
        is atomic, and the training loop only reads it between updates). last.pt is saved, so
        a Trainer with resume=True continues with the same numbers. Once stopped, it stays so."""
        if self.stop_reason is None:
            self.stop_reason = reason

    @property
    def finished(self) -> bool:
        return not self.live

    # -- one update ---------------------------------------------------------------------------

    def update(self, rolls, lengths):
        """One update -- steps 1-5 of the module docstring -- of every live member on a batch:
        rolls (T, B, row_size), lengths (B,). Only the weights and the optimiser change;
        counting it is run_updates' job."""
        return self._measured(*self._update(rolls, lengths))

    def _update(self, rolls, lengths) -> tuple[list, int, list]:
        """The update itself; returns (losses, steps, grad norms), a float
        per live member."""
        noisy = [self._stacked(p) for p in self._noisy_leaves()]  # (P, ...)
        clean = [p.detach().clone() for p in noisy]
        with torch.no_grad():   # θ + ε, ε ~ N(0, 0.075²) (Graves 2011)
            add_weight_noise_(noisy, [m.noise_gen for m in self.live],
                              self.config.weight_noise)  # each its own ε
        leaves = self._leaves()
        for p in leaves:
            p.grad = None
        rolls = rolls.to(leaves[0])             # the weights' device, dtype
        keep = None                             # dropout: each member's (T, B, H) mask
        if self.config.dropout:
            shape = (*rolls.shape[:2], self.members[0].model.hidden_size)
            keep = draw_dropout_keep([m.noise_gen for m in self.live], self.config.dropout,
                                     shape, leaves[0])                  # (P, T, B, H)
        totals, steps = self._nll_sums(rolls, lengths, keep)    # each (P,)
        losses = totals / steps      # (P,) nats per step, summed over a row
        losses.sum().backward()      # gradient at the noisy weights; member
        with torch.no_grad():        # m's loss involves only its own
            for p, c in zip(noisy, clean):   # slices, so grad[m] is its own
                p.copy_(c)                   # restore exactly: no noise in θ
        # Rescale to norm ≤ 1 (Pascanu et al. 2013), each member by its own
        # norm, measured before clipping; peak is NaN if any entry is NaN.
        grads = [self._stacked(p.grad) for p in leaves if p.grad is not None]
        norm, peak = clip_gradients_(grads, gradient_clip(self.config))
        values, peaks, norms = torch.stack(
            [losses.detach().double(), peak.double(), norm]).tolist()
        # Never step on a NaN/inf gradient: such a member keeps its weights
        # and its optimiser state.
        frozen = [s for s, (v, k) in enumerate(zip(values, peaks))
                  if not (math.isfinite(v) and math.isfinite(k))]
        if len(frozen) < len(values):
            self.optimizer.step(frozen=frozen)
        return values, steps, norms

    # -- updates, epochs, the run -------------------------------------------------------------

    def begin(self) -> None:
        """Score the untrained model as epoch 0 (once; a resumed run has done it already)."""
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
        ran. Finishing the epoch's last batch ends the epoch: it is scored and recorded."""
        positive_int("n", n, allow_none=True)
        if self.finished:
            return 0
        self.begin()
        if self.stop_reason is not None:                      # asked to stop before we started
            self._pause()
            return 0
        ran = 0
        self._since = time.perf_counter()                     # the clock runs while we train
        try:
            if not self.live:
                return 0
            order = self._epoch_batches()
            # Linear decay from lr to lr·lr_decay_to over max_epochs (the authors'
            # LinearDecayOverEpoch), times lr_drop_factor per drop taken.
            for m in self.live:
                m.lr = scheduled_lr(m.config, m.state.epoch, m.state.drops)
            self.optimizer.set_lrs([m.lr for m in self.live])
            self.members[0].model.train()
            while self.live and self._batch < len(order) and (n is None or ran < n):
                rolls, lengths = order[self._batch]
                losses, steps, norms = self._update(rolls, lengths)
                self.last_update = self._measured(losses, steps, norms)
                ran += 1
                for m, loss in zip(self.live, losses):
                    s = m.state
                    s.updates, s.batch = s.updates + 1, s.batch + 1
                    s.run_sum += loss * steps
                    s.run_steps += steps
                self._trigger("on_update")
                for m, loss in zip(self.live, losses):
                    if not math.isfinite(loss):
                        self._fail(m, "the training loss", loss)
                self._remove_ended()
                if self.stop_reason is not None:              # after the current update
                    self._pause()
                    return ran
            if self.live and self._batch == len(order):
                self._end_epoch()
        finally:
            self._stop_clock()
        return ran

    def run_epoch(self) -> dict | None:
        """Train to the end of the current epoch (or a stop request); returns the latest record."""
        self.run_updates(None)
        return self.state.records[-1] if self.state.records else None

    def fit(self) -> TrainResult:
        """Train until early stopping, max_epochs or max_seconds ends the run, or until a stop
        request (then ``stopped`` is "interrupted"). Raises DivergedError on a NaN/inf loss."""
        if not self.finished:
            self.begin()
            self._trigger("on_run_start")
            try:
                while not self.finished and not self.interrupted:
                    self.run_updates(None)
            finally:
                self._write_back()
                self._trigger("on_run_end")
        return self.result()

    def result(self) -> TrainResult:
        return self.results()[0]

    def results(self) -> list:
        """One TrainResult per member, in the order of ``members``; a member that diverged gets a
        FailedResult (stopped="diverged", error=the message); one still training (interrupted)
        has stopped="interrupted" (or None before any stop)."""
        out = []
        for m in self.members:
            result = result_of(m.state, self.interrupted, m.best_path, m.last_path)
            if m.failure is not None:
                result = FailedResult(**{**asdict(result), "stopped": "diverged", "error": m.failure})
            out.append(result)
        return out

    def evaluate(self, rolls) -> float:
        """The clean NLL (no weight noise) of a list of sequences: nats per real step."""
        return evaluate(self.model, eval_batches(list(rolls), self.config.eval_batch_size))

    # -- inside an epoch ----------------------------------------------------------------------

    @property
    def _batch(self) -> int:
        return self.live[0].state.batch                       # live members move in lockstep

    def _epoch_batches(self) -> list:
        # The batch order depends only on (seed, epoch), so a resumed epoch sees the same order
        # (and a population's members, which share the seed, the same batches).
        epoch = self.live[0].state.epoch
        if self._order[0] != epoch:
            self._order = (epoch, list(batches(self.train_rolls, self.config.batch_size,
                                               shuffle=True, seed=[self.config.seed, epoch])))
        return self._order[1]

    @property
    def batches_per_epoch(self) -> int:
        return len(self._epoch_batches()) if self.live else 0

    def _score(self) -> list:
        """Each live member's record: clean NLLs, and the running NLL of its updates (at noisy
        weights); None for a member whose validation NLL is not finite (it has failed)."""
        train_nll = self._evaluations(self.train_rolls) if self.config.eval_train \
            else [None] * len(self.live)
        valid_nll = self._evaluations(self.valid_rolls)
        records = []
        for m, t, v in zip(self.live, train_nll, valid_nll):
            if not math.isfinite(v):
                self._fail(m, "the validation NLL", v)
                records.append(None)
            else:
                records.append(epoch_record(m.state, t, v, m.lr))
        return records

    def _end_epoch(self) -> None:
        for m in self.live:
            m.state.epoch, m.state.batch = m.state.epoch + 1, 0
        records = self._score()
        self._stop_clock()                                    # the scoring counts as training time
        for s, (m, record) in enumerate(zip(self.live, records)):
            if record is None:
                continue
            record["seconds"] = round(m.state.seconds, 3)
            drops = m.state.drops
            if settle_epoch(m.state, m.config, record):       # early stopping keeps the best epoch
                self._keep_best(s)
            if m.state.drops > drops:
                self._drop_lr(s)
        if self.config.prune:                                 # once every member has its epoch
            self._prune()
        for s, (m, record) in enumerate(zip(self.live, records)):
            if record is None:
                continue
            self._save_last(s)
            if m.out_dir is not None:
                write_records(m.state.records, m.out_dir)
        self._remove_ended()
        self._trigger("on_epoch_end")

    def _prune(self) -> None:
        """Stop the live members that cannot catch the leader (``hopeless``). The leader is the
        best validation NLL of every member that has not failed, those that stopped included
        (a resumed run reads theirs from their last.pt), so the decision is the same whether
        or not the run was interrupted."""
        leader = min((m.state.best_valid for m in self.members if m.failure is None),
                     default=math.inf)
        for m in self.live:
            if m.state.stopped is None and m.failure is None and \
                    hopeless(m.state.records, m.config.max_epochs, leader):
                m.state.stopped = "pruned"

    def _remove_ended(self) -> None:
        """Members that stopped or failed leave ``live`` (their files are written first)."""
        ended = [m for m in self.live if not m.live]
        if not ended:
            return
        for m in ended:
            if m.out_dir is not None:
                if m.failure is not None:
                    atomic_write(m.failed_path, json.dumps({"error": m.failure}, indent=1))
                else:
                    atomic_write(m.out_dir / "result.json", json.dumps(asdict(
                        result_of(m.state, False, m.best_path, m.last_path)), indent=1))
        self._drop([s for s, m in enumerate(self.live) if not m.live])
        for m in ended:
            self.ended = m
            self._trigger("on_member_end")

    def _stop_clock(self) -> None:
        """Add the time since run_updates started to every live member's seconds (a
        population's share the wall time), and stop the clock: what follows (saving,
        callbacks such as live plots) is not training time."""
        if self._since is not None:
            elapsed = time.perf_counter() - self._since
            for m in self.live:
                m.state.seconds += elapsed
            self._since = None

    def _pause(self) -> None:
        """Honour a stop request: save every live member where it is, so a resume continues."""
        self._stop_clock()
        for s in range(len(self.live)):
            self._save_last(s)
        self._write_back()
        self.interrupted = True

    def _drop_lr(self, slot: int) -> None:
        """A learning-rate drop (settle_epoch took it): back to the best epoch's weights, with
        the momentum cleared, since it carries the steps of the epochs being abandoned. The
        running mean square stays: the gradients' scale near the best weights is the same."""
        m = self.live[slot]
        self._set_member_weights(slot, m.best_state)
        state = self.optimizer.member_state_dict(slot, m.lr)
        self.optimizer.load_member(slot, without_velocity(state))

    # -- checkpoints --------------------------------------------------------------------------

    def _keep_best(self, slot: int) -> None:
        m = self.live[slot]
        m.best_state = self.member_weights(slot)
        if m.best_path is not None:
            save_checkpoint(best_payload(m.model.meta(), m.best_state, m.state, self.trained_on),
                            m.best_path)

    def _save_last(self, slot: int) -> None:
        m = self.live[slot]
        if m.last_path is not None:
            save_checkpoint(last_payload(m.model.meta(), self.member_weights(slot),
                                         self.optimizer.member_state_dict(slot, m.lr),
                                         m.noise_gen.get_state(), m.state, m.config,
                                         self.trained_on), m.last_path)

    def _load(self, m: Member) -> None:
        """Resume member m from its files: failed.json (it had diverged), else last.pt."""
        if m.failed_path.is_file():
            m.failure = json.loads(m.failed_path.read_text())["error"]
        if m.last_path.is_file():
            ckpt, m.state = read_last(m.last_path, m.model.meta(), self.device)
            m.model.load_state_dict(ckpt["model"])
            m.noise_gen.set_state(ckpt["noise_rng"].to("cpu"))
            m.saved_optimizer = ckpt["optimizer"]
            m.lr = ckpt["optimizer"]["param_groups"][0]["lr"]
        if m.best_path.is_file():
            m.best_state = load_checkpoint(m.best_path, map_location=self.device)["model"]
        if m.failure is None and m.best_state is not None and \
                can_drop_after_stop(m.state, m.config):
            # resumed with more lr_drops than it stopped with: the drop it would have taken
            m.state.stopped = None
            take_lr_drop(m.state)
            m.model.load_state_dict(m.best_state)
            m.saved_optimizer = without_velocity(m.saved_optimizer)

    # -- the layout: one model's own parameters (PopulationTrainer: stacked ones) -------------

    def _leaves(self) -> list:
        """The tensors that get the gradients."""
        return list(self.model.parameters())

    def _noisy_leaves(self) -> list:
        """The leaves that get weight noise, in the order the noise is drawn."""
        return self.noisy

    @staticmethod
    def _stacked(t: torch.Tensor) -> torch.Tensor:
        """A leaf (or its gradient) as the protocol functions take it: (P, ...), here (1, ...)."""
        return t.unsqueeze(0)

    def _nll_sums(self, x, lengths, keep=None):
        """(totals (P,), steps): every live member's nll_sum on one batch; ``keep`` (P, T, B, H):
        their dropout masks (None: no dropout)."""
        if keep is None:
            total, steps = self.model.nll_sum(x, lengths)
        else:
            total, steps = self.model.nll_sum(x, lengths, keep=keep[0])
        return total.unsqueeze(0), steps

    def _evaluations(self, rolls) -> list:
        """Every live member's clean NLL on ``rolls``."""
        return [self.evaluate(rolls)]

    def _measured(self, losses: list, steps: int, norms: list) -> Update:
        return Update(loss=losses[0], steps=steps, grad_norm=norms[0])

    def _fail(self, m: Member, what: str, value: float) -> None:
        """``what`` is NaN/inf: a single run has failed, and says so."""
        raise DivergedError(divergence_message(what, value, m.state, m.config))

    def member_weights(self, slot: int) -> dict:
        """A live member's weights (by slot) as its model's state_dict holds them."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _set_member_weights(self, slot: int, weights: dict) -> None:
        """Give a live member these weights (a state_dict of its model)."""
        self.model.load_state_dict(weights)

    def _drop(self, slots: list) -> None:
        """The live members at ``slots`` have stopped or failed: they leave ``live``."""
        self.live = [m for s, m in enumerate(self.live) if s not in slots]

    def _write_back(self) -> None:
        """Make every live member's model object hold its current weights (here they do)."""


# -- the whole run in one call -----------------------------------------------------------------

def train(model, train_rolls: list, valid_rolls: list, config: TrainConfig | None = None,
          out_dir=None, resume: bool = False, on_update=None,
          trained_on: dict | None = None) -> TrainResult:
    """Train ``model`` with ``Trainer`` (see it for out_dir, resume and trained_on) and return
    its result.

    on_update: optional callback(updates, loss) after every update (tests use it).
    Without out_dir the model ends on its best weights (with it, they are in best.pt).
    Raises DivergedError on a NaN/inf loss and TrainingInterrupted on SIGINT/SIGTERM.
    """
    trainer = Trainer(model, train_rolls, valid_rolls, config, out_dir=out_dir, resume=resume,
                      trained_on=trained_on)
    if on_update is not None:
        trainer.add_callback("on_update", lambda t: on_update(t.state.updates, t.last_update.loss))
    with StopOnSignals(trainer):
        result = trainer.fit()
    last = str(trainer.last_path) if trainer.last_path else None
    if trainer.stop_reason is not None and trainer.finished:   # arrived during the last scoring:
        raise TrainingInterrupted(                              # the run is complete and saved,
            f"{trainer.stop_reason} received during the final evaluation; the run finished "
            f"and is saved to {last}", last)                    # but whoever runs it must stop
    if trainer.stop_reason is not None:
        raise TrainingInterrupted(
            f"{trainer.stop_reason} received: stopped after update {trainer.state.updates} "
            f"(epoch {trainer.state.epoch + 1}); checkpoint saved to {last}; run again with "
            f"resume to continue", last)
    if trainer.out_dir is None:
        model.load_state_dict(trainer.best_state)            # in-memory run: end on the best weights
    return result
