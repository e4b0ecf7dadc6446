"""The learning-rate search beyond one machine: workers sharing one study in a real PostgreSQL.

The fixture starts its own PostgreSQL server (Debian's ``postgresql`` package, which ``.ci/run``
installs) in a temporary folder, listening on a unix socket there only (no TCP, no port to clash),
and stops it at the end. The test skips only where no PostgreSQL binaries can be found.
"""
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest

from gru_lib.training.search import candidate_lrs, summarize
from tests.training.helpers import BARRIER

REPO = Path(__file__).resolve().parents[2]


def _pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: Debian's newest /usr/lib/postgresql/<v>/bin, else PATH."""
    def version(d: Path):
        return [int(x) for x in re.findall(r"\d+", d.parent.name)] or [0]
    found = sorted((d for d in Path("/usr/lib/postgresql").glob("*/bin")
                    if (d / "initdb").is_file() and (d / "pg_ctl").is_file()), key=version)
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    if initdb:
        folder = Path(initdb).resolve().parent
        if (folder / "pg_ctl").is_file():
            return folder
    return None


def _as_unprivileged() -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as `nobody` then."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


@pytest.fixture(scope="session")
def postgres_url():
    """A SQLAlchemy URL of an empty database on a private PostgreSQL server."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or "
                    "on PATH: install Debian's postgresql package (apt-get install postgresql)")
    import psycopg2  # noqa: F401  (the driver, from requirements.txt: psycopg2-binary)

    run_as = _as_unprivileged()
    root = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))   # short: a socket path is <108 bytes
    data, log, port = root / "data", root / "server.log", 5432
    try:
        root.chmod(0o755)
        if run_as:
            shutil.chown(root, "nobody")

        def pg(*args, timeout=120):
            out = subprocess.run(run_as + [str(bindir / args[0]), *args[1:]], cwd="/",
                                 capture_output=True, text=True, timeout=timeout)
            assert out.returncode == 0, f"{args[0]} failed:\n{out.stdout}\n{out.stderr}\n" + (
                log.read_text() if log.exists() else "")
            return out

        pg("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
           "--locale=C", "--no-sync")
        pg("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
           f"-k {root} -c listen_addresses='' -p {port} -c fsync=off", "start")
        try:
            pg("createdb", "-h", str(root), "-p", str(port), "-U", "postgres", "gru")
            yield f"postgresql+psycopg2://postgres@/gru?host={root}&port={port}"
        finally:
            pg("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


WORKER = BARRIER + textwrap.dedent("""
    import json, math, os, sys, time
    from pathlib import Path
    from gru_lib.training.search import run_search
    storage, log = sys.argv[1], sys.argv[2]
    def objective(lr, c):
        with open(log, "a") as f:
            f.write(f"start {c}\\n")
        for _ in range(15):                   # 1.5 s of "training", in small steps
            time.sleep(0.1)
        with open(log, "a") as f:
            f.write(f"done {c}\\n")
        return abs(math.log(lr) + 9)
    res = run_search(objective, n_candidates=6, study_name="machines", storage=storage, seed=0,
                     poll_seconds=0.5, heartbeat_interval=1, grace_period=4)
    print(json.dumps({"best": res.best_candidate, "states": [r["state"] for r in res.candidates]}))
""")


def _lines(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    return [(w, int(c)) for w, c in (line.split() for line in path.read_text().splitlines()
                                     if line.endswith(tuple("0123456789")))]


def test_two_machines_share_a_postgres_study_and_survive_a_sigkill(postgres_url, tmp_path):
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    logs = [tmp_path / "worker0.log", tmp_path / "worker1.log"]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, postgres_url, str(log)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for log in logs]
    victim, survivor = procs
    try:
        # Kill worker 0 in the middle of its second candidate (its first one is done).
        deadline = time.monotonic() + 120
        while True:
            lines = _lines(logs[0])
            done = {c for w, c in lines if w == "done"}
            started = [c for w, c in lines if w == "start" and c not in done]
            if done and started:
                break
            assert victim.poll() is None and time.monotonic() < deadline, (
                "worker 0 never reached a second candidate", victim.communicate()[1][-3000:]
                if victim.poll() is not None else "", _lines(logs[0]), _lines(logs[1]))
            time.sleep(0.05)
        time.sleep(0.3)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        killed = started[0]
        assert ("done", killed) not in _lines(logs[0]), "worker 0 finished before it was killed"

        out, err = survivor.communicate(timeout=180)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert survivor.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["states"] == ["COMPLETE"] * 6

    # Every candidate trained to completion exactly once, across both workers.
    lines = _lines(logs[0]) + _lines(logs[1])
    assert Counter(c for w, c in lines if w == "done") == Counter(range(6))
    # The killed worker's candidate was queued again and the survivor trained it.
    assert ("start", killed) in _lines(logs[1]) and ("done", killed) in _lines(logs[1])

    study = optuna.load_study(study_name="machines", storage=postgres_url)
    res = summarize(study)
    assert [r["candidate"] for r in res.candidates] == list(range(6))
    assert [r["state"] for r in res.candidates] == ["COMPLETE"] * 6
    assert [r["lr"] for r in res.candidates] == candidate_lrs(6, seed=0)
    TS = optuna.trial.TrialState
    complete = [t for t in study.trials if t.state == TS.COMPLETE]
    assert sorted(t.user_attrs["candidate"] for t in complete) == list(range(6))   # none twice
    # The killed trial was failed by its missing heartbeat, and its retry is the one that finished.
    dead = [t for t in study.trials if t.state == TS.FAIL]
    assert [t.user_attrs["candidate"] for t in dead] == [killed]
    retry = next(t for t in complete if t.user_attrs["candidate"] == killed)
    assert retry.system_attrs.get("failed_trial") == dead[0].number
    assert not [t for t in study.trials if t.state in (TS.RUNNING, TS.WAITING)]
    lrs = candidate_lrs(6, seed=0)
    best = min(range(6), key=lambda c: abs(math.log(lrs[c]) + 9))
    assert report["best"] == res.best_candidate == best


def test_a_candidate_queued_twice_and_popped_twice_at_once_is_still_trained(tmp_path):
    """Two machines may each queue a dead worker's candidate again (one by its heartbeat check,
    one restarting and requeueing what it finds failed) and then pop the two copies at the same
    moment: the older copy must train, not both step aside for each other."""
    from gru_lib.training.search import open_study, run_search

    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = open_study("twice", storage, 1)
    lr = candidate_lrs(1)[0]
    study.enqueue_trial({"lr": lr}, user_attrs={"candidate": 0}, skip_if_exists=False)
    newer = max(study.trials, key=lambda t: t.number)
    # "Another machine" pops the newer copy first; this one then pops the older copy.
    assert study._storage.set_trial_state_values(newer._trial_id,
                                                 state=optuna.trial.TrialState.RUNNING)
    calls = []
    run_search(lambda lr, c: calls.append(c) or lr, 1, "twice", storage, wait=False)
    assert calls == [0]


QUICK_WORKER = textwrap.dedent("""
    import os, sys, time
    from gru_lib.training.search import run_search
    def objective(lr, c):
        time.sleep(0.02)                      # short: the workers pop trials as fast as they can
        with open(sys.argv[2], "a") as f:
            f.write(f"{os.getpid()} {c}\\n")
        return lr
    run_search(objective, 24, "quick", sys.argv[1], poll_seconds=0.1)
""")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_workers_popping_at_full_speed_never_take_one_candidate_twice(backend, tmp_path, request):
    """Optuna pops a waiting trial by reading that it is WAITING, then writing RUNNING. SQLite
    ignores FOR UPDATE and pysqlite began its transaction only at the write, so two workers could
    pop the same trial (runs like this one often did before the search started SQLite
    transactions with BEGIN IMMEDIATE); PostgreSQL locks the row."""
    storage = (f"sqlite:///{tmp_path / 's.db'}" if backend == "sqlite"
               else request.getfixturevalue("postgres_url"))
    log = tmp_path / "log"
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", QUICK_WORKER, storage, str(log)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    trained = [int(line.split()[1]) for line in log.read_text().splitlines()]
    assert Counter(trained) == Counter(range(24))                  # none lost, none twice
    study = optuna.load_study(study_name="quick", storage=storage)
    assert [r["state"] for r in summarize(study).candidates] == ["COMPLETE"] * 24


def test_a_plain_postgresql_url_uses_the_installed_driver(postgres_url):
    """'postgresql://' is SQLAlchemy's default driver (psycopg 3 since SQLAlchemy 2.1);
    requirements.txt installs psycopg2, and the plain URL the docs show must work with it."""
    from gru_lib.training.search import open_study
    plain = postgres_url.replace("postgresql+psycopg2://", "postgresql://")
    study = open_study("plain-url", plain, 3, lrs=[1e-3, 2e-3, 3e-3])
    assert len(study.trials) == 3
