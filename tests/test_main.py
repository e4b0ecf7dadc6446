"""Tests of gru_lib.__main__, the command line (python -m gru_lib): reproduce / evaluate / sample on
music and on FSDD, help texts and input errors; and the rule that keeps it argparse glue only."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from scipy.io import wavfile

matplotlib.use("Agg")  # no display in CI

from gru_lib import paper, speech  # noqa: E402
from gru_lib.__main__ import build_parser, main  # noqa: E402
from gru_lib.experiments.reproduce import BUDGETS, DATASETS  # noqa: E402
from gru_lib.music.task import MUSIC as MUSIC_TASK  # noqa: E402
from gru_lib.paper import KINDS as MODELS  # noqa: E402
from gru_lib.paper import TABLE2 as PAPER_TABLE2  # noqa: E402
from tests.speech.helpers import sine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MUSIC = REPO / ".." / "shared" / "data" / "music"


def fake_splits(dataset, data=None, key_range="88"):
    """Stands in for the music task's loader: 12/6/6 random sparse (T, 88) rolls."""
    g = torch.Generator().manual_seed(0)
    make = lambda n: [(torch.rand(int(L), 88, generator=g) < 0.05).float()   # noqa: E731
                      for L in torch.randint(5, 20, (n,), generator=g)]
    return {"train": make(12), "valid": make(6), "test": make(6)}


def test_help_explains_every_option(capsys):
    for command in ("reproduce", "evaluate", "sample"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        sub = build_parser()._subparsers._group_actions[0].choices[command]
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.option_strings[-1] in text
                assert action.help and len(action.help) > 10, action.dest
    main_help = subprocess.run([sys.executable, "-m", "gru_lib", "--help"], capture_output=True,
                               text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert main_help.returncode == 0 and "reproduce" in main_help.stdout


@pytest.mark.parametrize("args, valid", [
    (["--dataset", "bach"], DATASETS), (["--models", "gru,rnn"], MODELS),
    (["--budget", "huge"], tuple(BUDGETS))])
def test_unknown_names_list_the_valid_ones(capsys, args, valid):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert args[1].split(",")[-1] in err and all(name in err for name in valid)


def test_reproduce_evaluate_and_sample_end_to_end(tmp_path, monkeypatch, capsys):
    # Through the seam: reproduce and evaluate both load their data from the music task.
    monkeypatch.setattr(MUSIC_TASK, "load_splits", fake_splits)
    out = tmp_path / "run"
    argv = ["reproduce", "--dataset", "jsb", "--models", "gru,tanh", "--budget", "quick",
            "--device", "cpu", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["gru", "tanh"]
    for kind, r in results["models"].items():
        assert {"units", "params", "lr", "epochs", "updates", "seconds", "train_nll",
                "valid_nll", "test_nll"} <= set(r)
        assert r["units"] == {"gru": 46, "tanh": 100}[kind]
        assert r["epochs"] == 2 and r["updates"] == 2 * 3          # 12 pieces / batch 4
        assert 0 < r["test_nll"] < 88 * 0.7                        # below the coin-flip cost
        assert (out / r["checkpoint"]).is_file()
        assert len(r["candidates"]) == 2
        # The table shows the paper's Table 2 numbers and our difference to them.
        paper_test = PAPER_TABLE2["jsb"][kind][1]
        assert f"{paper_test:.2f}" in printed
        assert f"{r['test_nll'] - paper_test:+.2f}" in printed
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"

    # A second run into the same folder must be asked for explicitly...
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    # ...and with --resume it reuses the finished candidates (same numbers, no retraining).
    assert main(argv + ["--resume"]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["models"]["gru"]["test_nll"] == results["models"]["gru"]["test_nll"]

    ckpt = out / results["models"]["gru"]["checkpoint"]
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(ckpt), "--dataset", "jsb", "--split", "test",
                 "--device", "cpu", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["nll"] == pytest.approx(results["models"]["gru"]["test_nll"], rel=1e-6)

    song = tmp_path / "song.mid"
    assert main(["sample", "--checkpoint", str(ckpt), "--steps", "16", "--out", str(song)]) == 0
    assert song.read_bytes()[:4] == b"MThd" and song.with_suffix(".wav").read_bytes()[:4] == b"RIFF"


def test_missing_checkpoint_is_a_clear_error(capsys, tmp_path):
    assert main(["evaluate", "--checkpoint", str(tmp_path / "nope.pt"), "--dataset", "jsb"]) == 2
    assert "nope.pt" in capsys.readouterr().err


@pytest.mark.skipif(not (MUSIC / "JSB_Chorales.mat").is_file(), reason="needs ../shared/data/music")
def test_quick_reproduce_on_the_real_jsb_file(tmp_path, capsys):
    out = tmp_path / "jsb"
    assert main(["reproduce", "--dataset", "jsb", "--models", "lstm", "--budget", "quick",
                 "--device", "cpu", "--data", str(MUSIC), "--out", str(out), "--no-progress"]) == 0
    r = json.loads((out / "results.json").read_text())["models"]["lstm"]
    assert r["units"] == 36 and r["params"] == 4 * (36 * 88 + 36 * 36 + 36) + 3 * 36
    assert r["test_nll"] < 61.0                 # 88·log 2 = 61.0 nats is the untrained cost


GRU_LIB = Path(__file__).resolve().parents[1] / "gru_lib"


def test_the_command_line_is_argparse_only():
    """__main__.py: argument types, one cmd_* per command that calls the library and prints,
    build_parser and main. No other function, no class, no import inside a function."""
    tree = ast.parse((GRU_LIB / "__main__.py").read_text())
    helpers = {"_choice", "_model_list", "_positive_int", "build_parser", "main"}
    assert not [n for n in tree.body if isinstance(n, ast.ClassDef)]
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    for f in functions:
        assert f.name in helpers or f.name.startswith("cmd_"), f"{f.name} is not argparse glue"
        assert not [n for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))], f.name
    commands = [f for f in functions if f.name.startswith("cmd_")]
    assert {f.name for f in commands} == {"cmd_reproduce", "cmd_evaluate", "cmd_sample"}
    for f in commands:      # logic (loops, data handling) belongs in the library
        assert not [n for n in ast.walk(f) if isinstance(n, (ast.For, ast.While, ast.With))], f.name
        assert len(f.body) <= 8, f"{f.name} has {len(f.body)} statements: move logic to the library"


@pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)
def test_cli_reproduce_evaluate_and_sample_on_fsdd(fsdd_dir, tmp_path, capsys):
    from gru_lib.__main__ import main

    out = tmp_path / "run"
    assert main(["reproduce", "--dataset", "fsdd", "--budget", "quick", "--models", "tanh,gru",
                 "--out", str(out), "--data", str(fsdd_dir), "--no-progress", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Ubisoft A (a different, private corpus; for reference only)" in printed
    assert "CC BY-SA 4.0" in printed
    results = __import__("json").loads((out / "results.json").read_text())
    assert results["paper"] is None and results["paper_reference"]["Ubisoft B"]["gru"] == [0.38, 0.88]
    for kind in ("tanh", "gru"):
        r = results["models"][kind]
        assert r["units"] == paper.UNITS["speech"][kind]
        assert r["params"] == paper.PARAMS["speech"][kind]
        assert np.isfinite(r["test_nll"])
    best = out / results["models"]["gru"]["checkpoint"]
    assert main(["evaluate", "--checkpoint", str(best), "--dataset", "fsdd", "--split", "valid",
                 "--data", str(fsdd_dir), "--json"]) == 0
    report = __import__("json").loads(capsys.readouterr().out)
    assert report["steps"] == speech.step_count(speech.load_frames("valid", folder=fsdd_dir))
    # sample from a real test clip, and from a user's stereo 16 kHz WAV
    assert main(["sample", "--checkpoint", str(best), "--data", str(fsdd_dir), "--seconds", "0.1",
                 "--out", str(tmp_path / "s.wav")]) == 0
    rate, data = wavfile.read(tmp_path / "s.wav")
    assert rate == 8000 and data.dtype == np.int16 and len(data) == 2000 + 800
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    stereo = np.stack([sine(16000), sine(16000, freq=220)], axis=1)
    wavfile.write(tmp_path / "mine.wav", 16000, (stereo * 20000).astype(np.int16))
    assert main(["sample", "--checkpoint", str(best), "--prime", str(tmp_path / "mine.wav"),
                 "--prime-seconds", "0.1", "--seconds", "0.05", "--out", str(tmp_path / "m")]) == 0
    assert len(wavfile.read(tmp_path / "m.wav")[1]) == 800 + 400
    (tmp_path / "bad.wav").write_bytes(b"RIFF....")
    assert main(["sample", "--checkpoint", str(best), "--prime", str(tmp_path / "bad.wav")]) == 2
    assert "not a readable WAV file" in capsys.readouterr().err
