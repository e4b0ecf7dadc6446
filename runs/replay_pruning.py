"""Replay TrainConfig.prune on populations that trained without it: would it have stopped the
winner, and when would the population have ended? (gru_lib.training.population.replay_pruning)

    python runs/replay_pruning.py runs/nottingham-paper/gru runs/minimal-paper-jsb/mingru-2

Each argument is one population's folder (``<out>/<model>``, holding ``lr<N>/records.json``
for every candidate: a run folder, or a data/results/<set>/paper/<model> folder).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gru_lib.training.population import replay_pruning  # noqa: E402


def replay(population: Path, max_epochs: int) -> dict:
    records = {d.name: json.loads((d / "records.json").read_text())
               for d in sorted(population.glob("lr*")) if (d / "records.json").is_file()}
    if len(records) < 2:
        raise SystemExit(f"{population}: {len(records)} candidate(s) with lr*/records.json; a "
                         f"replay needs a population's every candidate")
    return {"population": str(population), **replay_pruning(records, max_epochs)}


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
