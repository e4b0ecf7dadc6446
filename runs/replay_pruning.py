"""Replay TrainConfig.prune on populations that trained without it: would it have stopped the
winner, and when would the population have ended?

    python runs/replay_pruning.py runs/nottingham-paper/gru runs/minimal-paper-jsb/mingru-2

Each argument is one population's folder (``<out>/<model>``, holding ``lr<N>/records.json``).
The replay walks the epochs as PopulationTrainer does: at the end of each epoch the leader is
the best validation NLL any member has reached so far (stopped members included), and a member
still training stops when ``hopeless`` says so. Only validation NLLs matter, and a member's
are the same with or without pruning up to the epoch it stops, so the replay is exact.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gru_lib.training.trainer import hopeless  # noqa: E402


def replay(population: Path, max_epochs: int) -> dict:
    runs = {d.name: json.loads((d / "records.json").read_text())
            for d in sorted(population.glob("lr*")) if (d / "records.json").is_file()}
    if len(runs) < 2:
        raise SystemExit(f"{population}: {len(runs)} member(s) with lr*/records.json; a "
                         f"replay needs a population's every member")
    last = {name: len(records) - 1 for name, records in runs.items()}   # epochs each trained
    stopped = {}
    for epoch in range(1, max(last.values()) + 1):
        seen = {name: records[:min(epoch, stopped.get(name, last[name])) + 1]
                for name, records in runs.items()}
        leader = min(min(r["valid_nll"] for r in rows) for rows in seen.values())
        for name in runs:
            if name not in stopped and last[name] >= epoch and \
                    hopeless(seen[name], max_epochs, leader):
                stopped[name] = epoch
    best = lambda name, upto=math.inf: min(r["valid_nll"] for r in runs[name][:int(min(upto, 1e9)) + 1])
    winner = min(runs, key=best)
    kept = min(runs, key=lambda n: best(n, stopped.get(n, math.inf)))
    ends = {n: stopped.get(n, last[n]) for n in runs}
    return {"population": str(population), "winner": winner, "winner_kept": kept == winner,
            "last_epoch": max(ends.values()), "last_epoch_unpruned": max(last.values()),
            "member_epochs": sum(ends.values()), "member_epochs_unpruned": sum(last.values()),
            "pruned_at": stopped}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("populations", nargs="+", type=Path)
    parser.add_argument("--max-epochs", type=int, default=500, help="the run's max_epochs (500)")
    parser.add_argument("--json", action="store_true", help="one JSON object per population")
    args = parser.parse_args(argv)
    for population in args.populations:
        r = replay(population, args.max_epochs)
        if args.json:
            print(json.dumps(r))
            continue
        print(f"{r['population']}: winner {r['winner']} "
              f"{'kept' if r['winner_kept'] else 'PRUNED'}; last member stops at epoch "
              f"{r['last_epoch']} (without pruning {r['last_epoch_unpruned']}); member-epochs "
              f"{r['member_epochs']} of {r['member_epochs_unpruned']} "
              f"({r['member_epochs'] / r['member_epochs_unpruned']:.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
