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
"""
from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

from .. import download

__all__ = ["LOCAL", "PROBE_SIZES", "REMOTE", "find_chunked", "find_probe", "probe_name",
           "read_result"]

LOCAL = Path(__file__).resolve().parents[2] / "data" / "results"    # the clone's, if any
REMOTE = "https://raw.githubusercontent.com/gru-lib/gru-lib/main/data/results"


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
