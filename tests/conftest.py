"""Fixtures shared by the data tests (tests/ and its subfolders).

The real datasets are read from byte-exact copies beside the repository
(``../shared/data``, see its README); tests that need them skip, saying so, where the copies
are absent. Data tests never touch the user's cache and never download by accident.
"""
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SHARED_MUSIC = SHARED_DATA / "music"
SHARED_FSDD = SHARED_DATA / "speech" / "fsdd"


def _shared(folder: Path, probe: str) -> Path:
    if not (folder / probe).is_file():
        pytest.skip(f"the shared data copies (../shared/data/{folder.relative_to(SHARED_DATA)}) are not here")
    return folder


@pytest.fixture(scope="module")
def data_dir():
    """The shared copies of the four music sets (.mat) and the JSB pickle."""
    return _shared(SHARED_MUSIC, "JSB_Chorales.mat")


@pytest.fixture(scope="module")
def fsdd_dir():
    """The shared copy of the Free Spoken Digit Dataset (recordings/*.wav)."""
    return _shared(SHARED_FSDD, "recordings/0_george_0.wav")


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A fresh, empty gru_lib cache for one test, with downloads forbidden."""
    monkeypatch.setenv("GRU_LIB_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("GRU_LIB_OFFLINE", "1")


@pytest.fixture(scope="session")
def waves():
    """Every FSDD waveform of the shared copy, {split: {name: float32 tensor}}, read once.

    Read straight from the folder: a local copy is never cached, so no cache is touched."""
    from gru_lib import speech

    folder = _shared(SHARED_FSDD, "recordings/0_george_0.wav")
    return speech.load_speech(None, folder=folder, progress=False)
