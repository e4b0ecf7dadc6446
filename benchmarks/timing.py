"""Timing helpers shared by the population benchmarks (bench_population_layer.py,
bench_population.py): a clock that waits for the device, and interleaved repeats."""
from __future__ import annotations

import statistics
import time

import torch


def timer(device, clock: str = "wall"):
    """``timed(fn) -> seconds`` of one call of fn, synchronising CUDA around it.

    clock "cpu" counts only the time this thread ran: on a machine shared with other jobs, time
    spent descheduled would otherwise land on whichever run was unlucky (CPU device, one torch
    thread: then every op, backward included, runs on this thread)."""
    now = time.thread_time if clock == "cpu" else time.perf_counter

    def timed(fn):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = now()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return now() - t0
    return timed


def interleaved_medians(runs: dict, timed, warmup: int, repeats: int) -> dict:
    """{name: median seconds} of ``runs`` ({name: fn}): ``warmup`` untimed rounds, then
    ``repeats`` timed rounds, each round calling every run once in turn, so all of them see the
    same machine load."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(timed(run))
    return {name: statistics.median(t) for name, t in times.items()}


def add_population_arguments(parser) -> None:
    """The options both population benchmarks take (sizes, shapes, device, clock, repeats)."""
    parser.add_argument("--P", nargs="+", type=int, default=[1, 2, 5, 10], help="population sizes")
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--T", type=int, default=100)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall time, or this thread's CPU time (for a busy CPU machine, --threads 1)")


def parse_population_arguments(parser, argv=None):
    """parse_args, then refuse a CPU clock that would not count all the work."""
    args = parser.parse_args(argv)
    if args.clock == "cpu" and (args.threads != 1 or args.device != "cpu"):
        parser.error("--clock cpu counts one thread's time: use it with --device cpu --threads 1")
    return args
