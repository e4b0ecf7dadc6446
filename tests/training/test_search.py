"""The learning-rate search: candidates, a shared SQLite study, failures and resuming; populations
(every waiting candidate at once, one trial each), their heartbeats and a killed worker."""
import json
import math
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import optuna
import pytest

from gru_lib.training.search import (
    LR_HIGH,
    LR_LOW,
    OPTUNA_TABLES,
    candidate_lrs,
    check_storage,
    given_lrs,
    open_study,
    run_population_search,
    run_search,
)
from gru_lib.training.trainer import DivergedError, TrainingInterrupted
from tests.training.helpers import BARRIER

REPO = Path(__file__).resolve().parents[2]


def test_candidates_are_log_uniform_in_the_papers_range_and_repeatable():
    assert LR_LOW == pytest.approx(math.exp(-12)) and LR_HIGH == pytest.approx(math.exp(-6))
    lrs = candidate_lrs(10, seed=0)
    assert lrs == candidate_lrs(10, seed=0) and lrs != candidate_lrs(10, seed=1)
    assert candidate_lrs(3, seed=0) == lrs[:3]          # candidate c depends only on (seed, c)
    assert len(set(lrs)) == 10 and all(LR_LOW <= lr <= LR_HIGH for lr in lrs)
    many = [math.log(lr) for lr in candidate_lrs(2000, seed=3)]
    for lo in range(-12, -6):                            # log-uniform: ~1/6 in each unit of log
        share = sum(lo <= x < lo + 1 for x in many) / len(many)
        assert abs(share - 1 / 6) < 0.04
    strat = [math.log(lr) for lr in candidate_lrs(4, seed=0, stratified=True)]
    assert [int((x + 12) // 1.5) for x in strat] == [0, 1, 2, 3]   # one per quarter of the range
    with pytest.raises(ValueError, match="n .*0"):
        candidate_lrs(0)


def test_hand_chosen_learning_rates_are_the_candidates_even_outside_the_range(tmp_path):
    storage, seen = f"sqlite:///{tmp_path / 's.db'}", []

    def train(lrs, candidates):
        seen.extend(zip(candidates, lrs))
        return [abs(math.log(lr) + 8) for lr in lrs]
    chosen = [2.8e-4, 1e-2, 5.9e-4]                       # 1e-2 is above e^-6: kept, not redrawn
    res = run_population_search(train, 3, "s", storage, lrs=chosen)
    assert sorted(seen) == list(enumerate(chosen))
    assert res.best_lr == 2.8e-4 and [c["lr"] for c in res.candidates] == chosen
    assert run_search(lambda lr, c: 0.0, 3, "s", storage, lrs=chosen).best_lr == 2.8e-4
    with pytest.raises(ValueError, match="was created with 3 candidates"):    # not another list
        run_population_search(train, 3, "s", storage, lrs=[1e-3, 2e-3, 3e-3])
    with pytest.raises(ValueError, match="3 candidates but 2 learning rates"):
        open_study("t", storage, 3, lrs=[1e-3, 2e-3])


@pytest.mark.parametrize("lrs, message", [
    ("1e-3", "expected a list"), ([], "at least one learning rate"), ([1e-3, -1.0], "got -1.0"),
    ([float("nan")], "got nan"), ([True], "got True"), ([1e-3, 1e-3], "each learning rate once"),
])
def test_hand_chosen_learning_rates_are_checked(lrs, message):
    with pytest.raises(ValueError, match=message):
        given_lrs(lrs)


def test_failed_candidate_is_marked_and_never_wins(tmp_path):
    def objective(lr, c):
        if c == 1:
            raise DivergedError(f"the training loss is nan with lr={lr}")
        return abs(math.log(lr) + 9)
    res = run_search(objective, 4, "s", f"sqlite:///{tmp_path / 's.db'}", seed=0)
    states = {r["candidate"]: r["state"] for r in res.candidates}
    assert states == {0: "COMPLETE", 1: "FAIL", 2: "COMPLETE", 3: "COMPLETE"}
    assert "nan" in res.candidates[1]["failure"]
    lrs = candidate_lrs(4, seed=0)
    ok = [c for c in (0, 2, 3)]
    assert res.best_candidate == min(ok, key=lambda c: abs(math.log(lrs[c]) + 9))
    assert res.best_lr == lrs[res.best_candidate]


def test_interrupted_search_resumes_without_redoing_finished_candidates(tmp_path):
    storage, calls = f"sqlite:///{tmp_path / 's.db'}", []

    def objective(lr, c):
        calls.append(c)
        if c == 2 and calls.count(2) == 1:
            raise TrainingInterrupted("SIGINT received", None)
        return lr
    with pytest.raises(TrainingInterrupted):
        run_search(objective, 5, "s", storage)
    assert calls == [0, 1, 2]
    res = run_search(objective, 5, "s", storage)        # the same call again resumes
    assert sorted(calls[3:]) == [2, 3, 4]               # 0 and 1 are not trained again
    assert [r["state"] for r in res.candidates] == ["COMPLETE"] * 5
    assert res.best_lr == min(candidate_lrs(5))
    with pytest.raises(ValueError, match="created with 5 candidates"):
        open_study("s", storage, 6)
    with pytest.raises(ValueError, match="storage"):
        run_search(objective, 5, "s", "not-a-url")


WORKER = BARRIER + textwrap.dedent("""
    import json, math, os, sys, time
    from pathlib import Path
    from gru_lib.training.search import run_search
    def objective(lr, c):
        time.sleep(0.4)                       # long enough for the two workers to interleave
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"pid": os.getpid(), "candidate": c, "lr": lr}) + "\\n")
        return abs(math.log(lr) + 9)
    res = run_search(objective, 8, "shared", sys.argv[1], seed=5, poll_seconds=0.2)
    print(json.dumps({"best": res.best_candidate}))
""")


def test_two_workers_share_one_sqlite_study(tmp_path):
    storage, log = f"sqlite:///{tmp_path / 'study.db'}", tmp_path / "log.jsonl"
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, storage, str(log)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(r["candidate"] for r in runs) == list(range(8))       # none lost, none twice
    assert {r["candidate"]: r["lr"] for r in runs} == dict(enumerate(candidate_lrs(8, seed=5)))
    assert len({r["pid"] for r in runs}) == 2                             # both workers trained
    study = optuna.load_study(study_name="shared", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(t.user_attrs["candidate"] for t in complete) == list(range(8))
    # Both workers waited for the last candidate, so both report the same winner.
    bests = {json.loads(o[0].strip().splitlines()[-1])["best"] for o in outs}
    assert len(bests) == 1


# -- populations: every waiting candidate at once, one trial each (ask and tell) -------------------


def test_population_search_tells_each_candidate_its_own_trial(tmp_path):
    storage, calls = f"sqlite:///{tmp_path / 's.db'}", []

    def train(lrs, candidates):
        calls.append(list(candidates))
        return [DivergedError(f"the training loss is nan with lr={lr}") if c == 1
                else abs(math.log(lr) + 9) for lr, c in zip(lrs, candidates)]
    res = run_population_search(train, 5, "s", storage, seed=0, max_population=2)
    assert calls == [[0, 1], [2, 3], [4]]               # populations of at most 2, in order
    assert [r["state"] for r in res.candidates] == ["COMPLETE", "FAIL"] + ["COMPLETE"] * 3
    assert "nan" in res.candidates[1]["failure"]
    lrs = candidate_lrs(5, seed=0)
    assert res.best_candidate == min((0, 2, 3, 4), key=lambda c: abs(math.log(lrs[c]) + 9))
    assert res.candidates[2]["population"]["trials"] == [res.candidates[2]["trial"],
                                                         res.candidates[3]["trial"]]
    study = optuna.load_study(study_name="s", storage=storage)
    assert len(study.trials) == 5                       # no surplus trial: one per candidate
    assert run_population_search(train, 5, "s", storage).best_lr == res.best_lr
    assert len(calls) == 3                              # finished: nothing trained again
    with pytest.raises(ValueError, match="max_population"):
        run_population_search(train, 5, "s", storage, max_population=0)


def test_interrupted_population_is_queued_again_and_resumes(tmp_path):
    storage, calls = f"sqlite:///{tmp_path / 's.db'}", []

    def train(lrs, candidates):
        calls.append(list(candidates))
        if len(calls) == 2:
            raise TrainingInterrupted("SIGINT received", None)
        return list(lrs)
    with pytest.raises(TrainingInterrupted):
        run_population_search(train, 4, "s", storage, max_population=2)
    study = optuna.load_study(study_name="s", storage=storage)
    interrupted = [t for t in study.trials if t.user_attrs.get("interrupted")]
    assert sorted(t.user_attrs["candidate"] for t in interrupted) == [2, 3]
    res = run_population_search(train, 4, "s", storage)
    assert calls[2:] == [[2, 3]]                        # 0 and 1 are kept; 2 and 3 go on together
    assert [r["state"] for r in res.candidates] == ["COMPLETE"] * 4


def test_heartbeats_keep_a_long_population_alive(tmp_path):
    """Ask-and-tell trials get no heartbeat from Optuna: ours must keep them from being taken
    for dead while they train for longer than the grace period."""
    storage = f"sqlite:///{tmp_path / 's.db'}"

    def train(lrs, candidates):
        study = optuna.load_study(study_name="s", storage=storage)
        time.sleep(1.6)                                 # > grace_period
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optuna.storages.fail_stale_trials(study)   # what any other worker would do
        return list(lrs)
    res = run_population_search(train, 2, "s", storage, heartbeat_interval=0.2, grace_period=1.0)
    assert [r["state"] for r in res.candidates] == ["COMPLETE", "COMPLETE"]


KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gru_lib.training.search import run_population_search
    def train(lrs, candidates):
        # Written whole, then renamed: the test kills this process as soon as the marker
        # exists, which a plain write_text shows before its text is in.
        part = Path(sys.argv[2] + ".part")
        part.write_text(",".join(map(str, candidates)))
        part.replace(sys.argv[2])
        time.sleep(600)                       # SIGKILLed here
    run_population_search(train, 3, "s", sys.argv[1], heartbeat_interval=0.5, grace_period=2.0)
""")


def test_a_killed_workers_population_is_trained_again_by_a_survivor(tmp_path):
    storage, marker = f"sqlite:///{tmp_path / 's.db'}", tmp_path / "claimed"
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, storage, str(marker)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.communicate()[1][-2000:]
    proc.kill()
    proc.wait()
    assert marker.read_text() == "0,1,2"               # the dead worker held all three
    calls = []

    def train(lrs, candidates):
        calls.append(list(candidates))
        return list(lrs)
    # An interval of 0.5 s, not less: the dead worker wrote its three trials' last beats one
    # after another, and on a loaded machine those writes can lie a few tenths of a second
    # apart; the survivor waits one interval for the later ones to go stale too.
    res = run_population_search(train, 3, "s", storage, poll_seconds=0.2,
                                heartbeat_interval=0.5, grace_period=2.0)
    assert calls == [[0, 1, 2]]                        # queued again, trained as one population
    assert [r["state"] for r in res.candidates] == ["COMPLETE"] * 3


def test_a_storage_that_cannot_open_is_one_clear_error(monkeypatch):
    """A closed port on 127.0.0.1 (a real refused connection), a driver that is not installed:
    ValueErrors that name the URL (never its password) and what to check."""
    import socket
    with socket.socket() as s:                  # a free port, closed again: nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(time, "sleep", lambda seconds: None)       # the retries, at once
    with pytest.raises(ValueError, match=rf"storage: cannot open .*:\*\*\*@127.0.0.1:{port}/x.*"
                                         r"Connection refused.*check that the server is running"):
        open_study("s", f"postgresql://me:secret@127.0.0.1:{port}/x", 2)
    with pytest.raises(ValueError, match=r"needs a database driver that is not installed .*"
                                         r"MySQLdb.*pip install pymysql") as err:
        open_study("s", "mysql://me:secret@127.0.0.1:1/x", 2)
    assert "secret" not in str(err.value)


def test_learning_rates_above_one_are_refused_and_the_papers_range_is_not():
    """A rate above 1 moves every weight by more than its size at each RMSProp step: the
    candidate never trains, and its untrained epoch 0 would be reported as its result."""
    with pytest.raises(ValueError, match="lrs: 5 is above 1"):
        given_lrs([5, 1e6])
    with pytest.raises(ValueError, match="lrs: 1.5 is above 1"):
        given_lrs([1e-3, 1.5])
    papers = candidate_lrs(10, seed=0) + [LR_LOW, LR_HIGH]
    assert given_lrs(papers) == papers and given_lrs([1.0]) == [1.0]


def test_a_sqlite_file_that_is_not_a_search_is_refused_and_left_alone(tmp_path):
    """--storage naming the user's own SQLite database (or any other file): the search would
    add its tables to it. Refused, the file unchanged; a new file and a search's own database
    open as before."""
    import sqlite3
    mine = tmp_path / "mydb.sqlite"
    con = sqlite3.connect(mine)
    con.execute("CREATE TABLE songs (title TEXT)")
    con.commit()
    con.close()
    text = tmp_path / "notes.db"
    text.write_text("my notes\n" * 50)
    for path, message in ((mine, "is a SQLite database of something else .*songs.*give a new "
                                 "file"),
                          (text, "is not a SQLite database")):
        before = path.read_bytes()
        with pytest.raises(ValueError, match=message):
            open_study("s", f"sqlite:///{path}", 2)
        assert path.read_bytes() == before
    ours = f"sqlite:///{tmp_path / 'search.db'}"
    open_study("s", ours, 2)
    assert len(open_study("s", ours, 2).trials) == 2      # its own database opens again


def test_a_storage_another_worker_is_still_creating_is_not_taken_for_something_else(tmp_path):
    """Workers started together on a new SQLite file: Optuna creates its tables one at a time, so
    a second worker can find only some of them. That is a search's database, not the user's."""
    import sqlite3
    from optuna.storages._rdb.models import BaseModel
    assert set(BaseModel.metadata.tables) <= OPTUNA_TABLES     # every table Optuna makes
    half_made = tmp_path / "search.db"
    con = sqlite3.connect(half_made)
    con.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name TEXT)")
    con.commit()
    con.close()
    check_storage(f"sqlite:///{half_made}")                    # no error
    con = sqlite3.connect(half_made)
    con.execute("CREATE TABLE songs (title TEXT)")             # now someone else's too
    con.commit()
    con.close()
    with pytest.raises(ValueError, match=r"something else \(tables songs;"):
        check_storage(f"sqlite:///{half_made}")
