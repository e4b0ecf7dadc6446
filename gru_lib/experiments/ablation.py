"""The gate-ablation study and the sweeps of chapter 7.

The paper compares whole units and says it cannot tell which gate matters (its stated
limitation). Here every gate is removed in turn -- replaced by a constant, its weights gone --
and each variant gets the SAME parameter budget as the paper's GRU on music (46 units,
18,630 recurrent parameters), so a variant that loses a gate gets more units instead:

    GRU:  update gate fixed at 0.5 (a fixed leaky average), reset gate fixed at 1 (never resets)
    LSTM: input fixed at 1, forget fixed at 1 (never forgets), output fixed at 1,
          no peepholes (= nn.LSTM), coupled input-forget (i = 1 - f), forget-gate bias 1

Sweeps (one seed, chorales): test NLL against the number of units at FIXED UNITS (the three
kinds then have very different parameter counts) and at FIXED BUDGET (matched units), and
against the gradient-clipping threshold.

    python -m gru_lib.experiments.ablation study  --out data/results/ablation --folder ../shared/data/music
    python -m gru_lib.experiments.ablation sweeps --out data/results/sweeps
    python -m gru_lib.experiments.ablation study --fast ...      # a tiny version, for a smoke test

Every finished run is saved in ``runs.json`` at once (atomically), so an interrupted command
picks up where it stopped when run again. The training is SHORT on purpose (a fixed number of
epochs, CPU-minutes in all): the numbers rank the variants under a small budget, they are not
converged results.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import checks, music
from ..atomic import atomic_write, make_folder, refuse_to_overwrite
from ..download import DownloadError
from ..music.keys import KEYS
from ..music.model import make_model
from ..nn.budget import count_parameters, units_for_budget
from ..paper import KINDS
from ..training.batching import eval_batches
from ..training.evaluation import evaluate
from ..training.trainer import TrainConfig, train


@dataclass(frozen=True)
class Variant:
    """One ablated unit: a name, a kind and the cell options that make it."""
    name: str
    kind: str
    options: dict = field(default_factory=dict, hash=False)
    note: str = ""


VARIANTS = (
    Variant("tanh", "tanh", {}, "no gates at all"),
    Variant("GRU", "gru", {}, "the paper's GRU"),
    Variant("GRU update=0.5", "gru", {"fixed_gates": {"update": 0.5}},
            "h_t = (h_{t-1} + h̃_t)/2: a fixed leaky average"),
    Variant("GRU reset=1", "gru", {"fixed_gates": {"reset": 1.0}}, "the candidate always sees h_{t-1}"),
    Variant("LSTM", "lstm", {}, "the paper's LSTM: peepholes, forget bias 0"),
    Variant("LSTM input=1", "lstm", {"fixed_gates": {"input": 1.0}}, "every candidate is written"),
    Variant("LSTM forget=1", "lstm", {"fixed_gates": {"forget": 1.0}}, "the cell never forgets"),
    Variant("LSTM output=1", "lstm", {"fixed_gates": {"output": 1.0}}, "h_t = tanh(c_t)"),
    Variant("LSTM no peepholes", "lstm", {"peepholes": False}, "= torch.nn.LSTM"),
    Variant("LSTM coupled", "lstm", {"coupled": True}, "i_t = 1 - f_t (Greff et al.'s CIFG)"),
    Variant("LSTM forget bias 1", "lstm", {"forget_bias": 1.0}, "Jozefowicz et al. 2015"),
)
VARIANT_NAMES = tuple(v.name for v in VARIANTS)


@dataclass
class StudyConfig:
    """What every run of the study and the sweeps shares.

    The protocol is the paper's (RMSProp with momentum, weight noise 0.075, gradient rescaled
    to norm 1) with batches of 8, one learning rate for all (3e-3, good for both kinds in a
    quick check) and a SHORT, fixed number of epochs -- a budget, not convergence. A fixed
    epoch count (not a time limit) keeps the numbers repeatable on a loaded machine; the time
    limit is only a safety net and any run that hits it says so in its row.
    """

    datasets: tuple = ("chorales", "jsb")
    seeds: tuple = (0, 1)
    budget: int | None = None      # recurrent parameters; None = the paper's GRU 46 at 88 keys
    variants: tuple = VARIANT_NAMES
    epochs: int = 30
    patience: int | None = 10
    batch_size: int = 8
    lr: float = 3e-3
    weight_noise: float = 0.075
    clip_norm: float | None = 1.0
    max_seconds: float | None = 120.0
    max_pieces: int | None = None  # train on the first N pieces only (--fast)
    folder: str | None = None      # where jsb/nottingham/... .mat files are (not the chorales)

    def __post_init__(self):
        unknown = sorted(set(self.variants) - set(VARIANT_NAMES))
        if unknown:
            raise ValueError(f"variants: unknown {unknown}; expected names from {list(VARIANT_NAMES)}")
        bad = sorted(set(self.datasets) - set(music.DATASETS))
        if bad:
            raise ValueError(f"datasets: unknown {bad}; expected names from {list(music.DATASETS)}")
        if not self.seeds:
            raise ValueError("seeds: give at least one seed")
        # A repeated name would run (or read back) the same runs twice: the "spread over seeds"
        # of [0, 0] is a fake 0.000 and a repeated data set doubles the table's columns.
        for name in ("datasets", "seeds", "variants"):
            values = list(getattr(self, name))
            repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
            if repeated:
                raise ValueError(f"{name}: {repeated} given more than once; give each only once")
        for seed in self.seeds:
            checks.seed("seeds", seed)
        self.train_config(0)       # validates lr, epochs, clip_norm, ...

    def budget_params(self) -> int:
        return self.budget if self.budget is not None else count_parameters("gru", KEYS, 46)

    def train_config(self, seed: int, **changes) -> TrainConfig:
        return TrainConfig(lr=self.lr, weight_noise=self.weight_noise, clip_norm=self.clip_norm,
                           batch_size=self.batch_size, max_epochs=self.epochs, patience=self.patience,
                           max_seconds=self.max_seconds, seed=seed, device="cpu", eval_train=False,
                           progress=False).replace(**changes)


# -- one run -----------------------------------------------------------------------------------

_DATA: dict = {}


def _data(name: str, folder, max_pieces) -> dict:
    key = (name, folder)
    if key not in _DATA:        # the chorales live in the gru_lib cache, never in `folder`
        _DATA[key] = music.load_music(name, None, folder=None if name == "chorales" else folder,
                                      progress=False)
    return {s: rolls[:max_pieces] for s, rolls in _DATA[key].items()}


def run_one(kind: str, units: int, dataset: str, seed: int, config: StudyConfig,
            options: dict | None = None, **train_changes) -> dict:
    """Train one model with early stopping on valid; returns a row with its test NLL."""
    options = dict(options or {})
    data = _data(dataset, config.folder, config.max_pieces)
    model = make_model(kind, KEYS, units, seed=seed, **options)
    tc = config.train_config(seed, **train_changes)
    start = time.perf_counter()
    # The one Trainer (through train): the same update as every other run. In memory, it ends
    # on the best-valid weights, which the test NLL below then scores.
    result = train(model, data["train"], data["valid"], tc)
    test = evaluate(model, eval_batches(data["test"], 64))
    return dict(kind=kind, units=units, params=count_parameters(kind, KEYS, units, **options),
                dataset=dataset, seed=seed, clip_norm=tc.clip_norm, epochs=result.epochs,
                best_epoch=result.best_epoch, updates=result.updates, stopped=result.stopped,
                valid_nll=round(result.best_valid_nll, 4), test_nll=round(test, 4),
                seconds=round(time.perf_counter() - start, 1))


class RunStore:
    """runs.json in ``out_dir``: every finished run, keyed, saved atomically after each run.

    The training settings are stored with the runs; reusing a folder with different settings
    is refused, so a results table never mixes two protocols.
    """

    FILE = "runs.json"
    PROTOCOL = ("epochs", "patience", "batch_size", "lr", "weight_noise", "clip_norm",
                "max_seconds", "max_pieces")

    def __init__(self, out_dir, config: StudyConfig):
        self.path = Path(out_dir) / self.FILE
        self.protocol = {k: getattr(config, k) for k in self.PROTOCOL}
        saved = self._read() if self.path.is_file() else {}
        if saved and saved.get("protocol") != self.protocol:
            raise ValueError(f"out_dir: {str(self.path)!r} holds runs made with {saved.get('protocol')}, "
                             f"not {self.protocol}; use another output folder or delete that file")
        self.runs = saved.get("runs", {})

    def _read(self) -> dict:
        """The saved store, or a ValueError naming the file and the fix: a runs.json that is
        not JSON, or not the {"protocol": ..., "runs": {key: row}} this class writes (a
        foreign or hand-edited file), would otherwise fail as a raw AttributeError/TypeError
        deep in the study, or as a JSON message that does not say which file."""
        fix = "move it away or use another output folder"
        try:
            saved = json.loads(self.path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"out: {str(self.path)!r} is not a runs.json this module wrote "
                             f"(not JSON: {err}); {fix}") from None
        runs = saved.get("runs") if isinstance(saved, dict) else None
        if not (isinstance(saved, dict) and isinstance(runs, dict)
                and all(isinstance(row, dict) for row in runs.values())):
            raise ValueError(f"out: {str(self.path)!r} is not a runs.json this module wrote "
                             f"(expected {{\"protocol\": ..., \"runs\": {{key: row}}}}); {fix}")
        return saved

    def get_or_run(self, key: str, fn) -> dict:
        if key not in self.runs:
            self.runs[key] = fn()
            atomic_write(self.path, json.dumps({"protocol": self.protocol, "runs": self.runs}, indent=1))
        return self.runs[key]


# -- the study ---------------------------------------------------------------------------------

# The files run_study and run_sweeps write beside runs.json.
STUDY_OUTPUTS = ("results.csv", "summary.csv", "summary.json", "summary.md")
SWEEP_OUTPUTS = ("sweeps.csv", "sweeps.json", "units.png", "clipping.png")


def _refuse_foreign_outputs(out_dir: Path, names) -> None:
    """ValueError, before any training, if ``out_dir`` holds a file at one of the names we
    are about to write and was not made by us: no runs.json (the store this module writes
    first, after the first run) means the folder is the user's, and so is a summary.md or
    results.csv in it -- never written over. With runs.json they are ours, from a previous
    invocation, and are brought up to date."""
    if not (out_dir / RunStore.FILE).is_file():
        refuse_to_overwrite([out_dir / name for name in names], "out")

@contextmanager
def _made_for_a_start(out_dir: Path):
    """Make ``out_dir`` (and missing parents) first -- a folder that cannot be made fails at
    once, before the data loads or downloads -- and, if the checks in the block then fail,
    remove again the folders made here, deepest first and only while empty: a failed start
    leaves nothing behind, and never removes a folder that was already there."""
    missing = [p for p in (out_dir, *out_dir.parents) if not p.exists()]
    make_folder(out_dir)
    try:
        yield
    except BaseException:
        for folder in missing:          # deepest first; rmdir refuses a folder with files
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def run_study(config: StudyConfig, out_dir, progress: bool = True) -> list:
    """Train every (variant, dataset, seed); write runs.json, results.csv, summary.csv/.md/.json.

    Returns the per-run rows.
    """
    out_dir = Path(out_dir)
    _refuse_foreign_outputs(out_dir, STUDY_OUTPUTS)
    with _made_for_a_start(out_dir):
        store = RunStore(out_dir, config)  # a foreign or other-protocol runs.json fails now
        for dataset in config.datasets:   # a missing or wrong data file fails now, before a run
            _data(dataset, config.folder, config.max_pieces)
    budget = config.budget_params()
    variants = [v for v in VARIANTS if v.name in config.variants]
    jobs = [(v, d, s) for d in config.datasets for v in variants for s in config.seeds]
    rows = []
    for v, dataset, seed in tqdm(jobs, desc="ablation", unit="run", disable=not progress):
        units = units_for_budget(v.kind, budget, KEYS, **v.options)
        row = store.get_or_run(f"{v.name}|{dataset}|{seed}|{units}",
                               lambda: run_one(v.kind, units, dataset, seed, config, v.options))
        rows.append({"variant": v.name, **row})
    summary = summarise(rows, ["variant", "dataset"])
    order = {name: i for i, name in enumerate(VARIANT_NAMES)}
    summary.sort(key=lambda r: (config.datasets.index(r["dataset"]), order[r["variant"]]))
    _write_csv(out_dir / "results.csv", rows)
    _write_csv(out_dir / "summary.csv", summary)
    atomic_write(out_dir / "summary.json", json.dumps(
        {"config": asdict(config), "budget": budget, "summary": summary}, indent=1))
    atomic_write(out_dir / "summary.md", study_markdown(summary, config))
    return rows


def summarise(rows: list, by: list) -> list:
    """Mean and sample standard deviation of test/valid NLL over seeds, per group."""
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    out = []
    for key, rs in groups.items():
        test = np.array([r["test_nll"] for r in rs])
        valid = np.array([r["valid_nll"] for r in rs])
        out.append({**dict(zip(by, key)), "kind": rs[0]["kind"], "units": rs[0]["units"],
                    "params": rs[0]["params"], "seeds": len(rs),
                    "test_nll": round(float(test.mean()), 3),
                    "test_std": round(float(test.std(ddof=1)), 3) if len(rs) > 1 else None,
                    "valid_nll": round(float(valid.mean()), 3),
                    "epochs": round(float(np.mean([r["epochs"] for r in rs])), 1),
                    "stopped": ",".join(sorted({r["stopped"] for r in rs}))})
    return out


def study_markdown(summary: list, config: StudyConfig) -> str:
    """The summary as a markdown table: one row per variant, one column pair per dataset."""
    datasets = list(config.datasets)
    by = {(r["variant"], r["dataset"]): r for r in summary}
    names = [n for n in VARIANT_NAMES if any((n, d) in by for d in datasets)]
    head = "| variant | units | params | " + " | ".join(f"{d} test NLL | Δ vs full" for d in datasets) + " |"
    lines = [head, "|---|---:|---:|" + "---:|---:|" * len(datasets)]
    for n in names:
        first = next(by[(n, d)] for d in datasets if (n, d) in by)
        full = "GRU" if first["kind"] == "gru" else "LSTM" if first["kind"] == "lstm" else None
        cells = []
        for d in datasets:
            r = by.get((n, d))
            if r is None:
                cells += ["–", "–"]
                continue
            std = f" ± {r['test_std']:.3f}" if r["test_std"] is not None else ""
            base = by.get((full, d))
            delta = f"{r['test_nll'] - base['test_nll']:+.3f}" if base and full != n else ""
            cells += [f"{r['test_nll']:.3f}{std}", delta]
        lines.append(f"| {n} | {first['units']} | {first['params']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + (
        f"\n\nMean ± standard deviation over seeds {list(config.seeds)}; test NLL in nats per step "
        f"(88 keys) at the best-validation epoch. Each variant has about "
        f"{config.budget_params():,} recurrent parameters. SHORT budget: at most {config.epochs} "
        f"epochs (patience {config.patience}), batch {config.batch_size}, lr {config.lr:g}, weight "
        f"noise {config.weight_noise:g}, clipping at {config.clip_norm}.\n")


# -- the sweeps --------------------------------------------------------------------------------

UNITS = (16, 32, 64, 128)
BUDGETS = (5_000, 10_000, 20_000, 40_000)
CLIPS = (0.1, 1.0, 10.0, None)


def run_sweeps(config: StudyConfig, out_dir, units=UNITS, budgets=BUDGETS, clips=CLIPS,
               clip_kinds=KINDS, progress: bool = True) -> dict:
    """Test NLL against units (fixed units and fixed budget) and against the clipping threshold,
    on ``config.datasets[0]`` with ``config.seeds[0]``. Writes sweeps.json/.csv and two PNGs."""
    out_dir = Path(out_dir)
    _refuse_foreign_outputs(out_dir, SWEEP_OUTPUTS)
    dataset, seed = config.datasets[0], config.seeds[0]
    with _made_for_a_start(out_dir):
        store = RunStore(out_dir, config)  # a foreign or other-protocol runs.json fails now
        _data(dataset, config.folder, config.max_pieces)   # a data problem fails before any run
    kinds = KINDS
    jobs = [("units", k, h, None) for h in units for k in kinds]
    jobs += [("budget", k, units_for_budget(k, b, KEYS), b) for b in budgets for k in kinds]
    jobs += [("clip", k, units_for_budget(k, config.budget_params(), KEYS), c)
             for c in clips for k in clip_kinds]
    rows = []
    for sweep, kind, h, value in tqdm(jobs, desc="sweeps", unit="run", disable=not progress):
        changes = {"clip_norm": value} if sweep == "clip" else {}
        row = store.get_or_run(f"{kind}|{h}|{dataset}|{seed}|clip={changes.get('clip_norm', config.clip_norm)}",
                               lambda: run_one(kind, h, dataset, seed, config, **changes))
        rows.append({"sweep": sweep, "value": value, **row})
    _write_csv(out_dir / "sweeps.csv", rows)
    atomic_write(out_dir / "sweeps.json", json.dumps({"config": asdict(config), "rows": rows}, indent=1))
    plot_units_sweep(rows, out_dir / "units.png", dataset)
    plot_clip_sweep(rows, out_dir / "clipping.png", dataset)
    return {"rows": rows}


def plot_units_sweep(rows: list, path=None, dataset: str = ""):
    """Top: same number of units. Bottom: same parameter budget (units matched per kind).

    No text beside the points (the three kinds' points crowd each other): the units and
    parameter counts of every point are in ``sweep_table``."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    from .plotting import COLOURS, COLUMN_WIDTH, display_name
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.2), sharey=True,
                             layout="constrained")
    for ax, sweep, x_key, x_label in ((axes[0], "units", "units", "units H (same for all)"),
                                      (axes[1], "budget", "params", "recurrent parameters")):
        for kind in KINDS:
            rs = sorted((r for r in rows if r["sweep"] == sweep and r["kind"] == kind),
                        key=lambda r: r[x_key])
            if rs:
                ax.plot([r[x_key] for r in rs], [r["test_nll"] for r in rs], "o-",
                        color=COLOURS[kind], label=display_name(kind))
        ax.set_xscale("log")
        # Ticks at the sizes that were run, written plainly (not 2×10^1).
        ticks = sorted({r["units"] if sweep == "units" else r["value"]
                        for r in rows if r["sweep"] == sweep})
        ax.set_xticks(ticks, [f"{t:g}" if sweep == "units" else f"{t / 1000:g}K"
                              for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(x_label)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel(f"test NLL ({dataset}, nats/step)")
    axes[0].set_title("fixed units", fontsize=10)
    axes[1].set_title("fixed budget (units matched)", fontsize=10)
    axes[1].legend(fontsize=8)
    return _save(fig, path)


def plot_clip_sweep(rows: list, path=None, dataset: str = ""):
    """Test NLL against the clipping threshold; 'off' is drawn at the right end."""
    import matplotlib.pyplot as plt

    from .plotting import COLOURS, COLUMN_WIDTH, display_name
    rs_all = [r for r in rows if r["sweep"] == "clip"]
    finite = sorted({r["value"] for r in rs_all if r["value"] is not None})
    off_x = finite[-1] * 3 if finite else 1.0
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH * 0.7, 3.0), layout="constrained")
    for kind in KINDS:
        rs = sorted((r for r in rs_all if r["kind"] == kind),
                    key=lambda r: off_x if r["value"] is None else r["value"])
        if rs:
            ax.plot([off_x if r["value"] is None else r["value"] for r in rs],
                    [r["test_nll"] for r in rs], "o-", color=COLOURS[kind], label=display_name(kind))
    ax.set_xscale("log")
    ax.set_xticks(finite + [off_x], [f"{v:g}" for v in finite] + ["off"])
    ax.minorticks_off()
    ax.set_xlabel("gradient-norm clipping threshold")
    ax.set_ylabel(f"test NLL ({dataset}, nats/step)")
    ax.grid(True, which="major", alpha=0.3)
    fig.legend(fontsize=8, loc="outside right upper")
    return _save(fig, path)


def sweep_table(rows: list, sweep: str) -> str:
    """One sweep as a Markdown table: a row per kind, a column per value swept; each cell the
    test NLL and, in brackets, the units (budget and clip sweeps) or parameters (units)."""
    rs = [r for r in rows if r["sweep"] == sweep]
    key = "units" if sweep == "units" else "value"
    values = list(dict.fromkeys(r[key] for r in rs))
    name = {"units": "H", "budget": "budget", "clip": "clip"}[sweep]

    def head(v):
        if v is None:
            return "off"
        return f"{v / 1000:g}K" if sweep == "budget" else f"{v:g}"

    lines = [f"| {name} | " + " | ".join(head(v) for v in values) + " |",
             "|---|" + "---:|" * len(values)]
    for kind in KINDS:
        by = {r[key]: r for r in rs if r["kind"] == kind}
        if not by:
            continue
        cells = []
        for v in values:
            r = by.get(v)
            note = "" if r is None else (f" ({r['params'] / 1000:.1f}K)" if sweep == "units"
                                         else f" (H {r['units']})")
            cells.append("–" if r is None else f"{r['test_nll']:.2f}{note}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def study_table(summary: list, datasets=None) -> str:
    """The study's summary as a Markdown table narrow enough for a book page: variant, units,
    then per data set the mean test NLL ± its spread over seeds and the change against the
    full unit of the same kind (Δ). The parameter counts (all near the budget) are left out."""
    datasets = list(datasets or dict.fromkeys(r["dataset"] for r in summary))
    by = {(r["variant"], r["dataset"]): r for r in summary}
    names = [n for n in VARIANT_NAMES if any((n, d) in by for d in datasets)]
    label = {"jsb": "JSB", "chorales": "chorales"}
    head = "| variant | H | " + " | ".join(f"{label.get(d, d)} | Δ" for d in datasets) + " |"
    lines = [head, "|---|---:|" + "---:|---:|" * len(datasets)]
    for n in names:
        first = next(by[(n, d)] for d in datasets if (n, d) in by)
        full = {"gru": "GRU", "lstm": "LSTM"}.get(first["kind"])
        cells = []
        for d in datasets:
            r, base = by.get((n, d)), by.get((full, d))
            if r is None:
                cells += ["–", ""]
                continue
            std = f" ± {r['test_std']:.2f}" if r["test_std"] is not None else ""
            delta = f"{r['test_nll'] - base['test_nll']:+.2f}" if base and full != n else ""
            cells += [f"{r['test_nll']:.2f}{std}", delta]
        lines.append(f"| {n} | {first['units']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- output helpers ----------------------------------------------------------------------------

def _save(fig, path):
    from .plotting import save_figure
    return save_figure(fig, path)


def _write_csv(path, rows: list) -> None:
    if not rows:
        return
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buffer.getvalue())


def load_summary(folder) -> dict:
    """summary.json of a finished study (as committed under data/results/ablation)."""
    path = Path(folder) / "summary.json"
    if not path.is_file():
        raise ValueError(f"folder: no summary.json in {str(folder)!r}; run "
                         f"`python -m gru_lib.experiments.ablation study --out {folder}` first")
    return json.loads(path.read_text())


# -- command line ------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    """--threads and --epochs: a whole number >= 1, refused by argparse (one line) otherwise."""
    try:
        return checks.positive_int("value", int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None


def main(argv=None) -> int:
    """The command line. Bad input (an unknown data set, a folder without the files, an output
    folder that cannot be written or that holds a user's files) is one line on stderr and
    exit status 2, Ctrl-C one line and 130, never a traceback: as ``python -m gru_lib``."""
    parser = checks.OneLineParser(prog="python -m gru_lib.experiments.ablation",
                                  description=__doc__.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("study", "sweeps", "all"), help="which experiment to run")
    parser.add_argument("--out", default=None, help="output folder (default data/results/ablation "
                        "for study, data/results/sweeps for sweeps; for all: OUT/ablation, OUT/sweeps)")
    parser.add_argument("--folder", default=None, help="folder with the benchmark .mat files")
    parser.add_argument("--datasets", nargs="+", default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument("--variants", nargs="+", default=None, choices=VARIANT_NAMES, metavar="NAME")
    parser.add_argument("--epochs", type=int, default=None)    # checked by StudyConfig
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--threads", type=_positive_int, default=1,
                        help="torch threads (default 1)")
    parser.add_argument("--fast", action="store_true",
                        help="a smoke test: 2 epochs on 16 pieces, one seed, few variants/sizes")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (ValueError, OSError, DownloadError) as err:   # bad input: one line, exit status 2
        print("error: " + " ".join(str(err).split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:      # finished runs are in runs.json: the same command continues
        print("interrupted: Ctrl-C received; run the same command again to continue",
              file=sys.stderr)
        return 130


def _run(args) -> int:
    """What main does once the arguments parse."""
    torch.set_num_threads(args.threads)
    changes = {k: v for k, v in dict(datasets=args.datasets and tuple(args.datasets),
                                      seeds=args.seeds and tuple(args.seeds),
                                      variants=args.variants and tuple(args.variants),
                                      epochs=args.epochs, lr=args.lr, folder=args.folder).items()
               if v is not None}
    sweep_sizes = {}
    if args.fast:
        changes = {"seeds": (0,), "epochs": 2, "max_pieces": 16, "patience": None,
                   "variants": ("tanh", "GRU", "GRU reset=1", "LSTM"), **changes}
        sweep_sizes = dict(units=(8, 16), budgets=(2_000, 5_000), clips=(1.0, None), clip_kinds=("tanh",))
    config = StudyConfig(**changes)
    base = Path(args.out) if args.out else None
    if args.what in ("study", "all"):
        out = (base / "ablation" if args.what == "all" else base) if base else Path("data/results/ablation")
        run_study(config, out)
        print((Path(out) / "summary.md").read_text())
    if args.what in ("sweeps", "all"):
        out = (base / "sweeps" if args.what == "all" else base) if base else Path("data/results/sweeps")
        rows = run_sweeps(config, out, **sweep_sizes)["rows"]
        for r in rows:
            print(f"{r['sweep']:7s} {str(r['value']):7s} {r['kind']:5s} H={r['units']:4d} "
                  f"params={r['params']:6d} test={r['test_nll']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
