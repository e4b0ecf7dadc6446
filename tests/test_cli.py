"""python -m gru_lib: reproduce / evaluate / sample, help texts and input errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gru_lib.__main__ as cli
import gru_lib.experiments.reproduce as reproduce_mod
from gru_lib.__main__ import build_parser, main
from gru_lib.experiments.reproduce import BUDGETS, DATASETS, MODELS
from gru_lib.paper import TABLE2 as PAPER_TABLE2

REPO = Path(__file__).resolve().parents[1]
MUSIC = REPO / ".." / "shared" / "data" / "music"


def fake_splits(dataset, key_range="88", data=None, subset=None, crop=None, chunk=None):
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
    monkeypatch.setattr(cli, "load_splits", fake_splits)
    monkeypatch.setattr(reproduce_mod, "load_splits", fake_splits)
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


def test_load_splits_chunks_only_the_training_pieces():
    """Chunking cuts training pieces into consecutive <=100-step pieces; it loses no step and
    leaves validation and test whole (they are always scored on entire pieces)."""
    from gru_lib.experiments.reproduce import load_splits
    shared = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "music"
    if not shared.is_dir():
        pytest.skip("the shared data copies (../shared/data/music) are not here")
    whole = load_splits("nottingham", data=shared)
    cut = load_splits("nottingham", data=shared, chunk=100)
    assert sum(len(r) for r in cut["train"]) == sum(len(r) for r in whole["train"])
    assert max(len(r) for r in cut["train"]) == 100 < max(len(r) for r in whole["train"])
    assert torch.equal(torch.cat(cut["train"]), torch.cat(whole["train"]))
    assert [len(r) for r in cut["valid"]] == [len(r) for r in whole["valid"]]
