"""One training update of a population of minimal units: the loop, the scan, the hand-written backward.

    python benchmarks/bench_minimal_training.py --json data/results/benchmarks/minimal_training_cpu_1thread.json
    python benchmarks/bench_minimal_training.py --shapes 10x1x250 10x1x1000 --repeats 3

``reproduce`` trains a model's learning-rate candidates as one population (vmap over stacked
weights, gru_lib/training/population.py). What is timed is ONE UPDATE of such a population,
exactly as training runs it (weight noise, forward, backward, clipping, the RMSProp step), for
minGRU and minLSTM at the music budget (112 and 75 units) on backend="python" (the loop over
``cell.step``), backend="scan" (nn/scan.py) and backend="bptt" (every step's gates at once,
then the linear recurrence alone with its backward written by hand, nn/bptt.py), beside the
paper's GRU (46 units, "bptt"), and the two-layer stacks on "bptt".
Shapes are those of the two budgets: the paper's batch 1 with population 10 and whole pieces
(T = 250: Nottingham's mean length; 1,000: Piano-midi.de's), the standard budget's batch 16
with population 4 and chunks of T = 100. Runs alternate, so all see the same load; each number
is the median of ``--repeats`` rounds after ``--warmup``.

This is what ``reproduce`` chooses its backend by (``experiments.reproduce.training_backend``):
bench_scan.py times one sequence of one layer, where the scan beats the loop; here the
population shares each loop step's overhead, and the scan's logcumsumexp is what costs.
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

from gru_lib import pick_device  # noqa: E402
from gru_lib.atomic import atomic_write  # noqa: E402
from gru_lib.music.model import make_model  # noqa: E402
from gru_lib.nn.budget import task_units  # noqa: E402
from gru_lib.training.population import PopulationTrainer  # noqa: E402
from gru_lib.training.trainer import TrainConfig  # noqa: E402

KEYS = 88
# (label, kind, backend): what is timed at each shape.
RUNS = [("mingru python", "mingru", "python"), ("mingru scan", "mingru", "scan"),
        ("mingru bptt", "mingru", "bptt"),
        ("minlstm python", "minlstm", "python"), ("minlstm scan", "minlstm", "scan"),
        ("minlstm bptt", "minlstm", "bptt"),
        ("mingru-2 bptt", "mingru-2", "bptt"), ("minlstm-2 bptt", "minlstm-2", "bptt"),
        ("gru bptt", "gru", "bptt")]


def measure(P, B, T, device, warmup, repeats):
    g = torch.Generator().manual_seed(0)
    rolls = (torch.rand(T, B, KEYS, generator=g) < 0.05).float().to(device)   # (T, B, K)
    lengths = torch.full((B,), T, dtype=torch.long)
    pieces = list(rolls.cpu().unbind(1))                 # the trainer wants a data set
    config = TrainConfig(lr=1e-4, batch_size=B, progress=False, device=str(device))
    runs = {}
    for label, name, backend in RUNS:
        kind, _, layers = name.partition("-")             # "mingru-2": two layers of mingru
        units = task_units("music", name)
        members = [make_model(kind, KEYS, units, layers=int(layers or 1), seed=m, backend=backend)
                   for m in range(P)]
        population = PopulationTrainer(members, pieces, pieces,
                                       [config.replace(lr=1e-4 * (m + 1)) for m in range(P)])
        runs[label] = lambda pop=population: pop.update(rolls, lengths)
    return interleaved_medians(runs, timer(device), warmup, repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["10x1x250", "10x1x1000", "4x16x100"],
                        help="P x B x T: population, batch, steps (default: the two budgets)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    results = []
    for shape in args.shapes:
        try:
            P, B, T = (int(v) for v in shape.split("x"))
        except ValueError:
            parser.error(f"--shapes: expected P x B x T such as 10x1x250, got {shape!r}")
        seconds = measure(P, B, T, device, args.warmup, args.repeats)
        results.append({"P": P, "B": B, "T": T, "seconds": seconds})
        print(f"P={P:<3d} B={B:<3d} T={T:<5d} " + "  ".join(
            f"{label} {s * 1e3:8.1f} ms" for label, s in seconds.items()), flush=True)
    if args.json:
        meta = {"device": str(device), "threads": args.threads, "repeats": args.repeats,
                "torch": torch.__version__, "machine": platform.machine(),
                "units": {kind: task_units("music", kind) for _, kind, _ in RUNS}}
        atomic_write(args.json, json.dumps({"meta": meta, "results": results}, indent=1))


if __name__ == "__main__":
    main()
