"""Re-execute the chapter notebooks in place, so the committed outputs are those of a real run.

    python book/run_notebooks.py                      # every chapter, full mode
    python book/run_notebooks.py 03 07                # chapters whose file name starts so
    python book/run_notebooks.py --data ../shared/data   # read the data sets from copies

Each notebook runs top to bottom in a fresh kernel started in notebooks/ (so relative paths
such as ../data/results resolve as they do for a reader), with one torch thread
(OMP_NUM_THREADS=1: these models are small, extra threads only add overhead). A notebook is
written back only if every cell ran; it goes through a temporary file and a rename, so an
interrupted run never leaves a half-written chapter. A failing cell stops that notebook, names
the cell, and leaves the file as it was.

``--data DIR`` builds a private, offline data cache from copies of the four music sets
(``DIR/music/*.mat``) and of FSDD (``DIR/speech/fsdd/recordings``), as CI does; without it the
notebooks use your own cache ($GRU_LIB_DATA or the default) and download what is missing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_offline_cache(music: Path, fsdd: Path, cache: Path) -> dict:
    """Fill ``cache`` with copies of the music sets (``music/*.mat``) and FSDD (``fsdd`` is a
    copy of its repository), laid out as gru_lib's cache after a download; returns the
    environment variables that point gru_lib at it and forbid downloads. Also used by
    tests/test_notebooks.py, so CI runs the chapters on exactly this cache.

    FSDD goes in as the pinned archive (``<repo>-<commit>/recordings/*.wav`` under the
    registry's file name): the first notebook that loads speech checks its content and builds
    the cache's .npz, as after a real download."""
    from gru_lib import download

    cache.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(music).glob("*.mat")):
        shutil.copy(path, cache / path.name)
    if (Path(fsdd) / "recordings").is_dir():
        entry = download.dataset_info("fsdd")["sources"][0]
        top = entry["members"].split("/")[0]
        with tarfile.open(cache / entry["filename"], "w:gz", compresslevel=1) as tar:
            for wav in sorted((Path(fsdd) / "recordings").glob("*.wav")):
                tar.add(wav, arcname=f"{top}/recordings/{wav.name}")
    return {"GRU_LIB_DATA": str(cache), "GRU_LIB_OFFLINE": "1"}


def prebuild_chorales(env: dict) -> None:
    """Build the music21 chorales into the cache now, quietly, so no chapter's committed output
    holds the one-time build's progress bar (a reader's own first run shows it, as it should)."""
    from gru_lib import music

    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        music.load_music("chorales", None, progress=False)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(path: Path, env: dict, timeout: int) -> float:
    """Execute one notebook in place; returns the seconds it took."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    previous = dict(os.environ)
    os.environ.update(env)                      # the kernel inherits this process's environment
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(previous)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".ipynb")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    os.replace(tmp, path)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="file-name prefixes (default: every notebook)")
    parser.add_argument("--data", default=None, help="a folder holding music/*.mat and "
                                                     "speech/fsdd/recordings (offline cache)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    args = parser.parse_args(argv)
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.chapters:
        notebooks = [p for p in notebooks if any(p.name.startswith(c) for c in args.chapters)]
        if not notebooks:
            print(f"error: no notebook in notebooks/ starts with {' or '.join(args.chapters)}",
                  file=sys.stderr)
            return 2
    # The inline backend, whatever this shell's MPLBACKEND says: with Agg the kernel draws every
    # figure and saves none of them into the notebook, and the book shows no figures at all.
    env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    env.pop("GRU_LIB_FAST", None)
    os.environ.pop("GRU_LIB_FAST", None)        # full mode: the committed outputs are real runs
    with tempfile.TemporaryDirectory() as tmp:
        if args.data is not None:
            data = Path(args.data)
            if not data.is_dir():
                print(f"error: --data {args.data!r} is not a folder", file=sys.stderr)
                return 2
            env.update(build_offline_cache(data / "music", data / "speech" / "fsdd", Path(tmp)))
            prebuild_chorales(env)
        for path in notebooks:
            try:
                seconds = run(path, env, args.timeout)
            except Exception as err:   # nbclient's CellExecutionError, a dead kernel, a timeout
                print(f"error: {path.name} failed, left unchanged:\n{str(err)[-3000:]}", file=sys.stderr)
                return 1
            print(f"{path.name}: executed in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
