"""Tests of runs/rounding_growth.py and of the file it wrote, which chapter 8 quotes: a
population member and the same candidate alone start as one run (float64, within rounding)
and drift apart as training goes on."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gru_lib.music.data import load_music

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "data" / "results" / "rounding_growth.json"


def script():
    spec = importlib.util.spec_from_file_location("rounding_growth",
                                                  ROOT / "runs" / "rounding_growth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_member_and_the_candidate_alone_are_one_run_within_rounding(data_dir):
    splits = load_music("nottingham", None, folder=data_dir, progress=False)
    train = [x.double() for x in splits["train"][:4]]
    valid = [x.double() for x in splits["valid"][:4]]
    report = script().drift(torch.float64, train, valid, epochs=1)
    start, after = report["epochs"]
    assert start["difference"] < 1e-12 and after["updates"] == 4
    assert after["difference"] < 1e-8                   # four updates: rounding, no more
    assert report["max_weight_difference"] < 1e-10


def test_the_committed_measurement_shows_the_drift_it_is_quoted_for():
    report = json.loads(COMMITTED.read_text())
    assert report["command"] == script().COMMAND
    for dtype in ("float64", "float32"):
        epochs = report[dtype]["epochs"]
        assert [e["epoch"] for e in epochs] == list(range(report["epochs"] + 1))
        assert epochs[0]["difference"] < 1e-6            # the same weights to start with
        assert epochs[-1]["difference"] > 1e3 * max(epochs[1]["difference"], 1e-12)
    assert report["float64"]["epochs"][1]["difference"] < 1e-6


@pytest.mark.parametrize("args", [["--pieces", "0"], ["--epochs", "-1"]])
def test_bad_arguments_are_one_line_and_status_2(args):
    done = subprocess.run([sys.executable, "runs/rounding_growth.py", *args], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "must be 1 or more" in done.stderr and "Traceback" not in done.stderr
