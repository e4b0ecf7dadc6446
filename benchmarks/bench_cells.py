"""Forward+backward time of every gru_lib cell against the nearest native torch module.

    python benchmarks/bench_cells.py                      # paper sizes, B = 1 and 32, T = 100
    python benchmarks/bench_cells.py --T 100 1000 --device cuda --json out.json

Custom and native runs alternate, so both see the same machine load; each number is the
median of ``--repeats`` timed runs after ``--warmup`` untimed ones. The ratio is
custom / native (lower is better). "custom" is the readable loop (backend="python",
autograd through ``cell.step``); "bptt" is the same cell with its backward through time
written by hand (backend="bptt", gru_lib/nn/bptt.py); "backend='native'" runs a cell that has
a torch twin through torch's own kernel. On CPU, nn.LSTM dispatches to oneDNN's fused LSTM
kernel; ``--no-mkldnn`` turns it off to compare with torch's own unfused C++ loop.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gru_lib import Recurrent, make_cell, pick_device  # noqa: E402
from gru_lib.atomic import atomic_write  # noqa: E402
from gru_lib.nn.native import why_no_twin  # noqa: E402

# (label, kind, options, native module builder) -- the "nearest native module" for each cell.
CELLS = [
    ("tanh", "tanh", {}, lambda d, h: nn.RNN(d, h, nonlinearity="tanh")),
    ("gru (torch form)", "gru", {"variant": "torch"}, nn.GRU),
    ("gru (paper form)", "gru", {}, nn.GRU),
    ("lstm (no peepholes)", "lstm", {"peepholes": False}, nn.LSTM),
    ("lstm (peepholes)", "lstm", {}, nn.LSTM),
]
SIZES = {"music": (88, {"tanh": 100, "gru": 46, "lstm": 36}),
         "speech": (20, {"tanh": 400, "gru": 227, "lstm": 195})}


def _timer(device):
    if device.type == "cuda":
        def run(fn):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1e3
    else:
        def run(fn):
            t0 = time.perf_counter()
            fn()
            return time.perf_counter() - t0
    return run


def measure(kind, options, native_cls, D, H, B, T, device, warmup, repeats):
    torch.manual_seed(0)
    layer = Recurrent(make_cell(kind, D, H, **options)).to(device)
    native = native_cls(D, H).to(device)
    x = torch.randn(T, B, D, device=device)
    fast = Recurrent(layer.cell, backend="bptt")
    runs = {"custom": lambda: layer(x).outputs.sum().backward(),
            "native": lambda: native(x)[0].sum().backward(),
            "bptt": lambda: fast(x).outputs.sum().backward()}
    if why_no_twin(layer.cell) is None:                   # backend="native": the cell through torch's kernel
        switched = Recurrent(layer.cell, backend="native")
        runs["backend_native"] = lambda: switched(x).outputs.sum().backward()

    timed = _timer(device)
    for _ in range(warmup):
        for run in runs.values():
            run()
    times = {name: [] for name in runs}
    for _ in range(repeats):                       # interleave so all see the same load
        for name, run in runs.items():
            times[name].append(timed(run))
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--T", nargs="+", type=int, default=[100])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-mkldnn", action="store_true", help="disable oneDNN (nn.LSTM's fused CPU kernel)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)

    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.mkldnn.enabled = not args.no_mkldnn
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
          f"oneDNN {'on' if torch.backends.mkldnn.enabled else 'off'}, {platform.processor() or platform.machine()}")
    print(f"median of {args.repeats} runs after {args.warmup} warm-up; forward+backward of one (T, B, D) batch\n")
    header = ("| task | cell | D | H | B | T | native ms | custom ms | ratio | bptt ms | ratio "
              "| bptt steps/s | backend='native' ms | ratio |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    rows = []
    for task in args.tasks:
        D, units = SIZES[task]
        for T in args.T:
            for B in args.batch:
                for label, kind, options, native_cls in CELLS:
                    H = units[kind]
                    t = measure(kind, options, native_cls, D, H, B, T, device, args.warmup, args.repeats)
                    row = dict(task=task, cell=label, D=D, H=H, B=B, T=T, custom_ms=t["custom"] * 1e3,
                               native_ms=t["native"] * 1e3, ratio=t["custom"] / t["native"],
                               custom_steps_per_s=T / t["custom"], bptt_ms=t["bptt"] * 1e3,
                               bptt_ratio=t["bptt"] / t["native"], bptt_steps_per_s=T / t["bptt"])
                    switched = "| – | – |"
                    if "backend_native" in t:
                        row.update(backend_native_ms=t["backend_native"] * 1e3,
                                   backend_native_ratio=t["backend_native"] / t["native"])
                        switched = f"| {row['backend_native_ms']:.2f} | {row['backend_native_ratio']:.2f} |"
                    rows.append(row)
                    print(f"| {task} | {label} | {D} | {H} | {B} | {T} | {row['native_ms']:.2f} | "
                          f"{row['custom_ms']:.2f} | {row['ratio']:.2f} | {row['bptt_ms']:.2f} | "
                          f"{row['bptt_ratio']:.2f} | {row['bptt_steps_per_s']:,.0f} " + switched, flush=True)
    if args.json:
        atomic_write(args.json, json.dumps({"device": str(device), "torch": torch.__version__,
                                            "threads": torch.get_num_threads(),
                                            "mkldnn": torch.backends.mkldnn.enabled, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
