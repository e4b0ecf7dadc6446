"""Chapter 7's widgets: a thin ipywidgets skin over ``gru_lib.experiments.playground``.

    >>> from gru_lib.experiments.widgets import Playground
    >>> pg = Playground()          # model builder, Train/Stop, curves, comparison table
    >>> pg                         # in a notebook: displays everything in tabs

Every figure is shown in an ``ipywidgets.Image`` (PNG bytes) rather than an Output widget:
an Image can be updated from the training thread, and its bytes are part of the widget state
saved in the notebook, so the built HTML shows the last picture as a static snapshot.

Training runs in a background thread when started by the button, so the kernel stays free to
receive the Stop click; ``Playground(background=False)`` (or ``train(wait=True)``) trains in
the calling thread instead -- what tests and the committed notebook do.
"""
from __future__ import annotations

import html
import threading

import ipywidgets as W

from .. import music
from ..download import DownloadError
from ..paper import KINDS
from ..style import NAMES
from . import playground as P

# Constants a gate is fixed at when its "learned" box is unticked.
DEFAULT_FIXED = {"update": 0.5, "reset": 1.0, "input": 1.0, "forget": 1.0, "output": 1.0}
CURVES_TITLE = "every run: train (solid), valid (dashed), running train at noisy weights (dotted)"
KIND_LABELS = tuple((NAMES[kind], kind) for kind in KINDS)     # (shown, value)
_WIDE = {"description_width": "120px"}


def _image() -> W.Image:
    """An Image widget for a figure, hidden until it has one (no broken-image icon)."""
    image = W.Image(format="png", layout=W.Layout(display="none", max_width="100%"))
    return image


def _show(image: W.Image, png: bytes) -> None:
    """Put PNG bytes in ``image`` (b"" hides it again)."""
    image.value = png
    image.layout.display = None if png else "none"


def _error(err: Exception) -> str:
    """An error for a status line, in red (HTML-escaped)."""
    return f"<span style='color:#b00'>{html.escape(str(err))}</span>"


def _shown_in(note: W.HTML, update):
    """``update`` with its bad-input errors (a data folder that is not there, impossible
    builder settings) shown in ``note`` instead of raised: a widget callback's exception is
    lost in the kernel log, and the view stays usable once the input is fixed. Returns what
    ``update`` returns, or {} after an error."""
    try:
        return update()
    except (ValueError, OSError, DownloadError) as e:
        note.value = _error(e)
        return {}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def finished_message(session: P.TrainingSession, row: dict) -> str:
    """What happened to a run, in a sentence: 'Finished lstm 37: 10 epochs, ...'."""
    name, n, planned = html.escape(row["run"]), session.epoch, session.config.epochs
    if session.stopped == "diverged":
        head = f"{name} diverged (NaN or infinite loss) in epoch {n + 1}"
    elif session.stopped == "stopped":
        head = f"Stopped {name} after {n} of {_plural(planned, 'epoch')}"
    else:
        head = f"Finished {name}: {_plural(n, 'epoch')} in {row['seconds']:.0f} s"
    if row.get("best_valid_nll") is None or session.best_epoch is None:
        return head + "."
    return (f"{head}. Best valid NLL {row['best_valid_nll']:.3f} (epoch {session.best_epoch}); "
            f"test NLL there {row['test_nll']:.3f}.")


# The sliders' ranges. A value outside one would be clamped by ipywidgets without a word, and
# the builder would then train another model than the one asked for: such a config is refused
# (``check_fits``) instead. Edit the ranges here, not in the widgets, to keep both in step.
RANGES = {"units": (2, 256), "forget_bias": (-2.0, 3.0), "clip_norm": (0.1, 10.0),
          "lr": (1e-4, 10 ** -1.5), "epochs": (1, 100), "fixed gate": (0.0, 1.0)}


def check_fits(config: P.RunConfig) -> None:
    """ValueError naming the field and the slider's range if ``config`` holds a value the
    builder's sliders cannot show (see RANGES); set it in code with ``P.TrainingSession``."""
    if not isinstance(config, P.RunConfig):
        raise TypeError(f"config must be a playground RunConfig, got {type(config).__name__}")
    m = config.model
    values = [("units", "model.units", m.units), ("forget_bias", "model.forget_bias", m.forget_bias),
              ("lr", "lr", config.lr), ("epochs", "epochs", config.epochs)]
    if config.clip_norm is not None:
        values.append(("clip_norm", "clip_norm", config.clip_norm))
    values += [("fixed gate", f"model.fixed_gates[{g!r}]", v) for g, v in m.fixed_gates.items()]
    for key, name, value in values:
        low, high = RANGES[key]
        if not low <= value <= high:
            raise ValueError(f"{name}={value:g} is outside the builder's range [{low:g}, {high:g}]; "
                             f"give a value in it (the slider would silently clamp it), or "
                             f"train such a model in code with playground.TrainingSession")


class ModelBuilder:
    """Kind, units, gate switches, clipping, learning rate, dataset and epochs, with the live
    parameter count and the other two kinds' sizes at the same budget (``self.info``)."""

    def __init__(self, config: P.RunConfig | None = None):
        c = config or P.RunConfig()
        check_fits(c)                  # before any slider clamps a value
        m = c.model
        self.kind = W.ToggleButtons(options=KIND_LABELS, value=m.kind, description="unit",
                                    style=_WIDE)
        self.units = W.IntSlider(value=m.units, min=RANGES["units"][0], max=RANGES["units"][1], description="units H", style=_WIDE,
                                 continuous_update=False)
        # One (learned?, fixed value) pair per gate of either kind.
        self.gates = {}
        for name in P.GATES["gru"] + P.GATES["lstm"]:
            fixed = name in m.fixed_gates
            learned = W.Checkbox(value=not fixed, description=f"learn the {name} gate", indent=False)
            value = W.FloatSlider(value=m.fixed_gates.get(name, DEFAULT_FIXED[name]), min=0, max=1,
                                  step=0.05, description="else fixed at", disabled=not fixed,
                                  style=_WIDE, continuous_update=False)
            self.gates[name] = (learned, value)
        self.peepholes = W.Checkbox(value=m.peepholes, description="peepholes", indent=False)
        self.coupled = W.Checkbox(value=m.coupled, description="coupled: i = 1 − f", indent=False)
        self.forget_bias = W.FloatSlider(value=m.forget_bias, min=RANGES["forget_bias"][0], max=RANGES["forget_bias"][1], step=0.5,
                                         description="forget-gate bias", style=_WIDE,
                                         continuous_update=False)
        self.clip_on = W.Checkbox(value=c.clip_norm is not None, description="clip the gradient norm",
                                  indent=False)
        self.clip = W.FloatLogSlider(value=c.clip_norm or 1.0, base=10, min=-1, max=1, step=0.1,
                                     description="at", disabled=c.clip_norm is None, readout_format=".2g",
                                     continuous_update=False)
        self.lr = W.FloatLogSlider(value=c.lr, base=10, min=-4, max=-1.5, step=0.1,
                                   description="learning rate", readout_format=".1e", style=_WIDE,
                                   continuous_update=False)
        self.dataset = W.Dropdown(options=music.DATASETS, value=c.dataset, description="data set",
                                  style=_WIDE)
        self.epochs = W.IntSlider(value=c.epochs, min=RANGES["epochs"][0], max=RANGES["epochs"][1], description="epochs", style=_WIDE,
                                  continuous_update=False)
        self.info = W.HTML()
        self._fixed = dict(batch_size=c.batch_size, weight_noise=c.weight_noise, seed=c.seed,
                           max_pieces=c.max_pieces, folder=c.folder)

        gru_box = W.VBox([W.HBox(list(self.gates[g])) for g in P.GATES["gru"]])
        lstm_box = W.VBox([W.HBox(list(self.gates[g])) for g in P.GATES["lstm"]]
                          + [W.HBox([self.peepholes, self.coupled]), self.forget_bias])
        self._boxes = {"gru": gru_box, "lstm": lstm_box}
        self.widget = W.VBox([
            self.kind, self.units, gru_box, lstm_box, W.HBox([self.clip_on, self.clip]),
            self.lr, W.HBox([self.dataset, self.epochs]), self.info])
        for w in self._all():
            w.observe(self._refresh, names="value")
        self._refresh()

    def set_config(self, config: P.RunConfig) -> None:
        """Set every control to ``config`` (e.g. to show the settings of a finished run)."""
        check_fits(config)             # before any slider clamps a value
        m = config.model
        self.kind.value, self.units.value = m.kind, m.units
        for name, (learned, value) in self.gates.items():
            learned.value = name not in m.fixed_gates
            value.value = m.fixed_gates.get(name, DEFAULT_FIXED[name])
        self.peepholes.value, self.coupled.value = m.peepholes, m.coupled
        self.forget_bias.value = m.forget_bias
        self.clip_on.value = config.clip_norm is not None
        self.clip.value = config.clip_norm or 1.0
        self.lr.value, self.dataset.value = config.lr, config.dataset
        self.epochs.value = config.epochs
        self._fixed = dict(batch_size=config.batch_size, weight_noise=config.weight_noise,
                           seed=config.seed, max_pieces=config.max_pieces, folder=config.folder)
        self._refresh()

    def _all(self):
        return [self.kind, self.units, self.peepholes, self.coupled, self.forget_bias, self.clip_on,
                self.clip, self.lr, self.dataset, self.epochs] + [w for pair in self.gates.values() for w in pair]

    def spec(self) -> P.ModelSpec:
        """The model the widgets describe (raises ValueError for an impossible combination)."""
        fixed = {g: float(v.value) for g, (learned, v) in self.gates.items()
                 if g in P.GATES[self.kind.value] and not learned.value}
        spec = P.ModelSpec(kind=self.kind.value, units=int(self.units.value), fixed_gates=fixed,
                           peepholes=self.peepholes.value, coupled=self.coupled.value,
                           forget_bias=float(self.forget_bias.value))
        spec.parameter_count()                     # builds the cell: checks the switches
        return spec

    def run_config(self) -> P.RunConfig:
        return P.RunConfig(model=self.spec(), dataset=self.dataset.value, lr=float(self.lr.value),
                           clip_norm=float(self.clip.value) if self.clip_on.value else None,
                           epochs=int(self.epochs.value), **self._fixed)

    def _refresh(self, change=None):
        for name, (learned, value) in self.gates.items():
            value.disabled = learned.value
        self.clip.disabled = not self.clip_on.value
        self.forget_bias.disabled = not self.gates["forget"][0].value   # no bias on a constant
        for kind, box in self._boxes.items():
            box.layout.display = None if kind == self.kind.value else "none"
        try:
            spec = self.spec()
        except ValueError as e:
            self.info.value = f"<span style='color:#b00'>{html.escape(str(e))}</span>"
            return
        matched = spec.matched_units()
        names = dict((v, k) for k, v in KIND_LABELS)
        others = ", ".join(f"{names[k]} {matched[k]} units" for k in KINDS if k != spec.kind)
        self.info.value = (f"<b>{html.escape(spec.label())}</b>: {spec.parameter_count():,} "
                           f"recurrent parameters ({spec.total_parameters():,} with the output "
                           f"layer). Same budget: {others}.")
        if spec.kind == "lstm" and spec.coupled and spec.fixed_gates.get("forget") == 1.0:
            self.info.value += (" <span style='color:#b60'>Note: coupled with f = 1 makes "
                                "i = 1 − f = 0, so the cell never writes anything.</span>")


class Playground:
    """The model builder, Train and Stop, learning curves and the comparison of runs, plus the
    gradient-flow, gate and clipping views (``self.widget`` holds them in tabs)."""

    def __init__(self, config: P.RunConfig | None = None, background: bool = True):
        self.builder = ModelBuilder(config)
        self.background = background
        self.comparison = P.Comparison()
        self.models: dict = {}                      # run name -> best model, for the views
        self.session: P.TrainingSession | None = None
        self._thread: threading.Thread | None = None
        self.train_button = W.Button(description="Train", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop",
                                    disabled=True)
        self.clear_button = W.Button(description="Clear runs", icon="trash")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="epochs")
        self.status = W.HTML()
        self.curves = _image()
        self.table = W.HTML(self.comparison.html())
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        self.clear_button.on_click(lambda _: self.clear())
        self.gradient_flow = GradientFlowView(self)
        self.gates = GateView(self)
        self.clipping = ClippingView(self)
        train_tab = W.VBox([self.builder.widget,
                            W.HBox([self.train_button, self.stop_button, self.clear_button, self.progress]),
                            self.status, self.curves, self.table])
        self.widget = W.Tab(children=[train_tab, self.gradient_flow.widget, self.gates.widget,
                                      self.clipping.widget])
        for i, title in enumerate(("build and train", "gradient flow", "gates", "exploding gradients")):
            self.widget.set_title(i, title)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    # -- training -------------------------------------------------------------------------------

    def train(self, wait: bool | None = None) -> P.TrainingSession | None:
        """Start a run with the builder's settings; ``wait`` (default: not self.background)
        trains in this thread and returns when the run is over."""
        if self._thread is not None and self._thread.is_alive():
            self.status.value = "A run is in progress: press Stop first."
            return None
        try:
            config = self.builder.run_config()
        except ValueError as e:
            self.status.value = f"<span style='color:#b00'>{html.escape(str(e))}</span>"
            return None
        self.status.value = f"Loading {config.dataset} and building the model…"
        try:      # loading the data can fail (a wrong folder): say so, not stay on "Loading…"
            session = P.TrainingSession(config)
        except (ValueError, OSError, DownloadError) as e:
            self.status.value = _error(e)
            return None
        self.session = session
        self.progress.max, self.progress.value = config.epochs, 0
        self.train_button.disabled, self.stop_button.disabled = True, False
        self.status.value = f"Training {html.escape(session.name)} on {config.dataset}…"
        wait = (not self.background) if wait is None else wait
        if wait:
            self._run(session)
        else:
            self._thread = threading.Thread(target=self._run, args=(session,), daemon=True)
            self._thread.start()
        return session

    def _run(self, session: P.TrainingSession) -> None:
        try:
            session.run(on_epoch=self._on_epoch)
            row = self.comparison.add(session)
            self.models[row["run"]] = session.best_model()
            self.table.value = self.comparison.html()
            _show(self.curves, P.figure_png(P.plot_runs(self.comparison.curves,
                                                        title=CURVES_TITLE)))
            self.status.value = finished_message(session, row)
        except Exception as e:                     # show it in the UI: a thread's traceback is lost
            self.status.value = f"<span style='color:#b00'>{html.escape(repr(e))}</span>"
            if not self.background:
                raise
        finally:
            self.train_button.disabled, self.stop_button.disabled = False, True

    def _on_epoch(self, session: P.TrainingSession) -> None:
        self.progress.value = session.epoch
        record = session.records[-1]
        self.status.value = (f"Training {html.escape(session.name)}: epoch {session.epoch}, valid NLL "
                             f"{record['valid_nll']:.3f}")
        curves = {**self.comparison.curves, f"{session.name} (running)": session.records}
        _show(self.curves, P.figure_png(P.plot_runs(curves)))

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()
            self.status.value = "Stopping after the current update…"

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background run has finished."""
        if self._thread is not None:
            self._thread.join(timeout)

    def clear(self) -> None:
        self.comparison, self.models = P.Comparison(), {}
        self.table.value = self.comparison.html()
        _show(self.curves, b"")

    def current_model(self):
        """(name, model) for the builder's settings: the latest trained run with exactly these
        model settings, else a freshly initialised (untrained) model."""
        spec = self.builder.spec()
        for row in reversed(self.comparison.rows):
            run = self.models.get(row["run"])
            if run is not None and row["kind"] == spec.kind and row["units"] == spec.units and \
                    run.cell_options == spec.cell_options():
                return f"{row['run']} (trained)", run
        return f"{spec.label()} (untrained)", spec.build()


class GradientFlowView:
    """||∂L_T/∂h_t|| against t on the longest validation piece, for the builder's model and
    every trained run; a slider sets the sequence length T."""

    def __init__(self, pg: Playground):
        self.pg = pg
        self.length = W.IntSlider(value=100, min=10, max=400, step=10, description="length T",
                                  continuous_update=False)
        self.include_runs = W.Checkbox(value=True, description="also the trained runs", indent=False)
        self.button = W.Button(description="Measure", icon="line-chart")
        self.image = _image()
        self.note = W.HTML()
        self.button.on_click(lambda _: self.update())
        self.length.observe(lambda _: self.update(), names="value")
        self.widget = W.VBox([W.HBox([self.length, self.include_runs, self.button]), self.note, self.image])
        self.flows: dict = {}

    def update(self) -> dict:
        """Measure and show; a bad input is shown in ``self.note`` (returns {})."""
        return _shown_in(self.note, self._update)

    def _update(self) -> dict:
        dataset = self.pg.builder.dataset.value
        piece = max(P.load_splits(dataset, self.pg.builder._fixed["folder"])["valid"],
                    key=lambda r: r.shape[0])
        T = min(self.length.value, piece.shape[0])
        name, model = self.pg.current_model()
        models = {name: model}
        if self.include_runs.value:
            models.update({n: m for n, m in self.pg.models.items() if f"{n} (trained)" != name})
        self.flows = {n: P.gradient_flow(m, piece, T) for n, m in models.items()}
        self.note.value = (f"Longest {dataset} validation piece ({piece.shape[0]} steps), first "
                           f"{T} steps. L_T = NLL of the last step.")
        _show(self.image, P.figure_png(P.plot_gradient_flow(self.flows)))
        return self.flows


class GateView:
    """Heat maps of the gates of the builder's model on a chosen validation piece."""

    def __init__(self, pg: Playground):
        self.pg = pg
        self.piece = W.IntSlider(value=0, min=0, max=50, description="piece", continuous_update=False)
        self.button = W.Button(description="Show gates", icon="th")
        self.image = _image()
        self.note = W.HTML()
        self.button.on_click(lambda _: self.update())
        self.piece.observe(lambda _: self.update(), names="value")
        self.widget = W.VBox([W.HBox([self.piece, self.button]), self.note, self.image])
        self.gates: dict = {}

    def update(self) -> dict:
        """Compute and show the gates; a bad input is shown in ``self.note`` (returns {})."""
        return _shown_in(self.note, self._update)

    def _update(self) -> dict:
        dataset = self.pg.builder.dataset.value
        pieces = P.load_splits(dataset, self.pg.builder._fixed["folder"])["valid"]
        if self.piece.max != len(pieces) - 1:      # (changing max may clamp value: re-entry is harmless)
            self.piece.max = len(pieces) - 1
        roll = pieces[self.piece.value]
        name, model = self.pg.current_model()
        self.gates = P.gate_activations(model, roll)
        self.note.value = f"{html.escape(name)} on {dataset} validation piece {self.piece.value}."
        _show(self.image, P.figure_png(P.plot_gates(roll, self.gates, title=name)))
        return self.gates


class ClippingView:
    """The gradient norm of each update, the same run clipped (at the builder's threshold, or 1
    if clipping is off) and not clipped."""

    def __init__(self, pg: Playground):
        self.pg = pg
        self.updates = W.IntSlider(value=60, min=5, max=300, step=5, description="updates",
                                   continuous_update=False)
        self.button = W.Button(description="Measure", icon="bolt")
        self.image = _image()
        self.note = W.HTML()
        self.button.on_click(lambda _: self.update())
        self.widget = W.VBox([W.HBox([self.updates, self.button]), self.note, self.image])
        self.result: dict = {}

    def update(self, config: P.RunConfig | None = None) -> dict:
        """Measure ``config`` (default: the builder's settings) and show it, labelled."""
        config = config or self.pg.builder.run_config()
        self.result = P.clipping_experiment(config, self.updates.value)
        self.note.value = html.escape(P.clipping_summary(self.result, config))
        _show(self.image, P.figure_png(P.plot_clipping(self.result,
                                                       title=P.clipping_title(config))))
        return self.result
