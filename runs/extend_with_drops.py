"""Give a finished reproduce run learning-rate drops (TrainConfig.lr_drops) without training it
again from the start: a copy of the run in which every candidate that stopped early goes on.

    python runs/extend_with_drops.py runs/recipe/musedata-gru-600k-slow \
        runs/recipe/musedata-gru-600k-slow-drop --lr-drops 1 --data ../shared/data/music

Why this gives the run that `reproduce ... --set lr_drops=N` would have trained: a drop is
taken exactly where patience runs out, which is where the finished run stopped, and it starts
from the best epoch's weights (best.pt) with the momentum cleared; the candidate's last.pt holds
everything else (the mean squares, the noise generator, the epoch, whose number fixes the batch
order). The Trainer does this when it resumes a run that stopped early with more lr_drops than
it took (tests/training/test_trainer.py checks the records and weights are those of a run
started with the drops).

What it writes: OUT is a copy of RUN (RUN is never touched), whose early-stopped candidates
have trained on; then results.json is rewritten the way reproduce writes it (the winner picked
again by validation NLL, scored on every split by both averages, lr_drops in its config and
overrides, the two commands in "command") and curves.png redrawn. Candidates that were pruned
or reached max_epochs are left as they were. The run needs every candidate's last.pt.

Interrupted (Ctrl-C, SIGTERM): the candidates' last.pt are saved; run the same command with
--resume to go on.

OUT's search.db still holds the validation NLLs from before the drops, so `reproduce --resume`
on OUT would pick a winner by them: this script's results.json is the one to read.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gru_lib.atomic import atomic_write  # noqa: E402
from gru_lib.experiments.plotting import plot_curves  # noqa: E402
from gru_lib.experiments.reproduce import budget_for, format_table, load_splits  # noqa: E402
from gru_lib.paper import SPLITS  # noqa: E402
from gru_lib.tasks import load_model  # noqa: E402
from gru_lib.training.batching import eval_batches  # noqa: E402
from gru_lib.training.checkpoints import load_checkpoint  # noqa: E402
from gru_lib.training.evaluation import evaluate, evaluate_per_piece  # noqa: E402
from gru_lib.training.population import train_population  # noqa: E402
from gru_lib.training.trainer import TrainConfig, TrainingInterrupted  # noqa: E402

MARK = "extended.json"                    # OUT's record of what this script was asked


def refuse(message: str):
    """Bad input: one line on stderr and exit status 2, as the library's command line."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def extendable(folder: Path) -> bool:
    """A candidate of OUT this script trains on: its last.pt says it stopped early, or that it
    is still training, which in a copy of a finished run means this script reopened it and
    was interrupted (--resume goes on with it)."""
    last = folder / "last.pt"
    return last.is_file() and load_checkpoint(last, map_location="cpu")["state"]["stopped"] \
        in ("early-stopping", None)


def extend(run: Path, out: Path, lr_drops: int, data, resume: bool, models=None,
           log=print) -> dict:
    """models: the models of RUN to extend (None: all); OUT's results.json holds only them."""
    summary = json.loads((run / "results.json").read_text())
    run_models = set(summary["models"])
    if models is not None:
        unknown = sorted(set(models) - set(summary["models"]))
        if unknown:
            refuse(f"--models: {run} has no {', '.join(unknown)} (it has "
                   f"{', '.join(summary['models'])})")
        summary["models"] = {k: v for k, v in summary["models"].items() if k in models}
    asked = {"run": str(run), "lr_drops": lr_drops,
             **({"models": sorted(models)} if models is not None else {})}
    if out.exists():
        if not resume or not (out / MARK).is_file():
            refuse(f"out: {out} exists; give a new folder (or --resume to go on with an "
                   f"extension this script started there)")
        if json.loads((out / MARK).read_text()) != asked:
            refuse(f"out: {out} holds an extension of another run or with other drops "
                   f"({(out / MARK).read_text().strip()})")
    else:
        missing = [str(c) for kind in summary["models"] for c in sorted((run / kind).glob("lr*"))
                   if not (c / "last.pt").is_file() and not (c / "failed.json").is_file()]
        if missing:
            refuse(f"no last.pt in {', '.join(missing)}: a candidate can go on "
                   f"only from its last.pt")
        tmp = out.with_name(out.name + ".tmp")
        if tmp.exists():
            refuse(f"{tmp} exists (a copy that did not finish?); remove it")
        others = run_models - set(summary["models"])   # models not extended are not copied
        shutil.copytree(run, tmp, ignore=lambda folder, names: [
            n for n in names if Path(folder) == run and n in others])
        atomic_write(tmp / MARK, json.dumps(asked, indent=1))
        tmp.rename(out)

    dataset = summary["dataset"]
    plan = budget_for(dataset, summary["budget"])          # the data exactly as the run had it
    splits = load_splits(dataset, key_range=summary.get("key_range", "88"), data=data,
                         subset=plan.subset, crop=plan.crop, chunk=summary.get("chunk"))
    base = TrainConfig(**{**summary["config"], "lr_drops": lr_drops, "progress": False})
    trained_on = {"dataset": dataset, "key_range": summary.get("key_range", "88")}
    for kind, entry in summary["models"].items():
        lrs = {r["candidate"]: r["lr"] for r in entry["candidates"]}
        for c, lr in sorted(lrs.items()):
            folder = out / kind / f"lr{c}"
            if not extendable(folder):
                continue
            model, _ = load_model(folder / "last.pt", backend=entry.get("backend", "auto"))
            log(f"  {kind} candidate {c}: lr={lr:.3g}, going on with {lr_drops} drop(s)")
            result, = train_population([model], splits["train"], splits["valid"],
                                       [base.replace(lr=lr)], out_dirs=[folder], resume=True,
                                       trained_on=trained_on)
            log(f"  {kind} candidate {c}: best valid {result.best_valid_nll:.3f} (epoch "
                f"{result.best_epoch}/{result.epochs}, {result.stopped})")
        summary["models"][kind] = rescored(out, kind, entry, splits, base)

    summary["config"] = {**summary["config"], "lr_drops": lr_drops}
    summary["overrides"] = {**summary.get("overrides", {}), "lr_drops": lr_drops}
    summary["command"] += " && " + shlex.join(
        ["python", "runs/extend_with_drops.py", str(run), str(out), "--lr-drops", str(lr_drops)]
        + (["--models", ",".join(models)] if models is not None else [])
        + (["--data", str(data)] if data is not None else []))
    atomic_write(out / "results.json", json.dumps(summary, indent=1))
    manifest = out / "run.json"                # the settings a reproduce --resume compares
    if manifest.is_file():
        settings = json.loads(manifest.read_text())
        settings["config"] = {**settings.get("config", {}), "lr_drops": lr_drops}
        settings["overrides"] = {**settings.get("overrides", {}), "lr_drops": lr_drops}
        atomic_write(manifest, json.dumps(settings, indent=1))
    curves = {kind: json.loads((out / Path(e["checkpoint"]).parent / "result.json").read_text())
              ["records"] for kind, e in summary["models"].items() if "checkpoint" in e}
    plot_curves(curves, out / "curves.png",
                title=f"{dataset} ({summary['budget']} budget, {lr_drops} learning-rate drop"
                      f"{'s' if lr_drops > 1 else ''})")
    log(format_table(summary))
    return summary


def rescored(out: Path, kind: str, entry: dict, splits: dict, base: TrainConfig) -> dict:
    """The model's results.json entry for its winner now (reproduce's fields)."""
    finished = {}
    for r in entry["candidates"]:
        result = out / kind / f"lr{r['candidate']}" / "result.json"
        if result.is_file():
            finished[r["candidate"]] = json.loads(result.read_text())
    best = min(finished, key=lambda c: finished[c]["best_valid_nll"])
    run = finished[best]
    checkpoint = out / kind / f"lr{best}" / "best.pt"
    model, _ = load_model(checkpoint, backend=entry.get("backend", "auto"))
    nll = {s: evaluate(model, eval_batches(splits[s], base.eval_batch_size))
           for s in SPLITS}
    candidates = [{**r, "value": finished[r["candidate"]]["best_valid_nll"]}
                  if r["candidate"] in finished else r for r in entry["candidates"]]
    return {**entry,
            "lr": next(r["lr"] for r in entry["candidates"] if r["candidate"] == best),
            "epochs": run["epochs"], "best_epoch": run["best_epoch"], "updates": run["updates"],
            "seconds": run["seconds"], "stopped": run["stopped"],
            "train_nll": nll["train"], "valid_nll": nll["valid"], "test_nll": nll["test"],
            "piece_mean_nll": {s: evaluate_per_piece(model, splits[s]) for s in SPLITS},
            "checkpoint": str(checkpoint.relative_to(out)), "candidates": candidates,
            "population_seconds": round(max(f["seconds"] for f in finished.values()), 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished reproduce run folder")
    parser.add_argument("out", type=Path, help="where the extended copy goes (a new folder)")
    parser.add_argument("--lr-drops", type=int, required=True,
                        help="drops each early-stopped candidate may take (TrainConfig.lr_drops)")
    parser.add_argument("--data", default=None, help="the folder holding the data set's files")
    parser.add_argument("--models", default=None,
                        help="the models to extend, e.g. gru or gru,lstm (default: all of RUN's)")
    parser.add_argument("--resume", action="store_true", help="go on with an interrupted one")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    if args.lr_drops < 1:
        parser.error(f"--lr-drops: give at least 1, got {args.lr_drops}")
    if not (args.run / "results.json").is_file():
        parser.error(f"{args.run} holds no results.json: give a finished reproduce run")
    torch.set_num_threads(args.threads)
    try:
        models = None if args.models is None else \
            [m.strip() for m in args.models.split(",") if m.strip()]
        extend(args.run, args.out, args.lr_drops, args.data, args.resume, models)
    except TrainingInterrupted as stop:
        print(f"{stop}; run the same command with --resume to go on", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
