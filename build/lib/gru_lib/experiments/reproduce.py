"""TODO docstring"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from .. import music, paper, speech
from ..music.model import make_model
from ..nn import budget as budget_mod
from ..paper import SPLITS
from ..speech.data import CREDIT
from ..speech.model import make_speech_model
from ..tasks import load_model
from ..training.batching import batches
from ..training.checkpoints import atomic_write
from ..training.evaluation import evaluate
from ..training.search import default_storage, run_search
from ..training.trainer import TrainConfig, train
from .plotting import plot_curves

DATASETS = music.DATASETS + ("fsdd",)
MODELS = paper.KINDS

# What each budget trains. "paper" is the protocol of section 4 (batch size, epochs and
# RMSProp settings from the authors' code where the paper is silent); the others shrink it.
BUDGETS = {
    "quick": dict(      # CI smoke test: seconds. A few short pieces, 2 epochs, 2 candidates.
        subset=(12, 6, 6), crop=48, chunk=None, candidates=2, stratified=True,
        config=dict(batch_size=4, max_epochs=2, patience=None)),
    # A few CPU minutes per dataset: 4 candidates covering the range, batches of 16, ≤ 30 s
    # each. Training pieces are cut into chunks of ≤ 100 steps (the state restarts at each
    # chunk), so Nottingham's or MuseData's long pieces give many short, cheap updates
    # instead of a few long ones; validation and test always score whole pieces.
    "standard": dict(
        subset=None, crop=None, chunk=100, candidates=4, stratified=True,
        config=dict(batch_size=16, max_epochs=60, patience=5, max_seconds=30.0)),
    "paper": dict(      # the full protocol: 10 log-uniform candidates, batch 1, ≤ 500 epochs
        subset=None, crop=None, chunk=None, candidates=10, stratified=False,
        config=dict(batch_size=1, max_epochs=500, patience=20)),
}
# FSDD (raw speech, speech.py) costs ~40 µs per clip and step on one CPU thread, so an
# epoch of the 2,400 training clips (0.84 M steps) takes about a minute (measured, shared
# 2-core machine): the standard budget trains on the first 600
# (takes 10-19, every speaker and digit; see speech.load_speech), keeps the whole validation
# and test splits, and gives each candidate a minute.
FSDD_BUDGETS = {
    "standard": dict(subset=(600, 300, 300), crop=None, chunk=None, candidates=4, stratified=True,
                     config=dict(batch_size=16, max_epochs=40, patience=5, max_seconds=60.0)),
}


# -- the reproduction --------------------------------------------------------------------------

def load_splits(dataset: str, key_range: str = "88", data=None, subset=None, crop=None,
                chunk=None) -> dict:
    """{split: list of (T, K) rolls}, optionally the first ``subset`` pieces cropped to ``crop``,
    and the TRAINING pieces cut into consecutive chunks of at most ``chunk`` steps.

    fsdd: the clips as (N, 10) frames of samples (speech.load_frames); key_range does not apply.
    """
    if dataset == "fsdd":
        rolls = speech.load_frames(None, folder=data, progress=False)
    else:
        rolls = music.load_music(dataset, None, key_range=key_range, folder=data, progress=False)
    if subset is not None:
        rolls = {s: rolls[s][:n] for s, n in zip(SPLITS, subset)}
    if crop is not None:
        rolls = {s: [r[:crop] for r in v] for s, v in rolls.items()}
    if chunk is not None:
        rolls["train"] = [piece for r in rolls["train"] for piece in r.split(chunk)]   # views
    return rolls


def reproduce(dataset: str = "chorales", models=MODELS, budget: str = "standard", out="runs",
              device: str = "auto", data=None, key_range: str = "88", seed: int = 0,
              candidates: int | None = None, storage: str | None = None, resume: bool = False,
              progress: bool = True, log=print) -> dict:
    """Train each model with the learning-rate search of the paper; write OUT/results.json,
    OUT/curves.png and per-candidate checkpoints; return the results dict."""

    if dataset not in DATASETS:
        raise ValueError(f"dataset: unknown {dataset!r}; valid datasets: {', '.join(DATASETS)}")
    if budget not in BUDGETS:
        raise ValueError(f"budget: unknown {budget!r}; valid budgets: {', '.join(BUDGETS)}")
    models = list(models)
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise ValueError(f"models: unknown {bad or models}; valid models: {', '.join(MODELS)}")
    is_speech = dataset == "fsdd"
    plan = FSDD_BUDGETS.get(budget, BUDGETS[budget]) if is_speech else BUDGETS[budget]
    out = Path(out)
    db = out / "search.db"
    if storage is None and db.exists() and not resume:
        raise ValueError(f"out: {out} already holds a run ({db}); pass --resume to continue it "
                         f"(or to add a worker), or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or default_storage(db)
    n_candidates = candidates or plan["candidates"]

    rolls = load_splits(dataset, key_range, data, plan["subset"], plan["crop"], plan["chunk"])
    keys = rolls["train"][0].shape[1]
    base = TrainConfig(seed=seed, device=device, progress=progress, **plan["config"])
    log(f"{dataset}: {len(rolls['train'])}/{len(rolls['valid'])}/{len(rolls['test'])} "
        + (f"clips, read 20 samples, predict {keys}" if is_speech else f"pieces, K={keys} keys")
        + f"; budget {budget}: {n_candidates} learning-rate candidates per model")
    if is_speech:
        log(CREDIT)

    results, curves = {}, {}
    for kind in models:
        # Table 1: music 100 / 46 / 36, speech 400 / 227 / 195
        units = paper.UNITS["speech" if is_speech else "music"][kind]
        start = time.perf_counter()

        def objective(lr, candidate, kind=kind, units=units):
            model = (make_speech_model(kind, units, seed=seed) if is_speech
                     else make_model(kind, keys, units, seed=seed))
            res = train(model, rolls["train"], rolls["valid"], base.replace(lr=lr),
                        out_dir=out / kind / f"lr{candidate}", resume=True)
            log(f"  {kind} candidate {candidate}: lr={lr:.3g} -> best valid {res.best_valid_nll:.3f} "
                f"(epoch {res.best_epoch}/{res.epochs}, {res.stopped})")
            return res.best_valid_nll

        search = run_search(objective, n_candidates, f"{dataset}-{kind}", storage, seed=seed,
                            stratified=plan["stratified"])
        if search.best_candidate < 0:
            results[kind] = {"units": units, "error": "every learning-rate candidate failed",
                             "candidates": search.candidates}
            log(f"  {kind}: every candidate failed")
            continue
        run_dir = out / kind / f"lr{search.best_candidate}"
        model, ckpt = load_model(run_dir / "best.pt", device=device)
        nll = {s: evaluate(model, batches(rolls[s], base.eval_batch_size, shuffle=False)) for s in SPLITS}
        run = json.loads((run_dir / "result.json").read_text())
        curves[kind] = run["records"]
        results[kind] = {
            "units": units,
            "params": budget_mod.count_parameters(kind, model.rnn.cell.input_size, units),  # as Table 1
            "params_total": sum(p.numel() for p in model.parameters()),
            "lr": search.best_lr, "epochs": run["epochs"], "best_epoch": run["best_epoch"],
            "updates": run["updates"], "seconds": run["seconds"], "stopped": run["stopped"],
            "train_nll": nll["train"], "valid_nll": nll["valid"], "test_nll": nll["test"],
            "checkpoint": str((run_dir / "best.pt").relative_to(out)),
            "search_seconds": round(time.perf_counter() - start, 1),
            "candidates": search.candidates,
        }
    summary = {"dataset": dataset, "budget": budget, "key_range": key_range, "keys": keys,
               "seed": seed, "config": asdict(base), "candidates": n_candidates,
               "paper": paper.TABLE2.get(dataset), "models": results}
    if is_speech:      # a different corpus: shown for reference, never subtracted
        summary.update(paper_reference=paper.TABLE2_UBISOFT, data_credit=CREDIT)
    atomic_write(out / "results.json", json.dumps(summary, indent=1))
    if curves:
        plot_curves(curves, out / "curves.png", title=f"{dataset} ({budget} budget)")
    log(format_table(summary))
    return summary


def format_table(summary: dict) -> str:
    """Our numbers beside Table 2 of the paper, with the differences (ours - paper)."""
    paper = summary.get("paper") or {}
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
        if kind in paper:
            p_train, p_test = paper[kind]
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
    elif not paper:
        lines.append(f"(the paper has no numbers for {summary['dataset']!r}; its JSB Chorales are "
                     f"--dataset jsb)")
    return "\n".join(lines)

