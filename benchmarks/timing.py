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
