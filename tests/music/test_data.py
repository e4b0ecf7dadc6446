"""Tests of gru_lib.music.data on the real data sets (shared copies in ../shared/data/music):
loading, splits, statistics, and loading through the real download path.

The statistics are checked against the figures in ../shared/data/README.md.
"""
import contextlib
import copy
import http.server
import os
import pickle
import re
import threading
import urllib.parse

import numpy as np
import pytest
import torch

from gru_lib import download, music
from tests.music.helpers import README, RunsCommand, layout

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


@pytest.mark.parametrize("name", list(README))
def test_statistics_match_the_readme(name, data_dir):
    counts, (lmin, lmean, lmax), (lo, hi), poly = README[name]
    st = music.dataset_stats(name, folder=data_dir)
    assert tuple(st[s]["sequences"] for s in music.data.SPLITS) == counts
    assert st["train"]["length_min"] == lmin and st["train"]["length_max"] == lmax
    assert round(st["train"]["length_mean"], 1) == lmean
    assert (st["all"]["midi_min"], st["all"]["midi_max"]) == (lo, hi)
    assert st["all"]["max_notes"] == poly
    if name == "musedata":
        assert st["test"]["length_max"] == 4273


def test_jsb_pickle_equals_mat(data_dir):
    mat = music.load_full("jsb", folder=data_dir)
    pkl = music.load_full("jsb", folder=data_dir, source="jsb-chorales-quarter.pkl")
    for s in music.data.SPLITS:
        assert len(mat[s]) == len(pkl[s])
        assert all(np.array_equal(a, b) for a, b in zip(mat[s], pkl[s]))


def test_all_splits_at_once(data_dir):
    d = music.load_music("piano-midi", split=None, folder=data_dir)
    assert {s: len(v) for s, v in d.items()} == {"train": 87, "valid": 12, "test": 25}


def test_bad_loader_arguments(data_dir):
    with pytest.raises(ValueError, match=r"name: unknown dataset 'bach'; expected one of "
                                         r"\['chorales', 'jsb', 'nottingham', 'musedata', 'piano-midi'\]"):
        music.load_music("bach")
    with pytest.raises(ValueError, match=r"split: expected one of \['train', 'valid', 'test'\] or None, "
                                         r"got 'training'"):
        music.load_music("jsb", split="training", folder=data_dir)
    with pytest.raises(ValueError, match=r"key_range: expected one of \['88', 'paper'\], got 88"):
        music.load_music("jsb", key_range=88, folder=data_dir)
    with pytest.raises(ValueError, match=r"source: 'x.mat' is not a source of 'jsb'; expected one of"):
        music.load_music("jsb", source="x.mat", folder=data_dir)
    with pytest.raises(ValueError, match="source: 'chorales' is built locally"):
        music.load_music("chorales", source="x")
    with pytest.raises(ValueError, match="width: key_range 'paper' needs a width"):
        music.key_layout("paper")
    with pytest.raises(ValueError, match="width: key_range '88' has 88 columns, got width=90"):
        music.key_layout("88", width=90)
    with pytest.raises(ValueError, match="width: expected an int in 1..127"):
        music.key_layout("paper", width=200)
    with pytest.raises(ValueError, match="outside the key range 1..50"):
        music.keys.crop_to_keys(music.load_full("jsb", folder=data_dir)["train"][0], 1, 50, "jsb train sequence 0")


def test_offline_without_the_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GRU_LIB_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("GRU_LIB_OFFLINE", "1")
    with pytest.raises(download.DownloadError, match="GRU_LIB_OFFLINE=1 forbids downloads.*by hand"
                                                     ".*--data on the command line, folder= in Python"):
        music.load_music("nottingham")


def test_a_folder_the_user_names_is_never_a_download(data_dir, tmp_path, monkeypatch):
    # A folder holding no file under a registry name: what is there, what is expected; no
    # cache, no network (even with downloads allowed).
    monkeypatch.setenv("GRU_LIB_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("GRU_LIB_OFFLINE", raising=False)
    monkeypatch.setattr(download, "_download_once", lambda *a, **k: pytest.fail("downloaded"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "my_copy.mat").write_bytes((data_dir / "Nottingham.mat").read_bytes())
    with pytest.raises(ValueError, match=r"holds no nottingham file: expected 'Nottingham.mat' or "
                                         r"'Nottingham.pickle', found 'my_copy.mat'"):
        music.load_music("nottingham", folder=tmp_path / "mine")
    # the file itself, under any name: read by its content
    mine = music.load_music("nottingham", "test", folder=tmp_path / "mine" / "my_copy.mat")
    ref = music.load_music("nottingham", "test", folder=data_dir)
    assert len(mine) == len(ref) and all(torch.equal(a, b) for a, b in zip(mine, ref))
    (tmp_path / "copy").write_bytes((data_dir / "jsb-chorales-quarter.pkl").read_bytes())
    assert len(music.load_music("jsb", "valid", folder=tmp_path / "copy")) == 76
    (tmp_path / "bad.pkl").write_bytes(b"MATLAB 5.0 MAT-file, but cut")
    with pytest.raises(ValueError, match=r"bad.pkl: read as a MATLAB .mat file \(by its content\)"):
        music.load_music("jsb", folder=tmp_path / "bad.pkl")
    with pytest.raises(ValueError, match="neither a file nor a folder"):
        music.load_music("jsb", folder=tmp_path / "nope")
    # ... unless its sha256 says it is another set's file: Nottingham trained as "jsb"
    with pytest.raises(ValueError, match=r"my_copy.mat' is the nottingham file \(Nottingham.mat, "
                                         r"by its sha256\), not jsb's; give jsb's file, or "
                                         r"--dataset nottingham"):
        music.load_music("jsb", folder=tmp_path / "mine" / "my_copy.mat")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_as_registry(folder, monkeypatch):
    """Serve ``folder`` on 127.0.0.1 and point every registry address at it."""
    handler = lambda *a, **k: _Quiet(*a, directory=str(folder), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}/"
        reg = copy.deepcopy(download._load_registry())
        for info in reg["datasets"].values():
            for src in info["sources"]:
                src["urls"] = [base + urllib.parse.quote(src["filename"])]
        with monkeypatch.context() as m:
            m.setattr(download, "_load_registry", lambda: reg)
            m.delenv("GRU_LIB_OFFLINE")
            yield
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_all_four_sets_load_through_loopback_download(data_dir, tmp_path, monkeypatch):
    with serve_as_registry(data_dir, monkeypatch):
        for name, (counts, *_) in README.items():
            d = music.load_music(name, split=None, progress=False)
            assert tuple(len(d[s]) for s in music.data.SPLITS) == counts
        d = music.load_music("jsb", split=None, source="jsb-chorales-quarter.pkl", progress=False)
        assert len(d["train"]) == 229
        cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
        assert cached == ["JSB_Chorales.mat", "MuseData.mat", "Nottingham.mat", "Piano_midi.mat",
                          "jsb-chorales-quarter.pkl"]
    # the server is gone: everything now comes from the cache, offline
    assert os.environ["GRU_LIB_OFFLINE"] == "1"
    assert len(music.load_music("musedata", "test", progress=False)) == 124


def test_original_pickles_with_no_checksum_are_vetted_by_structure(data_dir, tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    # a genuine layout under the original name ...
    (served / "JSB Chorales.pickle").write_bytes((data_dir / "jsb-chorales-quarter.pkl").read_bytes())
    # ... and a hostile file where the Nottingham pickle should be
    marker = tmp_path / "pwned"
    (served / "Nottingham.pickle").write_bytes(pickle.dumps(layout(train=[[(RunsCommand(marker),)]])))
    with serve_as_registry(served, monkeypatch):
        d = music.load_music("jsb", split=None, source="JSB Chorales.pickle", progress=False)
        assert [len(d[s]) for s in music.data.SPLITS] == [229, 76, 77]
        with pytest.raises(ValueError, match="refusing global"):
            music.load_music("nottingham", source="Nottingham.pickle", progress=False)
    assert not marker.exists()
    # the unverifiable file that failed is not kept: the next run will not trust it
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["JSB Chorales.pickle"]


@pytest.mark.parametrize("source, content, why", [
    ("Nottingham.pickle", b"\x80\x02garbage", "not a readable pickle"),
    ("Nottingham.pickle", pickle.dumps({"train": [[(60,)]]}, protocol=2), r"missing split\(s\)"),
    ("Nottingham.mat", b"MATLAB 5.0 MAT-file but cut", "has 27 bytes, expected 371688"),
])
def test_hand_placed_file_that_fails_is_kept_byte_for_byte(tmp_path, source, content, why):
    # the download error says: save the file by hand as <cache>/<name>; the user does so
    with pytest.raises(download.DownloadError, match="by hand") as err:
        music.load_full("nottingham", source=source, progress=False)
    mine = tmp_path / "cache" / source
    assert f"save it as {mine}" in str(err.value)
    mine.write_bytes(content)
    with pytest.raises(ValueError if source.endswith("pickle") else download.DownloadError) as err:
        music.load_full("nottingham", source=source, progress=False)
    msg = str(err.value)
    assert str(mine) in msg and re.search(why, msg) and "left as it is" in msg
    assert mine.read_bytes() == content                   # still there, untouched


def test_roll_stats_direct_and_bad_input():
    r = torch.zeros(4, 88)
    r[0, [39, 43, 46]] = 1  # C4 E4 G4
    st = music.roll_stats([r, torch.zeros(2, 88)])
    assert st == dict(sequences=2, steps=6, length_min=2, length_mean=3.0, length_max=4,
                      midi_min=60, midi_max=67, max_notes=3)
    assert music.roll_stats([torch.zeros(2, 88)])["midi_min"] is None
    with pytest.raises(ValueError, match="rolls: expected a non-empty list"):
        music.roll_stats([])
    with pytest.raises(ValueError, match=r"rolls\[0\]: expected shape \(T, K\)"):
        music.roll_stats([torch.zeros(3)])


def test_a_folder_that_is_not_a_path_is_a_type_error():
    with pytest.raises(TypeError, match="folder must be a path .* got int"):
        music.load_music("jsb", folder=5)
