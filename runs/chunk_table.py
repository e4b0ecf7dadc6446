"""Print the README's table of runs on chunks of the training pieces (issue 14), from the
committed results files.

    python runs/chunk_table.py

A chunked run is a reproduce run with ``--chunk 200`` (the training pieces cut into chunks of
at most 200 steps; validation and test pieces stay whole), installed under
``data/results/<set>/recipe/`` by ``gru_lib.experiments.results_files.find_chunked``'s naming
rule, which also names the whole-piece run of the same size it is set beside. One Markdown
row per pair, Table 1's size first, "whole → chunks" in each column that changes, beside the
paper's test NLL and the best other published plain recurrent net of the set.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gru_lib.experiments.results_files import PROBE_SIZES, find_chunked  # noqa: E402
from gru_lib.literature import best_other_plain_rnn  # noqa: E402
from gru_lib.paper import KINDS, TABLE2  # noqa: E402

RESULTS = ROOT / "data" / "results"
SETS = {"nottingham": "Nottingham", "jsb": "JSB", "musedata": "MuseData",
        "piano-midi": "Piano-midi"}                       # Table 2's order
LABEL = {"tanh": "tanh", "gru": "GRU", "lstm": "LSTM"}
HEADER = ["set", "model", "size", "updates / epoch", "epochs", "valid", "test",
          "paper / floor"]


def winner(folder: str, kind: str) -> tuple[dict, list]:
    """A run's winning entry of ``kind`` and its per-epoch records."""
    m = json.loads((RESULTS / folder / "results.json").read_text())["models"][kind]
    checkpoint = RESULTS / folder / m["checkpoint"]
    return m, json.loads((checkpoint.parent / "records.json").read_text())


def rows() -> list[list[str]]:
    out = []
    for size in (None, *PROBE_SIZES):
        for d in SETS:
            for k in KINDS:
                pair = find_chunked(d, k, size, remote=None)      # this clone's files only
                if pair is None:
                    continue
                (m0, r0), (m1, r1) = (winner(folder, k) for folder in pair)

                def arrow(a, b, digits=3):
                    return f"{a:,.{digits}f} → {b:,.{digits}f}"

                out.append([
                    SETS[d], LABEL[k], "Table 1" if size is None else size.upper(),
                    arrow(r0[1]["updates"] - r0[0]["updates"],
                          r1[1]["updates"] - r1[0]["updates"], 0),
                    arrow(m0["epochs"], m1["epochs"], 0),
                    arrow(m0["valid_nll"], m1["valid_nll"]),
                    f"{m0['test_nll']:.3f} → **{m1['test_nll']:.3f}**",
                    f"{TABLE2[d][k][1]:.2f} / {best_other_plain_rnn(d)[0]:.2f}"])
    return out


def main() -> None:
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows():
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
