"""Run every chapter notebook under nbval, in fast mode.

Each notebook in notebooks/ runs top to bottom in a fresh kernel with GRU_LIB_FAST=1 (fewer
training steps). ``--nbval-lax`` fails on any error and compares the outputs of the cells
marked ``# NBVAL_CHECK_OUTPUT`` (parameter counts, equivalence checks) with the committed
ones, so a library change that breaks a chapter's claims fails here.

One pytest subprocess per notebook, so each shows up as its own test. The same check by hand:

    GRU_LIB_FAST=1 python -m pytest --nbval-lax notebooks/
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))
from run_notebooks import build_offline_cache  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MISSING = [m for m in ("nbval", "ipykernel") if importlib.util.find_spec(m) is None]
SHARED_MUSIC = ROOT / ".." / "shared" / "data" / "music"
SHARED_FSDD = ROOT / ".." / "shared" / "data" / "speech" / "fsdd"     # a copy of the FSDD repository


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory):
    """A gru_lib data cache for all notebooks, built by book/run_notebooks.py from the shared
    copies of the music sets and of FSDD (so no download is needed offline), and one chorales
    build, reused by every chapter: the same cache the committed outputs were run on.

    Where there are no shared copies, the caller's own cache ($GRU_LIB_DATA or the default)
    is used as it is."""
    if not SHARED_MUSIC.is_dir() and not (SHARED_FSDD / "recordings").is_dir():
        return {}
    return build_offline_cache(SHARED_MUSIC, SHARED_FSDD, tmp_path_factory.mktemp("gru_lib_data"))


@pytest.mark.skipif(bool(MISSING), reason=f"{' and '.join(MISSING)} not installed: "
                    "pip install nbval ipykernel (see requirements.txt) to run the notebooks")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook(notebook, tmp_path, data_cache):
    env = dict(os.environ, GRU_LIB_FAST="1", **data_cache)
    # The models are tiny: extra threads only add overhead, and on a shared CPU they make
    # timings collapse. A caller can still choose by setting OMP_NUM_THREADS.
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MPLBACKEND", "Agg")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=300",
           "--rootdir", str(tmp_path), str(notebook)]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (
        f"nbval failed on {notebook.name} (exit {result.returncode}):\n"
        f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}")


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


def test_committed_chapters_carry_the_figures_they_draw():
    """A chapter executed under a non-inline matplotlib backend (MPLBACKEND=Agg) draws every
    figure and saves none: the book then shows no figures. Each code cell that calls
    plt.subplots / plt.figure / plt.show must have an image among its committed outputs."""
    import json

    missing = []
    for path in NOTEBOOKS:
        for number, cell in enumerate(json.loads(path.read_text())["cells"], 1):
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or not any(
                    call in source for call in ("plt.subplots(", "plt.figure(", "plt.show(")):
                continue
            if not any("image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {})
                       for out in cell.get("outputs", [])):
                missing.append(f"{path.name} cell {number}")
    assert not missing, ("cells that draw a figure but carry no image (re-run them with "
                         "python book/run_notebooks.py): " + ", ".join(missing))
