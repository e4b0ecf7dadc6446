"""Print the README's table of capacity probes (issue 14), from the committed results files.

    python runs/probe_table.py

A probe is Table 2's full-protocol recipe at a larger size (``reproduce --params N``),
installed as ``data/results/<set>/recipe/<model>-<N>k/`` (the naming rule is
``gru_lib.experiments.results_files.find_probe``'s). One Markdown row per
probe, smallest size first, each beside its model at Table 1's size
(``data/results/<set>/paper/``), the paper's Table 2 and the best other published plain
recurrent net of the set (``gru_lib.literature``).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gru_lib.experiments.results_files import PROBE_SIZES, find_probe  # noqa: E402
from gru_lib.literature import best_other_plain_rnn  # noqa: E402
from gru_lib.paper import KINDS, TABLE2  # noqa: E402

RESULTS = ROOT / "data" / "results"
SETS = {"nottingham": "Nottingham", "jsb": "JSB", "musedata": "MuseData",
        "piano-midi": "Piano-midi"}                       # Table 2's order
LABEL = {"tanh": "tanh", "gru": "GRU", "lstm": "LSTM"}
HEADER = ["set", "model", "params", "units", "lr", "train", "valid", "test",
          "Table 1 size: test", "paper train / test", "best other RNN"]


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


def main() -> None:
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows():
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
