"""Training time per sequence, the loop against the parallel scan, as sequences grow.

    python benchmarks/bench_scan.py                          # the full grid (long: minutes)
    python benchmarks/bench_scan.py --T 100 1000 --repeats 3 --json scan.json --plot scan.png

For minGRU and minLSTM (gru_lib/nn/minimal.py) at the music size (D = 88) and the speech size
(D = 20), units from the budget derivation (nn.budget.task_units), one forward + backward of a
batch of sequences of length T is timed on backend="python" (the loop over ``cell.step``),
backend="scan" (log-space scan, nn/scan.py) and backend="bptt" (the gates of all steps at once,
then the linear recurrence alone, with its backward written by hand: nn/bptt.py), beside the
paper's GRU at Table 1's size on its fastest backend ("bptt"). Runs alternate (benchmarks/timing.py), so all see the same load;
each number is a median of ``--repeats`` after ``--warmup``. Reported: seconds per sequence
(the batch's time / B). One torch thread by default.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import interleaved_medians, timer  # noqa: E402

from gru_lib import Recurrent, pick_device  # noqa: E402
from gru_lib.atomic import atomic_write  # noqa: E402
from gru_lib.nn.budget import TASK_INPUT_SIZE, task_units  # noqa: E402

# (label, kind, backend): what is timed at each size.
RUNS = [("mingru python", "mingru", "python"), ("mingru scan", "mingru", "scan"),
        ("mingru bptt", "mingru", "bptt"),
        ("minlstm python", "minlstm", "python"), ("minlstm scan", "minlstm", "scan"),
        ("minlstm bptt", "minlstm", "bptt"),
        ("gru bptt", "gru", "bptt")]


def step_fn(layer, x):
    """One forward + backward of ``layer`` on x."""
    def run():
        layer.zero_grad(set_to_none=True)
        layer(x).outputs.sum().backward()
    return run


def measure(task, T, B, device, warmup, repeats):
    D = TASK_INPUT_SIZE[task]
    torch.manual_seed(0)
    x = torch.randn(T, B, D, device=device)
    runs = {}
    for label, kind, backend in RUNS:
        layer = Recurrent.make(kind, D, task_units(task, kind), backend=backend).to(device)
        runs[label] = step_fn(layer, x)
    medians = interleaved_medians(runs, timer(device), warmup, repeats)
    return {label: seconds / B for label, seconds in medians.items()}


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gru_lib.style import BOOK_STYLE, COLOURS, COLUMN_WIDTH

    plt.rcParams.update(BOOK_STYLE)
    panels = sorted({(r["task"], r["B"]) for r in results})
    fig, axes = plt.subplots(1, len(panels), figsize=(COLUMN_WIDTH, 2.8), sharey=True,
                             layout="constrained", squeeze=False)
    for ax, (task, B) in zip(axes[0], panels):
        rows = sorted((r for r in results if (r["task"], r["B"]) == (task, B)),
                      key=lambda r: r["T"])
        for label, kind, backend in RUNS:
            style = {"python": ":", "scan": "-", "bptt": "--"}[backend]
            ax.plot([r["T"] for r in rows], [r["seconds"][label] * 1e3 for r in rows], style,
                    marker="o", ms=3, color=COLOURS.get(kind), label=label)
        ax.set(xscale="log", yscale="log", xlabel="T (steps)", title=f"{task}, B = {B}")
    axes[0][0].set_ylabel("ms per sequence (fwd + bwd)")
    axes[0][-1].legend(fontsize=7)
    fig.savefig(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", nargs="+", type=int, default=[100, 250, 500, 1000, 2000, 4000])
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--tasks", nargs="+", default=["music", "speech"],
                        choices=list(TASK_INPUT_SIZE))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-batch-steps", type=int, default=None,
                        help="skip a (T, B) point when T * B exceeds this: the scan holds several "
                             "(T, B, H) tensors at once, gigabytes at the speech size")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path, help="a PNG at the book's column width")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    results = []
    for task in args.tasks:
        units = {kind: task_units(task, kind) for _, kind, _ in RUNS}
        for B in args.batch:
            for T in args.T:
                if args.max_batch_steps and T * B > args.max_batch_steps:
                    print(f"{task:6} B={B:<3d} T={T:<5d} skipped: T * B > --max-batch-steps "
                          f"{args.max_batch_steps}", flush=True)
                    continue
                seconds = measure(task, T, B, device, args.warmup, args.repeats)
                results.append({"task": task, "D": TASK_INPUT_SIZE[task], "units": units,
                                "B": B, "T": T, "seconds": seconds})
                print(f"{task:6} B={B:<3d} T={T:<5d} " + "  ".join(
                    f"{label} {s * 1e3:8.2f} ms" for label, s in seconds.items()), flush=True)
    if args.json:
        meta = {"device": str(device), "threads": args.threads, "repeats": args.repeats,
                "torch": torch.__version__, "machine": platform.machine()}
        atomic_write(args.json, json.dumps({"meta": meta, "results": results}, indent=1))
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
