"""Every committed full-protocol winner (train and test), and the run each set and model is
judged by against issue 14's targets (test: ``results_files.best_run``, the lowest validation
NLL of any committed run), scored four ways: "NLL per time step" with every step or every piece
weighing the same, and with step 0 counted (this library: predicted from silence) or not (the
authors' code reads seq[:-1] and scores seq[1:]). Writes data/results/per_step_readings.json,
which chapter 8 and ``runs/probe_table.py --readings`` read and tests/test_results.py checks
against a fresh re-scoring.

    python runs/per_step_readings.py --data ../shared/data/music
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gru_lib.atomic import atomic_write  # noqa: E402
from gru_lib.experiments.checkpoint_tools import evaluate_checkpoint  # noqa: E402
from gru_lib.experiments.results_files import best_run  # noqa: E402
from gru_lib.paper import KINDS  # noqa: E402

RESULTS = ROOT / "data" / "results"
OUT = RESULTS / "per_step_readings.json"
COMMAND = "python runs/per_step_readings.py --data ../shared/data/music"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="a folder holding the four .mat files "
                        "(default: download them, checked by sha256)")
    args = parser.parse_args()
    scored = []                          # (results.json, model, split) to score
    for path in sorted(RESULTS.glob("*/paper/results.json")):
        summary = json.loads(path.read_text())
        scored += [(path, kind, split) for kind, model in summary["models"].items()
                   if "error" not in model for split in ("train", "test")]
    for dataset in ("nottingham", "jsb", "musedata", "piano-midi"):
        for kind in KINDS:
            found = best_run(dataset, kind, remote=None)          # this clone's files only
            if found and (RESULTS / found[0] / "results.json", kind, "test") not in scored:
                scored.append((RESULTS / found[0] / "results.json", kind, "test"))
    rows = []
    for path, kind, split in scored:
        summary = json.loads(path.read_text())
        checkpoint = path.parent / summary["models"][kind]["checkpoint"]
        report = evaluate_checkpoint(checkpoint, summary["dataset"], split, data=args.data,
                                     key_range=summary["key_range"], device="cpu")
        rows.append({"dataset": summary["dataset"], "model": kind, "split": split,
                     "checkpoint": checkpoint.relative_to(RESULTS).as_posix(),
                     "total": report["nll"], "piece_mean": report["piece_mean_nll"],
                     "total_from_step_1": report["from_step_1"]["nll"],
                     "piece_mean_from_step_1": report["from_step_1"]["piece_mean_nll"]})
        print(" ".join(f"{v:.4f}" if isinstance(v, float) else str(v)
                       for v in rows[-1].values()), flush=True)
    atomic_write(OUT, json.dumps({"command": COMMAND, "rows": rows}, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
