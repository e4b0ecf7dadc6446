"""A run's settings: OUT/run.json, and the check that ``reproduce(resume=True)`` continues a
run only with the settings it was started with.

The candidates of one OUT are one experiment: if a resumed run were given another data set, seed
or TrainConfig, its results would score (and publish) one run's models as another's. run.json
holds what decides what a run trains; a run made before run.json existed is read from its own
files (results.json, the study names in search.db, the candidates' last.pt) instead.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, fields
from pathlib import Path

from ..nn.kinds import model_name
from ..tasks import DATASETS
from ..training.checkpoints import load_checkpoint
from ..training.trainer import TrainConfig

__all__ = ["MANIFEST", "legacy_settings", "previous_models", "read_manifest",
           "refuse_another_model", "refuse_other_settings", "run_settings"]


# -- the run's settings: OUT/run.json ----------------------------------------------------------
#
# Everything that decides what a run trains, written when the run starts and compared on every
# --resume: the candidates of one OUT are one experiment. Not in it: the models (a run is filled
# one model at a time), nor how a run goes (workers, threads, device, storage, progress), nor
# where the data is read from (a copy elsewhere is the same data). The names are results.json's.

MANIFEST = "run.json"

# Each setting, and the option that sets it (what a refusal names).
OPTIONS = {"dataset": "--dataset", "budget": "--budget", "key_range": "--key-range",
           "seed": "--seed", "candidates": "--candidates", "lrs": "--lrs",
           "params_budget": "--params", "chunk": "--chunk", "recurrent_init": "--recurrent-init",
           "forget_bias": "--forget-bias"}

# What a run made before a setting existed was trained with.
SETTING_DEFAULTS = {"forget_bias": 0.0}

# How a setting that is None reads in a message.
UNSET = {"lrs": "none (drawn)", "params_budget": "none (the task's sizes)",
         "chunk": "0 (whole pieces)"}

# TrainConfig fields a run's settings leave out: each candidate's own lr, how it runs, and the
# seed (a setting of its own).
NOT_RECORDED = ("lr", "device", "progress", "seed")

# What a run's config holds for a field its saved settings lack (see refuse_other_settings).
FIELD_DEFAULTS = {f.name: f.default for f in fields(TrainConfig) if f.name not in NOT_RECORDED}


def run_settings(dataset: str, budget: str, key_range: str, seed: int, n_candidates: int, lrs,
                 params, chunk, recurrent_init: str, overrides: dict, base: TrainConfig,
                 forget_bias: float = 0.0) -> dict:
    """What run.json holds: the settings, as a JSON round trip gives them back (lists, not
    tuples), so a saved and a given one compare equal exactly when they are the same.
    ``config`` is the TrainConfig every candidate gets (the budget's, then ``overrides``), so
    that ``--set weight_noise=0.075`` on a run that was given no --set is the same run."""
    config = {k: v for k, v in asdict(base).items() if k not in NOT_RECORDED}
    return json.loads(json.dumps({
        "dataset": dataset, "budget": budget, "key_range": key_range, "seed": seed,
        "candidates": n_candidates, "lrs": lrs, "params_budget": params, "chunk": chunk,
        "recurrent_init": recurrent_init, "forget_bias": forget_bias, "overrides": overrides,
        "config": config}))


def read_manifest(path: Path) -> dict:
    try:
        saved = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"out: {str(path)!r} is not a run's settings file ({err}); it is not "
                         f"gru_lib's: give a new --out") from None
    if not isinstance(saved, dict) or "dataset" not in saved:
        raise ValueError(f"out: {str(path)!r} is not a run's settings file (no dataset); it is "
                         f"not gru_lib's: give a new --out")
    # Every field of the type run_settings writes: a damaged file ("config": [1], "seed": "0")
    # would otherwise fail in refuse_other_settings (AttributeError) or be refused with a
    # message that contradicts itself ("was trained with --seed 0 (you gave 0)").
    for name, (ok, what) in _FIELD_TYPES.items():
        if name in saved and not ok(saved[name]):
            raise ValueError(f"out: {str(path)!r} is damaged: its {name!r} is {saved[name]!r}, "
                             f"not {what}; restore it (e.g. from git) or give a new --out")
    return saved


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# run.json's fields: (the check, what it says a field should be). A field that is missing is
# left alone (a run.json written before the field existed); a present one must be well-typed.
_FIELD_TYPES = {
    "dataset": (lambda v: isinstance(v, str), "a data set's name"),
    "budget": (lambda v: isinstance(v, str), "a budget's name"),
    "key_range": (lambda v: isinstance(v, str), "a key range"),
    "seed": (_is_int, "an integer"),
    "candidates": (_is_int, "an integer"),
    "lrs": (lambda v: v is None or (isinstance(v, list) and all(map(_is_number, v))),
            "null or a list of numbers"),
    "params_budget": (lambda v: v is None or _is_int(v), "null or an integer"),
    "chunk": (lambda v: v is None or _is_int(v), "null or an integer"),
    "recurrent_init": (lambda v: isinstance(v, str), "a name"),
    "forget_bias": (_is_number, "a number"),
    "overrides": (lambda v: isinstance(v, dict), "an object"),
    "config": (lambda v: isinstance(v, dict), "an object"),
}


def legacy_settings(out: Path, db: Path | None) -> tuple[dict, dict]:
    """What a run made before run.json existed says about its settings, from its own files:
    results.json (every setting) if it was written, else the study names in search.db (the
    dataset, the number of candidates) and the candidates' last.pt (seed, TrainConfig). Also
    returns {model: (a last.pt, its meta)} so the models can be checked once the data's width
    is known (--key-range, --params, --recurrent-init). Settings it cannot tell are left out:
    they are taken from this call's options."""
    saved = {}
    results = out / "results.json"
    if results.is_file():
        try:
            old = json.loads(results.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            old = {}
        if isinstance(old, dict):
            saved = {k: old[k] for k in OPTIONS if k in old}
            if isinstance(old.get("config"), dict):
                saved["config"] = {k: v for k, v in old["config"].items()
                                   if k not in NOT_RECORDED}
    if db is not None and db.is_file() and "dataset" not in saved:
        studies = _study_names(db)
        datasets = {d for name in studies for d in DATASETS
                    if name.startswith(f"{d}-") and _is_model(name[len(d) + 1:])}
        if len(datasets) == 1:
            saved["dataset"] = datasets.pop()
        counts = {n for n in studies.values() if n is not None}
        if len(counts) == 1 and "candidates" not in saved:
            saved["candidates"] = counts.pop()
    metas = {}
    for model_dir in sorted(p for p in out.iterdir() if p.is_dir() and _is_model(p.name)):
        last = next(iter(sorted(model_dir.glob("lr*/last.pt"))), None)
        if last is None:
            continue
        ckpt = load_checkpoint(last, map_location="cpu")
        metas[model_dir.name] = (last, ckpt.get("meta", {}))
        if "config" not in saved and isinstance(ckpt.get("config"), dict):
            saved["seed"] = ckpt["config"].get("seed", saved.get("seed"))
            saved["config"] = {k: v for k, v in ckpt["config"].items() if k not in NOT_RECORDED}
    return saved, metas


def _is_model(name: str) -> bool:
    try:
        model_name(name)
        return True
    except ValueError:
        return False


def _study_names(db: Path) -> dict:
    """{study name: its number of candidates (None if not recorded)} in a search's SQLite
    file, read without Optuna (read-only: looking at an old run changes nothing in it)."""
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = dict(con.execute("SELECT study_id, study_name FROM studies").fetchall())
        specs = dict(con.execute("SELECT study_id, value_json FROM study_user_attributes "
                                 "WHERE key = 'spec'").fetchall())
    except sqlite3.DatabaseError:        # not a search's database: nothing to read from it
        return {}
    finally:
        con.close()
    return {name: json.loads(specs[i]).get("n_candidates") if i in specs else None
            for i, name in names.items()}


def refuse_other_settings(out: Path, saved: dict, given: dict) -> None:
    """ValueError naming every setting in which ``given`` differs from the run's ``saved``."""
    # A setting added after the run was made: the run trained at its default.
    saved = {**SETTING_DEFAULTS, **saved}
    diffs = [(OPTIONS[k], saved[k], given[k], k) for k in OPTIONS
             if k in saved and saved[k] != given[k]]
    # The budget and the candidates set TrainConfig fields too (batch_size, max_seconds, ...):
    # those are named only when the budget and candidates agree (then --set made them differ).
    if not any(k in ("budget", "candidates", "lrs") for *_, k in diffs):
        # A field the saved settings lack was added to TrainConfig after the run was made: the
        # run trained at its default (a new field's default keeps the old behaviour).
        saved_config = {**FIELD_DEFAULTS, **(saved.get("config") or {})} \
            if "config" in saved else {}
        diffs += [(f"--set {name}", value, given["config"][name], None)
                  for name, value in saved_config.items()
                  if name in given["config"] and given["config"][name] != value]
    if not diffs:
        return
    shown = lambda key, value: (UNSET.get(key, "none") if value is None      # noqa: E731
                                else ",".join(map(repr, value)) if isinstance(value, list)
                                else str(value))
    run = "; ".join(f"{option} {shown(key, was)} (you gave {shown(key, now)})"
                    if not option.startswith("--set") else
                    f"{option}={was!r} (you gave {now!r})" for option, was, now, key in diffs)
    hint = ""
    if [option for option, *_ in diffs] == ["--set lr_drops"]:
        hint = (f"; to give a finished run learning-rate drops without training it again, "
                f"python runs/extend_with_drops.py {out} OUT --lr-drops N")
    raise ValueError(f"--resume: {str(out)!r} was trained with {run}: give the same options to "
                     f"continue it, or a new --out{hint}")


# A model's meta entries and the option that decides each (an old run's check).
META_OPTIONS = {"keys": "--key-range", "hidden_size": "--params", "cell_options": "--recurrent-init or --forget-bias"}


def refuse_another_model(out: Path, path: Path, saved: dict, expected: dict) -> None:
    """ValueError if a candidate's checkpoint holds another model than these options build."""
    saved = {"model": expected.get("model"), **saved}   # metas written before "model" existed
    if "layers" in expected and "layers" not in saved:     # ... and before stacks: one layer
        saved["layers"] = 1
    diffs = sorted(k for k in set(saved) | set(expected) if saved.get(k) != expected.get(k))
    if diffs:
        raise ValueError(f"--resume: {str(out)!r} holds candidates trained with other settings: "
                         f"{path} has " + ", ".join(
                             f"{k}={saved.get(k)!r} (these options give {expected.get(k)!r}"
                             + (f": {META_OPTIONS[k]})" if k in META_OPTIONS else ")")
                             for k in diffs)
                         + "; give the options the run was made with, or a new --out")


def previous_models(results: Path, dataset: str) -> dict:
    """The "models" of a run's results.json ({} if none, or not this dataset's)."""
    if not results.is_file():
        return {}
    try:
        old = json.loads(results.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(old, dict) or old.get("dataset") != dataset:
        return {}
    return old.get("models") or {}
