"""Tests of gru_lib.experiments.reproduce: the budgets, the loading of a data set's splits, and
the reproduction training each model's candidates as one population (files, study, resume,
divergence, extra worker processes)."""
import json
import os
import re
import shlex
import time
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from gru_lib.experiments import reproduce as reproduce_module
from gru_lib.experiments.reproduce import (
    BUDGETS,
    Budget,
    budget_for,
    format_table,
    load_splits,
    reproduce,
    training_backend,
)
from gru_lib.music.task import MUSIC
from gru_lib.nn.budget import task_units
from gru_lib.training.population import PopulationTrainer
from gru_lib.training.search import candidate_lrs
from gru_lib.training.trainer import TrainingInterrupted


def test_load_splits_chunks_only_the_training_pieces():
    """Chunking cuts training pieces into consecutive <=100-step pieces; it loses no step and
    leaves validation and test whole (they are always scored on entire pieces)."""
    shared = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "music"
    if not shared.is_dir():
        pytest.skip("the shared data copies (../shared/data/music) are not here")
    whole = load_splits("nottingham", data=shared)
    cut = load_splits("nottingham", data=shared, chunk=100)
    assert sum(len(r) for r in cut["train"]) == sum(len(r) for r in whole["train"])
    assert max(len(r) for r in cut["train"]) == 100 < max(len(r) for r in whole["train"])
    assert torch.equal(torch.cat(cut["train"]), torch.cat(whole["train"]))
    assert [len(r) for r in cut["valid"]] == [len(r) for r in whole["valid"]]


def test_budgets_are_dataclasses_and_a_task_may_set_its_own():
    assert all(isinstance(b, Budget) for b in BUDGETS.values())
    assert BUDGETS["paper"].candidates == 10 and BUDGETS["paper"].config["batch_size"] == 1
    assert budget_for("jsb", "standard") == BUDGETS["standard"]
    speech = budget_for("fsdd", "standard")          # FSDD's own standard budget
    assert speech.subset == (600, 300, 300) and speech.chunk is None
    assert speech.seconds_per_candidate == 60.0 and "max_seconds" not in speech.config
    # A population shares one clock: it gets the wall time the one-by-one search had.
    assert speech.train_config(4)["max_seconds"] == 4 * 60.0
    assert BUDGETS["standard"].train_config(4)["max_seconds"] == 4 * 30.0
    assert "max_seconds" not in BUDGETS["paper"].train_config(10)
    assert budget_for("fsdd", "quick") == BUDGETS["quick"]
    with pytest.raises(ValueError, match="budget: unknown 'huge'"):
        budget_for("jsb", "huge")
    with pytest.raises(ValueError, match="dataset: unknown 'bach'"):
        budget_for("bach", "quick")


def fake_splits(dataset, data=None, key_range="88"):
    """Stands in for the music task's loader: 12/6/6 random sparse (T, 88) rolls."""
    g = torch.Generator().manual_seed(0)
    make = lambda n: [(torch.rand(int(L), 88, generator=g) < 0.05).float()   # noqa: E731
                      for L in torch.randint(5, 20, (n,), generator=g)]
    return {"train": make(12), "valid": make(6), "test": make(6)}


def quick(out, models=("tanh", "gru"), **options):
    return reproduce("jsb", models=models, budget="quick", out=out, device="cpu",
                     progress=False, log=lambda line: None, **options)


def trials(out, kind):
    study = optuna.load_study(study_name=f"jsb-{kind}", storage=f"sqlite:///{out / 'search.db'}")
    return {t.user_attrs["candidate"]: t for t in study.trials if "candidate" in t.user_attrs
            and t.state != TrialState.FAIL or t.user_attrs.get("failure")}


def numbers(summary):
    keys = ("lr", "epochs", "best_epoch", "updates", "train_nll", "valid_nll", "test_nll",
            "checkpoint")
    return {kind: {k: r[k] for k in keys} | {"candidates": [
        {k: c[k] for k in ("candidate", "lr", "state", "value")} for c in r["candidates"]]}
        for kind, r in summary["models"].items()}


def test_quick_reproduce_trains_each_model_as_one_population(tmp_path, monkeypatch):
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    out = tmp_path / "run"
    summary = quick(out)
    saved = json.loads((out / "results.json").read_text())
    assert saved["population"] is True and saved["candidates"] == 2
    lrs = candidate_lrs(2, seed=0, stratified=True)
    for kind, r in saved["models"].items():
        assert r["population_seconds"] > 0 and r["lr"] in lrs
        assert r["checkpoint"] == f"{kind}/lr{lrs.index(r['lr'])}/best.pt"
        for c in range(2):                   # each member's files, where a solo run puts them
            run = out / kind / f"lr{c}"
            assert {"best.pt", "last.pt", "records.json", "records.csv", "result.json"} <= \
                {f.name for f in run.iterdir()}
        done = trials(out, kind)             # each candidate: one COMPLETE trial of the study
        assert sorted(done) == [0, 1] and all(t.state == TrialState.COMPLETE for t in done.values())
        assert [done[c].value for c in range(2)] == [row["value"] for row in r["candidates"]]
        # ...trained together: both trials name the same population
        assert done[0].user_attrs["population"] == done[1].user_attrs["population"]
        assert done[0].user_attrs["population"]["trials"] == [done[0].number, done[1].number]
    assert summary["models"] == saved["models"]


def test_an_interrupted_population_reproduce_resumes_and_reuses_finished_work(tmp_path,
                                                                               monkeypatch):
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    reference = quick(tmp_path / "whole")          # never interrupted
    update, calls = PopulationTrainer._update, []   # every update of the run loop goes through it

    def counted(self, rolls, lengths, stop_at=None, slow=0.0):
        calls.append(len(self.live))
        if len(calls) == stop_at:
            self.request_stop("test stop")         # as SIGINT would: last.pt saved, then raise
        time.sleep(slow)                           # the interrupted session's updates are slow
        return update(self, rolls, lengths)
    # Quick budget: 12 pieces / batch 4 = 3 updates an epoch, 2 epochs; tanh first, then gru.
    monkeypatch.setattr(PopulationTrainer, "_update",
                        lambda self, r, n: counted(self, r, n, stop_at=6 + 4, slow=0.4))
    out = tmp_path / "run"
    with pytest.raises(TrainingInterrupted):
        quick(out)
    assert all(t.state == TrialState.COMPLETE for t in trials(out, "tanh").values())
    monkeypatch.setattr(PopulationTrainer, "_update", lambda self, r, n: counted(self, r, n))
    resumed = quick(out, resume=True)
    assert calls[10:] == [2, 2]                    # only gru's last 2 updates run again
    assert numbers(resumed) == numbers(reference)
    # The population's wall time is its members' carried clock, not the resumed session's
    # (the search only timed the last 2 fast updates; the members' clocks carry 4 slow ones,
    # >= 1.6 s, far above what a loaded machine takes for the 2 fast ones): at least the
    # longest member's seconds.
    clocks = [json.loads((out / "gru" / f"lr{c}" / "result.json").read_text())["seconds"]
              for c in range(2)]
    session = trials(out, "gru")[0].user_attrs["population"]["seconds"]
    assert resumed["models"]["gru"]["population_seconds"] >= max(clocks)
    assert max(clocks) > session


def test_a_diverging_candidate_is_a_failed_trial_and_never_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    train_population = reproduce_module.train_population

    def poisoned(models, *args, **kwargs):         # candidate 1 of each model diverges
        with torch.no_grad():
            next(models[1].parameters()).fill_(float("nan"))
        return train_population(models, *args, **kwargs)
    monkeypatch.setattr(reproduce_module, "train_population", poisoned)
    out = tmp_path / "run"
    summary = quick(out, models=("gru",))
    r = summary["models"]["gru"]
    assert r["lr"] == candidate_lrs(2, seed=0, stratified=True)[0]
    assert r["checkpoint"] == "gru/lr0/best.pt"
    assert [c["state"] for c in r["candidates"]] == ["COMPLETE", "FAIL"]
    assert "nan" in r["candidates"][1]["failure"]
    failed = trials(out, "gru")[1]
    assert failed.state == TrialState.FAIL and "nan" in failed.user_attrs["failure"]
    assert (out / "gru" / "lr1" / "failed.json").is_file()


def test_two_worker_processes_give_the_same_results(tmp_path, monkeypatch):
    """--workers 2: a spawned worker trains gru while this process trains tanh (made to wait
    until the worker has taken gru's candidates), and results.json has the same numbers."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    one = quick(tmp_path / "one")
    out = tmp_path / "two"
    train_population = reproduce_module.train_population

    def after_the_worker_took_gru(models, *args, **kwargs):   # this process only (not spawned)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                study = optuna.load_study(study_name="jsb-gru",
                                          storage=f"sqlite:///{out / 'search.db'}")
                if study.trials and not [t for t in study.trials if t.state == TrialState.WAITING]:
                    break
            except KeyError:                                  # not created yet
                pass
            time.sleep(0.1)
        return train_population(models, *args, **kwargs)
    monkeypatch.setattr(reproduce_module, "train_population", after_the_worker_took_gru)
    two = quick(out, workers=2)
    assert numbers(two) == numbers(one)
    assert json.loads((out / "results.json").read_text())["models"].keys() == {"tanh", "gru"}
    where = {kind: {t.user_attrs["population"]["worker"] for t in trials(out, kind).values()}
             for kind in ("tanh", "gru")}
    assert where["tanh"] == {f"{os.uname().nodename}:{os.getpid()}"}
    assert len(where["gru"]) == 1 and where["gru"] != where["tanh"]    # the other process


def test_quick_reproduce_trains_the_minimal_units_and_stacks(tmp_path, monkeypatch):
    """mingru, minlstm and a stack at the music budget, with the budget's own weight noise (on
    the recurrent layers: W alone, the minimal cells have no U); Table 2 has no numbers for
    them ('-')."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    summary = reproduce("jsb", models=["mingru", "minlstm-2"], budget="quick", out=tmp_path / "r",
                        device="cpu", progress=False, log=lambda line: None)
    mingru, stacked = summary["models"]["mingru"], summary["models"]["minlstm-2"]
    assert mingru["units"] == 112 and mingru["params"] == 19_936
    assert stacked["units"] == 48 and stacked["params"] == 19_872
    assert (tmp_path / "r" / "minlstm-2" / "lr0" / "best.pt").is_file()
    row = next(line for line in format_table(summary).splitlines() if line.startswith("mingru "))
    assert row.split("|")[1].split() == ["-", "-"] and row.split("|")[2].split() == ["-", "-"]


@pytest.mark.parametrize("models,message", [(["mingru-0"], "optionally with -L"),
                                            (["gru", "gru"], "each model once"),
                                            ("gru,gru", "each model once"),
                                            ("", "at least one")])
def test_reproduce_refuses_bad_model_names(tmp_path, models, message):
    with pytest.raises(ValueError, match=message):
        reproduce("jsb", models=models, budget="quick", out=tmp_path / "r", device="cpu",
                  progress=False, log=lambda line: None)


def test_a_key_range_for_speech_is_refused(tmp_path):
    with pytest.raises(ValueError, match="key_range: fsdd is speech and has no keys"):
        reproduce("fsdd", models=["gru"], budget="quick", out=tmp_path / "r", device="cpu",
                  key_range="paper", progress=False, log=lambda line: None)
    assert not (tmp_path / "r").exists()


def test_models_may_be_given_as_the_command_line_writes_them(tmp_path, monkeypatch):
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    assert list(quick(tmp_path / "r", models="tanh, gru")["models"]) == ["tanh", "gru"]


def test_orthogonal_recurrent_init_reaches_the_models_and_the_results(tmp_path, monkeypatch):
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    out = tmp_path / "r"
    summary = reproduce("jsb", models=["gru"], budget="quick", out=out, device="cpu",
                        recurrent_init="orthogonal", progress=False, log=lambda line: None)
    assert summary["recurrent_init"] == "orthogonal"
    ckpt = torch.load(out / "gru" / "lr0" / "best.pt", weights_only=True)
    assert ckpt["meta"]["cell_options"] == {"recurrent_init": "orthogonal"}
    with pytest.raises(ValueError, match="mingru has none"):
        reproduce("jsb", models=["gru", "mingru"], budget="quick", out=tmp_path / "m",
                  device="cpu", recurrent_init="orthogonal", progress=False,
                  log=lambda line: None)
    assert not (tmp_path / "m").exists()


def test_a_forget_bias_starts_every_lstm_candidate_and_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    out = tmp_path / "r"
    summary = reproduce("jsb", models=["lstm"], budget="quick", out=out, device="cpu",
                        forget_bias=1, progress=False, log=lambda line: None)
    assert summary["forget_bias"] == 1.0 and "--forget-bias 1.0" in summary["command"]
    assert json.loads((out / "run.json").read_text())["forget_bias"] == 1.0
    for candidate in ("lr0", "lr1"):
        ckpt = torch.load(out / "lstm" / candidate / "best.pt", weights_only=True)
        assert ckpt["meta"]["cell_options"] == {"forget_bias": 1.0}
    # the model rebuilt from its meta starts its forget gate at the bias (before training)
    from gru_lib.music.model import make_model
    cell = make_model("lstm", 88, 4, forget_bias=1.0).rnn.cell
    assert torch.all(cell.block(cell.bias, "forget") == 1.0)
    assert torch.all(cell.block(cell.bias, "input") == 0.0)
    assert quick(tmp_path / "d", models=("lstm",))["forget_bias"] == 0.0
    for bad in (float("nan"), "1", True, 10**400, 101):
        with pytest.raises(ValueError, match=r"forget_bias must be a number in \[-100, 100\]"):
            quick(tmp_path / "b", models=("lstm",), forget_bias=bad)
    with pytest.raises(ValueError, match="tanh has none; train the LSTM in a run of its own"):
        quick(tmp_path / "b", models=("lstm", "tanh"), forget_bias=0.5)
    assert not (tmp_path / "b").exists()


def test_hand_chosen_learning_rates_train_and_are_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    summary = quick(tmp_path / "r", models=("gru",), lrs=[2e-3, 4e-4, 1e-2])
    assert summary["lrs"] == [2e-3, 4e-4, 1e-2] and summary["candidates"] == 3
    assert [c["lr"] for c in summary["models"]["gru"]["candidates"]] == [2e-3, 4e-4, 1e-2]
    saved = json.loads((tmp_path / "r" / "results.json").read_text())
    assert saved["lrs"] == summary["lrs"] and quick(tmp_path / "d", models=("gru",))["lrs"] is None
    with pytest.raises(ValueError, match="candidates: 2, but 3 learning rates"):
        quick(tmp_path / "c", models=("gru",), lrs=[2e-3, 4e-4, 1e-2], candidates=2)
    assert not (tmp_path / "c").exists()


def test_a_parameter_budget_sizes_every_model_and_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    summary = quick(tmp_path / "r", models=("tanh", "gru"), params=30_000)
    assert summary["params_budget"] == 30_000
    sizes = {kind: (m["units"], m["params"]) for kind, m in summary["models"].items()}
    assert sizes == {"tanh": (134, 29_882), "gru": (65, 30_030)}
    assert quick(tmp_path / "d", models=("gru",))["models"]["gru"]["units"] == 46   # Table 1
    with pytest.raises(ValueError, match="params must be a positive integer"):
        quick(tmp_path / "z", models=("gru",), params=0)
    assert not (tmp_path / "z").exists()


def test_a_chunk_length_replaces_the_budgets_and_is_recorded(tmp_path, monkeypatch):
    """--chunk: the training pieces cut into pieces of at most N steps (more, shorter updates
    per epoch: the pieces here are 5-19 steps long), recorded with the command; 0 keeps them
    whole, like the budget's own (quick: no chunks)."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    whole = quick(tmp_path / "w", models=("gru",))
    cut = quick(tmp_path / "c", models=("gru",), chunk=4)
    kept = quick(tmp_path / "k", models=("gru",), chunk=0)
    assert (whole["chunk"], cut["chunk"], kept["chunk"]) == (None, 4, None)
    assert "--chunk 4" in cut["command"] and "--chunk 0" in kept["command"]
    assert "--chunk" not in whole["command"]
    assert numbers(kept) == numbers(whole)
    assert cut["models"]["gru"]["updates"] > whole["models"]["gru"]["updates"]
    lrs = lambda summary: [c["lr"] for c in summary["models"]["gru"]["candidates"]]  # noqa: E731
    assert lrs(cut) == lrs(whole)                                 # the same candidates
    assert numbers(cut)["gru"]["valid_nll"] != numbers(whole)["gru"]["valid_nll"]
    with pytest.raises(ValueError, match="chunk must be a non-negative integer"):
        quick(tmp_path / "z", models=("gru",), chunk=-1)
    assert not (tmp_path / "z").exists()


def test_results_record_the_command_that_makes_them_again(tmp_path, monkeypatch):
    from gru_lib.__main__ import main
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    monkeypatch.chdir(tmp_path)
    first = quick("first", models=("gru",), lrs=[2e-3, 4e-4], seed=3, data="music",
                  overrides={"weight_noise": 0.0, "noise_on": "weights"}, key_range="paper")
    command = first["command"]
    assert command == ("python -m gru_lib reproduce --dataset jsb --budget quick --models gru "
                       "--data music --out first --key-range paper --seed 3 --lrs 0.002,0.0004 "
                       "--set weight_noise=0.0 --set noise_on=weights")
    argv = shlex.split(command.replace("--out first", "--out again"))[3:]
    assert main(argv + ["--device", "cpu", "--no-progress"]) == 0
    again = json.loads(Path("again/results.json").read_text())
    assert again["command"] == command.replace("--out first", "--out again")
    assert numbers(again) == numbers(first)
    # An absolute path is no one else's: left out (the cache and the default --out instead).
    elsewhere = quick(tmp_path / "abs", models=("gru",), data=tmp_path / "music")["command"]
    assert elsewhere == "python -m gru_lib reproduce --dataset jsb --budget quick --models gru"


def test_training_backend_follows_the_population_benchmark():
    """On a CPU the minimal units, one layer or stacked, train on the hand-written backward of
    their linear recurrence, except the speech budget's wide layers in batches, which train on
    the loop; everything else, and every accelerator, on "auto"."""
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    music, speech = task_units("music", "mingru"), task_units("speech", "minlstm")
    assert training_backend("mingru", cpu, 1, music) == "bptt"
    assert training_backend("mingru-2", cpu, 16, music) == "bptt"
    assert training_backend("minlstm-3", cpu, 1, speech) == "bptt"
    assert training_backend("minlstm", cpu, 16, speech) == "python"
    assert training_backend("gru", cpu, 16, 46) == training_backend("mingru", cuda, 1, music) == "auto"


def test_reproduce_records_the_backend_each_model_trained_on(tmp_path, monkeypatch):
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    summary = reproduce("jsb", models=["mingru", "minlstm", "gru"], budget="quick",
                        out=tmp_path / "r", device="cpu", progress=False, log=lambda line: None)
    backends = {kind: m["backend"] for kind, m in summary["models"].items()}
    assert backends == {"mingru": "bptt", "minlstm": "bptt", "gru": "auto"}


# -- a run's settings (run.json), checked on --resume -------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished quick gru run on the fake data, shared by the refusals below (a refusal
    writes nothing, which each test checks)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MUSIC, "load_splits", fake_splits)
        out = tmp_path_factory.mktemp("finished") / "run"
        quick(out, models=("gru",))
    return out


def folder_state(out):
    """Every file under out with its bytes: what a refused resume must leave as it was."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("options,message", [
    (dict(dataset="nottingham"), "--dataset jsb (you gave nottingham)"),
    (dict(overrides={"weight_noise": 0}), "--set weight_noise=0.075 (you gave 0)"),
    (dict(params=30_000), "--params none (the task's sizes) (you gave 30000)"),
    (dict(chunk=5), "--chunk 0 (whole pieces) (you gave 5)"),
    (dict(recurrent_init="orthogonal"), "--recurrent-init uniform (you gave orthogonal)"),
    (dict(models=["lstm"], forget_bias=1.0), "--forget-bias 0.0 (you gave 1.0)"),
    (dict(seed=3), "--seed 0 (you gave 3)"),
    (dict(budget="standard"), "--budget quick (you gave standard)"),
    (dict(candidates=3), "--candidates 2 (you gave 3)"),
    (dict(lrs=[1e-3, 2e-3]), "--lrs none (drawn) (you gave 0.001,0.002)"),
    (dict(key_range="paper"), "--key-range 88 (you gave paper)"),
])
def test_resume_refuses_settings_the_run_was_not_trained_with(finished_run, monkeypatch, options,
                                                              message):
    """Each setting that decides what is trained, given differently on --resume, is refused in
    one message naming the option, the run's value and the given one -- before anything is
    read or written (the run's results, study and checkpoints stay exactly as they were)."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    before = folder_state(finished_run)
    options = {"dataset": "jsb", "budget": "quick", "models": ["gru"], **options}
    with pytest.raises(ValueError, match=r"--resume: .* was trained with .*" + re.escape(message)
                       + ".*give the same options to continue it, or a new --out"):
        reproduce(out=finished_run, device="cpu", progress=False,
                  log=lambda line: None, resume=True, **options)
    assert folder_state(finished_run) == before


def test_resume_accepts_options_that_train_the_same_run(tmp_path, monkeypatch):
    """What run.json compares is what is trained: the budget's own values given by hand
    (--candidates 2, --chunk 0, --set weight_noise=0.075) are the same run, resumed as such."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    first = quick(tmp_path / "r", models=("gru",))
    again = quick(tmp_path / "r", models=("gru",), resume=True, candidates=2, chunk=0,
                  overrides={"weight_noise": 0.075})
    assert numbers(again) == numbers(first)


def test_resuming_another_data_sets_run_is_refused_on_the_real_data(tmp_path):
    """The audit's case, at the command line on the real data: a JSB run resumed as
    Nottingham stops with one line and status 2, and its results.json is still JSB's (it was
    rewritten as Nottingham's, with the JSB model scored on Nottingham)."""
    from gru_lib.__main__ import main
    data = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "music"
    if not data.is_dir():
        pytest.skip("the shared data copies (../shared/data/music) are not here")
    out = tmp_path / "base"
    common = ["--budget", "quick", "--data", str(data), "--out", str(out), "--device", "cpu",
              "--no-progress"]
    assert main(["reproduce", "--dataset", "jsb", "--models", "gru,lstm"] + common) == 0
    before = folder_state(out)
    assert main(["reproduce", "--dataset", "nottingham", "--models", "gru", "--resume"]
                + common) == 2
    assert folder_state(out) == before
    assert json.loads((out / "results.json").read_text())["dataset"] == "jsb"


def test_a_run_made_before_run_json_resumes_and_is_checked_from_its_own_files(tmp_path,
                                                                              monkeypatch):
    """A run folder written by older code has no run.json (runs/paper_queue.sh resumes such
    folders). Its settings are read from results.json, or, before that is written, from the
    study names in search.db and the candidates' checkpoints; a resume with the same options
    works and writes run.json, one with others is refused."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    out = tmp_path / "old"
    first = quick(out, models=("gru",))
    (out / "run.json").unlink()                       # as older code left it
    with pytest.raises(ValueError, match=r"--dataset jsb \(you gave nottingham\)"):
        reproduce("nottingham", models=["gru"], budget="quick", out=out, device="cpu",
                  progress=False, log=lambda line: None, resume=True)
    (out / "results.json").unlink()                   # stopped before its results: the study
    (out / "curves.png").unlink()                     # and the checkpoints say
    with pytest.raises(ValueError, match=r"--dataset jsb \(you gave nottingham\)"):
        reproduce("nottingham", models=["gru"], budget="quick", out=out, device="cpu",
                  progress=False, log=lambda line: None, resume=True)
    with pytest.raises(ValueError, match=r"--set weight_noise=0.075 \(you gave 0\)"):
        quick(out, models=("gru",), resume=True, overrides={"weight_noise": 0})
    with pytest.raises(ValueError, match=r"--seed 0 \(you gave 3\)"):
        quick(out, models=("gru",), resume=True, seed=3)
    with pytest.raises(ValueError, match=r"hidden_size=46 \(these options give 65: --params\)"):
        quick(out, models=("gru",), resume=True, params=30_000)
    assert not (out / "run.json").exists()            # a refusal writes nothing
    again = quick(out, models=("gru",), resume=True)
    assert numbers(again) == numbers(first)
    assert json.loads((out / "run.json").read_text())["dataset"] == "jsb"


def test_resuming_with_fewer_models_keeps_the_others_results(tmp_path, monkeypatch):
    """--models gru --resume on a gru+lstm run keeps lstm's entry and curve; one model per
    command, then all of them (runs/paper_queue.sh's per-model jobs and its assemble job), ends
    with the numbers of one command that trains them all."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    both = quick(tmp_path / "both", models=("gru", "lstm"))
    plotted = []
    monkeypatch.setattr(reproduce_module, "plot_curves",
                        lambda curves, path, title: plotted.append(list(curves)))
    again = quick(tmp_path / "both", models=("gru",), resume=True)
    saved = json.loads((tmp_path / "both" / "results.json").read_text())
    assert list(saved["models"]) == ["gru", "lstm"] and plotted[-1] == ["gru", "lstm"]
    assert saved["models"]["lstm"] == both["models"]["lstm"] == again["models"]["lstm"]
    assert "--models gru,lstm" in saved["command"]
    # the queue: one job per model on one --out, then the assemble job with all of them
    out = tmp_path / "queue"
    quick(out, models=("gru",), resume=True)
    assert list(quick(out, models=("lstm",), resume=True)["models"]) == ["lstm", "gru"]
    assembled = quick(out, models=("gru", "lstm"), resume=True)
    assert list(assembled["models"]) == ["gru", "lstm"]
    assert numbers(assembled) == numbers(both)
    assert assembled["command"] == both["command"].replace("both", "queue")


def test_a_seed_beyond_64_bits_is_refused_before_anything_is_written(tmp_path):
    for seed in (2**63, 99999999999999999999, -1):
        with pytest.raises(ValueError, match=r"seed must be an integer in 0\.\.9223372036854775807"):
            quick(tmp_path / "r", models=("gru",), seed=seed)
    assert not (tmp_path / "r").exists()


def test_learning_rates_above_one_are_refused(tmp_path):
    with pytest.raises(ValueError, match="lrs: 5 is above 1"):
        quick(tmp_path / "r", models=("gru",), lrs=[5, 1e6])
    assert not (tmp_path / "r").exists()


def test_an_out_folder_that_cannot_be_created_is_a_clear_error(tmp_path, monkeypatch):
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc here (Linux only)")
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    with pytest.raises(ValueError, match=r"out: cannot create the folder '/proc/x'"):
        quick("/proc/x", models=("gru",))


def test_a_storage_that_is_a_users_database_is_refused_and_left_alone(tmp_path, monkeypatch):
    """--storage naming the user's own SQLite file: refused (the search would add its tables
    to it), the file unchanged, and the run folder the start made removed again."""
    import sqlite3
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    mine = tmp_path / "mydb.sqlite"
    with sqlite3.connect(mine) as con:
        con.execute("CREATE TABLE songs (title TEXT)")
    con.close()
    before = mine.read_bytes()
    with pytest.raises(ValueError, match="is a SQLite database of something else"):
        quick(tmp_path / "r", models=("gru",), storage=f"sqlite:///{mine}")
    assert mine.read_bytes() == before
    assert not (tmp_path / "r").exists()


def test_storage_does_not_skip_the_check_of_a_folder_that_holds_no_run(tmp_path, monkeypatch):
    """OUT holding the user's files but no run: refused with --storage too (results.json and
    curves.png would be written over); a shared external study still starts on a new OUT."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    out = tmp_path / "v1"
    out.mkdir()
    (out / "results.json").write_text("x")
    with pytest.raises(ValueError, match=r"holds files but no run to resume .*new or empty"):
        quick(out, models=("gru",), storage=f"sqlite:///{tmp_path / 'v1.db'}")
    assert [p.name for p in out.iterdir()] == ["results.json"]
    assert (out / "results.json").read_text() == "x"
    # another machine's new OUT joining the same external study works, then resumes
    quick(tmp_path / "other", models=("gru",), storage=f"sqlite:///{tmp_path / 'v1.db'}")
    quick(tmp_path / "other", models=("gru",), storage=f"sqlite:///{tmp_path / 'v1.db'}",
          resume=True)


def test_a_legacy_run_resumed_with_storage_is_checked_against_its_own_search_db(tmp_path,
                                                                                monkeypatch):
    """A run from before run.json (no run.json, no results.json) resumed with --storage naming
    its own OUT/search.db on another --dataset: its study names still say jsb."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    out = tmp_path / "old"
    quick(out, models=("gru",))
    for name in ("run.json", "results.json", "curves.png"):
        (out / name).unlink()
    with pytest.raises(ValueError, match=r"--dataset jsb \(you gave nottingham\)"):
        reproduce("nottingham", models=["gru"], budget="quick", out=out, device="cpu",
                  progress=False, log=lambda line: None, resume=True,
                  storage=f"sqlite:///{out / 'search.db'}")
    assert not (out / "run.json").exists()


def test_a_learning_rate_override_is_refused_pointing_to_lrs(tmp_path):
    """Each candidate trains at its own rate: lr in the overrides would be ignored, yet
    recorded as if used."""
    with pytest.raises(ValueError, match=r"overrides: 'lr' .*--lrs.*--candidates"):
        quick(tmp_path / "r", models=("gru",), overrides={"lr": 0.5})
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("storage", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_storage_is_refused_naming_a_file(tmp_path, storage):
    with pytest.raises(ValueError, match=r"in-memory database.*give a file"):
        quick(tmp_path / "r", models=("gru",), storage=storage)
    assert not (tmp_path / "r").exists()


def test_more_workers_than_models_are_capped_and_said(tmp_path, monkeypatch):
    """--workers 1000 for one model would spawn 999 processes with nothing to do."""
    monkeypatch.setattr(MUSIC, "load_splits", fake_splits)
    started, lines = [], []
    monkeypatch.setattr(reproduce_module, "_search_all",
                        lambda search, models, workers, log: started.append(workers)
                        or (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        reproduce("jsb", models=["gru"], budget="quick", out=tmp_path / "r", device="cpu",
                  progress=False, log=lines.append, workers=1000)
    assert started == [1]
    assert any("workers: 1000 asked, 1 used" in line for line in lines)


def test_an_interrupted_worker_process_exits_quietly(monkeypatch, capsys):
    """Ctrl-C reaches the worker processes too: each exits with a status, no traceback (the
    main process prints the one line)."""
    class Interrupted:
        def run(self, kind, wait, log):
            raise TrainingInterrupted("stopped", None)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)   # this process's stays
    with pytest.raises(SystemExit) as exit_:
        reproduce_module._worker(Interrupted(), ["gru"], 1, 1)
    assert exit_.value.code == 130
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("options, message", [
    (dict(candidates=10**23), r"candidates: 100000000000000000000000 learning rates .* at most 1000"),
    (dict(lrs=[1e-4 * (1 + i / 2000) for i in range(1001)]),
     r"candidates: 1001 learning rates .* at most 1000"),
    (dict(params=10**23), r"params: 100000000000000000000000 recurrent parameters is more than "
                          r"the 1e\+10"),
    (dict(candidates=0), r"candidates must be a positive"),
    (dict(device="meta"), r"device: 'meta' is a torch device type gru_lib does not run on")])
def test_a_population_that_cannot_train_is_refused_before_anything_is_written(tmp_path, options,
                                                                           message):
    """--candidates 10**23 started and spun forever; candidates=0 silently used the budget's;
    --device meta was a traceback after run.json and search.db were written."""
    with pytest.raises(ValueError, match=message):
        reproduce("jsb", ["gru"], "quick", tmp_path / "run", **options)
    assert not (tmp_path / "run").exists()


def test_a_population_larger_than_the_devices_memory_is_refused(tmp_path, monkeypatch):
    """--params 1000000000 asked the machine for tens of GB: a traceback, or the OOM killer."""
    monkeypatch.setattr(reproduce_module, "device_memory", lambda device: 2**30)   # 1 GiB
    with pytest.raises(ValueError, match=r"params: 4 candidates of the [\d,]+-parameter gru train "
                                         r"at once and need at least 1\.\d GiB, more than the "
                                         r"1\.0 GiB this cpu device has; .*--params.*--candidates"):
        reproduce("jsb", ["gru"], "quick", tmp_path / "run", params=12_000_000, candidates=4,
                  device="cpu")
    assert not (tmp_path / "run").exists()
