"""The committed results: every full-protocol result (and every capacity probe) keeps its
winners' checkpoints, and each checkpoint re-scores to the test NLL its results.json reports
(both averages)."""
import importlib.util
import json
import re
from pathlib import Path

import pytest

from gru_lib.experiments.checkpoint_tools import evaluate_checkpoint

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"
# Table 2's runs (<set>/paper/) and the capacity probes that chapter 8 tabulates beside them
# (<set>/recipe/<model>-60k/, -200k/ and their variants: the paper recipe at larger sizes),
# the finished runs given learning-rate drops (<set>/recipe/<run>-drop/, -drop2/), and the runs
# on chunks of the training pieces (<set>/recipe/<model>-chunk200/, -200k-chunk200/).
PROBES = [p for p in RESULTS.glob("*/recipe/*/results.json")
          if re.search(r"-\d+k(-|$)|-drop\d*$|-chunk\d+$", p.parent.name)]
PAPER = sorted(p for p in [*RESULTS.glob("*/*/results.json"), *PROBES]
               if json.loads(p.read_text()).get("budget") == "paper")
WINNERS = [(path, kind) for path in PAPER
           for kind, m in json.loads(path.read_text())["models"].items() if "error" not in m]
# The four readings of "per time step" of every Table 2 winner (runs/per_step_readings.py).
READINGS = json.loads((RESULTS / "per_step_readings.json").read_text())["rows"]


def test_there_are_full_protocol_results():
    # Issue 14: the full protocol's results are committed for all four music sets.
    assert {p.parent.relative_to(RESULTS).as_posix() for p in PAPER} >= {
        f"{name}/paper" for name in ("jsb", "nottingham", "musedata", "piano-midi")}


@pytest.mark.parametrize("name", ["jsb", "nottingham", "musedata", "piano-midi"])
def test_a_full_protocol_result_holds_what_issue_14_asks_of_it(name):
    """<set>/paper/results.json: the command that makes it again, and for every model both
    averages on train, valid and test, the epochs, updates and seconds, and a stop by early
    stopping or the epoch limit, never by a clock; the curves beside it."""
    summary = json.loads((RESULTS / name / "paper" / "results.json").read_text())
    assert summary["command"].startswith(f"python -m gru_lib reproduce --dataset {name} "
                                         f"--budget paper ")
    assert (RESULTS / name / "paper" / "curves.png").is_file()
    assert set(summary["models"]) == {"tanh", "gru", "lstm"}
    for kind, model in summary["models"].items():
        for split in ("train", "valid", "test"):
            assert model[f"{split}_nll"] > 0 and model["piece_mean_nll"][split] > 0, kind
        assert model["epochs"] > 0 and model["updates"] > 0 and model["seconds"] > 0, kind
        assert model["stopped"] in ("early-stopping", "max-epochs"), (kind, model["stopped"])


@pytest.mark.parametrize("path, kind", WINNERS,
                         ids=[f"{p.parent.relative_to(RESULTS).as_posix()}:{k}" for p, k in WINNERS])
def test_a_full_protocol_winner_is_committed_and_rescores_to_its_numbers(path, kind, data_dir):
    summary = json.loads(path.read_text())
    model = summary["models"][kind]
    checkpoint = path.parent / model["checkpoint"]          # relative to its own folder
    assert checkpoint.is_file(), f"{checkpoint} is named by {path} but not committed"
    report = evaluate_checkpoint(checkpoint, summary["dataset"], "test", data=data_dir,
                                 key_range=summary["key_range"], device="cpu")
    assert report["nll"] == pytest.approx(model["test_nll"], abs=1e-4)
    assert report["piece_mean_nll"] == pytest.approx(model["piece_mean_nll"]["test"], abs=1e-4)
    # chapter 8 quotes Table 2's winners and the targets' runs without step 0 as well
    row = next((r for r in READINGS if r["split"] == "test"
                and r["checkpoint"] == checkpoint.relative_to(RESULTS).as_posix()), None)
    assert row is not None or path.parent.name != "paper", "python runs/per_step_readings.py"
    if row is not None:
        assert (row["total"], row["piece_mean"]) == pytest.approx(
            (model["test_nll"], model["piece_mean_nll"]["test"]), abs=1e-4)
        assert (row["total_from_step_1"], row["piece_mean_from_step_1"]) == pytest.approx(
            (report["from_step_1"]["nll"], report["from_step_1"]["piece_mean_nll"]), abs=1e-4)


def test_the_readings_file_covers_every_table_2_winner():
    table2 = {(json.loads(p.read_text())["dataset"], k, "test") for p, k in WINNERS
              if p.parent.name == "paper"}
    assert {(r["dataset"], r["model"], r["split"]) for r in READINGS} >= table2


def test_the_index_lists_every_committed_run():
    """data/results/index.json (what best_run reads, remotely too) is the folders' list."""
    from gru_lib.experiments.results_files import INDEX, committed_runs
    assert json.loads((RESULTS / INDEX).read_text()) == committed_runs(RESULTS), (
        "data/results/index.json is stale: python runs/install_results.py --index")


@pytest.mark.parametrize("table", ["probes", "chunks", "targets", "misses", "readings"])
def test_the_readmes_tables_are_what_the_results_files_say(table):
    """README's tables of probes, chunked runs, the targets, the missed targets and the
    targets' readings are runs/probe_table.py's output (with --chunks, --targets, --misses,
    --readings), row for row: a run committed (or re-run) without
    regenerating its table fails here."""
    spec = importlib.util.spec_from_file_location(
        "probe_table", RESULTS.parents[1] / "runs" / "probe_table.py")
    probe_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe_table)
    header, rows = {"probes": (probe_table.HEADER, probe_table.rows),
                    "chunks": (probe_table.CHUNK_HEADER, probe_table.chunk_rows),
                    "targets": (probe_table.TARGET_HEADER, probe_table.target_rows),
                    "misses": (probe_table.MISS_HEADER, probe_table.miss_rows),
                    "readings": (probe_table.READING_HEADER, probe_table.reading_rows)}[table]
    lines = (RESULTS.parents[1] / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| " + " | ".join(header) + " |") + 2  # past the rule
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")),
               len(lines))
    expected = ["| " + " | ".join(row) + " |" for row in rows()]
    assert expected, f"runs/probe_table.py finds no committed {table}"
    flag = {"probes": "", "chunks": " --chunks", "targets": " --targets",
            "misses": " --misses", "readings": " --readings"}[table]
    assert lines[start:end] == expected, (
        f"a README table is stale: paste in the output of python runs/probe_table.py{flag}")
