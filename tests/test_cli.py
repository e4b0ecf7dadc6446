"""python -m gru_lib: reproduce / evaluate / sample, help texts and input errors; and the
rules that keep the command line thin and generic code free of data set names."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gru_lib import tasks
from gru_lib.__main__ import build_parser, main
from gru_lib.experiments.reproduce import BUDGETS, DATASETS, Budget, budget_for, load_splits
from gru_lib.music.task import MUSIC as MUSIC_TASK
from gru_lib.paper import KINDS as MODELS
from gru_lib.paper import TABLE2 as PAPER_TABLE2

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


def test_load_splits_chunks_only_the_training_pieces():
    """Chunking cuts training pieces into consecutive <=100-step pieces; it loses no step and
    leaves validation and test whole (they are always scored on entire pieces)."""
    shared = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "music"
    if not shared.is_dir():
        pytest.skip("the shared data copies (../shared/data/music) are not here")
    whole = load_splits("nottingham", data=shared)
    cut = load_splits("nottingham", data=shared, chunk=100)
    assert sum(len(r) for r in cut["train"]) == sum(len(r) for r in whole["train"])
    assert max(len(r) for r in cut["train"]) == 100 < max(len(r) for r in whole["train"])
    assert torch.equal(torch.cat(cut["train"]), torch.cat(whole["train"]))
    assert [len(r) for r in cut["valid"]] == [len(r) for r in whole["valid"]]


# -----------------------------------------------------------------------------
# budgets, and the shape of the code


def test_budgets_are_dataclasses_and_a_task_may_set_its_own():
    assert all(isinstance(b, Budget) for b in BUDGETS.values())
    assert BUDGETS["paper"].candidates == 10 and BUDGETS["paper"].config["batch_size"] == 1
    assert budget_for("jsb", "standard") == BUDGETS["standard"]
    speech = budget_for("fsdd", "standard")          # FSDD's own standard budget
    assert speech.subset == (600, 300, 300) and speech.chunk is None
    assert speech.config["max_seconds"] == 60.0
    assert budget_for("fsdd", "quick") == BUDGETS["quick"]
    with pytest.raises(ValueError, match="budget: unknown 'huge'"):
        budget_for("jsb", "huge")
    with pytest.raises(ValueError, match="dataset: unknown 'bach'"):
        budget_for("bach", "quick")


GRU_LIB = Path(__file__).resolve().parents[1] / "gru_lib"
GENERIC = sorted((GRU_LIB / "training").glob("*.py")) + [
    GRU_LIB / "experiments" / "reproduce.py", GRU_LIB / "experiments" / "checkpoint_tools.py",
    GRU_LIB / "__main__.py"]


def _dataset_branches(tree):
    """Places where code compares with, or looks up by, a data set's name: (line, what)."""
    names = set(tasks.DATASETS)
    is_name = lambda node: isinstance(node, ast.Constant) and node.value in names   # noqa: E731
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for operand in operands:
                items = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
                if any(is_name(item) for item in items):
                    yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.Dict) and any(is_name(k) for k in node.keys if k is not None):
            yield node.lineno, "a dict keyed by data set names"
        elif isinstance(node, ast.Name) and node.id in ("is_speech", "is_music"):
            yield node.lineno, node.id
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" \
                and any(n in ast.unparse(node) for n in ("SpeechModel", "PianoRollModel")):
            yield node.lineno, ast.unparse(node)


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: str(p.relative_to(GRU_LIB)))
def test_generic_code_never_branches_on_a_dataset(path):
    """What differs between music and speech lives behind gru_lib.tasks: generic modules
    must not compare a data set's name (or test the model's class) to decide what to do."""
    source = path.read_text()
    found = list(_dataset_branches(ast.parse(source)))
    assert not found, f"{path.name} branches on a data set: {found}"
    assert "is_speech" not in source and "FSDD_BUDGETS" not in source


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
