"""Forward+backward time of a population of P layers under torch.vmap, against ONE layer.

    python benchmarks/bench_population_layer.py                    # music sizes, B = 1 and 16, T = 100
    python benchmarks/bench_population_layer.py --P 1 10 --batch 1 --threads 1 --repeats 7

Both run backend="bptt" (gru_lib/nn/bptt.py). The population is P copies of a cell with
different weights, stacked by torch.func.stack_module_state and run by
``vmap(functional_call(layer, ...))`` on one shared batch, so each step of the loop is one
batched op for all members. "ratio" is population time / single-model time: the cost of
training P learning-rate candidates at once, in units of training one. Runs alternate
(single, P=1, P=2, ...) so all see the same machine load; each number is the median of
``--repeats`` timed runs after ``--warmup`` untimed ones.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch
from torch.func import functional_call, stack_module_state

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import add_population_arguments, interleaved_medians, parse_population_arguments, timer

from gru_lib import Recurrent, make_cell, pick_device

CELLS = [("tanh", "tanh", {}), ("gru (paper form)", "gru", {}), ("gru (torch form)", "gru", {"variant": "torch"}),
         ("lstm (peepholes)", "lstm", {}), ("lstm (no peepholes)", "lstm", {"peepholes": False})]
MUSIC = (88, {"tanh": 100, "gru": 46, "lstm": 36})       # input size, units per kind


def population_step(layers, x):
    """A closure: forward+backward of all ``layers`` at once, through vmap."""
    params, buffers = stack_module_state(layers)            # name -> (P, ...) leaves, requires_grad
    skeleton = copy.deepcopy(layers[0]).to("meta")          # the structure; its weights are swapped in

    def one(p, b, x):
        return functional_call(skeleton, (p, b), (x,)).outputs

    run = torch.vmap(one, in_dims=(0, 0, None))
    return lambda: run(params, buffers, x).sum().backward()


def measure(kind, options, D, H, B, T, sizes, device, warmup, repeats, clock):
    torch.manual_seed(0)
    layers = [Recurrent(make_cell(kind, D, H, **options), backend="bptt").to(device)
              for _ in range(max(sizes))]
    x = torch.randn(T, B, D, device=device)
    runs = {"single": lambda: layers[0](x).outputs.sum().backward()}
    for P in sizes:
        runs[P] = population_step(layers[:P], x)
    return interleaved_medians(runs, timer(device, clock), warmup, repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_population_arguments(parser)
    parser.add_argument("--cells", nargs="+", default=[c[0] for c in CELLS], choices=[c[0] for c in CELLS])
    args = parse_population_arguments(parser, argv)

    device = pick_device(args.device)
    torch.set_num_threads(args.threads)
    D, units = MUSIC
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads; music sizes, "
          f"T = {args.T}; {args.clock} clock; median of {args.repeats} after {args.warmup} warm-up; forward+backward\n")
    header = "| cell | H | B | single ms | " + " | ".join(f"P={P} ms (ratio)" for P in args.P) + " |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for B in args.batch:
        for label, kind, options in CELLS:
            if label not in args.cells:
                continue
            t = measure(kind, options, D, units[kind], B, args.T, args.P, device, args.warmup, args.repeats, args.clock)
            cols = " | ".join(f"{t[P] * 1e3:.2f} ({t[P] / t['single']:.2f})" for P in args.P)
            print(f"| {label} | {units[kind]} | {B} | {t['single'] * 1e3:.2f} | {cols} |", flush=True)


if __name__ == "__main__":
    main()
