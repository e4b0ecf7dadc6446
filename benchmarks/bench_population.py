"""One training update of a population of P candidates, against P single models and P native ones.

    python benchmarks/bench_population.py --json data/results/benchmarks/population_cpu_1thread.json
    python benchmarks/bench_population.py --P 1 10 --batch 16 --kinds gru --repeats 5

What is timed is ONE UPDATE exactly as training runs it -- weight noise on (0.075), forward,
backward, gradient clipping to norm 1, the RMSProp-with-momentum step -- at the music sizes
(88 keys; tanh 100 units, GRU 46 in the paper's form, LSTM 36 with peepholes, and LSTM 36
without them), batch 1 and 16, T = 100:

* population: ``PopulationTrainer.update`` of P members (gru_lib/training/population.py): every
  op of the P models runs once, vmapped over the stacked weights (backend "bptt");
* single: ``Trainer.update`` of one member alone (the same code the search ran P times in a
  row before populations); "P × single" is what training the P candidates one after the other
  costs;
* native: the nearest torch module (nn.RNN tanh / nn.GRU / nn.LSTM, which has no peepholes;
  oneDNN as torch ships it) with the same output layer and loss, and the same update (noise,
  backward, clip_grad_norm_, our RMSPropMomentum step); "P × native" is P of them in a row.

Runs alternate (single, native, P=1, P=2, ...) so all see the same machine load; each number is
the median of ``--repeats`` timed rounds after ``--warmup`` untimed ones. Targets at the largest
P: population ≤ 2 × single, and population < P × native.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import add_population_arguments, interleaved_medians, parse_population_arguments, timer

from gru_lib import pick_device
from gru_lib.atomic import atomic_write
from gru_lib.music.model import make_model
from gru_lib.training.optim import RMSPropMomentum
from gru_lib.training.population import PopulationTrainer
from gru_lib.training.trainer import TrainConfig, Trainer

# (label, kind, cell options, peepholes, native module)
KINDS = [("tanh", "tanh", {}, None, "RNN"), ("gru", "gru", {}, None, "GRU"),
         ("lstm", "lstm", {}, True, "LSTM"), ("lstm-nopeep", "lstm", {"peepholes": False}, False, "LSTM")]
KEYS, UNITS = 88, {"tanh": 100, "gru": 46, "lstm": 36}


class Native(nn.Module):
    """nn.RNN / nn.GRU / nn.LSTM with the music model's output layer and Bernoulli NLL."""

    def __init__(self, module: str, keys: int, hidden: int):
        super().__init__()
        self.rnn = getattr(nn, module)(keys, hidden)
        self.out = nn.Linear(hidden, keys)

    def loss(self, rolls):
        # Predict step t+1 from steps ≤ t, like PianoRollModel (the first step from zeros).
        inputs = torch.cat([torch.zeros_like(rolls[:1]), rolls[:-1]])
        logits = self.out(self.rnn(inputs)[0])
        total = nn.functional.binary_cross_entropy_with_logits(logits, rolls, reduction="sum")
        return total / (rolls.shape[0] * rolls.shape[1])


def native_update(model: Native, optimizer, rolls, std=0.075, clip=1.0):
    params = list(model.parameters())
    clean = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p in params:
            p.add_(torch.randn_like(p), alpha=std)
    optimizer.zero_grad(set_to_none=True)
    model.loss(rolls).backward()
    with torch.no_grad():
        for p, c in zip(params, clean):
            p.copy_(c)
    nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()


def measure(label, kind, options, native, B, T, sizes, device, warmup, repeats, clock):
    H = UNITS[kind]
    g = torch.Generator().manual_seed(0)
    rolls = (torch.rand(T, B, KEYS, generator=g) < 0.05).float().to(device)
    lengths = torch.full((B,), T, dtype=torch.long)
    pieces = [r for r in rolls.cpu().unbind(1)]                 # the trainers want a data set
    config = TrainConfig(lr=1e-4, batch_size=B, progress=False, device=str(device))
    model = lambda seed: make_model(kind, KEYS, H, seed=seed, backend="bptt", **options)  # noqa: E731
    single = Trainer(model(0), pieces, pieces, config)
    runs = {"single": lambda: single.update(rolls, lengths)}
    net = Native(native, KEYS, H).to(device)
    opt = RMSPropMomentum(net.parameters(), lr=1e-4)
    runs["native"] = lambda: native_update(net, opt, rolls)
    for P in sizes:
        pop = PopulationTrainer([model(m) for m in range(P)], pieces, pieces,
                                [config.replace(lr=1e-4 * (m + 1)) for m in range(P)])
        runs[P] = lambda pop=pop: pop.update(rolls, lengths)
    return interleaved_medians(runs, timer(device, clock), warmup, repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_population_arguments(parser)
    parser.add_argument("--kinds", nargs="+", default=[k[0] for k in KINDS], choices=[k[0] for k in KINDS])
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parse_population_arguments(parser, argv)

    device = pick_device(args.device)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, oneDNN "
          f"{torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled}; music sizes, "
          f"T = {args.T}; one update (noise, forward, backward, clip, RMSProp); {args.clock} clock; "
          f"median of {args.repeats} after {args.warmup} warm-up\n")
    print("| model | B | P | population ms | P × single ms | P × native ms | pop / single | "
          "pop / (P × single) | pop / (P × native) |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows, start = [], time.perf_counter()
    for B in args.batch:
        for label, kind, options, peepholes, native in KINDS:
            if label not in args.kinds:
                continue
            t = measure(label, kind, options, native, B, args.T, args.P, device, args.warmup,
                        args.repeats, args.clock)
            single, nat = t["single"] * 1e3, t["native"] * 1e3
            for P in args.P:
                pop = t[P] * 1e3
                row = {"kind": label, "cell": kind, "peepholes": peepholes, "hidden": UNITS[kind],
                       "native": f"nn.{native}", "batch": B, "P": P, "T": args.T,
                       "population_ms": round(pop, 3), "single_ms": round(single, 3),
                       "native_ms": round(nat, 3),
                       "population_over_single": round(pop / single, 3),
                       "population_over_P_single": round(pop / (P * single), 3),
                       "population_over_P_native": round(pop / (P * nat), 3),
                       "within_2x_single": pop <= 2 * single,
                       "faster_than_P_native": pop < P * nat}
                rows.append(row)
                print(f"| {label} | {B} | {P} | {pop:.1f} | {P * single:.1f} | {P * nat:.1f} | "
                      f"{pop / single:.2f} | {pop / (P * single):.2f} | {pop / (P * nat):.2f} |",
                      flush=True)
    if args.json:
        meta = {"torch": torch.__version__, "device": str(device), "threads": args.threads,
                "onednn": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
                "clock": args.clock, "warmup": args.warmup, "repeats": args.repeats, "T": args.T,
                "machine": platform.platform(), "processor": platform.processor(),
                "date": time.strftime("%Y-%m-%d"), "seconds": round(time.perf_counter() - start, 1),
                "command": "python benchmarks/bench_population.py " + " ".join(argv or sys.argv[1:]),
                "timed": "one update: weight noise 0.075, forward, backward, clip to norm 1, "
                         "RMSProp with momentum step; population = PopulationTrainer.update, "
                         "single = Trainer.update (backend bptt), native = nn.RNN/GRU/LSTM (oneDNN) "
                         "with the same output layer, loss and update"}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.json, json.dumps({"meta": meta, "rows": rows}, indent=1))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
