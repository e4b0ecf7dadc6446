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

Populations (``run_population_search``): a worker takes EVERY waiting candidate it can (up to
``max_population``) with Optuna's ask-and-tell interface, trains them at once as one population
(``train_population_fn(lrs, candidates)``, e.g. training.population.train_population) and tells
each trial its own value. Each candidate is still one trial: the study resumes, is shared by
workers and machines, and is what the results cite, exactly as above. Optuna gives ask-and-tell
trials no heartbeat thread (only ``Study.optimize`` runs one), so the worker runs its own, one
thread writing a heartbeat for every trial it holds; a worker that dies leaves its trials to the
heartbeat machinery like any other, and a survivor trains them again as a new population.

Limitation: a worker killed in the few milliseconds between taking a candidate and writing its
first heartbeat leaves a RUNNING trial with no heartbeat, which Optuna never takes for stale;
the other workers then wait for it. Mark it failed by hand
(``RDBStorage(URL).set_trial_state_values(trial_id, TrialState.FAIL)``) and start a worker: it
queues the candidate again.
"""
from __future__ import annotations

import math
import os
import socket
import threading
import time
import urllib.parse
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


# The largest hand-chosen rate accepted. RMSProp divides the gradient by its RMS, so every
# step moves each weight by about lr: above 1 a step is larger than the weights themselves (±0.1
# at the start), the loss becomes NaN at once, the trainer skips every update and the "best"
# epoch is the untrained model's -- a result that looks like one but is not.
MAX_LR = 1.0


def given_lrs(lrs) -> list[float] | None:
    """Learning rates chosen by hand (a recipe study re-running chosen candidates), checked:
    None (draw them), or a non-empty sequence of distinct positive finite numbers."""
    if lrs is None:
        return None
    if isinstance(lrs, (str, bytes)) or not hasattr(lrs, "__iter__"):
        raise ValueError(f"lrs: expected a list of learning rates, e.g. [2.8e-4, 5.9e-4], "
                         f"got {lrs!r}")
    lrs = list(lrs)
    bad = [lr for lr in lrs if isinstance(lr, bool) or not isinstance(lr, (int, float))
           or not math.isfinite(lr) or lr <= 0]
    if not lrs:
        raise ValueError("lrs: expected at least one learning rate, e.g. [2.8e-4, 5.9e-4], got "
                         "none (to draw the candidates instead, leave lrs out)")
    if bad:
        raise ValueError(f"lrs: expected positive finite learning rates, got {bad[0]!r} in "
                         f"{lrs!r}")
    high = [lr for lr in lrs if lr > MAX_LR]
    if high:
        raise ValueError(f"lrs: {high[0]!r} is above {MAX_LR:g}, no learning rate for RMSProp "
                         f"(the paper's candidates are {LR_LOW:.2g} to {LR_HIGH:.2g}); give rates "
                         f"in that range, e.g. 2.8e-4,5.9e-4")
    if len(set(lrs)) != len(lrs):
        raise ValueError(f"lrs: each learning rate once, got {lrs!r}")
    return [float(lr) for lr in lrs]


def parse_lrs(text: str) -> list[float]:
    """"2.8e-4,5.9e-4" -> [2.8e-4, 5.9e-4]: comma-separated numbers, checked by given_lrs."""
    rates = []
    for part in (p.strip() for p in text.split(",")):
        try:
            rates.append(float(part))
        except ValueError:
            raise ValueError(f"lrs: expected comma-separated learning rates, e.g. 2.8e-4,5.9e-4; "
                             f"{part!r} is not a number") from None
    return given_lrs(rates)


def search_range(lrs, low: float, high: float) -> tuple[float, float]:
    """The range Optuna's "lr" parameter is declared on: [low, high], widened to hold every
    hand-chosen rate (a queued value outside its distribution would be drawn again)."""
    if lrs is None:
        return low, high
    return min(low, *lrs), max(high, *lrs)


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
    url = _with_installed_driver(url)
    sqlite = url.startswith("sqlite")
    if sqlite:
        check_storage(url)
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
        except ImportError as err:       # the URL names a driver that is not installed
            raise ValueError(f"storage: {_hide_password(url)!r} needs a database driver that is "
                             f"not installed ({err.__cause__ or err}); install it (PostgreSQL: "
                             f"pip install psycopg2-binary, as requirements.txt does; MySQL: pip "
                             f"install pymysql) or name the one you have, e.g. "
                             f"'postgresql+psycopg2://...'") from None
        except SQLAlchemyError as err:   # two workers creating the tables at once: one loses
            if attempt == 19:            # not that: no server, a wrong password, no database
                reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
                raise ValueError(f"storage: cannot open {_hide_password(url)!r}: {reason}; "
                                 f"check that the server is running and the URL (user, host, "
                                 f"port, database name)") from None
            time.sleep(0.05 * (attempt + 1))


# The tables of an Optuna storage (optuna/storages/_rdb/models.py, and Alembic's version table).
# A SQLite file holding any other table is someone else's database. One holding only some of
# these is an Optuna storage, perhaps one another worker is creating at this moment: its tables
# appear one at a time.
OPTUNA_TABLES = {"studies", "study_directions", "study_system_attributes", "study_user_attributes",
                 "trials", "trial_heartbeats", "trial_intermediate_values", "trial_params",
                 "trial_system_attributes", "trial_user_attributes", "trial_values",
                 "version_info", "alembic_version"}


def check_storage(url) -> None:
    """ValueError for a storage URL no search can use, before anything is written.

    An in-memory SQLite database ("sqlite://", "sqlite:///", "sqlite:///:memory:"): every
    process (workers, the heartbeat thread, a resumed run) opens the storage again, and each
    would see an empty database of its own. An existing SQLite file that is not an Optuna
    storage: RDBStorage creates its tables in whatever file it is given, so pointed at a user's
    own database (a typo, a path reused) it would add a dozen tables to it. A missing file is
    created, and an empty one (no tables) holds nothing to spoil."""
    import sqlite3
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"storage: expected an Optuna storage URL such as "
                         f"sqlite:///runs/search.db or postgresql://host/db, got {url!r}")
    if not url.strip().lower().startswith("sqlite"):
        return
    try:
        database = sqlalchemy.engine.make_url(url.strip()).database
    except Exception:                    # noqa: BLE001 -- unparsable: RDBStorage says why
        return
    if not database or database.split("?")[0] == ":memory:":
        raise ValueError(f"storage: {url!r} is an in-memory database, which each worker and "
                         f"every resume would see empty; give a file, e.g. "
                         f"sqlite:///path/to/search.db (or leave --storage out: OUT/search.db)")
    if database.startswith("file:"):
        return
    path = os.path.abspath(database)
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return
    con = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True)   # read-only:
    try:                                                        # looking changes nothing
        tables = {row[0] for row in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as err:  # "file is not a database", "... disk image is malformed"
        raise ValueError(f"storage: {database!r} is not a SQLite database ({err}); give the name "
                         f"of a new file (it is created) or of a search's own database") from None
    finally:
        con.close()
    foreign = sorted(tables - OPTUNA_TABLES - {"sqlite_sequence"})
    if foreign:
        raise ValueError(f"storage: {database!r} is a SQLite database of something else (tables "
                         f"{', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}; "
                         f"not an Optuna storage); the search would add its tables to it: give a "
                         f"new file")


def _with_installed_driver(url: str) -> str:
    """A plain 'postgresql://' URL means SQLAlchemy's default driver, psycopg (version 3) since
    SQLAlchemy 2.1; requirements.txt installs psycopg2. Use that one when it is the one there."""
    import importlib.util
    if (url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None
            and importlib.util.find_spec("psycopg2") is not None):
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def _hide_password(url: str) -> str:
    """The URL as an error message may show it: user:password@ becomes user:***@."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:                    # noqa: BLE001 -- unparsable: show the scheme only
        return url.split("://", 1)[0] + "://..."


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
               grace_period: float = GRACE_PERIOD, lrs=None) -> optuna.Study:
    """Create the study with its candidates queued, or load it if it exists (any worker may call
    this; exactly one creates it). Requeues candidates that were interrupted.

    heartbeat_interval and grace_period (seconds) set how often a worker reports that it is alive
    and how long one may stay silent before its candidate is queued again. lrs: the
    candidates' learning rates chosen by hand instead of drawn (n_candidates must be their
    number; the study records them, so every worker must give the same)."""
    return _open(study_name, storage, n_candidates, seed, low, high, stratified,
                 heartbeat_interval, grace_period, lrs)[0]


def _open(study_name, storage, n_candidates, seed, low, high, stratified, heartbeat_interval,
          grace_period, lrs=None) -> tuple[optuna.Study, RDBStorage]:
    """open_study, and the storage object it opened (for the heartbeats of ask-and-tell)."""
    lrs = given_lrs(lrs)
    if lrs is None:
        lrs = candidate_lrs(n_candidates, seed, low, high, stratified)
    elif n_candidates != len(lrs):
        raise ValueError(f"n_candidates: {n_candidates} candidates but {len(lrs)} learning "
                         f"rates given ({lrs}); give one rate per candidate")
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
    return study, store


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
                     "failure": pick.user_attrs.get("failure"), "trial": pick.number,
                     **({"population": pick.user_attrs["population"]}
                        if "population" in pick.user_attrs else {})})
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
               grace_period: float = GRACE_PERIOD, lrs=None) -> SearchResult:
    """Train every candidate learning rate not yet done; return the best on validation.

    objective(lr, candidate) -> validation NLL (lower is better). It may raise DivergedError
    (the candidate is marked failed and the search goes on) or TrainingInterrupted (the
    candidate is marked interrupted, the search stops, and running it again resumes it).
    Several processes may call this with the same study_name and storage at once; with
    wait=True each returns only when every candidate has finished (on any worker).
    heartbeat_interval and grace_period: see open_study (every worker should use the same).
    lrs: the candidates' learning rates chosen by hand instead of drawn (see open_study).
    """
    if not callable(objective):
        raise ValueError(f"objective must be callable as objective(lr, candidate), got {objective!r}")
    lrs = given_lrs(lrs)
    study = open_study(study_name, storage, n_candidates, seed, low, high, stratified,
                       heartbeat_interval, grace_period, lrs)
    low, high = search_range(lrs, low, high)

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
        if TrialState.WAITING not in _wait_for_others(study, poll_seconds):
            break
    return summarize(study)


def _wait_for_others(study, poll_seconds: float, heartbeat_interval: float | None = None) -> list:
    """Wait until a candidate is waiting (queued again: its worker died) or none is running
    anywhere; return the candidates' trial states. With heartbeat_interval (a population
    search), a candidate found waiting while others still run waits one interval more for
    its population's other trials: their last beats were written one after another, so they
    go stale a little later, and then all of them train again as one population."""
    while True:
        _fail_stale(study)
        states = _states(study)
        if TrialState.WAITING in states and TrialState.RUNNING in states and heartbeat_interval:
            time.sleep(heartbeat_interval)
            _fail_stale(study)
            return _states(study)
        if TrialState.WAITING in states or TrialState.RUNNING not in states:
            return states
        time.sleep(poll_seconds)


def _states(study) -> list:
    """Every candidate's trials' states."""
    return [t.state for trials in _by_candidate(study).values() for t in trials]


def _fail_stale(study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # "experimental"
        optuna.storages.fail_stale_trials(study)


# -- populations: every waiting candidate at once, through ask and tell -----------------------

class _Heartbeats:
    """While a population trains, write a heartbeat for each of its trials every ``interval``
    seconds from one daemon thread (what Study.optimize's thread does for its one trial)."""

    def __init__(self, store: RDBStorage, trial_ids: list, interval: float):
        self.store, self.trial_ids, self.interval = store, list(trial_ids), interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="optuna-heartbeats")

    def _beat(self) -> None:
        # A beat for every trial at once, the first one at the start: the population's trials
        # then fall silent together if its worker dies, and are queued again together.
        while True:
            for trial_id in self.trial_ids:
                try:
                    self.store.record_heartbeat(trial_id)
                except SQLAlchemyError:     # a busy database: the next beat comes soon enough
                    pass
            if self._stop.wait(self.interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _claim(study, store, low: float, high: float, limit: int | None) -> list:
    """Take waiting candidates with study.ask() (a queued trial comes out of ask with its fixed
    lr), up to ``limit`` (None: all); return [(trial, candidate, lr)]."""
    _fail_stale(study)              # queue again the candidates of workers that died
    claimed = []
    while limit is None or len(claimed) < limit:
        if not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "heartbeat is supposed to be used with optimize"
            trial = study.ask()
        store.record_heartbeat(trial._trial_id)       # at once: a RUNNING trial needs a beat
        c = trial.user_attrs.get("candidate")
        if c is None:              # another worker took the last waiting one first: ask() made a
            trial.set_user_attr("surplus", True)      # new trial, which no candidate owns
            study.tell(trial, state=TrialState.PRUNED)
            break
        others = [t for t in _by_candidate(study).get(c, []) if t.number != trial.number]
        if _settled(others, before=trial.number):     # queued twice: the older copy trains
            trial.set_user_attr("duplicate", True)
            study.tell(trial, state=TrialState.PRUNED)
            continue
        claimed.append((trial, c, trial.suggest_float("lr", low, high, log=True)))
    return claimed


def _tell_quietly(study, trial, **kwargs) -> None:
    try:
        study.tell(trial, **kwargs)
    except Exception:               # already finished elsewhere (taken for dead): nothing to say
        pass


def _train_claimed(study, store, train_population_fn, claimed: list, interval: float) -> None:
    """Train the claimed candidates as one population and tell each trial its outcome."""
    trials = [t for t, _, _ in claimed]
    start = time.perf_counter()
    try:
        with _Heartbeats(store, [t._trial_id for t in trials], interval):
            values = list(train_population_fn([lr for _, _, lr in claimed],
                                              [c for _, c, _ in claimed]))
        if len(values) != len(claimed):
            raise ValueError(f"train_population_fn returned {len(values)} values for "
                             f"{len(claimed)} candidates")
    except BaseException as err:
        # Interrupted (or a bug): these trials are FAIL without "failure", so opening the study
        # again queues their candidates again, and they continue from their checkpoints.
        for trial in trials:
            if isinstance(err, (TrainingInterrupted, KeyboardInterrupt)):
                trial.set_user_attr("interrupted", True)
            _tell_quietly(study, trial, state=TrialState.FAIL)
        raise
    # Which trials trained together, for how long, and where (a shared study has many workers).
    population = {"trials": [t.number for t in trials],
                  "seconds": round(time.perf_counter() - start, 3),
                  "worker": f"{socket.gethostname()}:{os.getpid()}"}
    error = None
    for trial, value in zip(trials, values):
        trial.set_user_attr("population", population)
        if isinstance(value, DivergedError):         # this member diverged: it never wins
            trial.set_user_attr("failure", str(value))
            study.tell(trial, state=TrialState.FAIL)
        elif isinstance(value, BaseException):
            study.tell(trial, state=TrialState.FAIL)
            error = error or value
        else:
            study.tell(trial, float(value))
    if error is not None:
        raise error


def run_population_search(train_population_fn, n_candidates: int, study_name: str, storage: str,
                          seed: int = 0, low: float = LR_LOW, high: float = LR_HIGH,
                          stratified: bool = False, max_population: int | None = None,
                          wait: bool = True, poll_seconds: float = 5.0,
                          heartbeat_interval: float = HEARTBEAT_INTERVAL,
                          grace_period: float = GRACE_PERIOD, lrs=None) -> SearchResult:
    """run_search for populations: train every waiting candidate at once; return the best.

    train_population_fn(lrs, candidates) -> one entry per candidate, in order: its validation
    NLL, or the exception it ended with (a DivergedError: that trial is FAIL with the message as
    "failure" and never wins). It may raise TrainingInterrupted: every trial of the population
    is marked interrupted and the error goes on; running the search again queues them again.
    max_population: at most this many candidates per population (None: all that are waiting);
    the rest wait for the next population. Every candidate is one trial (Optuna's ask and tell),
    so the study is the same as run_search's: it resumes, is shared by several workers (each
    takes what is waiting when it looks), and summarize reads it. With wait=True a worker
    returns once no candidate is waiting or running anywhere; candidates queued again because
    their worker died are trained by whoever looks next, as a new population. lrs: the
    candidates' learning rates chosen by hand instead of drawn (see open_study).
    """
    if not callable(train_population_fn):
        raise ValueError(f"train_population_fn must be callable as fn(lrs, candidates), got "
                         f"{train_population_fn!r}")
    positive_int("max_population", max_population, allow_none=True)
    lrs = given_lrs(lrs)
    study, store = _open(study_name, storage, n_candidates, seed, low, high, stratified,
                         heartbeat_interval, grace_period, lrs)
    low, high = search_range(lrs, low, high)
    while True:
        while True:
            claimed = _claim(study, store, low, high, max_population)
            if not claimed:
                break
            _train_claimed(study, store, train_population_fn, claimed, heartbeat_interval)
        if not wait or TrialState.WAITING not in _wait_for_others(study, poll_seconds,
                                                                  heartbeat_interval):
            break
    return summarize(study)


optuna.logging.set_verbosity(optuna.logging.WARNING)
