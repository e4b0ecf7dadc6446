"""Print the README's table of capacity probes (issue 14), from the committed results files,
or with ``--chunks`` its table of runs on chunks of the training pieces.

    python runs/probe_table.py
    python runs/probe_table.py --chunks
    python runs/probe_table.py --targets
    python runs/probe_table.py --misses
    python runs/probe_table.py --readings

A probe is Table 2's full-protocol recipe at a larger size (``reproduce --params N``),
installed as ``data/results/<set>/recipe/<model>-<N>k/`` (the naming rule is
``gru_lib.experiments.results_files.find_probe``'s). One Markdown row per
probe, smallest size first, each beside its model at Table 1's size
(``data/results/<set>/paper/``), the paper's Table 2 and the best other published plain
recurrent net of the set (``gru_lib.literature``).

A chunked run is a reproduce run with ``--chunk 200`` (the training pieces cut into chunks of
at most 200 steps; validation and test pieces stay whole), installed under
``data/results/<set>/recipe/`` by ``find_chunked``'s naming rule, which also names the
whole-piece run of the same size it is set beside. One row per pair, Table 1's size first,
"whole → chunks" in each column that changes.

With ``--targets`` it prints, for each set and model, the committed run (of any size or
recipe) with the lowest validation NLL (``results_files.best_run``) and which of issue 14's
targets its test NLL meets (``results_files.targets_met``). With ``--misses``, one row per
target missed there, with what the files measure about it (``results_files.missed_target``):
the run's training NLL beside the paper's, its test NLL by the mean over pieces, its test NLL
over the seeds it was trained at, and the run of that model on that set that fits the training
pieces most closely. With ``--readings``, the same runs as ``--targets``, their test NLL under
the four readings of "per time step" (``runs/per_step_readings.py``: every step or every piece
weighing the same, step 0 scored or not, as the authors' code does not), each marked ✓ where it
meets the paper's line (for the tanh-RNN, the paper's number + 0.2).
"""
from __future__ import annotations

import itertools
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gru_lib.experiments.results_files import (PROBE_SIZES, best_run,  # noqa: E402
                                                find_chunked, find_probe, missed_target,
                                                target_line, targets_met)
from gru_lib.experiments.tables import markdown_table  # noqa: E402
from gru_lib.literature import best_other_plain_rnn  # noqa: E402
from gru_lib.paper import KINDS, TABLE2  # noqa: E402

RESULTS = ROOT / "data" / "results"
SETS = {"nottingham": "Nottingham", "jsb": "JSB", "musedata": "MuseData",
        "piano-midi": "Piano-midi"}                       # Table 2's order
LABEL = {"tanh": "tanh", "gru": "GRU", "lstm": "LSTM"}
HEADER = ["set", "model", "params", "units", "lr", "train", "valid", "test",
          "Table 1 size: test", "paper train / test", "best other RNN"]
CHUNK_HEADER = ["set", "model", "size", "updates / epoch", "epochs", "valid", "test",
                "paper / floor"]


def rows() -> list[list[str]]:
    out = []
    probes = {(size, d, k): found for size in PROBE_SIZES for d in SETS for k in KINDS
              if (found := find_probe(d, k, size, remote=None))}   # this clone's files only
    for (size, d, k), (_, results) in probes.items():
        m = results["models"][k]
        table1 = json.loads((RESULTS / d / "paper" / "results.json").read_text())
        paper_train, paper_test = TABLE2[d][k]
        out.append([SETS[d], LABEL[k], f"{m['params']:,}", str(m["units"]), f"{m['lr']:.2e}",
                    f"{m['train_nll']:.2f}", f"{m['valid_nll']:.2f}",
                    f"**{m['test_nll']:.2f}**",
                    f"{table1['models'][k]['test_nll']:.2f}",
                    f"{paper_train:.2f} / {paper_test:.2f}",
                    f"{best_other_plain_rnn(d)[0]:.2f}"])
    return out


def winner(found: tuple[str, dict], kind: str) -> tuple[dict, list]:
    """A run's winning entry of ``kind`` and its per-epoch records, from ``(folder, results)``."""
    folder, results = found
    m = results["models"][kind]
    checkpoint = RESULTS / folder / m["checkpoint"]
    return m, json.loads((checkpoint.parent / "records.json").read_text())


def arrow(before: float, after: float, digits: int = 3) -> str:
    return f"{before:,.{digits}f} → {after:,.{digits}f}"


def chunk_rows() -> list[list[str]]:
    out = []
    for size, d, k in itertools.product((None, *PROBE_SIZES), SETS, KINDS):
        pair = find_chunked(d, k, size, remote=None)              # this clone's files only
        if pair is None:
            continue
        (m0, r0), (m1, r1) = (winner(found, k) for found in pair)
        out.append([SETS[d], LABEL[k], "Table 1" if size is None else size.upper(),
                    arrow(r0[1]["updates"] - r0[0]["updates"],
                          r1[1]["updates"] - r1[0]["updates"], 0),
                    arrow(m0["epochs"], m1["epochs"], 0),
                    arrow(m0["valid_nll"], m1["valid_nll"]),
                    f"{m0['test_nll']:.3f} → **{m1['test_nll']:.3f}**",
                    f"{TABLE2[d][k][1]:.2f} / {best_other_plain_rnn(d)[0]:.2f}"])
    return out


TARGET_HEADER = ["set", "model", "run (lowest valid)", "params", "valid", "test", "paper",
                 "floor", "≤ paper (tanh: + 0.2)", "< floor"]


def picks():
    """(set, model, folder, winner) of the run each set and model is judged by (the lowest
    validation NLL of any committed run: ``results_files.best_run``), in Table 2's order."""
    for d, k in itertools.product(SETS, KINDS):
        found = best_run(d, k, remote=None)                        # this clone's files only
        if found is not None:
            yield d, k, *found


def target_rows() -> list[list[str]]:
    out = []
    for d, k, folder, m in picks():
        out.append([SETS[d], LABEL[k], f"`{folder}`", f"{m['params']:,}",
                    f"{m['valid_nll']:.3f}", f"**{m['test_nll']:.3f}**",
                    f"{TABLE2[d][k][1]:.2f}", f"{best_other_plain_rnn(d)[0]:.2f}",
                    *("yes" if met else "no" for met in targets_met(d, k, m["test_nll"]))])
    return out


MISS_HEADER = ["set", "model", "run (lowest valid)", "test", "line", "train", "paper train",
               "test by piece", "seeds: test", "closest fit: run, train / test"]


def miss_rows() -> list[list[str]]:
    out = []
    for d, k in itertools.product(SETS, KINDS):
        miss = missed_target(d, k, remote=None)                    # this clone's files only
        if miss is None:
            continue
        m, tests = miss["entry"], [e["test_nll"] for e in miss["seeds"].values()]
        seeds = (f"{len(tests)}: {statistics.mean(tests):.3f} ± {statistics.stdev(tests):.3f}"
                 if len(tests) > 1 else "1")
        closest, fit = miss["closest"]
        by_piece = m.get("piece_mean_nll", {}).get("test")
        out.append([SETS[d], LABEL[k], f"`{miss['folder']}`", f"**{m['test_nll']:.3f}**",
                    f"{miss['line']:.2f}", f"{m['train_nll']:.3f}", f"{TABLE2[d][k][0]:.2f}",
                    "—" if by_piece is None else f"{by_piece:.3f}", seeds,
                    f"`{closest.rsplit('/', 1)[-1]}`, {fit['train_nll']:.3f} / "
                    f"{fit['test_nll']:.3f}"])
    return out


READINGS = ("total", "piece_mean", "total_from_step_1", "piece_mean_from_step_1")
READING_HEADER = ["set", "model", "run (lowest valid)", "line", "total / total",
                  "mean over pieces", "total / total, from step 1", "mean over pieces, from step 1"]


def reading_rows() -> list[list[str]]:
    """One row per --targets run, from data/results/per_step_readings.json; a run that file
    does not hold fails (regenerate it: python runs/per_step_readings.py)."""
    rows = {(r["checkpoint"], r["split"]): r for r in
            json.loads((RESULTS / "per_step_readings.json").read_text())["rows"]}
    out = []
    for d, k, folder, m in picks():
        key = (f"{folder}/{m['checkpoint']}", "test")
        if key not in rows:
            raise SystemExit(f"{key[0]} is not in data/results/per_step_readings.json: "
                             f"python runs/per_step_readings.py --data ../shared/data/music")
        line = target_line(d, k)
        out.append([SETS[d], LABEL[k], f"`{folder}`", f"{line:.2f}",
                    *(f"{rows[key][r]:.3f}" + (" ✓" if rows[key][r] <= line else "")
                      for r in READINGS)])
    return out


TABLES = {"--chunks": (CHUNK_HEADER, chunk_rows), "--targets": (TARGET_HEADER, target_rows),
          "--misses": (MISS_HEADER, miss_rows), "--readings": (READING_HEADER, reading_rows)}


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    header, make_rows = next((TABLES[a] for a in argv if a in TABLES), (HEADER, rows))
    print(markdown_table(header, make_rows()))


if __name__ == "__main__":
    main()
