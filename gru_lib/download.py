"""
Fetching public data files: a registry, a cache folder and a careful downloader.

Every data file gru_lib uses is named in ``registry.json`` (shipped inside the
package) with its public address(es), size and sha256. ``fetch`` turns a name
into a local path:

1. a copy in a folder the user passes (``folder=``) is used as is, with no
   network access;
2. else a copy already in the cache folder is used, again with no network;
3. else the file is downloaded (unless ``GRU_LIB_OFFLINE=1``) into a temporary
   file next to its final place, checked against its size and sha256, and only
   then renamed into the cache. A failed download therefore never leaves a
   partial or wrong file where the next run would pick it up.

Anything found at a file's final place in the cache was therefore either verified by
gru_lib or put there by the user, so it is never deleted: a copy that fails the
checks is left as it is (offline, or when no good copy can be downloaded), or moved
aside to ``<name>.rejected`` (with a warning saying so) when a verified download takes
its place. A loader may pass ``check=`` to vet a file's content (for files with no
published checksum); a downloaded file that fails it never reaches its final place.

The cache folder is ``$GRU_LIB_DATA`` if set, else the platform's user cache
(``~/.cache/gru_lib`` on Linux). Only the standard library (urllib) talks to the
network, so nothing beyond tqdm is needed.

Anything that goes wrong on the way ends in a ``DownloadError`` that says what
happened and where to put the file by hand.

    >>> from gru_lib.download import fetch
    >>> path = fetch("jsb")                      # JSB_Chorales.mat, verified
    >>> path = fetch("JSB_Chorales.mat", folder="../shared/data/music")
"""

import copy
import hashlib
import http.client
import json
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from functools import lru_cache
from pathlib import Path

from tqdm.auto import tqdm

from . import checks
from .checks import expand_user
from .atomic import set_aside

_CHUNK = 1 << 16  # bytes read per call; small enough for a lively progress bar


class DownloadError(RuntimeError):
    """A data file could not be found locally, or could not be downloaded and verified."""


class UnusableFile(DownloadError, ValueError):
    """A data file was found (or downloaded) but its content fails the loader's check.

    Both a DownloadError and a ValueError: bad input, reported in one line."""


# -----------------------------------------------------------------------------
# where files live

def cache_dir(create=True):
    """The folder where downloaded (and built) data files are kept.

    ``$GRU_LIB_DATA`` if set; else the platform's user cache folder:
    ``$XDG_CACHE_HOME/gru_lib`` or ``~/.cache/gru_lib`` on Linux,
    ``~/Library/Caches/gru_lib`` on macOS, ``%LOCALAPPDATA%\\gru_lib\\Cache`` on
    Windows. (The same rules as the ``platformdirs`` package, without the
    dependency.)
    """
    env = os.environ.get("GRU_LIB_DATA")
    if env:
        path = expand_user(env, "GRU_LIB_DATA")
    elif sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        path = Path(base) / "gru_lib" / "Cache"
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Caches" / "gru_lib"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "gru_lib"
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:           # a file at that name, a path through one, no permission
            where = "GRU_LIB_DATA" if env else "the cache folder"
            why = "it is a file" if path.is_file() else (err.strerror or str(err))
            raise ValueError(f"{where}: cannot use {str(path)!r} for the data cache "
                             f"({why}); set GRU_LIB_DATA to a folder you can "
                             f"write, or give your copy of the data with --data") from None
    return path


OFFLINE_WORDS = {"1": True, "true": True, "yes": True, "on": True,
                 "": False, "0": False, "false": False, "no": False, "off": False}


def offline():
    """True when ``GRU_LIB_OFFLINE`` is set to 1 / true / yes / on: no download is attempted
    (0 / false / no / off or unset: downloads allowed; anything else is a ValueError)."""
    value = os.environ.get("GRU_LIB_OFFLINE", "").strip().lower()
    if value not in OFFLINE_WORDS:
        raise ValueError(f"GRU_LIB_OFFLINE: expected 1 or 0 (true/false, yes/no, on/off), got "
                         f"{os.environ['GRU_LIB_OFFLINE']!r}")
    return OFFLINE_WORDS[value]


# -----------------------------------------------------------------------------
# the registry

@lru_cache(maxsize=1)
def _load_registry():
    path = Path(__file__).with_name("registry.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def registry():
    """The whole registry as a dict (a copy: editing it changes nothing here)."""
    return copy.deepcopy(_load_registry())


def dataset_names():
    """Names of the datasets in the registry, e.g. ``['jsb', 'nottingham', ...]``."""
    return list(_load_registry()["datasets"])


def dataset_info(name):
    """The registry record of one dataset: title, licence, citation, sources, ..."""
    datasets = _load_registry()["datasets"]
    if name not in datasets:
        raise ValueError(f"name: unknown dataset {name!r}; expected one of {sorted(datasets)}")
    return copy.deepcopy(datasets[name])


def lookup(name):
    """The registry entry of one file, by dataset name (its default source) or file name.

    ``lookup("jsb")`` and ``lookup("JSB_Chorales.mat")`` give the same entry: a dict
    with ``filename``, ``urls``, ``sha256``, ``size`` and ``format``.
    """
    if not isinstance(name, str):
        raise ValueError(f"name: expected a dataset or file name (str), got {type(name).__name__}")
    files = {}
    for ds in _load_registry()["datasets"].values():
        for src in ds["sources"]:
            files[src["filename"]] = src
    ds = _load_registry()["datasets"].get(name)
    if ds is not None:
        if not ds["sources"]:
            raise ValueError(f"name: dataset {name!r} is built locally, it has no file to fetch")
        return copy.deepcopy(ds["sources"][0])
    if name in files:
        return copy.deepcopy(files[name])
    valid = sorted(n for n, d in _load_registry()["datasets"].items() if d["sources"]) + sorted(files)
    raise ValueError(f"name: unknown dataset or file {name!r}; expected one of {valid}")


def _check_entry(entry):
    """Validate a file entry given as a dict (e.g. one edited to point at a mirror)."""
    if not isinstance(entry, dict):
        raise ValueError(f"name_or_entry: expected a name (str) or a registry entry (dict), "
                         f"got {type(entry).__name__}")
    fn = entry.get("filename")
    # the name becomes a path in the cache: refuse anything that could escape it
    if not isinstance(fn, str) or not fn or fn in (".", "..") or "/" in fn or "\\" in fn:
        raise ValueError(f"entry['filename']: expected a plain file name, got {fn!r}")
    urls = entry.get("urls", [])
    if isinstance(urls, str) or not all(isinstance(u, str) for u in urls):
        raise ValueError(f"entry['urls']: expected a list of addresses, got {urls!r}")
    sha = entry.get("sha256")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64
                            or any(c not in "0123456789abcdef" for c in sha.lower())):
        raise ValueError(f"entry['sha256']: expected 64 hex digits or None, got {sha!r}")
    size = entry.get("size")
    if size is not None and (not checks.is_int(size) or size < 0):
        raise ValueError(f"entry['size']: expected a byte count (int >= 0) or None, got {size!r}")
    return {"filename": fn, "urls": list(urls), "sha256": sha.lower() if sha else None,
            "size": size, **{k: v for k, v in entry.items()
                             if k not in ("filename", "urls", "sha256", "size")}}


# -----------------------------------------------------------------------------
# checking and fetching

def sha256sum(path):
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _mismatch(path, entry):
    """Why the file at ``path`` is not the one ``entry`` describes, or None if it is."""
    size = path.stat().st_size
    if entry["size"] is not None and size != entry["size"]:
        return f"it has {size} bytes, expected {entry['size']}"
    if entry["sha256"] is not None:
        got = sha256sum(path)
        if got != entry["sha256"]:
            return f"its sha256 is {got}, expected {entry['sha256']}"
    return None


def _by_hand(entry, dest):
    """The closing sentence of every error: how to get the file without us."""
    where = entry["urls"][0] if entry["urls"] else "its public source"
    sha = f" (sha256 {entry['sha256']})" if entry["sha256"] else ""
    save = f"put it in place of {dest}" if dest.exists() else f"save it as {dest}"
    return (f"Download it by hand from {where}{sha} and {save}, or give your copy "
            f"(the file, or a folder that holds {entry['filename']}) as --data on the command "
            f"line, folder= in Python.")


def _problem(path, entry, check):
    """Why the file at ``path`` cannot be used (size, checksum, then ``check``), or None."""
    why = _mismatch(path, entry)
    if why is None and check is not None:
        try:
            check(path)
        except (ValueError, DownloadError) as e:
            why = f"its content is not usable ({_strip(e, path)})"
    return why


def _strip(error, path):
    """An error message without a leading '<path>: ' (the caller names the file itself)."""
    text = str(error)
    return text[len(f"{path}: "):] if text.startswith(f"{path}: ") else text


def fetch(name_or_entry, folder=None, *, timeout=30.0, retries=3, retry_delay=1.0, progress=True,
          check=None):
    """Return the local path of a registry file, downloading and verifying it if needed.

    name_or_entry: a dataset name ("jsb"), a file name ("JSB_Chorales.mat") or a
        registry entry dict (filename, urls, sha256, size).
    folder: an optional folder to look in first (e.g. a copy on a shared drive).
        A file found there is checked but never copied or modified.
    timeout: seconds to wait for the server to answer or to send more data.
    retries: attempts per address for transient failures (timeouts, dropped
        connections, truncated transfers, HTTP 5xx).
    retry_delay: seconds to wait before the second attempt; doubled each time.
    progress: show a tqdm progress bar while downloading.
    check: an optional callable ``check(path)`` that raises ValueError (or
        DownloadError) if the file's content is unusable. It is called on every file
        before it is returned: a downloaded one is checked under its temporary name
        and never put in place if it fails.

    No file that gru_lib did not write is ever deleted: a bad file in ``folder`` or
    in the cache is left as it is and named in the error, or (in the cache) moved
    aside to ``<name>.rejected`` when a verified download replaces it.

    Raises DownloadError when no good copy can be found or made (UnusableFile, also
    a ValueError, when the trouble is the file's content); ValueError on bad arguments.
    """
    entry = lookup(name_or_entry) if isinstance(name_or_entry, str) else _check_entry(name_or_entry)
    entry = _check_entry(entry)
    retries = checks.positive_int("retries", retries)
    if not checks.is_number(timeout) or not timeout > 0:
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    fn = entry["filename"]

    # 1. a folder the user gave: use it if the file is there and right
    if folder is not None:
        folder = expand_user(folder, "folder")
        if not folder.is_dir():
            raise ValueError(f"folder: {str(folder)!r} is not an existing folder")
        local = folder / fn
        if local.is_file():
            why = _problem(local, entry, check)
            if why is not None:
                cls = DownloadError if _mismatch(local, entry) else UnusableFile
                raise cls(f"{local} is not the expected {fn}: {why}. It was left as it is: "
                          f"replace it with the right file or remove it.")
            return local

    # 2. the cache
    dest = cache_dir() / fn
    stale = None
    if dest.is_file():
        stale = _problem(dest, entry, check)
        if stale is None:
            return dest
    elif dest.exists():       # a folder (or other non-file) in the way: say so, not "(None)"
        stale = "it is a folder, not a file" if dest.is_dir() else "it is not a regular file"
    kept = (f"The cached copy {dest} is unusable: {stale}; it was left as it is. "
            if stale else "")
    # bad content (not a size or checksum mismatch) is bad input: also a ValueError
    cls = UnusableFile if stale and stale.startswith("its content") else DownloadError

    # 3. the network, unless forbidden
    if offline():
        what = kept or f"{fn} is not in the cache. "
        raise cls(f"{what}GRU_LIB_OFFLINE=1 forbids downloads. " + _by_hand(entry, dest))
    if not entry["urls"]:
        what = kept or f"{fn} is not in the cache and "
        raise cls(f"{what}{'The' if kept else 'the'} registry gives no address for it. "
                            + _by_hand(entry, dest))

    failures, bad_content = [], False
    for url in entry["urls"]:
        for attempt in range(retries):
            try:
                _download_once(url, dest, entry, timeout=timeout, progress=progress, check=check,
                               stale=stale)
                return dest
            except _Failure as e:
                failures.append(f"{url}: {e}")
                bad_content = bad_content or e.content
                if not e.transient:
                    break  # a 404 or a wrong checksum will not fix itself: next address
                if attempt + 1 < retries:
                    time.sleep(retry_delay * 2 ** attempt)
    tried = "\n  ".join(failures)
    cls = UnusableFile if bad_content or cls is UnusableFile else DownloadError
    raise cls(f"Could not download {fn}.\n  {tried}\n{kept}" + _by_hand(entry, dest))


class _Failure(Exception):
    """One failed attempt; ``transient`` says whether trying again might help."""

    def __init__(self, message, transient, content=False):
        super().__init__(message)
        self.transient = transient
        self.content = content  # the file arrived whole but the loader's check refused it


def _download_once(url, dest, entry, *, timeout, progress, check=None, stale=None):
    """One attempt: stream ``url`` into a temp file beside ``dest``, verify, rename.

    A file already at ``dest`` (one that failed its checks: ``stale`` says why) is not
    ours to delete: it is moved aside, with a warning, before the verified one takes
    its place."""
    req = urllib.request.Request(url, headers={"User-Agent": "gru_lib (python urllib)"})
    tmp = None
    received = 0
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            header = resp.headers.get("Content-Length")
            announced = int(header) if header and header.isdigit() else None
            # same folder as dest, so os.replace is an atomic rename, never a copy
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
            h = hashlib.sha256()
            with os.fdopen(fd, "wb") as f, tqdm(total=announced or entry["size"], unit="B",
                                                unit_scale=True, unit_divisor=1024, desc=dest.name,
                                                disable=not progress, leave=False) as bar:
                while True:
                    chunk = resp.read1(_CHUNK)  # what has arrived: a stall shows up at once
                    if not chunk:
                        break
                    f.write(chunk)
                    h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if announced is not None and received < announced:
            raise _Failure(f"truncated transfer: received {received} of {announced} bytes", True)
        if entry["size"] is not None and received != entry["size"]:
            kind = "truncated transfer" if received < entry["size"] else "unexpected size"
            raise _Failure(f"{kind}: received {received} bytes, expected {entry['size']}",
                           received < entry["size"])
        if entry["sha256"] is not None and h.hexdigest() != entry["sha256"]:
            raise _Failure(f"checksum mismatch: sha256 {h.hexdigest()}, expected {entry['sha256']} "
                           f"(the server sent a different file)", False)
        if check is not None:
            try:
                check(Path(tmp))
            except (ValueError, DownloadError) as e:
                raise _Failure(f"the downloaded file is not usable ({_strip(e, tmp)}); "
                               f"it was not kept", False, content=True) from None
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache file need not be
        if dest.exists():
            try:
                aside = set_aside(dest)       # never deleted: it may be the user's
            except ValueError as err:         # 999 rejected copies already beside it
                raise DownloadError(str(err)) from None
            warnings.warn(f"{dest} was unusable ({stale}); it was moved to {aside} and replaced "
                          f"by a verified download. Remove {aside} if you do not need it.",
                          stacklevel=4)
        os.replace(tmp, dest)
        tmp = None
    except _Failure:
        raise
    except urllib.error.HTTPError as e:
        raise _Failure(f"HTTP error {e.code} {e.reason}", e.code >= 500 or e.code in (408, 429))
    except urllib.error.URLError as e:
        if isinstance(e.reason, (socket.timeout, TimeoutError)):
            raise _Failure(f"no answer within {timeout} s (server stalled?)", True)
        raise _Failure(f"could not connect ({e.reason}); is the network reachable?", True)
    except (socket.timeout, TimeoutError):
        raise _Failure(f"stalled server: no data for {timeout} s after {received} bytes", True)
    except http.client.IncompleteRead as e:
        raise _Failure(f"truncated transfer: connection closed after {received + len(e.partial)} bytes",
                       True)
    except (http.client.HTTPException, ConnectionError) as e:
        raise _Failure(f"connection failed after {received} bytes: {e!r}", True)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
