"""Tests of runs/extend_with_drops.py: a finished run given learning-rate drops afterwards ends
exactly as the run `reproduce --set lr_drops=N` trains from the start, and RUN is not touched."""
import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gru_lib.experiments.reproduce import reproduce

ROOT = Path(__file__).resolve().parents[1]
# patience 1 on the quick budget's few short pieces: both candidates stop early well before
# max_epochs, so both take their drop
SETTINGS = dict(dataset="jsb", models="gru", budget="quick", lrs=[0.003, 0.01], progress=False,
                log=lambda *a: None)
OVERRIDES = {"patience": 1, "max_epochs": 12}


def digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def extend(*args):
    return subprocess.run([sys.executable, "runs/extend_with_drops.py", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)


def test_a_run_extended_with_a_drop_is_the_run_trained_with_it(tmp_path, data_dir):
    run, out = tmp_path / "run", tmp_path / "run-drop"
    reproduce(out=run, data=data_dir, overrides=OVERRIDES, **SETTINGS)
    before = digest(run)
    stops = [json.loads((run / "gru" / f"lr{c}" / "result.json").read_text())["stopped"]
             for c in (0, 1)]
    assert stops == ["early-stopping"] * 2
    done = extend(run, out, "--lr-drops", 1, "--data", data_dir)
    assert done.returncode == 0, done.stderr
    assert digest(run) == before                                  # RUN untouched
    straight = reproduce(out=tmp_path / "straight", data=data_dir,
                         overrides={**OVERRIDES, "lr_drops": 1}, **SETTINGS)
    extended = json.loads((out / "results.json").read_text())
    ours, theirs = extended["models"]["gru"], straight["models"]["gru"]
    for key in ("lr", "epochs", "best_epoch", "updates", "stopped", "train_nll", "valid_nll",
                "test_nll", "piece_mean_nll", "checkpoint"):
        assert ours[key] == theirs[key], key
    assert extended["config"]["lr_drops"] == 1 and extended["overrides"]["lr_drops"] == 1
    assert "runs/extend_with_drops.py" in extended["command"]
    assert json.loads((out / "run.json").read_text())["config"]["lr_drops"] == 1
    for c in (0, 1):
        records = [json.loads((folder / "gru" / f"lr{c}" / "result.json").read_text())["records"]
                   for folder in (out, tmp_path / "straight")]
        strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
        assert strip(records[0]) == strip(records[1])
        assert any(r["lr"] < 0.5 * records[0][1]["lr"] for r in records[0])   # it dropped

    again = extend(run, out, "--lr-drops", 1, "--data", data_dir)     # OUT exists: refused
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr
    other = extend(run, out, "--lr-drops", 2, "--data", data_dir, "--resume")
    assert other.returncode == 2 and "other drops" in other.stderr
    absent = extend(run, tmp_path / "lstm-drop", "--lr-drops", 1, "--models", "lstm")
    assert absent.returncode == 2 and "--models: " in absent.stderr
    assert "has no lstm" in absent.stderr
    assert not (tmp_path / "lstm-drop").exists()


def test_a_folder_that_is_not_a_finished_run_is_refused(tmp_path):
    done = extend(tmp_path, tmp_path / "out", "--lr-drops", 1)
    assert done.returncode == 2 and "holds no results.json" in done.stderr
    done = extend(tmp_path, tmp_path / "out", "--lr-drops", 0)
    assert done.returncode == 2 and "--lr-drops: give at least 1" in done.stderr


def test_an_interrupted_candidate_is_taken_up_again_by_resume(tmp_path):
    """A candidate this script reopened and was interrupted in has stopped None in its last.pt:
    --resume must go on with it, not skip it as finished (nor one that was pruned)."""
    spec = importlib.util.spec_from_file_location("extend", ROOT / "runs" / "extend_with_drops.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for stopped, expected in (("early-stopping", True), (None, True), ("pruned", False),
                              ("max-epochs", False)):
        folder = tmp_path / str(stopped)
        folder.mkdir()
        torch.save({"state": {"stopped": stopped}}, folder / "last.pt")
        assert script.extendable(folder) is expected, stopped
    assert not script.extendable(tmp_path / "absent")
