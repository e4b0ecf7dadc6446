"""Tests of gru_lib.speech.data on the real Free Spoken Digit Dataset: registry, splits,
normalisation, framing, verification and the download path.

The shared copy (../shared/data/speech/fsdd; FSDD, Zohar Jackson et al., CC BY-SA 4.0) is
read directly, and also served over loopback HTTP as the real GitHub archive layout
(``free-spoken-digit-dataset-<commit>/recordings/*.wav`` in a tar.gz built here), so the
download path is checked against the registry's content checksum, including failures.
"""
import copy
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from gru_lib import download, speech
from gru_lib.download import DownloadError
from tests.conftest import SHARED_FSDD as FSDD

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"


def test_registry_entry_is_pinned_and_credits_the_licence():
    info = download.dataset_info("fsdd")
    assert "CC BY-SA 4.0" in info["licence"] and "Zohar Jackson" in info["licence"]
    src = info["sources"][0]
    assert src["commit"] == COMMIT and src["count"] == 3000 and src["format"] == "tar.gz"
    assert src["urls"] == [f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{COMMIT}.tar.gz"]
    assert src["filename"] == f"free-spoken-digit-dataset-{COMMIT}.tar.gz"
    assert src["content_sha256"] == "ddb17656a0bca4c5ddace082be188ca630516dc2ef1110afe3c4e9cc71173de4"
    assert download.lookup("fsdd") == src
    assert "CC BY-SA 4.0" in speech.CREDIT and "Zohar Jackson" in speech.CREDIT


def test_shared_copy_loads_with_the_documented_statistics(waves):
    counts = {s: len(waves[s]) for s in speech.data.SPLITS}
    assert counts == {"train": 2400, "valid": 300, "test": 300}
    every = [w for s in speech.data.SPLITS for w in waves[s].values()]
    assert sum(len(w) for w in every) == 10_498_424                     # README: samples in all
    lengths = [len(w) / speech.RATE for w in every]
    assert round(min(lengths), 2) == 0.14 and round(max(lengths), 2) == 2.28
    assert all(w.dtype == torch.float32 and float(w.abs().max()) <= 1.0 for w in every)
    # split by take; every speaker and digit in every split
    for split, takes in (("test", range(0, 5)), ("valid", range(5, 10)), ("train", range(10, 50))):
        parsed = [speech.parse_name(n) for n in waves[split]]
        assert {t for _, _, t in parsed} == set(takes)
        assert {d for d, _, _ in parsed} == set(range(10))
        assert {s for _, s, _ in parsed} == {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}


def test_prefixes_of_a_split_are_whole_takes(waves):
    first = [speech.parse_name(n) for n in list(waves["train"])[:120]]
    assert [t for _, _, t in first] == [10] * 60 + [11] * 60           # takes 10 and 11 ...
    assert len({(d, s) for d, s, _ in first}) == 60                      # ... of every digit and speaker
    frames = speech.load_frames("valid", folder=FSDD, progress=False)
    assert [f.shape[0] for f in frames] == [len(w) // 10 for w in waves["valid"].values()]


def test_one_normalisation_int16_over_32768(waves, fsdd_dir):
    for split, name in (("train", "3_theo_20.wav"), ("test", "3_theo_2.wav")):
        rate, raw = wavfile.read(fsdd_dir / "recordings" / name)
        assert rate == 8000 and raw.dtype == np.int16
        assert torch.equal(waves[split][name], torch.from_numpy(raw.astype(np.float32) / 32768))


def test_names_and_splits():
    assert speech.parse_name("7_yweweler_49.wav") == (7, "yweweler", 49)
    assert [speech.split_of(f"1_theo_{t}.wav") for t in (0, 4, 5, 9, 10, 49)] == \
        ["test", "test", "valid", "valid", "train", "train"]
    with pytest.raises(ValueError, match=r"name: expected an FSDD file name.*'hello.wav'"):
        speech.parse_name("hello.wav")
    with pytest.raises(ValueError, match=r"split: expected one of \['train', 'valid', 'test'\]"):
        speech.load_speech("validation")


@pytest.fixture(scope="module")
def archive_dir(fsdd_dir, tmp_path_factory):
    """The real archive layout, built from the shared copy: top/recordings/*.wav in a tar.gz."""
    folder = tmp_path_factory.mktemp("archive")
    top = f"free-spoken-digit-dataset-{COMMIT}"
    with tarfile.open(folder / f"{top}.tar.gz", "w:gz", compresslevel=1) as tar:
        tar.add(fsdd_dir / "recordings", arcname=f"{top}/recordings")
        readme = b"FSDD\n"
        info = tarfile.TarInfo(f"{top}/README.md")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    return folder


def _bad_archive(folder, fsdd_dir, *, drop=None, alter=None):
    """An archive like the real one but with one recording dropped or one byte changed."""
    top = f"free-spoken-digit-dataset-{COMMIT}"
    path = folder / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for p in sorted((fsdd_dir / "recordings").glob("*.wav")):
            if p.name == drop:
                continue
            data = bytearray(p.read_bytes())
            if p.name == alter:
                data[-1] ^= 1
            info = tarfile.TarInfo(f"{top}/recordings/{p.name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(bytes(data)))
    return path


class Server:
    """Serve a folder on 127.0.0.1 and point the fsdd registry address at its archive."""

    def __init__(self, folder, monkeypatch):
        quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), lambda *a, **k: quiet(*a, directory=str(folder), **k))
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        reg = copy.deepcopy(download._load_registry())
        src = reg["datasets"]["fsdd"]["sources"][0]
        src["urls"] = [f"http://127.0.0.1:{self.httpd.server_address[1]}/{src['filename']}"]
        monkeypatch.setattr(download, "_load_registry", lambda: reg)
        monkeypatch.delenv("GRU_LIB_OFFLINE")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_loopback_download_verifies_and_caches(archive_dir, waves, tmp_path, monkeypatch):
    server = Server(archive_dir, monkeypatch)
    try:
        recs = speech.load_recordings(progress=False)
    finally:
        server.close()
    assert len(recs) == 3000
    name = "5_lucas_33.wav"
    assert torch.equal(speech.to_float(recs[name]), waves["train"][name])
    cache = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert cache == [f"free-spoken-digit-dataset-{COMMIT}.tar.gz", "fsdd-26eb9aa-v1.npz"]
    # the next call needs no network (the server is gone, and offline is set again)
    monkeypatch.setenv("GRU_LIB_OFFLINE", "1")
    again = speech.load_speech("test", progress=False)
    assert len(again) == 300 and torch.equal(again["0_george_0.wav"], waves["test"]["0_george_0.wav"])
    # a damaged cache file is rebuilt from the archive beside it, not trusted
    (tmp_path / "cache" / "fsdd-26eb9aa-v1.npz").write_bytes(b"not an npz")
    assert len(speech.load_recordings(progress=False)) == 3000


@pytest.mark.parametrize("damage,message", [
    (dict(alter="4_nicolas_17.wav"), r"not the pinned FSDD \(commit 26eb9aa\): sha256 .* expected ddb17656"),
    (dict(drop="4_nicolas_17.wav"), r"expected 3000 recordings/\*\.wav, found 2999"),
])
def test_loopback_wrong_content_is_refused_and_not_kept(fsdd_dir, tmp_path, monkeypatch, damage, message):
    folder = tmp_path / "served"
    folder.mkdir()
    _bad_archive(folder, fsdd_dir, **damage)
    server = Server(folder, monkeypatch)
    try:
        with pytest.raises(DownloadError, match=message):
            speech.load_recordings(progress=False)
    finally:
        server.close()
    assert list((tmp_path / "cache").iterdir()) == []       # nothing wrong left for the next run


def test_garbage_archive_and_offline_errors(tmp_path, monkeypatch):
    with pytest.raises(DownloadError, match=r"not in the cache\. GRU_LIB_OFFLINE=1 forbids downloads"):
        speech.load_recordings(progress=False)
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / f"free-spoken-digit-dataset-{COMMIT}.tar.gz").write_bytes(b"<html>rate limited</html>")
    server = Server(folder, monkeypatch)
    try:
        with pytest.raises(DownloadError, match="not a readable tar.gz archive"):
            speech.load_recordings(progress=False)
    finally:
        server.close()
    assert list((tmp_path / "cache").iterdir()) == []


def test_local_folder_forms_and_a_wrong_local_copy(archive_dir, fsdd_dir, tmp_path):
    assert len(speech.load_recordings(folder=archive_dir, progress=False)) == 3000   # holds the archive
    assert len(speech.load_recordings(folder=fsdd_dir / "recordings", progress=False)) == 3000
    copy_dir = tmp_path / "fsdd" / "recordings"
    copy_dir.mkdir(parents=True)
    for p in (fsdd_dir / "recordings").glob("*.wav"):
        (copy_dir / p.name).symlink_to(p.resolve())
    (copy_dir / "0_theo_0.wav").unlink()
    (copy_dir / "0_theo_0.wav").write_bytes((fsdd_dir / "recordings" / "0_theo_1.wav").read_bytes())
    with pytest.raises(DownloadError, match="not the pinned FSDD"):
        speech.load_recordings(folder=tmp_path / "fsdd", progress=False)
    with pytest.raises(ValueError, match=r"holds no FSDD copy: expected a recordings/ folder.*"
                                         r"the archive 'free-spoken-digit-dataset-.*found 'fsdd'"):
        speech.load_recordings(folder=tmp_path, progress=False)
    with pytest.raises(ValueError, match="neither a file nor a folder"):
        speech.load_recordings(folder=tmp_path / "nope", progress=False)


def test_the_archive_itself_under_any_name(archive_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(download, "_download_once", lambda *a, **k: pytest.fail("downloaded"))
    mine = tmp_path / "my_fsdd.tgz"
    mine.symlink_to(next(archive_dir.glob("*.tar.gz")))
    assert len(speech.load_recordings(folder=mine, progress=False)) == 3000
    (tmp_path / "junk.tgz").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="junk.tgz: not a readable tar.gz archive"):
        speech.load_recordings(folder=tmp_path / "junk.tgz", progress=False)


def test_framing_reads_20_predicts_the_next_10():
    wave = torch.arange(95, dtype=torch.float32)
    frames = speech.frame(wave)                                  # 9 frames; the last 5 samples dropped
    assert frames.shape == (9, 10) and frames[-1, -1] == 89
    x = speech.model._context(frames[:-1].unsqueeze(1))               # what the model reads: (7, 1, 20)
    targets = frames[2:]                                         # what it predicts: (7, 10)
    for t in range(7):
        assert x[t, 0].tolist() == list(range(10 * t, 10 * t + 20))          # 20 consecutive samples
        assert targets[t].tolist() == list(range(10 * t + 20, 10 * t + 30))  # the next 10 (hop 10)
    with pytest.raises(ValueError, match=r"wave: expected a 1-D waveform"):
        speech.frame(torch.zeros(2, 50))


def test_one_wav_file_as_the_data_says_to_give_the_whole_fsdd(fsdd_dir):
    """It used to say "not a readable tar.gz archive"."""
    one = next((fsdd_dir / "recordings").glob("*.wav"))
    with pytest.raises(ValueError, match="is a single WAV file; --data takes the whole FSDD: its "
                                         "folder .* or its archive .*--prime"):
        speech.load_recordings(folder=one, progress=False)


def test_a_data_file_or_folder_that_is_no_fsdd_copy_names_data(tmp_path):
    """--data afile.txt said "<path>: not a readable tar.gz archive", not which option it was."""
    (tmp_path / "afile.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"^data: .*afile\.txt: not a readable tar\.gz archive .*"
                                         r"--data takes the whole FSDD: its folder"):
        speech.load_recordings(folder=tmp_path / "afile.txt", progress=False)
    (tmp_path / "fsdd" / "recordings").mkdir(parents=True)     # the folder, but no recordings
    with pytest.raises(ValueError, match=r"^data: no \.wav recordings in '.*fsdd/recordings'"):
        speech.load_recordings(folder=tmp_path / "fsdd", progress=False)
    with pytest.raises(ValueError, match=r"^data: expected a path .*got int 123$"):
        speech.load_recordings(folder=123, progress=False)
