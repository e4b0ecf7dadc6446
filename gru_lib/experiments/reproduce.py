"""The reproduction: train every model with the paper's protocol, compare with Table 2.

    >>> summary = reproduce("jsb", budget="quick", out="runs/quick-jsb")   # seconds on a CPU
    >>> print(format_table(summary))

For each model (tanh-RNN, GRU, LSTM at Table 1's sizes) a learning-rate search
(training.search) trains one candidate per learning rate (training.trainer: RMSProp, weight
noise, gradient clipping, early stopping on validation); the candidate with the best
validation NLL is evaluated on the three splits. A ``Budget`` says how much of the protocol
to run: "paper" is all of it, "standard" and "quick" shrink it to minutes and seconds.

Everything that differs between music and speech comes from the task (``gru_lib.tasks``):
this module never looks at a data set's name.

Writes OUT/results.json (the layout the committed results and the notebooks read:
dataset, budget, key_range, keys, seed, config, candidates, paper, models, and for a task
with a reference corpus paper_reference and data_credit), OUT/curves.png, and a checkpoint
per candidate, OUT/MODEL/lrN/best.pt.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .. import paper
from ..checks import one_of
from ..nn.budget import count_parameters
from ..paper import KINDS, SPLITS
from ..tasks import DATASETS, load_model, task_for
from ..training.batching import batches
from ..training.checkpoints import atomic_write
from ..training.evaluation import evaluate
from ..training.search import default_storage, run_search
from ..training.trainer import TrainConfig, train
from .plotting import plot_curves

__all__ = ["BUDGETS", "DATASETS", "Budget", "budget_for", "format_table", "load_splits",
           "reproduce"]


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
    config:     TrainConfig fields (batch_size, max_epochs, patience, max_seconds, ...)
    """

    subset: tuple | None
    crop: int | None
    chunk: int | None
    candidates: int
    stratified: bool
    config: dict


# What each budget trains. "paper" is the protocol of section 4 (batch size, epochs and
# RMSProp settings from the authors' code where the paper is silent); the others shrink it.
# A task may set some fields of a budget differently (Task.budgets; see budget_for).
BUDGETS = {
    # CI smoke test: seconds. A few short pieces, 2 epochs, 2 candidates.
    "quick": Budget(subset=(12, 6, 6), crop=48, chunk=None, candidates=2, stratified=True,
                    config=dict(batch_size=4, max_epochs=2, patience=None)),
    # A few CPU minutes per dataset: 4 candidates covering the range, batches of 16, ≤ 30 s
    # each. Training pieces are cut into chunks of ≤ 100 steps (the state restarts at each
    # chunk), so Nottingham's or MuseData's long pieces give many short, cheap updates
    # instead of a few long ones; validation and test always score whole pieces.
    "standard": Budget(subset=None, crop=None, chunk=100, candidates=4, stratified=True,
                       config=dict(batch_size=16, max_epochs=60, patience=5, max_seconds=30.0)),
    # The full protocol: 10 log-uniform candidates, batch size 1, up to 500 epochs.
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
              progress: bool = True, log=print) -> dict:
    """Train each model with the learning-rate search of the paper; write OUT/results.json,
    OUT/curves.png and per-candidate checkpoints; return the results dict.

    models: a subset of paper.KINDS. candidates: overrides the budget's number. storage: an
    Optuna storage URL (default: sqlite in OUT), shared by workers on several machines.
    resume: continue the run in OUT (finished candidates are kept). log: where the progress
    lines and the final table go.
    """
    task = task_for(dataset)
    plan = budget_for(dataset, budget)
    models = list(models)
    if not models:
        raise ValueError(f"models: expected at least one of {', '.join(KINDS)}, got none")
    for kind in models:
        one_of("models", kind, KINDS)
    out = Path(out)
    db = out / "search.db"
    if storage is None and db.exists() and not resume:
        raise ValueError(f"out: {out} already holds a run ({db}); pass --resume to continue it "
                         f"(or to add a worker), or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or default_storage(db)
    n_candidates = candidates or plan.candidates

    splits = load_splits(dataset, key_range=key_range, data=data, subset=plan.subset,
                         crop=plan.crop, chunk=plan.chunk)
    width = splits["train"][0].shape[1]
    base = TrainConfig(seed=seed, device=device, progress=progress, **plan.config)
    log(f"{dataset}: {len(splits['train'])}/{len(splits['valid'])}/{len(splits['test'])} "
        f"{task.describe(splits)}; budget {budget}: {n_candidates} learning-rate candidates "
        f"per model")
    if task.credit:
        log(task.credit)

    results, curves = {}, {}
    for kind in models:
        units = paper.UNITS[task.name][kind]          # Table 1: music 100/46/36, speech 400/227/195
        start = time.perf_counter()

        def objective(lr, candidate, kind=kind, units=units):
            # Every candidate starts from the same initial weights (seed): only lr differs.
            model = task.build_model(kind, width, seed=seed, units=units)
            res = train(model, splits["train"], splits["valid"], base.replace(lr=lr),
                        out_dir=out / kind / f"lr{candidate}", resume=True)
            log(f"  {kind} candidate {candidate}: lr={lr:.3g} -> best valid {res.best_valid_nll:.3f} "
                f"(epoch {res.best_epoch}/{res.epochs}, {res.stopped})")
            return res.best_valid_nll

        search = run_search(objective, n_candidates, f"{dataset}-{kind}", storage, seed=seed,
                            stratified=plan.stratified)
        if search.best_candidate < 0:
            results[kind] = {"units": units, "error": "every learning-rate candidate failed",
                             "candidates": search.candidates}
            log(f"  {kind}: every candidate failed")
            continue
        run_dir = out / kind / f"lr{search.best_candidate}"
        model, _ = load_model(run_dir / "best.pt", device=device)
        nll = {s: evaluate(model, batches(splits[s], base.eval_batch_size, shuffle=False))
               for s in SPLITS}
        run = json.loads((run_dir / "result.json").read_text())
        curves[kind] = run["records"]
        results[kind] = {
            "units": units,
            "params": count_parameters(kind, model.rnn.cell.input_size, units),   # as Table 1
            "params_total": sum(p.numel() for p in model.parameters()),
            "lr": search.best_lr, "epochs": run["epochs"], "best_epoch": run["best_epoch"],
            "updates": run["updates"], "seconds": run["seconds"], "stopped": run["stopped"],
            "train_nll": nll["train"], "valid_nll": nll["valid"], "test_nll": nll["test"],
            "checkpoint": str((run_dir / "best.pt").relative_to(out)),
            "search_seconds": round(time.perf_counter() - start, 1),
            "candidates": search.candidates,
        }
    # "keys" is the width of a row (keys for music, samples per frame for speech): the name
    # the committed results.json files and the notebooks read.
    summary = {"dataset": dataset, "budget": budget, "key_range": key_range, "keys": width,
               "seed": seed, "config": asdict(base), "candidates": n_candidates,
               "paper": paper.TABLE2.get(dataset), "models": results}
    if task.paper_reference is not None:     # another corpus: shown for reference, never subtracted
        summary.update(paper_reference=task.paper_reference, data_credit=task.credit)
    atomic_write(out / "results.json", json.dumps(summary, indent=1))
    if curves:
        plot_curves(curves, out / "curves.png", title=f"{dataset} ({budget} budget)")
    log(format_table(summary))
    return summary


def format_table(summary: dict) -> str:
    """Our numbers beside Table 2 of the paper, with the differences (ours - paper)."""
    table = summary.get("paper") or {}       # Table 2's rows for this data set, if it has them
    lines = [f"{summary['dataset']} ({summary['budget']} budget): NLL in nats per time step, "
             f"lower is better",
             f"{'model':6} {'units':>5} {'params':>7} {'lr':>9} {'epochs':>6} {'train':>7} "
             f"{'valid':>7} {'test':>7} | {'paper train':>11} {'paper test':>10} | "
             f"{'Δtrain':>7} {'Δtest':>7}"]
    for kind, r in summary["models"].items():
        if "error" in r:
            lines.append(f"{kind:6} {r['units']:5d}  {r['error']}")
            continue
        ours = (f"{kind:6} {r['units']:5d} {r['params']:7d} {r['lr']:9.2e} {r['epochs']:6d} "
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
    if summary.get("data_credit"):
        lines.append(summary["data_credit"])
    elif not table:
        lines.append(f"(the paper has no numbers for {summary['dataset']!r}; its JSB Chorales are "
                     f"--dataset jsb)")
    return "\n".join(lines)

