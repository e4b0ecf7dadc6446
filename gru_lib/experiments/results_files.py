"""The committed results (``data/results/`` of the repository), read by the chapters.

In a clone the files are read from its ``data/results/``; elsewhere (Colab, a pip install)
they are fetched from the repository on GitHub, so a chapter that only reads results works
without the clone:

    import json
    raw = read_result("jsb/paper/results.json")          # bytes, or None if absent
    results = json.loads(raw) if raw else None

``path`` is relative to ``data/results/`` and uses "/" (it is also the end of the URL).

The capacity probes (Table 2's recipe at more recurrent parameters, issue 14) follow one
naming rule, which ``find_probe`` is the one place to know: ``<set>/recipe/<model>-<size>/``,
or ``<model>-<size>-converged/`` where the run to early stopping came after a shorter one.
The runs on chunks of the training pieces (``--chunk 200``) follow another, ``find_chunked``'s:
``<set>/recipe/<model>-chunk200/`` beside Table 2's run, ``<model>-<size>-chunk200/`` beside
the probe of that size.

``index.json`` lists every committed run folder (``runs/install_results.py`` rewrites it after
each install, and ``tests/test_results.py`` fails if it differs from the folders), so that
``best_run`` can look through all of them without listing a folder, which a URL cannot do.
"""
from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

from .. import download
from ..literature import best_other_plain_rnn
from ..paper import TABLE2

__all__ = ["INDEX", "LOCAL", "PROBE_SIZES", "REMOTE", "TANH_MARGIN", "best_run",
           "committed_runs", "committed_winners", "find_chunked", "find_probe", "missed_target",
           "probe_name", "read_result", "run_index", "seed_draws", "target_line", "targets_met"]

LOCAL = Path(__file__).resolve().parents[2] / "data" / "results"    # the clone's, if any
REMOTE = "https://raw.githubusercontent.com/gru-lib/gru-lib/main/data/results"
INDEX = "index.json"                  # every committed run folder, under data/results/
TANH_MARGIN = 0.2                     # issue 14: the tanh-RNN within 0.2 of its paper number


def read_result(path: str, *, local: str | Path | None = None, remote: str | None = REMOTE,
                timeout: float = 20.0) -> bytes | None:
    """The bytes of ``data/results/<path>``: from the folder ``local`` (default: the clone's
    ``data/results/`` beside this package) if the file is there, else from ``remote`` (a URL
    base; None: never fetch), else None (absent, unreachable, or ``GRU_LIB_OFFLINE=1``).

    A notebook can then say what is missing instead of failing: ``None`` means "not committed
    (yet)", which is how the chapters show a run that has not been made."""
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts or "\\" in path:
        raise ValueError(f"path must be relative to data/results/, with '/', got {path!r}")
    here = (LOCAL if local is None else Path(local)).joinpath(*parts)
    try:
        if here.is_file():
            return here.read_bytes()
    except OSError:      # a name too long for the file system (ENAMETOOLONG), unreadable, ...:
        pass             # not there to read, so "absent here" as documented: try the remote
    if remote is None or download.offline():
        return None
    url = f"{remote.rstrip('/')}/{urllib.parse.quote('/'.join(parts))}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except OSError:                   # HTTPError (404, ...), URLError, timeouts
        return None


PROBE_SIZES = ("60k", "200k", "600k")      # the sizes probed so far, smallest first
_PROBE = re.compile(r"(?P<model>[a-z0-9-]+?)-(?P<size>\d+k)(?:-converged)?")


def probe_name(folder_name: str) -> tuple[str, str] | None:
    """(model, size) of a probe folder's name (``"gru-60k-converged"`` -> ``("gru", "60k")``),
    or None for another recipe variant (``"noise-0.15"``, ``"gru-60k-noise-0.15"``)."""
    match = _PROBE.fullmatch(folder_name)
    return (match["model"], match["size"]) if match else None


def find_probe(dataset: str, model: str, size: str, **where) -> tuple[str, dict] | None:
    """``(folder, results)`` of ``dataset``'s probe of ``model`` at ``size`` (one of
    ``PROBE_SIZES``): its folder relative to ``data/results/`` (for the files beside its
    ``results.json``, such as a winner's records) and its ``results.json`` parsed; None if
    none is committed. The run to early stopping (``-converged``) wins over a plain name.
    ``where``: ``local``/``remote`` of ``read_result``."""
    if size not in PROBE_SIZES:
        raise ValueError(f"size must be one of {PROBE_SIZES}, got {size!r}")
    for name in (f"{model}-{size}-converged", f"{model}-{size}"):
        folder = f"{dataset}/recipe/{name}"
        raw = read_result(f"{folder}/results.json", **where)
        if raw is not None:
            return folder, json.loads(raw)
    return None


def find_chunked(dataset: str, model: str, size: str | None = None, steps: int = 200,
                 **where) -> tuple[tuple[str, dict], tuple[str, dict]] | None:
    """``((whole, results), (chunked, results))``: the run of ``dataset``'s ``model`` on chunks
    of at most ``steps`` steps at ``size`` (None: Table 1's size; else one of ``PROBE_SIZES``)
    and the whole-piece run it is set beside, each as its folder relative to ``data/results/``
    and its ``results.json`` parsed (as ``find_probe`` gives a probe); None if either is not
    committed. The whole-piece run is Table 2's (``<set>/paper``) at Table 1's size, else the
    probe of that size given its learning-rate drop (``-drop``) where it has one, since the
    chunked runs take one too, else the probe (``find_probe``). ``where``: as ``find_probe``'s.
    """
    if size is not None and size not in PROBE_SIZES:
        raise ValueError(f"size must be None (Table 1's) or one of {PROBE_SIZES}, got {size!r}")

    def parsed(folder: str) -> tuple[str, dict] | None:
        raw = read_result(f"{folder}/results.json", **where)
        return None if raw is None else (folder, json.loads(raw))

    name = model if size is None else f"{model}-{size}"
    chunked = parsed(f"{dataset}/recipe/{name}-chunk{steps}")
    if chunked is None:
        return None
    if size is None:
        whole = parsed(f"{dataset}/paper")
    else:
        whole = parsed(f"{dataset}/recipe/{name}-drop") or find_probe(dataset, model, size,
                                                                      **where)
    return None if whole is None else (whole, chunked)


def committed_runs(local: str | Path | None = None) -> list[str]:
    """Every run folder in ``local`` (default: the clone's ``data/results/``): the folders
    that hold a ``results.json``, relative to it, with "/", sorted. What ``index.json`` holds."""
    root = LOCAL if local is None else Path(local)
    return sorted(p.parent.relative_to(root).as_posix() for p in root.glob("*/**/results.json"))


def run_index(**where) -> list[str]:
    """The run folders ``index.json`` lists ([] if it cannot be read). ``where``: as
    ``read_result``'s."""
    raw = read_result(INDEX, **where)
    return [] if raw is None else json.loads(raw)


def committed_winners(dataset: str, model: str, **where) -> list[tuple[str, dict]]:
    """``[(folder, entry)]``: every committed run of ``model`` on ``dataset`` on the paper's 88
    keys (whatever its size or recipe) and its winner's entry in the run's ``results.json``,
    in ``index.json``'s order; a run whose ``model`` failed or has no validation NLL is left
    out. ``where``: as ``read_result``'s."""
    found = []
    for folder in run_index(**where):
        if folder.split("/")[0] != dataset:
            continue
        raw = read_result(f"{folder}/results.json", **where)
        results = {} if raw is None else json.loads(raw)
        m = results.get("models", {}).get(model)
        if (results.get("dataset") != dataset or results.get("key_range", "88") != "88"
                or m is None or "error" in m or m.get("valid_nll") is None):
            continue
        found.append((folder, m))
    return found


def best_run(dataset: str, model: str, **where) -> tuple[str, dict] | None:
    """``(folder, entry)``: of every committed run of ``model`` on ``dataset`` (on the paper's
    88 keys, whatever its size or recipe), the one whose winner has the lowest validation
    NLL, and that winner's entry in its ``results.json``; None if there is none.

    Chosen by validation, never by test: the test NLL it reports is then a fair estimate, as
    the paper's protocol picks its candidates. ``where``: as ``read_result``'s."""
    return min(committed_winners(dataset, model, **where),
               key=lambda run: run[1]["valid_nll"], default=None)


_SEED = re.compile(r"-seed\d+$")        # a run trained again at another seed: <run>-seed<N>


def seed_draws(folder: str, model: str, **where) -> dict[int, dict]:
    """``{seed: entry}``: the run ``folder`` (seed 0, or its own ``--seed``) and the runs
    trained again from it at other seeds, nothing else changed (``<folder>-seed<N>/``, the
    naming rule ``runs/install_results.py`` installs them by), each ``model``'s winner; by
    seed. ``folder`` may be any of them."""
    base = _SEED.sub("", folder)
    draws = {}
    for run in run_index(**where):
        tail = run.removeprefix(base)
        if run.startswith(base) and (tail == "" or _SEED.fullmatch(tail)):
            raw = read_result(f"{run}/results.json", **where)
            results = {} if raw is None else json.loads(raw)
            m = results.get("models", {}).get(model)
            if m is not None and "error" not in m and m.get("test_nll") is not None:
                draws[results.get("seed", 0)] = m
    return dict(sorted(draws.items()))


def targets_met(dataset: str, kind: str, test_nll: float) -> tuple[bool, bool]:
    """Issue 14's two targets for a test NLL on ``dataset``: (at or below the paper's Table 2,
    for the tanh-RNN within ``TANH_MARGIN`` of it: ``target_line``; below the best other
    published plain recurrent net, ``literature.best_other_plain_rnn``)."""
    return (test_nll <= target_line(dataset, kind),
            test_nll < best_other_plain_rnn(dataset)[0])


def target_line(dataset: str, kind: str) -> float:
    """The test NLL issue 14 asks of ``kind`` on ``dataset``: the paper's Table 2 number, for
    the tanh-RNN plus ``TANH_MARGIN``."""
    return TABLE2[dataset][kind][1] + (TANH_MARGIN if kind == "tanh" else 0.0)


def missed_target(dataset: str, kind: str, **where) -> dict | None:
    """What the committed files measure about a missed target, or None where ``kind`` meets
    it on ``dataset`` (or has no run): the run ``best_run`` picks (``folder``, ``entry``), the
    ``line`` it misses, the run of ``kind`` here that fits the training pieces most closely
    (``closest``: (folder, entry)) and the picked run's ``seeds`` (``seed_draws``). The paper's
    train and test numbers are ``TABLE2[dataset][kind]``."""
    found = best_run(dataset, kind, **where)
    if found is None or targets_met(dataset, kind, found[1]["test_nll"])[0]:
        return None
    fits = [run for run in committed_winners(dataset, kind, **where)
            if run[1].get("train_nll") is not None]
    return {"folder": found[0], "entry": found[1], "line": target_line(dataset, kind),
            "closest": min(fits, key=lambda run: run[1]["train_nll"]),
            "seeds": seed_draws(found[0], kind, **where)}
