"""The learning-rate search: candidates, a shared SQLite study, failures and resuming."""
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

from gru_lib.training.search import LR_HIGH, LR_LOW, candidate_lrs, open_study, run_search
from gru_lib.training.trainer import DivergedError, TrainingInterrupted

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


WORKER = textwrap.dedent("""
    import json, math, os, sys, time
    from pathlib import Path
    from gru_lib.training.search import run_search
    # A barrier: start searching only when both workers are up (imports can be slow on a busy CI).
    barrier = Path(sys.argv[2]).parent / "ready"
    barrier.mkdir(exist_ok=True)
    (barrier / str(os.getpid())).touch()
    deadline = time.time() + 60
    while len(list(barrier.iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.05)
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
