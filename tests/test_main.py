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

from gru_lib import music, paper, speech  # noqa: E402
from gru_lib.__main__ import build_parser, main  # noqa: E402
from gru_lib.experiments.context import nll_with_context  # noqa: E402
from gru_lib.experiments.reproduce import BUDGETS, DATASETS  # noqa: E402
from gru_lib.music.task import MUSIC as MUSIC_TASK  # noqa: E402
from gru_lib.paper import KINDS as MODELS  # noqa: E402
from gru_lib.paper import TABLE2 as PAPER_TABLE2  # noqa: E402
from gru_lib.tasks import load_model  # noqa: E402
from gru_lib.training.checkpoints import save_checkpoint  # noqa: E402
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
    assert evaluated["trained_on"] == "jsb"
    # Both averages without step 0 too (the authors' code scores seq[1:]): other numbers.
    later = evaluated["from_step_1"]
    assert later["nll"] != pytest.approx(evaluated["nll"], rel=1e-4)
    assert later["piece_mean_nll"] != pytest.approx(evaluated["piece_mean_nll"], rel=1e-4)
    # The checkpoint records its data set: without --dataset it is scored on that one, and
    # another set is refused unless asked for on purpose.
    assert torch.load(ckpt, weights_only=True)["trained_on"] == {"dataset": "jsb",
                                                                  "key_range": "88"}
    assert main(["evaluate", "--checkpoint", str(ckpt), "--device", "cpu", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["nll"] == evaluated["nll"]
    assert main(["evaluate", "--checkpoint", str(ckpt), "--dataset", "nottingham"]) == 2
    assert "was trained on jsb, not nottingham" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(ckpt), "--dataset", "nottingham",
                 "--other-dataset"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("nottingham test (a model trained on jsb): ")
    assert "; from step 1 on (the authors' code never predicts step 0): " in line

    song = tmp_path / "song.mid"
    assert main(["sample", "--checkpoint", str(ckpt), "--steps", "16", "--out", str(song)]) == 0
    assert song.read_bytes()[:4] == b"MThd" and song.with_suffix(".wav").read_bytes()[:4] == b"RIFF"


def test_evaluate_backend_that_does_not_fit_the_cell_is_one_line(capsys, tmp_path):
    gru = music.make_model("gru", 88, 5, seed=0)
    save_checkpoint({"meta": gru.meta(), "model": gru.state_dict()}, tmp_path / "best.pt")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "best.pt"), "--dataset", "jsb",
                 "--backend", "scan"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: backend='scan' needs a recurrence linear in h") and "\n" not in err


@pytest.mark.skipif(not (MUSIC / "JSB_Chorales.mat").is_file(), reason="needs ../shared/data/music")
def test_evaluate_context_restarts_the_state_every_k_steps(capsys):
    """The committed JSB winner: --context 16 reports chapter 9's context-curve point beside the
    whole-piece metric, which it leaves unchanged."""
    root = Path(__file__).resolve().parents[1] / "data" / "results" / "jsb" / "paper"
    winner = json.loads((root / "results.json").read_text())["models"]["gru"]
    args = ["evaluate", "--checkpoint", str(root / winner["checkpoint"]), "--dataset", "jsb",
            "--data", str(MUSIC), "--device", "cpu"]
    assert main(args + ["--context", "16", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    model, _ = load_model(root / winner["checkpoint"])
    test = music.load_music("jsb", "test", folder=MUSIC, progress=False)
    assert report["context"] == 16
    assert report["context_nll"] == pytest.approx(nll_with_context(model, test, 16), rel=1e-9)
    assert report["nll"] == pytest.approx(winner["test_nll"], abs=1e-4)
    assert report["context_nll"] > report["nll"] + 0.1            # the past beyond 16 steps helps
    assert main(args + ["--context", "16"]) == 0
    assert "with the state restarted every 16 steps: " in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(args + ["--context", "0"])
    assert exit_.value.code == 2
    assert "argument --context: expected a positive integer, got '0'" in capsys.readouterr().err


def test_missing_checkpoint_is_a_clear_error(capsys, tmp_path):
    assert main(["evaluate", "--checkpoint", str(tmp_path / "nope.pt"), "--dataset", "jsb"]) == 2
    assert "nope.pt" in capsys.readouterr().err


@pytest.mark.skipif(not (MUSIC / "JSB_Chorales.mat").is_file(), reason="needs ../shared/data/music")
def test_reproduce_set_changes_the_training_recipe_and_is_recorded(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(MUSIC_TASK, "load_splits", fake_splits)
    out = tmp_path / "run"
    assert main(["reproduce", "--dataset", "jsb", "--models", "gru", "--budget", "quick",
                 "--device", "cpu", "--out", str(out), "--no-progress",
                 "--set", "weight_noise=0", "--set", "max_epochs=1", "--set", "noise_on=weights"]) == 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["overrides"] == {"weight_noise": 0, "max_epochs": 1, "noise_on": "weights"}
    assert saved["config"]["weight_noise"] == 0 and saved["config"]["max_epochs"] == 1
    assert saved["models"]["gru"]["epochs"] == 1
    pieces = saved["models"]["gru"]["piece_mean_nll"]          # the second average, every split
    assert set(pieces) == {"train", "valid", "test"} and all(v > 0 for v in pieces.values())


@pytest.mark.parametrize("setting, message", [
    ("colour=red", "expected FIELD=VALUE with FIELD one of rms_decay, "),
    # each candidate trains at its own rate: --set lr would be ignored, yet recorded
    ("lr=0.5", "lr is not a setting of a run"),
    ("weight_noise", "expected FIELD=VALUE"),
    ("seed=3", "expected FIELD=VALUE with FIELD one of"),        # --seed has its own option
])
def test_reproduce_set_rejects_unknown_fields_in_one_line(setting, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--dataset", "jsb", "--set", setting])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("rates, message", [
    ("1e-3,abc", "'abc' is not a number"), ("1e-3,-2e-3", "positive finite learning rates, got -0.002"),
    ("", "'' is not a number"), ("1e-3,1e-3", "each learning rate once"), ("1e-3,inf", "got inf"),
])
def test_reproduce_lrs_rejects_what_is_not_a_list_of_rates(rates, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--dataset", "jsb", "--lrs", rates])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_reproduce_params_must_be_a_positive_count(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--dataset", "jsb", "--params", "20k"])
    assert exit_.value.code == 2 and "expected a positive integer, got '20k'" in capsys.readouterr().err


@pytest.mark.parametrize("steps", ["-1", "ten", "2.5"])
def test_reproduce_chunk_must_be_a_whole_number_of_steps(steps, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--dataset", "jsb", "--chunk", steps])
    assert exit_.value.code == 2
    assert f"expected a whole number of steps, 0 or more, got '{steps}'" in capsys.readouterr().err


@pytest.mark.parametrize("bias", ["nan", "inf", "one"])
def test_reproduce_forget_bias_must_be_a_finite_number(bias, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--dataset", "jsb", "--forget-bias", bias])
    assert exit_.value.code == 2
    assert f"expected a finite number, e.g. 1.0, got '{bias}'" in capsys.readouterr().err


def test_reproduce_forget_bias_for_a_model_without_a_forget_gate_is_one_line(tmp_path, capsys):
    assert main(["reproduce", "--dataset", "jsb", "--budget", "quick", "--device", "cpu",
                 "--data", str(MUSIC), "--out", str(tmp_path / "r"), "--models", "gru,lstm",
                 "--forget-bias", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: forget_bias: 1 starts the LSTM's forget gate, and gru has none; train the LSTM "
        "in a run of its own (--models lstm)")
    assert not (tmp_path / "r").exists()


def test_reproduce_lrs_and_a_different_candidates_count_is_one_line(tmp_path, capsys):
    assert main(["reproduce", "--dataset", "jsb", "--budget", "quick", "--device", "cpu",
                 "--data", str(MUSIC), "--out", str(tmp_path / "r"), "--lrs", "1e-3,2e-3",
                 "--candidates", "3"]) == 2
    assert capsys.readouterr().err.strip() == ("error: candidates: 3, but 2 learning rates given "
                                               "(0.001, 0.002); give one or the other")
    assert not (tmp_path / "r").exists()


def test_reproduce_set_rejects_a_bad_value_in_one_line(tmp_path, capsys):
    assert main(["reproduce", "--dataset", "jsb", "--budget", "quick", "--device", "cpu",
                 "--data", str(MUSIC), "--out", str(tmp_path / "r"), "--set", "weight_noise=-1"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: TrainConfig.weight_noise must be a number in [0, 3.40282e+38], got -1"
    assert not (tmp_path / "r").exists()                          # nothing left behind


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
    helpers = {"_choice", "_model_list", "_whole_number", "_setting", "_learning_rates",
               "_finite_number", "build_parser", "main"}
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
    assert torch.load(best, weights_only=True)["trained_on"] == {"dataset": "fsdd",
                                                                  "key_range": None}
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


# -- issue 16: bad input never costs a user their files or a traceback ------------------------------
# Through the real command line (a subprocess): exit status, and stderr exactly one line that
# starts with "error:" (or "interrupted:"), never a traceback. Downloads are forbidden and the
# cache is a fresh temporary folder, so nothing is ever fetched.

def _cli(tmp_path, *args, timeout=300):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "GRU_LIB_OFFLINE": "1",
           "GRU_LIB_DATA": str(tmp_path / "cache"), "HOME": str(tmp_path), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "gru_lib", *map(str, args)], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=timeout)


def _one_line_error(done, *fragments, status=2, prefix="error:"):
    assert done.returncode == status, (done.returncode, done.stderr[-3000:])
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), done.stderr[-3000:]
    assert "Traceback" not in done.stderr + done.stdout
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _checkpoint(path, model, weights=None):
    from gru_lib.training.checkpoints import save_checkpoint
    save_checkpoint({"meta": model.meta(), "model": model.state_dict() if weights is None
                     else weights}, path)
    return path


def _music_checkpoint(path):
    return _checkpoint(path, MUSIC_TASK.build_model("gru", 88, seed=0))


def _speech_checkpoint(path):
    return _checkpoint(path, speech.SPEECH.build_model("gru", 10, seed=0, units=8))


QUICK = ("--budget", "quick", "--models", "gru", "--no-progress", "--threads", "1")


@pytest.mark.parametrize("name, suffix", [("JSB_Chorales.mat", ".mat"),
                                          ("jsb-chorales-quarter.pkl", ".pkl"),
                                          ("jsb-chorales-quarter.pkl", "")])   # by content
def test_data_may_be_the_users_own_file_under_any_name(data_dir, tmp_path, name, suffix):
    mine = tmp_path / f"my_copy{suffix}"
    mine.write_bytes((data_dir / name).read_bytes())
    out = tmp_path / "run"
    done = _cli(tmp_path, "reproduce", "--dataset", "jsb", "--data", mine, "--out", out,
                "--device", "cpu", *QUICK)
    assert done.returncode == 0, done.stderr[-3000:]
    best = out / json.loads((out / "results.json").read_text())["models"]["gru"]["checkpoint"]
    done = _cli(tmp_path, "evaluate", "--checkpoint", best, "--dataset", "jsb", "--data", mine,
                "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["steps"] > 0
    assert not (tmp_path / "cache" / name).exists()            # read in place, never copied


@pytest.mark.parametrize("name, content, said", [
    ("my_copy.pkl", b"just some text\n", "read as a pickle (by its suffix .pkl)"),
    ("my_copy.mat", b"just some text\n", "read as a MATLAB .mat file (by its suffix .mat)"),
    ("notes.txt", b"just some text\n", "neither a MATLAB 5 .mat file nor a pickle")])
def test_a_users_file_that_cannot_be_read_says_how_it_was_read(tmp_path, name, content, said):
    (tmp_path / name).write_bytes(content)
    _one_line_error(_cli(tmp_path, "evaluate", "--checkpoint", _music_checkpoint(tmp_path / "m.pt"),
                         "--dataset", "jsb", "--data", tmp_path / name), name, said)


def test_a_data_folder_without_the_files_lists_what_it_holds_and_what_is_expected(data_dir,
                                                                                 tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "my_copy.pkl").write_bytes((data_dir / "jsb-chorales-quarter.pkl").read_bytes())
    out = tmp_path / "run"
    line = _one_line_error(_cli(tmp_path, "reproduce", "--dataset", "jsb", "--data", folder,
                                "--out", out, "--device", "cpu", *QUICK),
                           "'my_copy.pkl'", "'JSB_Chorales.mat'", "'jsb-chorales-quarter.pkl'")
    assert "GRU_LIB_OFFLINE" not in line and "download" not in line.lower()   # no network try
    assert not out.exists()
    (folder / "notes.txt").write_text("hello")
    _one_line_error(_cli(tmp_path, "evaluate", "--checkpoint", _speech_checkpoint(tmp_path / "s.pt"),
                         "--dataset", "fsdd", "--data", folder),
                    "'notes.txt'", "recordings/", "free-spoken-digit-dataset")


def test_no_copy_of_the_data_is_one_line_that_names_data(tmp_path):
    out = tmp_path / "run"
    line = _one_line_error(_cli(tmp_path, "reproduce", "--dataset", "jsb", "--out", out,
                                "--device", "cpu", *QUICK), "JSB_Chorales.mat", "--data")
    assert "folder=<" not in line
    assert not out.exists()                                     # nothing left behind
    _one_line_error(_cli(tmp_path, "evaluate", "--checkpoint", _speech_checkpoint(tmp_path / "s.pt"),
                         "--dataset", "fsdd"), "--data")


def _foreign_pickle(path):
    import pickle
    path.write_bytes(pickle.dumps({"model": {1, 2}, "meta": Path("x")}))


def _foreign_torch_file(path):
    torch.save({"model": Path("x")}, path)        # a class torch's safe loader refuses


@pytest.mark.parametrize("make, said", [
    (lambda p: p.write_bytes(bytes(range(256)) * 8), "unrecognised bytes"),
    (lambda p: p.write_text("epoch,loss\n1,0.5\n"), "a text file"),
    (_foreign_pickle, "a Python pickle"),
    (_foreign_torch_file, "a zip archive")])
def test_a_checkpoint_that_is_not_one_is_a_clear_error(tmp_path, make, said):
    make(tmp_path / "best.pt")
    _one_line_error(_cli(tmp_path, "evaluate", "--checkpoint", tmp_path / "best.pt", "--dataset",
                         "jsb"), "best.pt", "is not a gru_lib checkpoint", said)


def test_a_checkpoint_whose_weights_do_not_fit_its_description_names_the_tensors(tmp_path):
    model = MUSIC_TASK.build_model("gru", 88, seed=0)
    other = MUSIC_TASK.build_model("gru", 88, seed=0, units=10)
    ckpt = _checkpoint(tmp_path / "best.pt", model, other.state_dict())
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", ckpt, "--out", tmp_path / "s.mid"),
                    "best.pt", "do not fit", "rnn.cell.weight_hh")
    assert not (tmp_path / "s.mid").exists()


def test_a_checkpoint_with_nan_weights_is_an_error_not_nan_nats(data_dir, tmp_path):
    model = MUSIC_TASK.build_model("gru", 88, seed=0)
    weights = model.state_dict()
    name = next(iter(weights))
    weights[name] = torch.full_like(weights[name], float("nan"))
    ckpt = _checkpoint(tmp_path / "best.pt", model, weights)
    _one_line_error(_cli(tmp_path, "evaluate", "--checkpoint", ckpt, "--dataset", "jsb", "--data",
                         data_dir), "non-finite", name)
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", ckpt, "--out", tmp_path / "s.mid"),
                    "non-finite", name)


def test_a_checkpoint_of_the_other_task_says_which_datasets_it_fits(tmp_path):
    _one_line_error(_cli(tmp_path, "evaluate", "--checkpoint", _speech_checkpoint(tmp_path / "s.pt"),
                         "--dataset", "jsb"), "holds a speech model", "fits the data set fsdd")
    _one_line_error(_cli(tmp_path, "evaluate", "--checkpoint", _music_checkpoint(tmp_path / "m.pt"),
                         "--dataset", "fsdd"), "holds a music model", "jsb", "piano-midi")


def test_sample_prime_that_does_not_exist_and_out_folder_that_does_not(tmp_path):
    music_ckpt, speech_ckpt = _music_checkpoint(tmp_path / "m.pt"), _speech_checkpoint(tmp_path / "s.pt")
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", music_ckpt, "--prime",
                         tmp_path / "nope.mid"), "prime: no such file", "nope.mid")
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", speech_ckpt, "--prime",
                         tmp_path / "nope.wav"), "prime: no such file", "nope.wav")
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", music_ckpt, "--out", tmp_path),
                    "is a folder")
    # --out in a folder that does not exist yet: the folder is created (documented in --help)
    song = tmp_path / "new" / "songs" / "song.mid"
    done = _cli(tmp_path, "sample", "--checkpoint", music_ckpt, "--steps", "8", "--out", song)
    assert done.returncode == 0, done.stderr[-3000:]
    assert song.read_bytes()[:4] == b"MThd" and song.with_suffix(".wav").is_file()
    wavfile.write(tmp_path / "mine.wav", 8000, (sine(8000) * 20000).astype(np.int16))
    voice = tmp_path / "new" / "voices" / "v.wav"
    done = _cli(tmp_path, "sample", "--checkpoint", speech_ckpt, "--prime", tmp_path / "mine.wav",
                "--prime-seconds", "0.1", "--seconds", "0.05", "--out", voice)
    assert done.returncode == 0, done.stderr[-3000:]
    assert voice.is_file() and voice.with_suffix(".png").is_file()


def test_sample_never_writes_over_a_file(tmp_path):
    """A user's file at --out (or at the WAV / PNG beside it), or the sample of an earlier run:
    refused before anything is computed, every byte left as it was."""
    music_ckpt, speech_ckpt = _music_checkpoint(tmp_path / "m.pt"), _speech_checkpoint(tmp_path / "s.pt")
    notes = tmp_path / "notes.md"
    notes.write_text("my notes")
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", music_ckpt, "--out", notes),
                    "'" + str(notes) + "' already exists", "never writes over a file")
    (tmp_path / "song.wav").write_bytes(b"my recording")       # beside the MIDI we would write
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", music_ckpt, "--out",
                         tmp_path / "song.mid"), "song.wav' already exists")
    assert not (tmp_path / "song.mid").exists()
    (tmp_path / "voice.png").write_bytes(b"my picture")        # beside the speech WAV
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", speech_ckpt, "--out",
                         tmp_path / "voice.wav"), "voice.png' already exists")
    assert not (tmp_path / "voice.wav").exists()
    first = tmp_path / "first.mid"
    assert _cli(tmp_path, "sample", "--checkpoint", music_ckpt, "--steps", "8", "--out",
                first).returncode == 0
    before = first.read_bytes(), first.with_suffix(".wav").read_bytes()
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", music_ckpt, "--steps", "8", "--seed",
                         "1", "--out", first), "already exist", "give another name")
    assert (first.read_bytes(), first.with_suffix(".wav").read_bytes()) == before
    assert notes.read_text() == "my notes" and (tmp_path / "song.wav").read_bytes() == b"my recording"
    # a music --out must name the MIDI file: "x.wav" would have been the MIDI, then the WAV
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", music_ckpt, "--out",
                         tmp_path / "take.wav"), "ends in .mid or .midi", "take.wav")
    assert not (tmp_path / "take.wav").exists()


def test_reproduce_out_must_be_a_new_or_empty_folder_or_a_run(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("my notes")
    _one_line_error(_cli(tmp_path, "reproduce", *QUICK, "--out", notes), "is a file")
    _one_line_error(_cli(tmp_path, "reproduce", *QUICK, "--out", notes / "run"),
                    "a part of its path is a file")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "results.json").write_text("{}")                    # someone else's results
    _one_line_error(_cli(tmp_path, "reproduce", *QUICK, "--out", mine),
                    "holds files but no run to resume")
    assert (mine / "results.json").read_text() == "{}" and sorted(mine.iterdir()) == [mine / "results.json"]
    assert notes.read_text() == "my notes"


def test_reproduce_params_below_one_unit_says_the_least(tmp_path):
    _one_line_error(_cli(tmp_path, "reproduce", *QUICK, "--params", "100", "--out", tmp_path / "r"),
                    "params: 100 is below the smallest gru", "give at least 270")
    assert not (tmp_path / "r").exists()


def test_prime_seconds_longer_than_the_prime_says_so(tmp_path):
    wavfile.write(tmp_path / "short.wav", 8000, (sine(8000) * 20000).astype(np.int16))   # 0.5 s
    _one_line_error(_cli(tmp_path, "sample", "--checkpoint", _speech_checkpoint(tmp_path / "s.pt"),
                         "--prime", tmp_path / "short.wav", "--prime-seconds", "2",
                         "--out", tmp_path / "v.wav"),
                    "prime_seconds", "short.wav is only 0.500 s long")
    assert not (tmp_path / "v.wav").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_missing_device_fails_first_and_leaves_nothing_behind(data_dir, tmp_path):
    out = tmp_path / "run"
    # before the data: here there is no data at all, and the device is what the user hears of
    _one_line_error(_cli(tmp_path, "reproduce", "--dataset", "jsb", "--device", "cuda", "--out",
                         out, *QUICK), "'cuda'", "no CUDA")
    assert not out.exists()
    _one_line_error(_cli(tmp_path, "reproduce", "--dataset", "jsb", "--device", "cuda", "--data",
                         data_dir, "--out", out, *QUICK), "'cuda'", "no CUDA", "--device")
    assert not out.exists()
    done = _cli(tmp_path, "reproduce", "--dataset", "jsb", "--device", "cpu", "--data", data_dir,
                "--out", out, *QUICK)                       # the corrected command starts as is
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "results.json").is_file()
    _one_line_error(_cli(tmp_path, "evaluate", "--checkpoint", _music_checkpoint(tmp_path / "m.pt"),
                         "--dataset", "jsb", "--device", "cuda"), "'cuda'", "no CUDA")


# Ctrl-C; pressed twice at once; again while the stop is under way (the second one once landed in
# a garbage-collector callback as "Exception ignored ... KeyboardInterrupt"); three times.
@pytest.mark.parametrize("signals,gap", [(1, 0.0), (2, 0.05), (2, 0.3), (3, 0.1)])
def test_ctrl_c_in_reproduce_is_one_line_and_status_130(data_dir, tmp_path, signals, gap):
    import os
    import signal
    import time
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "GRU_LIB_OFFLINE": "1",
           "GRU_LIB_DATA": str(tmp_path / "cache"), "HOME": str(tmp_path), "MPLBACKEND": "Agg",
           "PYTHONUNBUFFERED": "1"}
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "gru_lib", "reproduce", "--dataset", "jsb",
                             "--models", "gru", "--budget", "standard", "--data", str(data_dir),
                             "--out", str(out), "--device", "cpu", "--no-progress", "--threads",
                             "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, env=env)
    try:
        assert proc.stdout.readline().startswith("jsb: ")      # the data is loaded: training
        time.sleep(2.0)
        for _ in range(signals):
            proc.send_signal(signal.SIGINT)
            time.sleep(gap)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    _one_line_error(done, "run the same command with --resume", status=130, prefix="interrupted:")
    assert "Trial" not in stderr + stdout and "KeyboardInterrupt" not in stderr + stdout
    assert (out / "search.db").is_file()                       # the run is there to resume


def test_version_names_gru_lib_and_torch(tmp_path):
    import gru_lib

    done = _cli(tmp_path, "--version")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == f"gru_lib {gru_lib.__version__} (torch {torch.__version__})"


# -- a second audit: every option is checked before anything is sampled or written, and a path
# that cannot be written is one line naming it (in-process: main() returns the status)

def _only_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err + captured.out, captured.err
    return lines[0]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("out, said", [("/proc/gru_lib_sample.mid", "its folder '/proc'"),
                                       ("/proc/gru_lib_sample/s.mid", "'/proc/gru_lib_sample'")])
def test_sample_into_a_place_that_cannot_be_written_names_it(tmp_path, capsys, out, said):
    """Not the OS's complaint about our hidden temporary file ('/proc/.s.mid.x1y2.part')."""
    ckpt = _music_checkpoint(tmp_path / "m.pt")
    assert main(["sample", "--checkpoint", str(ckpt), "--steps", "4", "--out", out]) == 2
    line = _only_line(capsys)
    assert line.startswith("error:") and said in line and ".part" not in line


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_speech_sample_into_a_place_that_cannot_be_written_names_it(tmp_path, capsys):
    wavfile.write(tmp_path / "mine.wav", 8000, (sine(8000) * 20000).astype(np.int16))
    assert main(["sample", "--checkpoint", str(_speech_checkpoint(tmp_path / "s.pt")), "--prime",
                 str(tmp_path / "mine.wav"), "--seconds", "0.05", "--out", "/proc/sp.wav"]) == 2
    line = _only_line(capsys)
    assert "cannot write '/proc/sp.wav'" in line and ".part" not in line


def test_an_os_error_from_the_library_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    """The safety net: any OSError that reaches main() is reported like bad input."""
    def fails(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "s.mid"))
    monkeypatch.setattr("gru_lib.__main__.sample_checkpoint", fails)
    assert main(["sample", "--checkpoint", "x.pt", "--out", str(tmp_path / "s.mid")]) == 2
    assert "Permission denied" in _only_line(capsys)


@pytest.mark.parametrize("args, said", [
    (["--fs", "500"], "fs: expected a sample rate"),
    (["--tempo", "2"], "tempo: expected beats per minute in [3.5763, 1000]"),
    (["--tempo", "0.5", "--no-wav"], "16777215 µs"),
    (["--seed", "99999999999999999999"], "seed must be an integer in 0..9223372036854775807"),
    (["--steps", "100000000"], "steps: at most 100000 steps")])
def test_sample_checks_every_option_before_writing_anything(tmp_path, capsys, args, said):
    """A bad --fs used to be found after the MIDI file was written, and the corrected rerun was
    then refused for that file."""
    ckpt, song = _music_checkpoint(tmp_path / "m.pt"), tmp_path / "song.mid"
    assert main(["sample", "--checkpoint", str(ckpt), "--out", str(song), *args]) == 2
    assert said in _only_line(capsys)
    assert not song.exists() and not song.with_suffix(".wav").exists()
    assert main(["sample", "--checkpoint", str(ckpt), "--steps", "4", "--out", str(song)]) == 0


def test_sample_prime_with_no_note_on_the_models_keys_is_an_error(tmp_path, capsys):
    import pretty_midi
    low = pretty_midi.PrettyMIDI()
    low.instruments.append(pretty_midi.Instrument(0))
    low.instruments[0].notes.append(pretty_midi.Note(100, 10, 0.0, 1.0))    # below A0
    low.write(str(tmp_path / "low.mid"))
    assert main(["sample", "--checkpoint", str(_music_checkpoint(tmp_path / "m.pt")), "--prime",
                 str(tmp_path / "low.mid"), "--out", str(tmp_path / "s.mid")]) == 2
    assert "prime:" in (line := _only_line(capsys)) and "all 1 note(s) lie outside" in line \
        and "21..108" in line
    assert not (tmp_path / "s.mid").exists()


def test_speech_sample_options_are_named_as_on_the_command_line(tmp_path, capsys):
    ckpt = str(_speech_checkpoint(tmp_path / "s.pt"))
    wavfile.write(tmp_path / "mine.wav", 8000, (sine(8000) * 20000).astype(np.int16))
    prime = ["--prime", str(tmp_path / "mine.wav")]
    assert main(["sample", "--checkpoint", ckpt, *prime, "--prime-seconds", "0.001",
                 "--out", str(tmp_path / "v.wav")]) == 2
    assert "--prime-seconds" in (line := _only_line(capsys)) and "0.00375" in line
    # a speech sample is a WAV: "x.mid" would have written x.wav and x.png instead
    assert main(["sample", "--checkpoint", ckpt, *prime, "--out", str(tmp_path / "x.mid")]) == 2
    assert "ends in .wav" in _only_line(capsys)
    assert list(tmp_path.glob("x.*")) == []


def test_sample_options_of_the_other_task_are_refused_even_at_their_defaults(tmp_path, capsys):
    """The command line passes only the options given: a speech checkpoint with --steps 64 or
    --tempo 100 typed out (the music defaults) is refused, as is --seconds for music."""
    speech_ckpt = str(_speech_checkpoint(tmp_path / "s.pt"))
    music_ckpt = str(_music_checkpoint(tmp_path / "m.pt"))
    for ckpt, args, said in [(speech_ckpt, ["--steps", "64"], "steps (--steps) is for music"),
                             (speech_ckpt, ["--tempo", "100"], "tempo (--tempo) is for music"),
                             (speech_ckpt, ["--no-wav"], "wav (--no-wav) is for music"),
                             (music_ckpt, ["--seconds", "1"], "seconds (--seconds) is for speech"),
                             (music_ckpt, ["--clip", "0_george_0.wav"], "clip (--clip) is for "
                                                                         "speech")]:
        assert main(["sample", "--checkpoint", ckpt, *args, "--out",
                     str(tmp_path / "x")]) == 2, args
        assert said in _only_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "s.pt"]     # nothing written
    # none of them given: each sampler's own defaults (music: 64 steps, MIDI and WAV)
    assert main(["sample", "--checkpoint", music_ckpt, "--out", str(tmp_path / "d.mid")]) == 0
    capsys.readouterr()
    assert (tmp_path / "d.wav").is_file()
    import pretty_midi
    assert pretty_midi.PrettyMIDI(str(tmp_path / "d.mid")).get_end_time() <= 64 * 60 / 100 + 1e-6


def test_evaluate_refuses_a_key_range_for_speech(tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(_speech_checkpoint(tmp_path / "s.pt")),
                 "--dataset", "fsdd", "--key-range", "paper"]) == 2
    assert "has no key range" in _only_line(capsys)


def test_evaluate_says_clips_for_speech(capsys, monkeypatch):
    report = {"dataset": "fsdd", "split": "test", "nll": 1.0, "unit": "nats per time step",
              "steps": 10, "pieces": 3, "piece_mean_nll": 1.0}
    monkeypatch.setattr("gru_lib.__main__.evaluate_checkpoint", lambda *a, **k: report)
    assert main(["evaluate", "--checkpoint", "x.pt", "--dataset", "fsdd"]) == 0
    assert "mean over the 3 clips" in capsys.readouterr().out


def test_argparse_errors_are_one_line_and_help_still_shows_the_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--checkpoint", "x.pt", "--dataset", "jsbb"])
    assert exit_info.value.code == 2
    line = _only_line(capsys)
    assert line.startswith("python -m gru_lib evaluate: error: argument --dataset") \
        and line.endswith("(see --help)") and "usage:" not in line
    with pytest.raises(SystemExit) as exit_info:
        main(["sample", "--help"])
    assert exit_info.value.code == 0 and "usage:" in capsys.readouterr().out


def test_reproduce_set_help_names_where_trainconfig_is():
    """gru_lib.TrainConfig does not exist: the help names gru_lib.training.TrainConfig."""
    import gru_lib.training
    text = " ".join(build_parser()._subparsers._group_actions[0].choices["reproduce"]
                    .format_help().split())
    assert "gru_lib.training.TrainConfig" in text and hasattr(gru_lib.training, "TrainConfig")


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "--dataset", "jsb", "--storage", "sqlite:///", "--out", "{tmp}/r"],
     "in-memory database"),
    # (--context past 2**31 - 1 is now refused by argparse: test_count_options_have_an_upper_bound)
])
def test_reproduce_and_evaluate_refuse_in_one_line(argv, message, tmp_path, capsys):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


# -- a third audit: a huge count names its option; a folder, an unwritable --out, a tiny
# --seconds, a --prime or --data that is not what it should be: one line naming the option

@pytest.mark.parametrize("command, option, said", [
    ("reproduce", "--threads", "expected a positive integer, at most 2147483647 (2**31 - 1)"),
    ("reproduce", "--chunk", "expected a whole number of steps, at most 2147483647 (2**31 - 1)"),
    ("reproduce", "--candidates", "at most 2147483647"),
    ("reproduce", "--workers", "at most 2147483647"),
    ("reproduce", "--params", "expected a number of recurrent parameters, at most 1e+10"),
    ("evaluate", "--context", "at most 2147483647"),
    ("evaluate", "--batch-size", "at most 2147483647"),
    ("sample", "--steps", "at most 2147483647"),
    ("sample", "--fs", "at most 2147483647")])
def test_count_options_have_an_upper_bound(capsys, command, option, said):
    """--threads 10**23 was "error: Overflow when unpacking long long" (torch's, naming nothing),
    and --params 10**23 "budget must be a positive number of parameters" (as if --budget)."""
    required = {"evaluate": ["--checkpoint", "x.pt"], "sample": ["--checkpoint", "x.pt"]}
    with pytest.raises(SystemExit) as exit_info:
        main([command, *required.get(command, []), option, "100000000000000000000000"])
    assert exit_info.value.code == 2
    line = _only_line(capsys)
    assert line.startswith(f"python -m gru_lib {command}: error: argument {option}: ") \
        and said in line and "'100000000000000000000000'" in line and "budget" not in line
    # the largest is accepted, and --chunk 0 still keeps the pieces whole
    parser = build_parser()
    assert parser.parse_args(["reproduce", "--threads", "2147483647"]).threads == 2 ** 31 - 1
    assert parser.parse_args(["reproduce", "--params", "10000000000"]).params == 10 ** 10
    assert parser.parse_args(["reproduce", "--chunk", "0"]).chunk == 0


def test_a_folder_as_checkpoint_names_the_checkpoint_in_it(tmp_path, capsys):
    """It said "error: checkpoint: no such file 's1'" of a folder that is there."""
    _music_checkpoint(tmp_path / "run" / "gru" / "lr0" / "best.pt")
    assert main(["sample", "--checkpoint", str(tmp_path / "run" / "gru" / "lr0"), "--out",
                 str(tmp_path / "s.mid")]) == 2
    line = _only_line(capsys)
    assert line == (f"error: checkpoint: '{tmp_path}/run/gru/lr0' is a folder; give the checkpoint "
                    f"file in it, e.g. '{tmp_path}/run/gru/lr0/best.pt'")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_sample_out_that_cannot_be_written_names_out(tmp_path, capsys):
    """It said "path: ... its folder '/proc' cannot be written to (No such file or directory)"."""
    assert main(["sample", "--checkpoint", str(_music_checkpoint(tmp_path / "m.pt")), "--steps",
                 "4", "--out", "/proc/x.mid"]) == 2
    line = _only_line(capsys)
    assert line.startswith("error: out: cannot write '/proc/x.mid': its folder '/proc' cannot be "
                           "written to") and "No such file" not in line


def test_speech_sample_seconds_below_one_frame_prime_and_data_are_named(tmp_path, capsys):
    """--seconds 1e-9 wrote one 10-sample frame; a --prime that is no WAV and a --data that is
    no FSDD copy began with the file's path instead of the option."""
    ckpt = str(_speech_checkpoint(tmp_path / "s.pt"))
    wavfile.write(tmp_path / "mine.wav", 8000, (sine(8000) * 20000).astype(np.int16))
    prime = ["--prime", str(tmp_path / "mine.wav"), "--prime-seconds", "0.1"]
    assert main(["sample", "--checkpoint", ckpt, *prime, "--seconds", "1e-9", "--out",
                 str(tmp_path / "v.wav")]) == 2
    line = _only_line(capsys)
    assert line.startswith("error: seconds (--seconds): 1e-09 s is less than one frame") \
        and line.endswith("give at least 0.00125 s")
    (tmp_path / "notes.txt").write_text("my notes")
    assert main(["sample", "--checkpoint", ckpt, "--prime", str(tmp_path / "notes.txt"), "--out",
                 str(tmp_path / "v.wav")]) == 2
    assert _only_line(capsys).startswith(f"error: prime: {tmp_path}/notes.txt: not a readable WAV")
    assert main(["sample", "--checkpoint", ckpt, "--data", str(tmp_path / "notes.txt"), "--out",
                 str(tmp_path / "v.wav")]) == 2
    line = _only_line(capsys)
    assert line.startswith(f"error: data: {tmp_path}/notes.txt: not a readable tar.gz archive") \
        and "--data takes the whole FSDD" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.wav", "notes.txt", "s.pt"]
