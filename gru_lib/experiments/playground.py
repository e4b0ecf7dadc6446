"""The playground's logic, with no widgets: chapter 7's sliders and buttons (gru_lib.experiments.widgets)
are a thin skin over what is here, so everything can be driven and tested from plain code.

    >>> spec = ModelSpec(kind="lstm", units=36, forget_bias=1.0)
    >>> spec.parameter_count(), spec.matched_units()     # live count; other kinds, same budget
    >>> session = TrainingSession(RunConfig(model=spec, dataset="chorales", epochs=5))
    >>> session.run()                                     # or session.run_epoch() five times
    >>> table = Comparison(); table.add(session); print(table.markdown())

Four measurements, each a function returning plain arrays, plus a figure helper:

* ``TrainingSession``: the paper's training (weight noise, clipping, RMSProp with momentum:
  ``gru_lib.training.trainer.Trainer``, the same as ``train``) run one epoch -- or a few
  updates -- at a time, so a Stop button can end a run between two updates and the curves can
  be redrawn every epoch. It also records the gradient norm of every update BEFORE clipping.
* ``gradient_flow``: ||∂L_T/∂h_t|| against t, where L_T is the loss of the last step of a real
  piece: how much the last prediction's error still reaches step t (Bengio et al. 1994;
  Pascanu et al. 2013). A tanh-RNN's curve falls off geometrically; gates can hold it up.
* ``gate_activations``: every gate's value at every step and unit, for heat maps.
* ``clipping_experiment``: gradient norm per update of the same run with and without
  clipping (the exploding-gradient view).
"""
from __future__ import annotations

import copy
import html
import io
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .. import music
from ..checks import instance, is_int, non_negative_int, number_in, one_of, positive_int
from ..music.keys import KEYS
from ..music.model import PianoRollModel, make_model, shift_right
from ..nn.budget import count_parameters, units_for_budget
from ..nn.cells import GRUCell, LSTMCell
from ..paper import KINDS, SPLITS
from ..style import NAMES, colour, display_name
from ..training.batching import eval_batches
from ..training.evaluation import evaluate
from ..training.trainer import DivergedError, TrainConfig, Trainer

# The gates the builder can fix, in the cells' own order.
GATES = {"tanh": (), "gru": GRUCell.GATES, "lstm": LSTMCell.GATES}


# -- the model builder -------------------------------------------------------------------------

@dataclass
class ModelSpec:
    """One model as the builder describes it: kind, units and the gate switches.

    fixed_gates: gate name -> constant in [0, 1] replacing that gate (its weights disappear);
        GRU gates "update", "reset"; LSTM gates "input", "forget", "output".
    peepholes, coupled, forget_bias: LSTM only (ignored for the other kinds, so switching the
        kind in the builder keeps the LSTM settings for when it is switched back).
    """

    kind: str = "gru"
    units: int = 46                               # the paper's GRU (Table 1, music)
    fixed_gates: dict = field(default_factory=dict)
    peepholes: bool = True                        # the paper's LSTM has them
    coupled: bool = False                         # i_t = 1 - f_t (Greff et al.'s CIFG)
    forget_bias: float = 0.0                      # Jozefowicz et al. (2015) recommend 1

    def __post_init__(self):
        one_of("ModelSpec.kind", self.kind, KINDS)
        positive_int("ModelSpec.units", self.units)
        for name in ("peepholes", "coupled"):
            instance(f"ModelSpec.{name}", getattr(self, name), bool, "bool (True or False)")
        number_in("ModelSpec.forget_bias", self.forget_bias, -100, 100)
        if self.fixed_gates is not None and not isinstance(self.fixed_gates, dict):
            raise ValueError(f"ModelSpec.fixed_gates must be a dict of gate name -> constant in "
                             f"[0, 1], e.g. {{'reset': 1.0}}; got {self.fixed_gates!r}")
        self.fixed_gates = dict(self.fixed_gates or {})
        for gate, value in self.fixed_gates.items():   # here, not at build (a slider's value)
            number_in(f"ModelSpec.fixed_gates[{gate!r}] (a gate is a sigmoid)", value, 0, 1)
        self.cell_options()                        # an unknown gate fails here, not at build

    def cell_options(self) -> dict:
        """The keyword arguments of ``make_cell`` for this kind (only those that apply)."""
        gates = {g: v for g, v in self.fixed_gates.items() if g in GATES[self.kind]}
        unknown = sorted(set(self.fixed_gates) - set(GATES["gru"]) - set(GATES["lstm"]))
        if unknown:
            raise ValueError(f"ModelSpec.fixed_gates: unknown gate(s) {unknown}; GRU gates are "
                             f"{GATES['gru']}, LSTM gates {GATES['lstm']}")
        options = {"fixed_gates": gates} if gates else {}
        if self.kind == "lstm":
            options.update(peepholes=self.peepholes, coupled=self.coupled)
            # A fixed forget gate has no bias to set: the builder's bias slider is then moot.
            if "forget" not in gates:
                options["forget_bias"] = float(self.forget_bias)
        return options

    def parameter_count(self, keys: int = KEYS) -> int:
        """Parameters of the recurrent layer, as the paper counts them (Table 1)."""
        return count_parameters(self.kind, keys, self.units, **self.cell_options())

    def total_parameters(self, keys: int = KEYS) -> int:
        """The whole model: recurrent layer + the output layer (H·K weights + K biases)."""
        return self.parameter_count(keys) + self.units * keys + keys

    def matched_units(self, keys: int = KEYS) -> dict:
        """Units of each kind (the paper's default cells) at THIS model's parameter budget.

        For an unmodified cell its own kind comes back at its own size; for an ablated one
        (say a GRU with the update gate fixed) the entry says how big the full cell would be.
        """
        budget = self.parameter_count(keys)
        return {k: units_for_budget(k, budget, keys) for k in KINDS}

    def label(self) -> str:
        """A short name: 'LSTM 36 (no peepholes, forget bias 1)'."""
        o = self.cell_options()
        notes = [f"{g} fixed {v:g}" for g, v in o.get("fixed_gates", {}).items()]
        if self.kind == "lstm":
            notes += (["no peepholes"] if not o["peepholes"] else []) + \
                     (["coupled"] if o["coupled"] else []) + \
                     ([f"forget bias {o['forget_bias']:g}"] if o.get("forget_bias") else [])
        return f"{NAMES[self.kind]} {self.units}" + (f" ({', '.join(notes)})" if notes else "")

    def build(self, seed: int = 0, keys: int = KEYS) -> PianoRollModel:
        return make_model(self.kind, keys, self.units, seed=seed, **self.cell_options())


@dataclass
class RunConfig:
    """One playground run: a model, a dataset and the training knobs the widgets expose.

    The defaults are the paper's protocol (weight noise 0.075, clipping at norm 1, RMSProp with
    momentum) with batches of 8 and lr 3e-3, which learn in seconds per epoch on a CPU; the
    paper used batch size 1 and picked lr by search.
    """

    model: ModelSpec = field(default_factory=ModelSpec)
    dataset: str = "chorales"
    lr: float = 3e-3
    clip_norm: float | None = 1.0                 # None: no clipping
    epochs: int = 10
    batch_size: int = 8
    weight_noise: float = 0.075
    seed: int = 0
    max_pieces: int | None = None                 # train on the first N pieces only (fast mode)
    folder: str | None = None                     # where the benchmark .mat files are

    def __post_init__(self):
        instance("RunConfig.model", self.model, ModelSpec)
        one_of("RunConfig.dataset", self.dataset, music.DATASETS)
        positive_int("RunConfig.max_pieces", self.max_pieces, allow_none=True)
        self.train_config()                        # validates lr, clip_norm, epochs, ...

    def train_config(self) -> TrainConfig:
        """The Trainer's settings: a fixed number of epochs (no early stopping, no lr decay),
        on the CPU, without progress bars (the widgets draw their own)."""
        return TrainConfig(lr=self.lr, clip_norm=self.clip_norm, max_epochs=self.epochs,
                           batch_size=self.batch_size, weight_noise=self.weight_noise,
                           seed=self.seed, device="cpu", patience=None, lr_decay_to=1.0,
                           progress=False)


# -- data ----------------------------------------------------------------------------------------

_DATA_CACHE: dict = {}


def load_splits(dataset: str = "chorales", folder=None) -> dict:
    """{split: list of (T, 88) rolls}, loaded once per session.

    ``folder`` is where the four benchmark .mat files are; the chorales are built from music21
    into the gru_lib cache instead (so a data folder never receives a generated file).
    """
    key = (dataset, None if dataset == "chorales" else folder)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = music.load_music(dataset, None, folder=key[1], progress=False)
    return _DATA_CACHE[key]


def pick_piece(dataset: str = "chorales", index: int = 0, split: str = "valid", min_length: int = 0,
               folder=None) -> Tensor:
    """The ``index``-th piece of a split among those at least ``min_length`` steps long: (T, 88).
    ``index`` and ``min_length`` may be numpy integers (a widget's or an array's value)."""
    one_of("split", split, SPLITS)
    min_length = non_negative_int("min_length", min_length)
    if not is_int(index):
        raise ValueError(f"index must be an integer, got {index!r}")
    index = int(index)
    pieces = [r for r in load_splits(dataset, folder)[split] if r.shape[0] >= min_length]
    if not pieces:
        raise ValueError(f"min_length: no {dataset} {split} piece has {min_length} steps or more")
    if not 0 <= index < len(pieces):
        raise ValueError(f"index must be an integer in 0..{len(pieces) - 1} ({len(pieces)} {dataset} "
                         f"{split} pieces of >= {min_length} steps), got {index!r}")
    return pieces[index]


# -- training, one epoch at a time ---------------------------------------------------------------

class TrainingSession:
    """A training run that advances when asked: ``run_epoch()`` trains one epoch and returns its
    record; ``stop()`` (from another thread, e.g. a Stop button) ends the run after the current
    update. Everything is done by ``gru_lib.training.trainer.Trainer`` -- the same update,
    batch order, records and best-epoch tracking as ``train`` -- so this class only adds the
    playground's bookkeeping: a name, the test split, and per-update lists of the gradient
    norm (before clipping) and the loss.

    Records are ``train``'s (epoch, updates, seconds, train_nll, valid_nll, noisy_train_nll,
    lr), so ``plotting.plot_curves`` draws them: train_nll is the clean NLL of the training set
    at the end of the epoch, noisy_train_nll the running NLL of the epoch's updates (at noisy
    weights; None at epoch 0).
    """

    def __init__(self, config: RunConfig, name: str | None = None):
        self.config = instance("config", config, RunConfig)
        self.name = name or config.model.label()
        splits = load_splits(config.dataset, config.folder)
        self.train_rolls = list(splits["train"][:config.max_pieces])
        self.valid_rolls = list(splits["valid"][:config.max_pieces])
        self.test_rolls = list(splits["test"][:config.max_pieces])
        self.model = config.model.build(seed=config.seed)
        self.trainer = Trainer(self.model, self.train_rolls, self.valid_rolls, config.train_config())
        self.grad_norms: list[float] = []          # per update, before clipping
        self.losses: list[float] = []              # per update, at the noisy weights
        self.diverged = False                      # a NaN/inf loss ended the run
        self._on_epoch = None                      # run()'s callback, while run() runs
        self.trainer.add_callback("on_update", self._record_update)
        self.trainer.add_callback("on_epoch_end", self._epoch_ended)
        self._guard(self.trainer.begin)            # epoch 0: the untrained model

    def _record_update(self, trainer: Trainer) -> None:
        self.grad_norms.append(trainer.last_update.grad_norm)
        self.losses.append(trainer.last_update.loss)

    def _epoch_ended(self, trainer: Trainer) -> None:
        if self._on_epoch is not None:
            self._on_epoch(self)

    def _guard(self, step) -> None:
        """Run ``step``; a diverged run is a result here (the playground shows it), not an error."""
        try:
            step()
        except DivergedError:
            self.diverged = True

    # The run's numbers, as the trainer keeps them.
    records = property(lambda self: self.trainer.state.records)
    epoch = property(lambda self: self.trainer.state.epoch)
    batch = property(lambda self: self.trainer.state.batch)
    updates = property(lambda self: self.trainer.state.updates)
    seconds = property(lambda self: self.trainer.state.seconds)
    best_valid = property(lambda self: self.trainer.state.best_valid)
    best_epoch = property(lambda self: self.trainer.state.best_epoch)
    best_state = property(lambda self: self.trainer.best_state)

    @property
    def stopped(self) -> str | None:
        """None while running; "epochs" (all done), "stopped" (stop()) or "diverged"."""
        if self.diverged:
            return "diverged"
        if self.trainer.finished:                  # no patience, no time limit: all epochs done
            return "epochs"
        return "stopped" if self.trainer.interrupted else None

    @property
    def done(self) -> bool:
        return self.stopped is not None

    def stop(self) -> None:
        """Ask the run to end after the current update (safe to call from any thread)."""
        self.trainer.request_stop()

    def run_updates(self, n: int | None = None) -> int:
        """Train on up to ``n`` more batches of the current epoch (None: to its end); returns how
        many ran. Ends the epoch (and writes its record) when its last batch is done."""
        if self.done:
            return 0
        before = self.updates
        self._guard(lambda: self.trainer.run_updates(n))
        return self.updates - before

    def run_epoch(self) -> dict:
        """Train one epoch (or until stop()); returns the latest record."""
        self.run_updates(None)
        return self.records[-1]

    def run(self, on_epoch=None) -> "TrainingSession":
        """Train until ``config.epochs`` epochs are done or stop() is called.

        on_epoch: optional callback(session) after each epoch (the widgets redraw there).
        """
        if not self.done:
            self._on_epoch = on_epoch
            try:
                self._guard(self.trainer.fit)
            finally:
                self._on_epoch = None
        return self

    def best_model(self) -> PianoRollModel:
        """A copy of the model at its best validation epoch."""
        model = self.config.model.build(seed=self.config.seed)
        model.load_state_dict(self.best_state)
        return model

    def summary(self, test: bool = True) -> dict:
        """One row of the comparison table."""
        spec, cfg = self.config.model, self.config
        row = dict(run=self.name, kind=spec.kind, units=spec.units, params=spec.parameter_count(),
                   dataset=cfg.dataset, lr=cfg.lr, clip=cfg.clip_norm, epochs=self.epoch,
                   updates=self.updates, seconds=round(self.seconds, 1),
                   best_valid_nll=self.best_valid, stopped=self.stopped)
        if test:
            row["test_nll"] = evaluate(self.best_model(), eval_batches(
                self.test_rolls, self.trainer.config.eval_batch_size))
        return row


class Comparison:
    """Every finished run, as rows and as learning curves, so runs can be compared."""

    COLUMNS = ("run", "kind", "units", "params", "dataset", "lr", "clip", "epochs", "updates",
               "seconds", "best_valid_nll", "test_nll", "stopped")
    # What fits the book's column: the run's name already says kind and units.
    SHORT = {"run": "run", "params": "params", "lr": "lr", "epochs": "epochs",
             "seconds": "seconds", "best_valid_nll": "best valid", "test_nll": "test"}

    def __init__(self):
        self.rows: list[dict] = []
        self.curves: dict = {}                    # run name -> records (for plot_curves)

    def add(self, session: TrainingSession) -> dict:
        instance("session", session, TrainingSession)
        row = session.summary()
        name, i = row["run"], 2
        while name in self.curves:                # the same settings twice: #2, #3, ...
            name, i = f"{row['run']} #{i}", i + 1
        row["run"] = name
        self.rows.append(row)
        self.curves[name] = list(session.records)
        return row

    def _columns(self, short: bool) -> dict:
        """{key: header} of the columns to show (short: the few that fit a page)."""
        names = self.SHORT if short else {c: c for c in self.COLUMNS}
        return {c: h for c, h in names.items() if any(c in r for r in self.rows)} or names

    def markdown(self, short: bool = False) -> str:
        """The runs as a Markdown table; ``short``: only the columns that fit a page."""
        cols = self._columns(short)
        align = "|" + "".join("---|" if c == "run" else "---:|" for c in cols)
        lines = ["| " + " | ".join(cols.values()) + " |", align]
        lines += ["| " + " | ".join(_fmt(r.get(c), c) for c in cols) + " |"
                  for r in self.rows]
        return "\n".join(lines)

    def html(self, short: bool = True) -> str:
        if not self.rows:
            return "<i>No runs yet: press Train.</i>"
        cols = self._columns(short)
        pad = "style='padding: 2px 10px 2px 0'"
        head = "".join(f"<th {pad}>{h}</th>" for h in cols.values())
        body = "".join("<tr>" + "".join(f"<td {pad}>{html.escape(_fmt(r.get(c), c))}</td>"
                                         for c in cols) + "</tr>" for r in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value, column: str = "") -> str:
    if value is None:
        return "–"
    if column == "seconds" and isinstance(value, (int, float)):
        return f"{value:.1f}"
    if column in ("lr", "clip") and isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) >= 0.01 else f"{value:.2g}"
    return str(value)


# -- gradient flow -------------------------------------------------------------------------------

def gradient_flow(model: PianoRollModel, roll: Tensor, length: int | None = None) -> dict:
    """||∂L_T/∂h_t|| for t = 1..T on one piece, L_T = the NLL of the LAST step only.

    Using the last step's loss (not the sum over steps) isolates how far back one prediction's
    error travels: a sum would add each step's own, undecayed gradient and hide the decay.
    The layer is unrolled by hand so each h_t is a tensor the next step really uses; its
    ``.grad`` is then the total derivative through every later step.

    Returns {"h": (T,) array, "c": (T,) array for the LSTM's memory cell or None}.
    """
    instance("model", model, PianoRollModel)
    if not isinstance(roll, Tensor) or roll.dim() != 2 or roll.shape[1] != model.keys:
        raise ValueError(f"roll must be a (T, K={model.keys}) tensor, got "
                         f"{getattr(roll, 'shape', type(roll).__name__)}")
    T = roll.shape[0] if length is None else length
    # is_int: numpy integers too (a length from np.arange or a shape), as pick_piece accepts
    if not is_int(T) or not 2 <= T <= roll.shape[0]:
        raise ValueError(f"length must be an integer in 2..{roll.shape[0]} (the piece's length), "
                         f"got {length!r}")
    T = int(T)
    # A float64 copy: the norms span dozens of orders of magnitude, and float32 would flush a
    # tanh-RNN's to exactly 0 within ~60 steps. The copy also leaves the caller's model alone.
    model = copy.deepcopy(model).double().eval()
    cell = model.rnn.cell
    roll = roll[:T].to(torch.float64)                              # (T, K)
    x = shift_right(roll.unsqueeze(1))                             # (T, 1, K): x_0 = silence
    xw = cell.split_projection(cell.input_projection(x))           # W x_t + b, all steps
    weights = cell.step_weights()
    state = cell.initial_state(1, x)
    states = []
    for xw_t in zip(*(part.unbind(0) for part in xw)):
        state = cell.step(xw_t, state, weights)
        for s in state:
            s.retain_grad()                                        # keep ∂L/∂h_t (and ∂L/∂c_t)
        states.append(state)
    logits = model.readout(state[0])                               # (1, K): predicts x_T
    loss = F.binary_cross_entropy_with_logits(logits, roll[-1:], reduction="sum")
    loss.backward()
    norms = [[float(s.grad.norm()) if s.grad is not None else 0.0 for s in st] for st in states]
    norms = np.array(norms)                                         # (T, 1 or 2)
    return {"h": norms[:, 0], "c": norms[:, 1] if norms.shape[1] > 1 else None}


# -- gates ---------------------------------------------------------------------------------------

@torch.no_grad()
def gate_activations(model: PianoRollModel, roll: Tensor) -> dict:
    """{gate name: (T, H) array} of every learned gate while the model reads ``roll`` (T, K).

    Fixed gates are constants and are not listed; "candidate" (h̃ or c̃) is left out too, as it
    is not a gate. A tanh-RNN has no gates: the result is empty.
    """
    if not isinstance(roll, Tensor) or roll.dim() != 2 or roll.shape[1] != model.keys:
        raise ValueError(f"roll must be a (T, K={model.keys}) tensor, got "
                         f"{getattr(roll, 'shape', type(roll).__name__)}")
    x = shift_right(roll.to(model.readout.weight).unsqueeze(1))    # (T, 1, K)
    out = model.rnn(x, return_gates=True)
    return {name: g[:, 0].cpu().numpy() for name, g in (out.gates or {}).items()
            if name != "candidate"}


# -- exploding gradients -------------------------------------------------------------------------

def clipping_experiment(config: RunConfig, updates: int = 50) -> dict:
    """The same run twice, ``updates`` updates each: clipped at ``config.clip_norm`` (1 if it
    is None) and not clipped. Returns {"clip": threshold, "clipped": norms, "unclipped": norms,
    "clipped_loss": losses, "unclipped_loss": losses}; norms are measured BEFORE clipping.
    """
    positive_int("updates", updates)
    threshold = config.clip_norm if config.clip_norm is not None else 1.0
    out = {"clip": threshold}
    for label, clip in (("clipped", threshold), ("unclipped", None)):
        cfg = RunConfig(**{**{f.name: getattr(config, f.name) for f in fields(config)},
                           "clip_norm": clip, "epochs": 10**6})
        session = TrainingSession(cfg)
        while session.updates < updates and not session.done:
            session.run_updates(updates - session.updates)
        out[label], out[f"{label}_loss"] = np.array(session.grad_norms), np.array(session.losses)
    return out


# -- figures -------------------------------------------------------------------------------------

# figure_png's dpi: below 10 a figure is a few pixels (0 is matplotlib's ValueError); above
# 1200 a page-wide figure is tens of thousands of pixels a side (1e5: a MemoryError).
DPI_RANGE = (10, 1200)


def figure_png(fig, dpi: int = 90) -> bytes:
    """A matplotlib figure as PNG bytes (for an ipywidgets.Image), then closed. ``dpi`` in
    DPI_RANGE (10..1200)."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):       # None (a plot function's forgotten return) and such
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    try:
        number_in("dpi", dpi, *DPI_RANGE)
    except ValueError:
        plt.close(fig)               # refused, but the figure is not left open
        raise
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def run_colours(names) -> dict:
    """{run name: colour}: the kind's colour (style.colour, from the name's first word);
    a second or third run of the same kind gets a darker, then a lighter shade of it."""
    from matplotlib.colors import to_rgb

    from ..style import kind_of
    seen: dict = {}
    out = {}
    for i, name in enumerate(names):
        kind = kind_of(name) or name
        base = np.array(to_rgb(colour(name, f"C{i}")))
        n = seen[kind] = seen.get(kind, -1) + 1
        shade = (0.0, -0.45, 0.45, -0.7, 0.7)[n % 5]            # mix with black (-) or white (+)
        out[name] = tuple(base * (1 + shade) if shade < 0 else base + (1 - base) * shade)
    return out


def plot_runs(curves: dict, title: str | None = None, noisy: bool = True):
    """``plotting.plot_curves`` for playground runs named 'kind units ...': each run in its
    kind's colour (see run_colours), one legend below both panels."""
    from matplotlib.lines import Line2D

    from .plotting import plot_curves
    fig = plot_curves(curves, title=title, noisy=noisy, legend=False)
    colours = run_colours(list(curves))
    names = sorted(curves, key=len, reverse=True)             # 'GRU 46 #2' before 'GRU 46'
    for ax in fig.axes:
        for line in ax.get_lines():
            run = next((n for n in names
                        if line.get_label().startswith(display_name(n) + " ")), None)
            if run is not None:
                line.set_color(colours[run])
    handles = [Line2D([], [], color=c, lw=2, label=display_name(n)) for n, c in colours.items()]
    styles = [("-", "train"), ("--", "valid")] + ([(":", "running train")] if noisy else [])
    handles += [Line2D([], [], color="0.3", ls=ls, label=lab) for ls, lab in styles]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4),
               fontsize=8)
    return fig


def plot_gradient_flow(flows: dict, title: str | None = None):
    """{label: gradient_flow(...) result} -> figure of ||∂L_T/∂h_t|| against steps back T - t."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator

    from .plotting import COLUMN_WIDTH
    colours = run_colours(list(flows))
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 3.4), layout="constrained")
    for label, flow in flows.items():
        h = flow["h"]
        back = np.arange(len(h))[::-1]                               # T - t: 0 at the last step
        style = "--" if "untrained" in label else "-"
        ax.plot(back, h, color=colours[label], lw=1.6, ls=style, label=f"{label}: h")
        if flow.get("c") is not None:
            ax.plot(back, flow["c"], color=colours[label], lw=1.2, ls=":", label=f"{label}: c")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=12))
    ax.set_xlabel("steps back from the predicted step (T − t)")
    ax.set_ylabel("‖∂L_T / ∂h_t‖")
    ax.grid(True, which="major", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_gates(roll: Tensor, gates: dict, title: str | None = None, max_units: int | None = None):
    """The piano roll on top, then one heat map per gate (units × time, 0 white .. 1 dark);
    ``max_units`` (a positive integer, or None for all) shows the first units only."""
    import matplotlib.pyplot as plt

    # 0 showed every unit and -1 all but the last: a silent surprise either way
    max_units = positive_int("max_units", max_units, allow_none=True)

    from .plotting import COLUMN_WIDTH
    rows = 1 + len(gates)
    fig, axes = plt.subplots(rows, 1, figsize=(COLUMN_WIDTH, 1.4 + 1.3 * rows), sharex=True,
                             gridspec_kw={"height_ratios": [1.4] + [1] * len(gates)},
                             layout="constrained")
    axes = np.atleast_1d(axes)
    music.plot_roll(roll, ax=axes[0], trim=True)
    axes[0].set_xlabel("")
    if title:
        axes[0].set_title(title, fontsize=10)
    for ax, (name, g) in zip(axes[1:], gates.items()):
        g = g[:, :max_units] if max_units else g                      # (T, H)
        image = ax.imshow(g.T, aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1,
                          interpolation="nearest")
        ax.set_ylabel(f"{name}\nunit", fontsize=9)
        ax.grid(False)
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03)
    if not gates:
        axes[0].set_xlabel("time step (this model has no gates)")
    else:
        axes[-1].set_xlabel("time step")
    return fig


def clipping_title(config: RunConfig) -> str:
    """'tanh 100, lr 1e-02, first 40 chorales': what a clipping experiment measured."""
    data = (f"first {config.max_pieces} pieces of {config.dataset}" if config.max_pieces
            else f"all {config.dataset}")
    return f"{config.model.label()}, lr {config.lr:.0e}, {data}"


def clipping_summary(result: dict, config: RunConfig) -> str:
    """The numbers of a clipping experiment in words, each labelled with the run it is from.

    Both runs start from the same weights; after the first update they differ, so the
    clipped run's largest raw norm (its gradients before each rescaling) is a different,
    calmer trajectory's, not the unclipped spike made smaller."""
    un, cl = result["unclipped"], result["clipped"]
    return (f"{clipping_title(config)}, {len(un)} updates. Not clipped: largest gradient norm "
            f"{un.max():.3g} (update {un.argmax() + 1}). Clipped at {result['clip']:g}: "
            f"largest norm before rescaling {cl.max():.3g} (update {cl.argmax() + 1}); every "
            f"step was rescaled to norm {result['clip']:g} or less.")


def plot_clipping(result: dict, title: str | None = None, kind: str | None = None):
    """Gradient norm per update with and without clipping, with the threshold drawn.

    Both runs are the same model: its kind's colour (style.colour; ``kind`` defaults to
    the first word of the title), solid when clipped, dashed when not."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator

    from .plotting import COLUMN_WIDTH
    line_colour = colour(kind or title or "", "C0")
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.0), layout="constrained")
    for label, ls in (("unclipped", "--"), ("clipped", "-")):
        norms = result[label]
        top = f"max {norms.max():.3g}"
        name = f"clipped at {result['clip']:g} ({top})" if label == "clipped" else \
            f"not clipped ({top})"
        steps = np.arange(1, len(norms) + 1)
        axes[0].plot(steps, norms, color=line_colour, lw=1.3, ls=ls, label=name)
        axes[1].plot(steps, result[f"{label}_loss"], color=line_colour, lw=1.3, ls=ls,
                     label=label.replace("unclipped", "not clipped"))
    axes[0].axhline(result["clip"], color="k", lw=0.8, ls=":", label="threshold")
    axes[0].set_yscale("log")
    axes[0].yaxis.set_major_locator(LogLocator(base=10, numticks=12))
    axes[0].set_ylabel("gradient norm (before clipping)")
    axes[1].set_ylabel("training NLL of the batch")
    for ax in axes:
        ax.set_xlabel("update")
        ax.grid(True, which="major", alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3,
               fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def config_dict(config: RunConfig) -> dict:
    """A RunConfig as plain data (for tables and JSON)."""
    return asdict(config)
