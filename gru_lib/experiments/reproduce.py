"""The reproduction: train every model with the paper's protocol, compare with Table 2.

    >>> summary = reproduce("jsb", budget="quick", out="runs/quick-jsb")   # seconds on a CPU
    >>> print(format_table(summary))

For each model (tanh-RNN, GRU, LSTM at Table 1's sizes; or, beyond the paper, the minimal
units "mingru", "minlstm" of Feng et al. 2024 and stacks such as "mingru-2", at the same budget:
``nn.budget.task_units``) a learning-rate search
(training.search) trains one candidate per learning rate (RMSProp, weight noise, gradient
clipping, early stopping on validation); the candidate with the best validation NLL is
evaluated on the three splits. A model's candidates are trained AT ONCE, as one population
(training.population: every member gets exactly the run a single Trainer would give it, for
about the cost of a few), and each candidate is still one trial of the Optuna study
(run_population_search), so the study resumes, may be shared, and is what results.json cites.
With ``workers=N`` (``--workers N``) N-1 more processes join the search on the same study, each
taking the next model whose candidates are waiting: the three models train in parallel on a
machine with the cores for it. A ``Budget`` says how much of the protocol
to run: "paper" is all of it, "standard" and "quick" shrink it to minutes and seconds.

Everything that differs between music and speech comes from the task (``gru_lib.tasks``):
this module never looks at a data set's name.

Writes OUT/results.json (the layout the committed results and the notebooks read:
dataset, budget, key_range, keys, seed, config, candidates, paper, models, and for a task
with a reference corpus paper_reference and data_credit), OUT/curves.png, and a checkpoint
per candidate, OUT/MODEL/lrN/best.pt (the population writes each member's files where a solo
run would). OUT/run.json, written when the run starts, holds the settings that decide what it
trains (dataset, budget, seed, key range, candidates or lrs, params, chunk, recurrent init, the
TrainConfig): ``resume`` continues a run only with the same ones, and may add models; a run made
before run.json existed is checked against its results.json, study and checkpoints instead.
results.json keeps the models of earlier commands on the same OUT that this one did not train.
"""
from __future__ import annotations

import json
import multiprocessing
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from .. import paper
from ..atomic import atomic_write, make_folder, refuse_a_file_in_the_path
from ..checks import non_negative_int, number_in, one_of, positive_int
from ..checks import seed as check_seed
from ..device import device_memory, pick_device
from ..nn.budget import TASK_INPUT_SIZE, count_parameters, task_units
from ..nn.cells import MAX_PARAMETERS, RECURRENT_INITS
from ..nn.kinds import ALL_KINDS, MINIMAL_KINDS, model_name
from ..paper import KINDS, SPLITS
from ..tasks import DATASETS, load_model, task_for
from ..training.batching import eval_batches
from ..training.checkpoints import load_checkpoint
from ..training.evaluation import evaluate, evaluate_per_piece
from ..training.population import FailedResult, train_population
from ..training.search import SearchResult, check_storage, default_storage, given_lrs, run_population_search
from ..training.trainer import DivergedError, TrainConfig, TrainingInterrupted
from .plotting import plot_curves
from .run_settings import (MANIFEST, legacy_settings, previous_models, read_manifest,
                           refuse_another_model, refuse_other_settings, run_settings)

__all__ = ["BUDGETS", "DATASETS", "Budget", "ModelSearch", "budget_for", "format_table",
           "load_splits", "reproduce"]


@dataclass(frozen=True)
class Budget:
    """How much of the paper's protocol to run.

    subset:     (train, valid, test): keep the first n sequences of each split, or None (all)
    crop:       cut every sequence to its first ``crop`` steps, or None
    chunk:      cut the TRAINING sequences into consecutive pieces of at most ``chunk`` steps
                (the state restarts at each), or None; validation and test stay whole
    candidates: learning rates tried per model (the paper: 10)
    stratified: one candidate per equal slice of the log range instead of independent draws
                (with few candidates, so they cover the range)
    config:     TrainConfig fields (batch_size, max_epochs, patience, ...)
    seconds_per_candidate: a clock, or None (none): a model's candidates train together as one
                population sharing one wall clock, so the population gets max_seconds =
                candidates × seconds_per_candidate -- the wall time a search that trained them
                one after the other, each for seconds_per_candidate, would have taken
    """

    subset: tuple | None
    crop: int | None
    chunk: int | None
    candidates: int
    stratified: bool
    config: dict
    seconds_per_candidate: float | None = None

    def train_config(self, n_candidates: int) -> dict:
        """The TrainConfig fields for a population of ``n_candidates`` (with its clock)."""
        config = dict(self.config)
        if self.seconds_per_candidate is not None:
            config["max_seconds"] = self.seconds_per_candidate * n_candidates
        return config


# What each budget trains. "paper" is the protocol of section 4 (batch size, epochs and
# RMSProp settings from the authors' code where the paper is silent); the others shrink it.
# A task may set some fields of a budget differently (Task.budgets; see budget_for).
# The most learning-rate candidates a model may have: they train at once, as one population
# (the paper tried 10); 10**23 would start and then never get through its first epoch.
MAX_CANDIDATES = 1000
# Bytes a population holds per parameter of each member, at least: the float32 weights, their
# gradient, RMSProp's two running averages, the best epoch's copy and the clean copy under the
# weight noise. A run that needs more than the device has is refused before it starts.
BYTES_PER_PARAMETER = 6 * 4

BUDGETS = {
    # CI smoke test: seconds. A few short pieces, 2 epochs, 2 candidates.
    "quick": Budget(subset=(12, 6, 6), crop=48, chunk=None, candidates=2, stratified=True,
                    config=dict(batch_size=4, max_epochs=2, patience=None)),
    # A few CPU minutes per dataset: 4 candidates covering the range, batches of 16, trained as
    # one population for ≤ 4 × 30 s = 120 s of wall time (the time the sequential search gave
    # them: ≤ 30 s each, one after the other; the population shares one clock). Training pieces are cut into chunks of ≤ 100 steps (the state restarts at each
    # chunk), so Nottingham's or MuseData's long pieces give many short, cheap updates
    # instead of a few long ones; validation and test always score whole pieces.
    "standard": Budget(subset=None, crop=None, chunk=100, candidates=4, stratified=True,
                       config=dict(batch_size=16, max_epochs=60, patience=5),
                       seconds_per_candidate=30.0),
    # The full protocol: 10 log-uniform candidates (one population of 10), batch size 1, up to
    # 500 epochs, no clock.
    "paper": Budget(subset=None, crop=None, chunk=None, candidates=paper.CANDIDATES,
                    stratified=False,
                    config=dict(batch_size=paper.BATCH_SIZE, max_epochs=paper.MAX_EPOCHS,
                                patience=20)),
}


def budget_for(dataset: str, budget: str) -> Budget:
    """The budget ``budget`` as ``dataset``'s task runs it (its own fields replace ours)."""
    one_of("budget", budget, BUDGETS)
    return replace(BUDGETS[budget], **task_for(dataset).budgets.get(budget, {}))


# -- the reproduction --------------------------------------------------------------------------

def load_splits(dataset: str, key_range: str = "88", data=None, subset=None, crop=None,
                chunk=None) -> dict:
    """{split: list of (T, width) tensors} from the dataset's task, optionally the first
    ``subset`` sequences cropped to ``crop``, and the TRAINING sequences cut into consecutive
    chunks of at most ``chunk`` steps (see Budget). key_range applies to music only.
    """
    splits = task_for(dataset).load_splits(dataset, data=data, key_range=key_range)
    if subset is not None:
        splits = {s: splits[s][:n] for s, n in zip(SPLITS, subset)}
    if crop is not None:
        splits = {s: [r[:crop] for r in v] for s, v in splits.items()}
    if chunk is not None:
        splits["train"] = [piece for r in splits["train"] for piece in r.split(chunk)]   # views
    return splits


def reproduce(dataset: str = "chorales", models=KINDS, budget: str = "standard", out="runs",
              device: str = "auto", data=None, key_range: str = "88", seed: int = 0,
              candidates: int | None = None, storage: str | None = None, resume: bool = False,
              progress: bool = True, workers: int = 1, overrides: dict | None = None,
              recurrent_init: str = "uniform", lrs=None, params: int | None = None,
              chunk: int | None = None, forget_bias: float = 0.0, log=print) -> dict:
    """Train each model with the learning-rate search of the paper; write OUT/results.json,
    OUT/curves.png and per-candidate checkpoints; return the results dict.

    models: model names (nn.kinds.model_name): the paper's KINDS, the minimal kinds, each
    optionally "-L" for L stacked layers ("mingru-2"); each at the task's budget. A string is
    read as the command line reads it: "gru" or "gru,lstm".
    candidates: overrides the budget's number. storage: an Optuna storage URL (default: sqlite in OUT), shared by workers on several machines.
    resume: continue the run in OUT (finished candidates are kept) with the settings it was
    started with (OUT/run.json; any other is refused, naming the option); other models may be
    added, and the models in OUT's results.json that this call does not train stay in it. workers: processes on this
    machine (this one and workers - 1 more), each training the next model whose candidates are
    waiting; each uses this process's torch thread count. overrides: TrainConfig fields to set
    on top of the budget's, e.g. {"weight_noise": 0.0, "max_epochs": 20} (a recipe study; the
    results record them). recurrent_init: how U starts, "uniform" (±0.1, like W: the default)
    or "orthogonal" (one orthogonal H x H block per gate, as the authors' pylearn2 layers);
    the minimal kinds have no U. lrs: the learning-rate candidates chosen by hand instead of
    drawn, e.g. [2.8e-4, 5.9e-4] (a recipe study that re-runs the rates that won; ``candidates``
    is then their number; recorded in results.json as "lrs"). log: where the progress lines and
    the final table go. params: every model at this many recurrent parameters instead of the
    task's budget (Table 1's sizes for the paper's three): a capacity study, recorded in
    results.json as "params_budget" (each model's "units" and "params" say what it became).
    chunk: cut the training pieces into chunks of at most this many steps instead of the
    budget's (standard: 100, paper: whole pieces); 0 keeps them whole. A recipe study of the
    update's length, recorded in results.json as "chunk" (the budget's when not given).
    forget_bias: the LSTM forget gate's initial bias (default 0, the paper's; Jozefowicz et al.
    2015 start it at 1 so the cell remembers from the first update), recorded in results.json
    as "forget_bias"; only for runs whose models are all LSTMs (the others have no forget gate).
    """
    task = task_for(dataset)
    plan = budget_for(dataset, budget)
    positive_int("workers", workers)
    positive_int("params", params, allow_none=True)
    if params is not None and params > MAX_PARAMETERS:
        raise ValueError(f"params: {params} recurrent parameters is more than the "
                         f"{MAX_PARAMETERS:.0e} this library builds; give a smaller budget")
    non_negative_int("chunk", chunk, allow_none=True)
    if chunk is not None:
        plan = replace(plan, chunk=chunk or None)
    if isinstance(models, str):          # "gru" or "gru,lstm", as at the command line
        models = [m.strip() for m in models.split(",") if m.strip()]
    models = list(models)
    if not models:
        raise ValueError(f"models: expected at least one of {', '.join(ALL_KINDS)}, got none")
    for kind in models:
        model_name(kind)                 # a ValueError naming the kinds and the -L form
    if len(set(models)) != len(models):
        raise ValueError(f"models: each model once, got {models}")
    one_of("recurrent_init", recurrent_init, RECURRENT_INITS)
    cell_options = {} if recurrent_init == "uniform" else {"recurrent_init": recurrent_init}
    forget_bias = checked_forget_bias(forget_bias, models)
    if forget_bias != 0.0:
        cell_options["forget_bias"] = forget_bias
    stateless = [kind for kind in models if model_name(kind)[0] in MINIMAL_KINDS]
    if cell_options and stateless:
        raise ValueError(f"recurrent_init: {recurrent_init!r} sets U, and {', '.join(stateless)} "
                         f"{'has' if len(stateless) == 1 else 'have'} none (the minimal units' "
                         f"gates read x_t only); train them in a run of their own")
    if task.name == "speech" and key_range != "88":
        raise ValueError(f"key_range: {dataset} is speech and has no keys, got {key_range!r}; "
                         f"leave it out (--key-range is for the music sets)")
    if storage is not None:
        check_storage(storage)           # before OUT is made: a URL no worker could share
    target = pick_device(device)     # a device that is not there fails before anything else
    # before anything is written: a seed torch cannot take failed in the first model's init,
    # after OUT/search.db was made (a half-started run that then asked for --resume)
    check_seed("seed", seed)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} is a file; give the folder to write the run to "
                         f"(it is created if missing)")
    refuse_a_file_in_the_path(out)
    if params is not None:
        for kind in models:
            smallest = count_parameters(model_name(kind)[0], TASK_INPUT_SIZE[task.name], 1,
                                        model_name(kind)[1])
            if smallest > params:
                raise ValueError(f"params: {params} is below the smallest {kind} ({smallest} "
                                 f"recurrent parameters at 1 unit); give at least {smallest}")
    db, manifest = out / "search.db", out / MANIFEST
    started = db.exists() or manifest.exists()
    if storage is None and started and not resume:
        raise ValueError(f"out: {out} already holds a run ({db if db.exists() else manifest}); "
                         f"pass --resume to continue it (or to add a worker), or choose another "
                         f"--out")
    if not started and out.is_dir() and any(out.iterdir()):
        # results.json, curves.png, MODEL/ would land among files that are not a run's. Also
        # with --storage: the study may live elsewhere, but OUT is still where this call writes,
        # and a machine sharing an external study starts from a new OUT or one holding run.json.
        raise ValueError(f"out: {str(out)!r} holds files but no run to resume (no search.db "
                         f"or {MANIFEST}); give a new or empty folder")
    lrs = given_lrs(lrs)
    positive_int("candidates", candidates, allow_none=True)    # 0 is no number of candidates
    count = len(lrs) if lrs is not None else candidates
    if count is not None and count > MAX_CANDIDATES:
        raise ValueError(f"candidates: {count} learning rates would train as one population of "
                         f"{count} models at once; give at most {MAX_CANDIDATES} (the paper "
                         f"tried {paper.CANDIDATES})")
    if lrs is not None and candidates is not None and candidates != len(lrs):
        raise ValueError(f"candidates: {candidates}, but {len(lrs)} learning rates given "
                         f"({', '.join(f'{lr:g}' for lr in lrs)}); give one or the other")
    n_candidates = len(lrs) if lrs is not None else candidates or plan.candidates
    check_memory(task, models, params, n_candidates, target)
    base = TrainConfig(seed=seed, device=device, progress=progress,
                       **plan.train_config(n_candidates))
    overrides = dict(overrides or {})
    for name in ("seed", "device", "progress"):
        if name in overrides:
            raise ValueError(f"overrides: {name!r} has its own argument (--{name}); "
                             f"set it there")
    if "lr" in overrides:
        # each candidate trains at its own rate (base.replace(lr=...) in ModelSearch), so a
        # fixed lr would be ignored, yet recorded in results.json as if it had been used
        raise ValueError("overrides: 'lr' is not a setting of a run (each candidate trains at "
                         "its own learning rate); give the rates with lrs (--lrs 2.8e-4,5.9e-4) "
                         "or their number with candidates (--candidates)")
    base = base.replace(**overrides)          # unknown fields and bad values fail here

    # A run is trained with one set of settings: what OUT's candidates were trained with must be
    # what this call would train, or the results would score (and publish) one run's models as
    # another's. run.json holds them; a run made before it existed is read from its files.
    settings = run_settings(dataset, budget, key_range, seed, n_candidates, lrs, params,
                            plan.chunk, recurrent_init, overrides, base, forget_bias)
    if manifest.exists():
        saved, metas = read_manifest(manifest), {}
    elif out.is_dir() and any(out.iterdir()):     # a run made before run.json: its files say
        # OUT/search.db is read whatever --storage says: it is this folder's own record of the
        # run (its dataset), and a --storage pointing elsewhere does not make it another run's.
        saved, metas = legacy_settings(out, db)
    else:
        saved, metas = None, {}
    if saved is not None:
        refuse_other_settings(out, saved, settings)

    # Everything that can refuse to start (the data, the configuration) comes before OUT is
    # created, so a failed start leaves nothing behind (no search.db that would then ask for
    # --resume); a start that fails while opening the study removes what it made.
    splits = load_splits(dataset, key_range=key_range, data=data, subset=plan.subset,
                         crop=plan.crop, chunk=plan.chunk)
    width = splits["train"][0].shape[1]
    backends = {kind: training_backend(kind, target, base.batch_size,
                                       task_units(task.name, kind, params)) for kind in models}
    for kind, (path, meta) in metas.items():   # an old run's models, against what we would build
        expected = task.build_model(kind, width, seed=seed, units=task_units(task.name, kind,
                                                                             params),
                                    **cell_options).meta()
        refuse_another_model(out, path, meta, expected)
    created = not out.exists()
    make_folder(out)                     # /proc/x, a read-only disk: a clear error, not OSError
    wrote_manifest = not manifest.exists()
    if wrote_manifest:                   # a new run, or an old one that now gets its run.json
        atomic_write(manifest, json.dumps(settings, indent=1))
    if workers > len(models):
        # a model's candidates train as one population in one process: a worker beyond one per
        # model would find nothing waiting (and --workers 1000 would spawn 999 processes)
        log(f"workers: {workers} asked, {len(models)} used (one per model trained)")
        workers = len(models)
    storage = storage or default_storage(db)
    log(f"{dataset}: {len(splits['train'])}/{len(splits['valid'])}/{len(splits['test'])} "
        f"{task.describe(splits)}; budget {budget}: {n_candidates} learning-rate "
        f"{'candidate' if n_candidates == 1 else 'candidates'} per model, trained as one "
        f"population"
        + (f"; {workers} worker processes" if workers > 1 else ""))
    if task.credit:
        log(task.credit)

    search = ModelSearch(dataset, storage, out, n_candidates, seed, plan.stratified, base,
                         splits["train"], splits["valid"], cell_options=cell_options,
                         backends=backends, lrs=lrs, params=params,
                         key_range=None if task.name == "speech" else key_range)
    try:
        searches, seconds = _search_all(search, models, workers, log)
    except BaseException:
        # A start that failed before the study was made (a storage that cannot be opened)
        # leaves nothing: the run.json this call wrote, then the folder if this call made it.
        if wrote_manifest and [p.name for p in out.iterdir()] == [MANIFEST]:
            manifest.unlink()
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()                  # only the empty folder this call made
        raise

    results, curves = {}, {}
    for kind in models:
        units = task_units(task.name, kind, params)   # Table 1 (100/46/36, ...), or a budget
        found = searches[kind]
        if found.best_candidate < 0:
            results[kind] = {"units": units, "error": "every learning-rate candidate failed",
                             "candidates": found.candidates}
            log(f"  {kind}: every candidate failed")
            continue
        run_dir = out / kind / f"lr{found.best_candidate}"
        # scored on the backend it trained on: faster on a CPU, the same numbers
        model, _ = load_model(run_dir / "best.pt", device=device, backend=backends[kind])
        nll = {s: evaluate(model, eval_batches(splits[s], base.eval_batch_size))
               for s in SPLITS}
        # the other average "per time step" (the mean over pieces), so both are on record
        per_piece = {s: evaluate_per_piece(model, splits[s]) for s in SPLITS}
        run = json.loads((run_dir / "result.json").read_text())
        curves[kind] = run["records"]
        # Each population's wall time once. Its members share one clock that a resumed run
        # carries on (result.json "seconds"), so the population took as long as its last member
        # to stop; the search's own timing only saw the last session of a resumed run.
        populations = {}
        for r in found.candidates:
            if "population" in r:
                trials = tuple(r["population"]["trials"])
                member = out / kind / f"lr{r['candidate']}" / "result.json"
                clock = (json.loads(member.read_text())["seconds"] if member.is_file()
                         else r["population"]["seconds"])
                populations[trials] = max(populations.get(trials, 0.0), clock,
                                          r["population"]["seconds"])
        results[kind] = {
            "units": units,
            "params": sum(p.numel() for p in model.rnn.parameters()),  # recurrent: as Table 1
            "params_total": sum(p.numel() for p in model.parameters()),
            "lr": found.best_lr, "epochs": run["epochs"], "best_epoch": run["best_epoch"],
            "updates": run["updates"], "seconds": run["seconds"], "stopped": run["stopped"],
            "train_nll": nll["train"], "valid_nll": nll["valid"], "test_nll": nll["test"],
            "piece_mean_nll": per_piece,       # {split: mean over pieces of each one's NLL/step}
            "backend": backends[kind],         # what it trained on (the same numbers on any)
            "checkpoint": str((run_dir / "best.pt").relative_to(out)),
            "search_seconds": round(seconds[kind], 3),
            "population_seconds": round(sum(populations.values()), 3),  # a quick run takes < 0.05 s
            "candidates": found.candidates,
        }
    # The models this call did not train keep their entries (and curves): a run is filled one
    # model at a time (runs/paper_queue.sh: --models gru, then --models lstm, ... on one --out),
    # and the settings check above guarantees they were trained as these were.
    for kind, entry in previous_models(out / "results.json", dataset).items():
        if kind not in results:
            results[kind] = entry
            records = out / Path(entry.get("checkpoint", ".")).parent / "result.json"
            if "checkpoint" in entry and records.is_file():
                curves[kind] = json.loads(records.read_text())["records"]
    # "keys" is the width of a row (keys for music, samples per frame for speech): the name
    # the committed results.json files and the notebooks read.
    summary = {"dataset": dataset, "budget": budget, "key_range": key_range, "keys": width,
               "seed": seed, "config": asdict(base), "candidates": n_candidates,
               "population": True, "overrides": overrides, "recurrent_init": recurrent_init,
               "forget_bias": forget_bias, "lrs": lrs, "params_budget": params,
               "chunk": plan.chunk,
               "command": reproduce_command(dataset, list(results), budget, out, data=data,
                                            key_range=key_range, seed=seed,
                                            candidates=candidates, overrides=overrides,
                                            recurrent_init=recurrent_init, lrs=lrs,
                                            params=params, chunk=chunk,
                                            forget_bias=forget_bias),
               "paper": paper.TABLE2.get(dataset),
               "models": results}
    if task.paper_reference is not None:     # another corpus: shown for reference, never subtracted
        summary.update(paper_reference=task.paper_reference, data_credit=task.credit)
    atomic_write(out / "results.json", json.dumps(summary, indent=1))
    if curves:
        plot_curves(curves, out / "curves.png", title=f"{dataset} ({budget} budget)")
    log(format_table(summary))
    return summary


# Beyond this the forget gate starts fully shut or fully open in any float type (sigmoid(±100)
# rounds to 0 or 1), so a larger bias only means a typo.
FORGET_BIAS_BOUND = 100.0


def checked_forget_bias(forget_bias, models) -> float:
    """``forget_bias`` as a float, or a ValueError: not a number in [-FORGET_BIAS_BOUND,
    FORGET_BIAS_BOUND], or not 0 for a run with a model that has no forget gate (only the LSTM
    has one)."""
    forget_bias = number_in("forget_bias", forget_bias, -FORGET_BIAS_BOUND, FORGET_BIAS_BOUND)
    others = [kind for kind in models if model_name(kind)[0] != "lstm"]
    if forget_bias != 0.0 and others:
        raise ValueError(f"forget_bias: {forget_bias:g} starts the LSTM's forget gate, and "
                         f"{', '.join(others)} {'has' if len(others) == 1 else 'have'} none; "
                         f"train the LSTM in a run of its own (--models lstm)")
    return forget_bias


def check_memory(task, models, params: int | None, n_candidates: int,
                 device: torch.device) -> None:
    """ValueError if the largest model's population clearly cannot fit in ``device``'s memory
    (BYTES_PER_PARAMETER per parameter per candidate, a lower bound): --params 1000000000
    would otherwise ask the machine for tens of GB and end in a traceback or the OOM killer."""
    total = device_memory(device)
    if total is None:
        return
    sizes = {kind: count_parameters(model_name(kind)[0], TASK_INPUT_SIZE[task.name],
                                    task_units(task.name, kind, params), model_name(kind)[1])
             for kind in models}
    kind = max(sizes, key=sizes.get)
    need = sizes[kind] * BYTES_PER_PARAMETER * n_candidates
    if need > total:
        raise ValueError(f"params: {n_candidates} candidates of the {sizes[kind]:,}-parameter "
                         f"{kind} train at once and need at least {need / 2**30:.1f} GiB, more "
                         f"than the {total / 2**30:.1f} GiB this {device.type} device has; give "
                         f"a smaller parameter budget (--params) or fewer candidates "
                         f"(--candidates)")


def reproduce_command(dataset: str, models, budget: str, out, data=None, key_range: str = "88",
                      seed: int = 0, candidates: int | None = None, overrides: dict | None = None,
                      recurrent_init: str = "uniform", lrs=None, params: int | None = None,
                      chunk: int | None = None, forget_bias: float = 0.0) -> str:
    """The command line that makes a run again, as results.json records it ("command"): what
    decides the numbers, each option only where it differs from its default -- not how the run
    went (--resume, --workers, --threads, --device, --storage, --no-progress). A path that is
    absolute is left out, so no machine's folders end up in a committed file: the command then
    reads the data from the cache (give your copy with --data) and writes to the default --out.
    """
    relative = lambda path: path is not None and not Path(path).is_absolute()   # noqa: E731
    parts = ["python", "-m", "gru_lib", "reproduce", "--dataset", dataset, "--budget", budget,
             "--models", ",".join(models)]
    if relative(data):
        parts += ["--data", Path(data).as_posix()]
    if relative(out):
        parts += ["--out", Path(out).as_posix()]
    if key_range != "88":
        parts += ["--key-range", key_range]
    if seed != 0:
        parts += ["--seed", str(seed)]
    if lrs is not None:
        parts += ["--lrs", ",".join(repr(float(lr)) for lr in lrs)]    # repr: the exact float
    elif candidates is not None:
        parts += ["--candidates", str(candidates)]
    if params is not None:
        parts += ["--params", str(params)]
    if chunk is not None:
        parts += ["--chunk", str(chunk)]
    if recurrent_init != "uniform":
        parts += ["--recurrent-init", recurrent_init]
    if forget_bias != 0.0:
        parts += ["--forget-bias", repr(float(forget_bias))]
    for name, value in (overrides or {}).items():
        parts += ["--set", f"{name}={value!r}" if not isinstance(value, str) else f"{name}={value}"]
    return shlex.join(parts)


# From about this many units per layer (the speech budget's minimal units: 2,683-4,024), a
# batch's gates for all steps at once outgrow the CPU's caches (T x B x G*H floats, written
# and read back), and the loop over cell.step, which works on one step's slice, trains faster
# in batches than "bptt" (benchmarks/bench_scan.py, data/results/benchmarks/
# scan_speech_cpu_1thread.md). The music budget's minimal units have 39-112 (1-3 layers).
WIDE_UNITS = 1000


def training_backend(kind: str, device: torch.device, batch_size: int, units: int) -> str:
    """The recurrent backend ``kind``'s candidates train on: "auto" (the hand-written backward
    where the cell has one, the log-space scan for the minimal units), except for the minimal
    units on a CPU: "bptt", the hand-written backward of their linear recurrence
    (nn/bptt.py's LinearRecurrenceThroughTime), or the plain loop ("python") for layers of
    ``units`` >= ``WIDE_UNITS`` in batches. All backends compute the same function
    (tests/nn/test_minimal.py).

    Why: the candidates train as one population under vmap, so every op of a loop runs on P
    members at once and its per-step overhead is shared, while torch's CPU logcumsumexp costs
    tens of nanoseconds per element, forward and backward. "bptt" computes every step's gates
    at once and leaves one fused op per step in each direction. One population update on this
    project's CPU (benchmarks/bench_minimal_training.py, data/results/benchmarks/
    minimal_training_cpu_1thread.json) is fastest on "bptt" at the paper's batch size 1
    (1.2-1.9x against the better of the other two) and about as fast as the loop in the standard
    budget's batches of 16. One sequence of one layer (benchmarks/bench_scan.py): "bptt" is the
    fastest at the music size too; at the speech size the loop is, in batches.
    """
    kind = model_name(kind)[0]
    if kind not in MINIMAL_KINDS or torch.device(device).type != "cpu":
        return "auto"
    return "python" if batch_size > 1 and units >= WIDE_UNITS else "bptt"


def _pack(rolls: list) -> tuple:
    # A NumPy array pickles as plain bytes (a tensor would go through torch's shared-memory
    # file descriptors, which a spawned process cannot inherit).
    return torch.cat(rolls).numpy(), [len(r) for r in rolls]


def _unpack(packed: tuple) -> list:
    flat, lengths = packed
    return list(torch.from_numpy(flat).split(lengths))


@dataclass
class ModelSearch:
    """One model's learning-rate search, as any worker runs it: pop the model's waiting
    candidates from the study, train them as one population, tell the study. Picklable (the
    extra worker processes get a copy: the splits travel as one tensor each)."""

    dataset: str
    storage: str
    out: Path
    n_candidates: int
    seed: int
    stratified: bool
    base: TrainConfig
    train: list
    valid: list
    cell_options: dict = field(default_factory=dict)     # e.g. {"recurrent_init": "orthogonal"}
    backends: dict = field(default_factory=dict)         # {model: recurrent backend}, default auto
    lrs: list | None = None          # hand-chosen learning rates (None: drawn, as the paper)
    params: int | None = None        # a parameter budget for every model (None: the task's)
    key_range: str | None = None     # the music keys the rows hold (None: speech)
    poll_seconds: float = 1.0

    @property
    def trained_on(self) -> dict:
        """What every checkpoint records of its data (evaluate and sample read it back)."""
        return {"dataset": self.dataset, "key_range": self.key_range}

    def __getstate__(self):
        return {**self.__dict__, "train": _pack(self.train), "valid": _pack(self.valid)}

    def __setstate__(self, state):
        self.__dict__.update(state, train=_unpack(state["train"]), valid=_unpack(state["valid"]))

    def run(self, kind: str, wait: bool = True, log=print) -> SearchResult:
        """Train whatever of ``kind``'s candidates is waiting (wait=True: then wait until all
        are done, on any worker); return the search's result."""
        task = task_for(self.dataset)
        units = task_units(task.name, kind, self.params)
        width = self.train[0].shape[1]

        def train_candidates(lrs, candidates):
            # Members must resume from the same point: candidates interrupted in different
            # populations (two workers, both stopped) train as separate populations.
            groups = {}
            for lr, c in zip(lrs, candidates):
                groups.setdefault(_resume_point(self.run_dir(kind, c)), []).append((lr, c))
            values = {}
            for group in groups.values():
                # Every candidate starts from the same initial weights (seed): only lr differs.
                members = [task.build_model(kind, width, seed=self.seed, units=units,
                                            backend=self.backends.get(kind, "auto"),
                                            **self.cell_options) for _ in group]
                results = train_population(members, self.train, self.valid,
                                           [self.base.replace(lr=lr) for lr, _ in group],
                                           out_dirs=[self.run_dir(kind, c) for _, c in group],
                                           resume=True, trained_on=self.trained_on)
                for (lr, c), res in zip(group, results):
                    if isinstance(res, FailedResult):
                        values[c] = DivergedError(res.error)
                        log(f"  {kind} candidate {c}: lr={lr:.3g} -> failed: {res.error}")
                    else:
                        values[c] = res.best_valid_nll
                        log(f"  {kind} candidate {c}: lr={lr:.3g} -> best valid "
                            f"{res.best_valid_nll:.3f} (epoch {res.best_epoch}/{res.epochs}, "
                            f"{res.stopped})")
            return [values[c] for c in candidates]

        return run_population_search(train_candidates, self.n_candidates,
                                     f"{self.dataset}-{kind}", self.storage, seed=self.seed,
                                     stratified=self.stratified, wait=wait,
                                     poll_seconds=self.poll_seconds, lrs=self.lrs)

    def run_dir(self, kind: str, candidate: int) -> Path:
        return self.out / kind / f"lr{candidate}"


def _resume_point(run_dir: Path):
    """Where a candidate's files say it is: (epoch, batch, updates), or "ended"."""
    if (run_dir / "failed.json").is_file():
        return "ended"
    if not (run_dir / "last.pt").is_file():
        return (0, 0, 0)
    ckpt = load_checkpoint(run_dir / "last.pt", map_location="cpu")
    state = ckpt.get("state", ckpt.get("progress"))
    return "ended" if state.get("stopped") else (state["epoch"], state["batch"], state["updates"])


def _search_all(search: ModelSearch, models: list, workers: int, log) -> tuple[dict, dict]:
    """Every model's search: this process and workers - 1 spawned ones (worker w starts with
    model w, then takes any model with candidates waiting); this one then waits for all (and
    trains whatever a dead worker left).
    Returns ({kind: SearchResult}, {kind: seconds this process spent on it})."""
    context = multiprocessing.get_context("spawn")
    quiet = replace(search, base=search.base.replace(progress=False))   # one set of bars only
    procs = [context.Process(target=_worker, args=(quiet, models[w % len(models):]
                                                   + models[:w % len(models)],
                                                   torch.get_num_threads(), w),
                             name=f"gru_lib-worker-{w}")
             for w in range(1, workers)]
    seconds = dict.fromkeys(models, 0.0)
    searches = {}
    try:
        for p in procs:
            p.start()
        # With other workers: first train whatever is waiting, model after model, then wait
        # for the others. Alone, one pass (opening a study costs a little).
        for wait in (False, True) if procs else (True,):
            for kind in models:
                start = time.perf_counter()
                searches[kind] = search.run(kind, wait=wait, log=log)
                seconds[kind] += time.perf_counter() - start
        for p in procs:
            p.join()
        failed = [f"{p.name} (exit status {p.exitcode})" for p in procs if p.exitcode != 0]
        if failed:
            raise RuntimeError(f"worker processes failed: {', '.join(failed)}; their candidates "
                               f"are queued again when the run is resumed (--resume)")
    finally:
        for p in procs:                # interrupted: stop the others too (they save, then exit)
            if p.is_alive():
                p.terminate()
            if p.pid is not None:
                p.join()
    return searches, seconds


def _worker(search: ModelSearch, models: list, threads: int, number: int) -> None:
    """An extra worker process: train every model's waiting candidates, then return."""
    torch.set_num_threads(threads)
    log = lambda line: print(f"[worker {number}] {line}", flush=True)   # noqa: E731
    try:
        for kind in models:
            search.run(kind, wait=False, log=log)
    except (TrainingInterrupted, KeyboardInterrupt):
        # Ctrl-C reaches every process of the group: the candidates are saved (the trainer did
        # that before raising) and the main process prints the one line; a traceback from here
        # would bury it. A non-zero status still tells the main process this worker stopped.
        sys.exit(130)


def format_table(summary: dict) -> str:
    """Our numbers beside Table 2 of the paper, with the differences (ours - paper)."""
    table = summary.get("paper") or {}       # Table 2's rows for this data set, if it has them
    lines = [f"{summary['dataset']} ({summary['budget']} budget): NLL in nats per time step, "
             f"lower is better",
             f"{'model':9} {'units':>5} {'params':>7} {'lr':>9} {'epochs':>6} {'train':>7} "
             f"{'valid':>7} {'test':>7} | {'paper train':>11} {'paper test':>10} | "
             f"{'Δtrain':>7} {'Δtest':>7}"]
    for kind, r in summary["models"].items():
        if "error" in r:
            lines.append(f"{kind:9} {r['units']:5d}  {r['error']}")
            continue
        ours = (f"{kind:9} {r['units']:5d} {r['params']:7d} {r['lr']:9.2e} {r['epochs']:6d} "
                f"{r['train_nll']:7.3f} {r['valid_nll']:7.3f} {r['test_nll']:7.3f} | ")
        if kind in table:
            p_train, p_test = table[kind]
            lines.append(ours + f"{p_train:11.2f} {p_test:10.2f} | {r['train_nll'] - p_train:+7.2f} "
                                f"{r['test_nll'] - p_test:+7.2f}")
        else:
            lines.append(ours + f"{'-':>11} {'-':>10} | {'-':>7} {'-':>7}")
    for corpus, rows in (summary.get("paper_reference") or {}).items():
        lines.append(f"paper, {corpus} (a different, private corpus; for reference only): "
                     + ", ".join(f"{k} {tr:.2f} / {te:.2f}" for k, (tr, te) in rows.items())
                     + " (train / test)")
    per_piece = {k: r["piece_mean_nll"] for k, r in summary["models"].items() if "piece_mean_nll" in r}
    if per_piece:
        lines.append("the same NLL averaged per piece (mean over pieces of each one's NLL per step), "
                     "train / valid / test: " + "; ".join(
                         f"{k} " + " / ".join(f"{v[s]:.3f}" for s in SPLITS) for k, v in per_piece.items()))
    if summary.get("data_credit"):
        lines.append(summary["data_credit"])
    elif not table:
        lines.append(f"(the paper has no numbers for {summary['dataset']!r}; its JSB Chorales are "
                     f"--dataset jsb)")
    return "\n".join(lines)

