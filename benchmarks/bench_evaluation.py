"""Time of the paper's metric on a real split: fixed groups of 64 against length groups.

    python benchmarks/bench_evaluation.py --data ../shared/data/music
    python benchmarks/bench_evaluation.py --checkpoint data/results/musedata/recipe/lstm-600k-chunk200/lstm/lr0/best.pt \\
        --dataset musedata --data ../shared/data/music --clock cpu --json out.json

What ``evaluate_checkpoint`` (and a run's validation every epoch) pays for:
- "fixed 64": ``evaluate`` on ``batches(split, 64, shuffle=False)``, the sequences sorted by
  length and cut into groups of 64, each padded to its longest;
- "length groups": ``evaluate`` on ``eval_batches(split, 64)`` (``length_groups``: no group
  less than half real steps);
- "pieces alone": the per-piece readings (mean over pieces, step 0) with every piece run as a
  batch of one, as ``per_step_readings`` did before it read ``nll_steps`` from padded batches;
- "pieces grouped": ``per_step_readings`` today, one pass over the length groups, which now
  gives the headline total / total too.
Every variant runs in turn in each round, so all see the same machine load; the numbers are
medians of ``--repeats`` rounds (benchmarks/timing.py). The NLLs of all variants are printed
beside the times: they must agree to float rounding, or the speed is not worth having.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gru_lib.atomic import atomic_write  # noqa: E402
from gru_lib.experiments.reproduce import load_splits  # noqa: E402
from gru_lib.tasks import load_model  # noqa: E402
from gru_lib.training.batching import batches, eval_batches  # noqa: E402
from gru_lib.training.evaluation import evaluate, per_step_readings  # noqa: E402
from timing import interleaved_medians, timer  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"
# Four committed winners (data/results/<folder>/results.json names each checkpoint): two model
# sizes on MuseData, whose lengths vary most (45 to 4,273 steps in its test set), and two other sets.
DEFAULT = [("musedata/recipe/lstm-600k-chunk200", "lstm"), ("musedata/recipe/gru-200k-chunk200", "gru"),
           ("piano-midi/recipe/lstm-60k", "lstm"), ("nottingham/recipe/gru-200k", "gru")]


def committed(folder: str, kind: str) -> tuple[str, Path]:
    """(data set, checkpoint) of a committed run's winner."""
    summary = json.loads((RESULTS / folder / "results.json").read_text())
    return summary["dataset"], RESULTS / folder / summary["models"][kind]["checkpoint"]


def bench(checkpoint: Path, dataset: str, data, split: str, timed, warmup: int, repeats: int) -> dict:
    model, _ = load_model(checkpoint, device="cpu")
    rolls = load_splits(dataset, data=data)[split]
    nll = {}

    def record(name, value):
        nll[name] = float(value)

    runs = {
        "fixed 64": lambda: record("fixed 64", evaluate(model, batches(rolls, 64, shuffle=False))),
        "length groups": lambda: record("length groups", evaluate(model, eval_batches(rolls, 64))),
        "pieces alone": lambda: record("pieces alone",
                                       per_step_readings(model, rolls, batch_size=1)["total"]),
        "pieces grouped": lambda: record("pieces grouped",
                                         per_step_readings(model, rolls, batch_size=64)["total"]),
    }
    seconds = interleaved_medians(runs, timed, warmup, repeats)
    padded = {"fixed 64": sum(x.shape[0] * x.shape[1] for x, _ in batches(rolls, 64, shuffle=False)),
              "length groups": sum(x.shape[0] * x.shape[1] for x, _ in eval_batches(rolls, 64))}
    root = RESULTS.parents[1]
    return {"checkpoint": str(checkpoint.resolve().relative_to(root))
            if checkpoint.resolve().is_relative_to(root) else str(checkpoint),
            "dataset": dataset, "split": split, "pieces": len(rolls),
            "steps": sum(r.shape[0] for r in rolls), "padded_steps": padded,
            "seconds": seconds, "nll": nll,
            "speedup_evaluate": seconds["fixed 64"] / seconds["length groups"],
            "speedup_checkpoint_report": (seconds["fixed 64"] + seconds["pieces alone"])
            / seconds["pieces grouped"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="one checkpoint (default: four committed winners)")
    parser.add_argument("--dataset", help="its data set (with --checkpoint)")
    parser.add_argument("--data", default=None, help="folder of the .mat files (default: the cache)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    if (args.checkpoint is None) != (args.dataset is None):
        parser.error("give --checkpoint and --dataset together, or neither")
    torch.set_num_threads(args.threads)
    cases = [(args.dataset, args.checkpoint)] if args.checkpoint else \
        [committed(folder, kind) for folder, kind in DEFAULT]
    timed = timer(torch.device("cpu"), args.clock)
    rows = []
    print(f"{'checkpoint (data/results/...)':44} {'fixed 64':>9} {'groups':>8} {'alone':>8} {'grouped':>8}  "
          f"evaluate×  report×  NLLs")
    for dataset, checkpoint in cases:
        row = bench(checkpoint, dataset, args.data, args.split, timed, args.warmup, args.repeats)
        rows.append(row)
        s = row["seconds"]
        name = row["checkpoint"].removeprefix("data/results/").removesuffix("/best.pt")
        print(f"{name[-44:]:44} {s['fixed 64']:9.2f} {s['length groups']:8.2f} "
              f"{s['pieces alone']:8.2f} {s['pieces grouped']:8.2f}  {row['speedup_evaluate']:8.2f}  "
              f"{row['speedup_checkpoint_report']:7.2f}  "
              + " ".join(f"{v:.6f}" for v in row["nll"].values()), flush=True)
    if args.json:
        out = {"command": "python benchmarks/bench_evaluation.py " + " ".join(argv or sys.argv[1:]),
               "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
               "threads": args.threads, "clock": args.clock, "repeats": args.repeats, "rows": rows}
        atomic_write(args.json, json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
