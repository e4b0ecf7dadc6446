"""The paper's learning-rate search, run as an Optuna study.

Chung et al. (2014), section 4: "the learning rate was chosen among 10 candidates sampled
log-uniformly from U(-12, -6)" (natural log: e^-12 ≈ 6.1e-6 to e^-6 ≈ 2.5e-3), and the best on
validation wins. Here:

* Candidate c's learning rate depends only on (seed, c): the same command draws the same ten
  rates on every machine, and candidates are never drawn twice.
* The candidates are put in the study as WAITING trials when the study is created; every
  worker pops the next one (Optuna pops a waiting trial atomically), trains it and reports
  its best validation NLL. Workers stop when no candidate is left.
* The study lives in SQLite by default (``sqlite:///DIR/search.db``), so a search that was
  interrupted resumes: finished candidates are kept, interrupted ones are queued again (and
  continue from their own checkpoints). Give ``storage`` a PostgreSQL/MySQL URL and start the
  same command on several machines to share the candidates among them (Optuna's distributed
  mode).
* A candidate whose loss becomes NaN/inf is marked FAIL with the reason; it never wins.
* The search does not train: ``objective(lr, candidate)`` does (the reproduction calls
  ``trainer.train``, which runs the one ``Trainer``), so every candidate gets the same update.

Several machines: run a PostgreSQL server that every machine can reach, create an empty
database in it, and start the same command on every machine with ``--storage`` (``storage=``)
set to its SQLAlchemy URL, e.g. ``postgresql+psycopg2://USER:PASSWORD@HOST:5432/DB`` (the
``psycopg2-binary`` driver is in requirements.txt; a local server's unix socket works too:
``postgresql+psycopg2://USER@/DB?host=/run/postgresql``). Every machine must use the same seed,
number of candidates, range and study name: each trains whichever candidate is next in the
queue, and each returns once all candidates are finished. A worker that dies without warning
(SIGKILL, power loss, a lost machine) leaves its candidate RUNNING; while it trains, every worker
writes a heartbeat every ``heartbeat_interval`` seconds (30), and once a candidate's heartbeat
has been silent for ``grace_period`` seconds (120) the next live worker that looks (one waiting
for the last candidates, or one starting its next trial) marks it failed and queues it again,
then a worker trains it again. No candidate is lost and none counts twice: ``summarize`` keeps
the one finished trial of each candidate. Restarting the dead machine's command is safe; it
joins the queue. Keep ``grace_period`` well above the time a busy machine may go without
writing (a worker still alive but silent that long is taken for dead: its candidate is trained
again, and that worker stops with Optuna's "Cannot tell a FAIL trial" when it finishes).

Limitation: a worker killed in the few milliseconds between taking a candidate and writing its
first heartbeat leaves a RUNNING trial with no heartbeat, which Optuna never takes for stale;
the other workers then wait for it. Mark it failed by hand
(``RDBStorage(URL).set_trial_state_values(trial_id, TrialState.FAIL)``) and start a worker: it
queues the candidate again.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import optuna
import sqlalchemy
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

from ..checks import positive_int
from ..paper import LR_HIGH, LR_LOW
from .trainer import DivergedError, TrainingInterrupted


def candidate_lrs(n: int, seed: int = 0, low: float = LR_LOW, high: float = LR_HIGH,
                  stratified: bool = False) -> list[float]:
    """The n candidate learning rates, log-uniform in [low, high].

    stratified=False draws each one independently (the paper); stratified=True draws candidate
    c from the c-th of n equal slices of the log range, so a few candidates still cover it
    (used by the small budgets).
    """
    positive_int("n (number of candidates)", n)
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and 0 < low < high):
        raise ValueError(f"the learning-rate range must satisfy 0 < low < high, got [{low!r}, {high!r}]")
    lo, hi = math.log(low), math.log(high)
    lrs = []
    for c in range(n):
        u = np.random.default_rng([seed, c]).uniform()   # one generator per candidate
        if stratified:
            u = (c + u) / n
        lrs.append(float(math.exp(lo + u * (hi - lo))))
    return lrs


def default_storage(path) -> str:
    return f"sqlite:///{path}"


# A running candidate's worker writes a heartbeat every HEARTBEAT_INTERVAL seconds; one silent
# for GRACE_PERIOD seconds is taken for dead and its candidate is queued again. Long enough that
# a busy machine is never taken for a dead one; run_search/open_study accept other values.
HEARTBEAT_INTERVAL = 30
GRACE_PERIOD = 120


def _storage(url: str, heartbeat_interval: float = HEARTBEAT_INTERVAL,
             grace_period: float = GRACE_PERIOD):
    """SQL storages get a patient lock timeout (several processes share one SQLite file) and a
    heartbeat, so a candidate whose worker died is queued again."""
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"storage must be a database URL such as 'sqlite:///search.db' or "
                         f"'postgresql://user@host/db', got {url!r}")
    for name, value in (("heartbeat_interval", heartbeat_interval), ("grace_period", grace_period)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    if grace_period <= heartbeat_interval:
        raise ValueError(f"grace_period ({grace_period!r} s) must be longer than "
                         f"heartbeat_interval ({heartbeat_interval!r} s), or live workers are "
                         f"taken for dead ones")
    sqlite = url.startswith("sqlite")
    # SQLite: see _one_writer_at_a_time; isolation_level=None stops pysqlite's own BEGINs.
    engine_kwargs = {"connect_args": {"timeout": 60, "isolation_level": None}} if sqlite else {}
    for attempt in range(20):
        try:
            with warnings.catch_warnings():             # heartbeat is "experimental" in Optuna
                warnings.simplefilter("ignore")
                # Optuna >= 4.9 renamed the stale-trial callback; support both spellings.
                if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback"):
                    retry = {"heartbeat_stale_trial_callback":
                             optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)}
                else:
                    retry = {"failed_trial_callback":
                             optuna.storages.RetryFailedTrialCallback(max_retry=3)}
                store = RDBStorage(url, engine_kwargs=engine_kwargs,
                                   heartbeat_interval=heartbeat_interval,
                                   grace_period=grace_period, **retry)
            if sqlite:
                sqlalchemy.event.listen(store.engine, "begin", _one_writer_at_a_time)
            return store
        except SQLAlchemyError:    # two workers creating the tables at once: one of them loses
            if attempt == 19:
                raise
            time.sleep(0.05 * (attempt + 1))


def _one_writer_at_a_time(connection) -> None:
    """Start every SQLite transaction with BEGIN IMMEDIATE (it takes the write lock first).

    pysqlite opens a transaction only at the first write, and SQLite ignores SELECT ... FOR
    UPDATE, so Optuna's pop of a waiting trial (read that it is WAITING, then write RUNNING) let
    two processes pop the same trial and both train that candidate. With the lock taken at the
    start, the second one reads RUNNING and takes the next trial. (PostgreSQL's FOR UPDATE does
    this by itself.)"""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_study(study_name: str, storage: str, n_candidates: int, seed: int = 0,
               low: float = LR_LOW, high: float = LR_HIGH, stratified: bool = False,
               heartbeat_interval: float = HEARTBEAT_INTERVAL,
               grace_period: float = GRACE_PERIOD) -> optuna.Study:
    """Create the study with its candidates queued, or load it if it exists (any worker may call
    this; exactly one creates it). Requeues candidates that were interrupted.

    heartbeat_interval and grace_period (seconds) set how often a worker reports that it is alive
    and how long one may stay silent before its candidate is queued again."""
    lrs = candidate_lrs(n_candidates, seed, low, high, stratified)
    store = _storage(storage, heartbeat_interval, grace_period)
    try:
        study = optuna.create_study(study_name=study_name, storage=store, direction="minimize")
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=study_name, storage=store)
        created = False
    spec = {"n_candidates": n_candidates, "lrs": lrs}
    if created:
        for c, lr in enumerate(lrs):
            study.enqueue_trial({"lr": lr}, user_attrs={"candidate": c}, skip_if_exists=False)
        study.set_user_attr("spec", spec)                  # marks the queue as complete
    else:
        deadline = time.monotonic() + 60
        while "spec" not in study.user_attrs:              # the creator is still queueing
            if time.monotonic() > deadline:
                raise RuntimeError(f"study {study_name!r} exists but its candidates were never "
                                   f"queued; delete it or use another study name")
            time.sleep(0.1)
        if study.user_attrs["spec"] != spec:
            raise ValueError(f"study {study_name!r} in {storage} was created with "
                             f"{study.user_attrs['spec']['n_candidates']} candidates "
                             f"{study.user_attrs['spec']['lrs']}, not {n_candidates} {lrs}; use "
                             f"the same settings (seed, candidates, range) or a new study name")
        _requeue_interrupted(study)
    return study


def _by_candidate(study) -> dict:
    out = {}
    for t in study.get_trials(deepcopy=False):
        if "candidate" in t.user_attrs:
            out.setdefault(t.user_attrs["candidate"], []).append(t)
    return out


def _settled(trials, before: int | None = None) -> bool:
    """A candidate is settled when it finished, diverged, or is queued/running somewhere.

    With before=n only queued/running trials numbered below n count: when one candidate is queued
    twice (a restarted worker requeues it while another's heartbeat check does too) and two
    workers pop both copies at once, the older copy trains and the newer one steps aside, rather
    than each seeing the other and both stepping aside (the candidate would be lost)."""
    for t in trials:
        if t.state == TrialState.COMPLETE:
            return True
        if t.state in (TrialState.WAITING, TrialState.RUNNING) and (before is None
                                                                    or t.number < before):
            return True
        if t.state == TrialState.FAIL and "failure" in t.user_attrs:
            return True
    return False


def _requeue_interrupted(study) -> None:
    for c, trials in sorted(_by_candidate(study).items()):
        if not _settled(trials):
            lr = next(t.params.get("lr") or t.system_attrs.get("fixed_params", {}).get("lr")
                      for t in trials)
            study.enqueue_trial({"lr": lr}, user_attrs={"candidate": c}, skip_if_exists=False)


@dataclass
class SearchResult:
    best_lr: float
    best_candidate: int
    best_value: float
    candidates: list = field(default_factory=list)   # one dict per candidate: lr, state, value


def summarize(study) -> SearchResult:
    rows = []
    for c, trials in sorted(_by_candidate(study).items()):
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        failed = [t for t in trials if t.state == TrialState.FAIL and "failure" in t.user_attrs]
        pick = done[0] if done else failed[0] if failed else trials[-1]
        lr = pick.params.get("lr", pick.system_attrs.get("fixed_params", {}).get("lr"))
        rows.append({"candidate": c, "lr": lr, "state": pick.state.name, "value": pick.value,
                     "failure": pick.user_attrs.get("failure"), "trial": pick.number})
    complete = [r for r in rows if r["state"] == "COMPLETE" and r["value"] is not None
                and math.isfinite(r["value"])]
    if not complete:
        return SearchResult(math.nan, -1, math.nan, rows)
    best = min(complete, key=lambda r: r["value"])
    return SearchResult(best["lr"], best["candidate"], best["value"], rows)


def run_search(objective, n_candidates: int, study_name: str, storage: str, seed: int = 0,
               low: float = LR_LOW, high: float = LR_HIGH, stratified: bool = False,
               wait: bool = True, poll_seconds: float = 5.0,
               heartbeat_interval: float = HEARTBEAT_INTERVAL,
               grace_period: float = GRACE_PERIOD) -> SearchResult:
    """Train every candidate learning rate not yet done; return the best on validation.

    objective(lr, candidate) -> validation NLL (lower is better). It may raise DivergedError
    (the candidate is marked failed and the search goes on) or TrainingInterrupted (the
    candidate is marked interrupted, the search stops, and running it again resumes it).
    Several processes may call this with the same study_name and storage at once; with
    wait=True each returns only when every candidate has finished (on any worker).
    heartbeat_interval and grace_period: see open_study (every worker should use the same).
    """
    if not callable(objective):
        raise ValueError(f"objective must be callable as objective(lr, candidate), got {objective!r}")
    study = open_study(study_name, storage, n_candidates, seed, low, high, stratified,
                       heartbeat_interval, grace_period)

    def optuna_objective(trial):
        c = trial.user_attrs.get("candidate")
        if c is None:                  # no candidate was waiting: this worker's job is done
            trial.study.stop()
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned("no candidate left")
        others = [t for t in _by_candidate(trial.study).get(c, []) if t.number != trial.number]
        if _settled(others, before=trial.number):
            raise optuna.TrialPruned(f"candidate {c} is already handled by another trial")
        lr = trial.suggest_float("lr", low, high, log=True)   # the queued value
        try:
            return float(objective(lr, c))
        except DivergedError as err:
            trial.set_user_attr("failure", str(err))
            raise
        except (TrainingInterrupted, KeyboardInterrupt):
            trial.set_user_attr("interrupted", True)
            raise

    while True:
        # DivergedError is "caught": Optuna marks that trial FAIL and the search continues.
        study.optimize(optuna_objective, catch=(DivergedError,), gc_after_trial=False)
        if not wait:
            break
        # Other workers may still be training candidates: wait for them. A worker that died
        # silently is found by its missing heartbeat; its candidate is queued again, and
        # then this worker trains it.
        while True:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.storages.fail_stale_trials(study)
            states = [t.state for trials in _by_candidate(study).values() for t in trials]
            if TrialState.WAITING in states or TrialState.RUNNING not in states:
                break
            time.sleep(poll_seconds)
        if TrialState.WAITING not in states:
            break
    return summarize(study)


optuna.logging.set_verbosity(optuna.logging.WARNING)
