"""Copy a finished reproduce run into data/results/ (what the book, the README and
tests/test_results.py read), with a COMMAND.md written from its results.json.

    python runs/install_results.py runs/nottingham-paper data/results/nottingham/paper \
        --note "Made on this project's shared 2-core CPU, one torch thread per job."

What is copied: results.json, curves.png, each model's winning checkpoint at the path
results.json names (<model>/lr<N>/best.pt; one written before checkpoints recorded their
data gets its "trained_on" from results.json) with its result.json, and every candidate's
per-epoch records (<model>/lr<N>/records.json, small) so the book can draw them all. Nothing
else in the destination is touched; each file is written to a temporary name, then renamed.
Then data/results/index.json, the list of every run folder, is rewritten; on its own:

    python runs/install_results.py --index
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "data" / "results"
sys.path.insert(0, str(ROOT))
from gru_lib.experiments.results_files import INDEX, committed_runs  # noqa: E402
from gru_lib.paper import TABLE2  # noqa: E402
from gru_lib.tasks import task_for  # noqa: E402
from gru_lib.training.checkpoints import load_checkpoint, save_checkpoint  # noqa: E402

NAMES = {"tanh": "tanh-RNN", "gru": "GRU", "lstm": "LSTM"}


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def copy_checkpoint(src: Path, dst: Path, summary: dict) -> None:
    """Copy a checkpoint, adding what it was trained on where it predates that record
    (trainer.best_payload's "trained_on"), from the run's results.json."""
    ckpt = load_checkpoint(src)
    if "trained_on" in ckpt:
        copy(src, dst)
        return
    dataset = summary["dataset"]
    music = task_for(dataset).name == "music"
    ckpt["trained_on"] = {"dataset": dataset,
                          "key_range": summary.get("key_range", "88") if music else None}
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(ckpt, dst)


def training_terms(config: dict) -> str:
    """The stopping rule and the optimiser settings a reader needs, in words."""
    terms = [f"patience {config['patience']}" if config["patience"] else "no early stopping",
             f"weight noise {config['weight_noise']}",
             f"{config.get('clip_on', 'gradient')} norm clipped to {config['clip_norm']}"
             if config["clip_norm"] is not None else "no clipping"]
    if config.get("lr_decay_to", 1.0) != 1.0:
        terms.append(f"the learning rate decayed linearly to {config['lr_decay_to']:g} of its start")
    if config.get("lr_drops", 0):
        n = config["lr_drops"]
        terms.append(f"{'one' if n == 1 else n} learning-rate drop{'s' if n > 1 else ''} "
                     f"(when patience ran out: back to the best epoch, the rate times "
                     f"{config.get('lr_drop_factor', 0.1):g})")
    if config.get("dropout", 0.0):
        terms.append(f"dropout {config['dropout']:g} on the recurrent layer's outputs")
    if config.get("rms_eps", 1e-2) != 1e-2:
        terms.append(f"RMS floor {config['rms_eps']:g}")
    return ", ".join(terms)


def command_md(summary: dict, dest: Path, note: str) -> str:
    models = summary["models"]
    lines = [f"# {summary['dataset']}, {summary['budget']} budget: {', '.join(models)}", ""]
    if "command" in summary:
        lines += [f"    {summary['command']}", ""]
    config = summary["config"]
    n = summary["candidates"]
    lines += [f"{n} learning-rate {'candidate' if n == 1 else 'candidates'} per model, trained as one "
              f"population: batch size {config['batch_size']}"
              + (f" (training pieces cut into chunks of at most {summary['chunk']} steps)"
                 if summary.get("chunk") else "")
              + f", up to {config['max_epochs']} epochs, " + training_terms(config) + "."]
    if note:
        lines += ["", note]
    lines += ["", "| model | units | params | lr | best epoch / epochs | stopped | population s | "
              "train | valid | test | test, mean over pieces | paper test |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    paper = TABLE2.get(summary["dataset"], {})
    for kind, m in models.items():
        if "error" in m:
            lines.append(f"| {NAMES.get(kind, kind)} | {m['units']} | | | | {m['error']} |"
                         + " |" * 6)
            continue
        paper_test = f"{paper[kind][1]:.2f}" if kind in paper else "-"
        lines.append(
            f"| {NAMES.get(kind, kind)} | {m['units']} | {m['params']:,} | {m['lr']:.3g} | "
            f"{m['best_epoch']} / {m['epochs']} | {m['stopped']} | "
            f"{m['population_seconds']:,.0f} | {m['train_nll']:.4f} | {m['valid_nll']:.4f} | "
            f"{m['test_nll']:.4f} | {m['piece_mean_nll']['test']:.4f} | {paper_test} |")
    lines += ["", "NLL in nats per time step (total nats / total steps), lower is better. "
              "Re-score a winner (its test NLL above):", ""]
    for kind, m in models.items():
        if "checkpoint" in m:
            lines.append(f"    python -m gru_lib evaluate --checkpoint {dest.as_posix()}/"
                         f"{m['checkpoint']} --dataset {summary['dataset']} "
                         f"--data ../shared/data/music")
    return "\n".join(lines) + "\n"


def write_index(results: Path = RESULTS) -> Path:
    """Rewrite ``data/results/index.json``, the list of every run folder
    (``results_files.best_run`` reads it, and a URL cannot list a folder)."""
    index = results / INDEX
    tmp = index.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(committed_runs(results), indent=1) + "\n")
    os.replace(tmp, index)
    return index


def install(run: Path, dest: Path, note: str = "") -> list[Path]:
    summary = json.loads((run / "results.json").read_text())
    written = []
    for name in ("results.json", "curves.png"):
        if (run / name).is_file():
            copy(run / name, dest / name)
            written.append(dest / name)
    for kind, m in summary["models"].items():
        if "checkpoint" in m:
            winner = Path(m["checkpoint"]).parent
            copy_checkpoint(run / winner / "best.pt", dest / winner / "best.pt", summary)
            copy(run / winner / "result.json", dest / winner / "result.json")
            written += [dest / winner / "best.pt", dest / winner / "result.json"]
        for records in sorted((run / kind).glob("lr*/records.json")):
            target = dest / records.relative_to(run)
            copy(records, target)
            written.append(target)
    (dest / "COMMAND.md.tmp").write_text(command_md(summary, dest, note))
    os.replace(dest / "COMMAND.md.tmp", dest / "COMMAND.md")
    return written + [dest / "COMMAND.md"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, nargs="?",
                        help="a reproduce --out folder holding results.json")
    parser.add_argument("dest", type=Path, nargs="?", help="where under data/results/ it goes")
    parser.add_argument("--index", action="store_true",
                        help="only rewrite data/results/index.json (the list of run folders)")
    parser.add_argument("--note", default="", help="a paragraph for COMMAND.md: the machine, "
                                                   "how the run was split over sessions")
    args = parser.parse_args()
    if args.index:
        print(write_index())
        sys.exit(0)
    if args.run is None or args.dest is None:
        parser.error("give RUN and DEST (or --index)")
    if not (args.run / "results.json").is_file():
        print(f"error: {args.run} holds no results.json: the run has not finished (or give the "
              f"folder passed as --out)", file=sys.stderr)
        sys.exit(2)
    for path in install(args.run, args.dest, args.note):
        print(path)
    print(write_index())
