"""Tests of gru_lib.music on the real data sets (shared copies in ../shared/data/music).

The statistics are checked against the figures in ../shared/data/README.md. The
chorales set is built once per session (about half a minute) into a temporary
folder.
"""

import contextlib
import copy
import http.server
import importlib.util
import io
import os
import pickle
import threading
import urllib.parse
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import scipy.io
import torch

matplotlib.use("Agg")  # no display in CI

from gru_lib import download, music  # noqa: E402
from gru_lib.training.batching import batches  # noqa: E402

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


@pytest.fixture(scope="session")
def chorales_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chorales")
    music.build_chorales(folder / music.chorales._CHORALES_FILE, progress=False)
    return folder


# -----------------------------------------------------------------------------
# the four benchmark sets: statistics from ../shared/data/README.md

README = {  # counts, train length min/mean/max, MIDI range, max notes at once (all splits)
    "jsb": ((229, 76, 77), (25, 60.3, 129), (43, 96), 4),
    "nottingham": ((694, 173, 170), (40, 254.4, 1788), (31, 93), 9),
    "musedata": ((524, 135, 124), (9, 467.9, 3457), (21, 105), 15),
    "piano-midi": ((87, 12, 25), (111, 872.5, 3857), (21, 108), 12),
}


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


def test_key_ranges(data_dir):
    r88 = music.load_music("jsb", "valid", folder=data_dir)
    paper = music.load_music("jsb", "valid", key_range="paper", folder=data_dir)
    assert r88[0].dtype == torch.float32 and r88[0].shape[1] == 88 and paper[0].shape[1] == 96
    for a, b in zip(r88, paper):
        # the same notes: 88-key column m - 21, paper column m - 1
        assert torch.equal(a[:, : 96 - 20], b[:, 20:96])
        assert not b[:, :20].any() and not a[:, 96 - 20:].any()
    widths = {n: music.key_layout("paper", n)[1] for n in README}
    assert widths == {"jsb": 96, "nottingham": 93, "musedata": 105, "piano-midi": 108}
    for n in ("nottingham", "musedata", "piano-midi"):
        rolls = music.load_music(n, "test", key_range="paper", folder=data_dir)
        assert rolls[0].shape[1] == widths[n]
    assert music.key_layout("88") == (21, 88)
    assert music.key_layout("paper", width=50) == (1, 50)


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


def test_offline_without_the_file_says_where_to_put_it(tmp_path):
    with pytest.raises(download.DownloadError, match="GRU_LIB_OFFLINE=1 forbids downloads.*by hand"):
        music.load_music("nottingham", folder=tmp_path)


# -----------------------------------------------------------------------------
# loading through the real download path, from a server on 127.0.0.1


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
    (served / "Nottingham.pickle").write_bytes(pickle.dumps(_layout(train=[[(_RunsCommand(marker),)]])))
    with serve_as_registry(served, monkeypatch):
        d = music.load_music("jsb", split=None, source="JSB Chorales.pickle", progress=False)
        assert [len(d[s]) for s in music.data.SPLITS] == [229, 76, 77]
        with pytest.raises(ValueError, match="refusing global"):
            music.load_music("nottingham", source="Nottingham.pickle", progress=False)
    assert not marker.exists()
    # the unverifiable file that failed is not kept: the next run will not trust it
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["JSB Chorales.pickle"]


# -----------------------------------------------------------------------------
# safe parsing: pickles


def _layout(train=None, valid=None, test=None):
    return {"train": train or [[(60, 64, 67)]], "valid": valid or [[(62,)]], "test": test or [[()]]}


class _RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _WritesFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
@pytest.mark.parametrize("payload", [_RunsCommand, _WritesFile])
def test_malicious_pickle_runs_nothing(tmp_path, protocol, payload):
    marker = tmp_path / "pwned"
    # alone, and hidden inside an otherwise valid layout
    for obj in (payload(marker), _layout(train=[[(60,), (payload(marker),)]])):
        path = tmp_path / "evil.pickle"
        path.write_bytes(pickle.dumps(obj, protocol=protocol))
        with pytest.raises(ValueError, match=r"refusing global (posix|nt|os|builtins|__builtin__)\.(system|exec)"
                                             r".*nothing was executed"):
            music.read_pickle(path)
        assert not marker.exists()


def test_pickle_with_object_dtype_scalar_is_refused(tmp_path, data_dir):
    raw = (data_dir / "jsb-chorales-quarter.pkl").read_bytes()[:400]
    assert b"U\x02i8" in raw  # the real file rebuilds numpy int64 scalars
    bad = (data_dir / "jsb-chorales-quarter.pkl").read_bytes().replace(b"U\x02i8", b"U\x02O8", 1)
    path = tmp_path / "bad.pkl"
    path.write_bytes(bad)
    with pytest.raises(ValueError, match="refusing numpy dtype 'O8'"):
        music.read_pickle(path)


def test_pickles_with_plain_ints_and_numpy2_scalars_load(tmp_path):
    cases = [(60, 64), (np.int64(60), np.int64(64)), (np.int32(60), np.uint8(64))]
    for i, (notes, protocol) in enumerate([(n, p) for n in cases for p in (0, 2, 4)]):
        path = tmp_path / f"ok{i}.pickle"
        path.write_bytes(pickle.dumps(_layout(train=[[notes, ()]]), protocol=protocol))
        d = music.read_pickle(path)
        assert d["train"][0].shape == (2, 128) and d["train"][0].dtype == np.uint8
        assert np.flatnonzero(d["train"][0][0]).tolist() == [60, 64] and not d["train"][0][1].any()


@pytest.mark.parametrize("obj, message", [
    ([[(60,)]], "expected a dict with keys"),
    ({"train": [[(60,)]], "valid": [[(60,)]]}, r"missing split\(s\) \['test'\]"),
    (_layout(valid=[[(60,)], [(60,), (61,), (200,)]]),
     r"split 'valid', sequence 1, step 2: 200 is not a MIDI note number"),
    (_layout(train=[[(60.0,)]]), r"split 'train', sequence 0, step 0: 60.0 is not a MIDI note"),
    (_layout(train=[[(True,)]]), r"step 0: True is not a MIDI note"),
    (_layout(test=[[(60,)], [(60,), 61]]), r"split 'test', sequence 1, step 1: expected a tuple"),
    (_layout(train=[[(60,)], []]), r"split 'train', sequence 1: the sequence is empty"),
    (_layout(train=[[(60,)], "abc"]), r"split 'train', sequence 1: expected a list of time steps"),
    ({"train": [], "valid": [[(1,)]], "test": [[(1,)]]}, r"split 'train' must be a non-empty list"),
])
def test_pickle_structure_errors_name_the_place(tmp_path, obj, message):
    path = tmp_path / "x.pickle"
    path.write_bytes(pickle.dumps(obj, protocol=2))
    with pytest.raises(ValueError, match=message):
        music.read_pickle(path)


def test_truncated_pickle(tmp_path, data_dir):
    path = tmp_path / "cut.pkl"
    path.write_bytes((data_dir / "jsb-chorales-quarter.pkl").read_bytes()[:5000])
    with pytest.raises(ValueError, match="not a readable pickle"):
        music.read_pickle(path)


# -----------------------------------------------------------------------------
# safe parsing: .mat


def _cells(*arrays):
    c = np.empty((1, len(arrays)), dtype=object)
    for i, a in enumerate(arrays):
        c[0, i] = a
    return c


def _mat(tmp_path, **variables):
    path = tmp_path / "x.mat"
    scipy.io.savemat(path, variables)
    return path


def test_mat_structure_errors_name_the_place(tmp_path):
    good = np.zeros((5, 88), dtype=np.uint8)
    good[0, 39] = 1  # MIDI 60
    ok = _mat(tmp_path, traindata=_cells(good), validdata=_cells(good, good), testdata=_cells(good))
    d = music.read_mat(ok)
    assert np.flatnonzero(d["train"][0][0]).tolist() == [60] and len(d["valid"]) == 2

    with pytest.raises(ValueError, match="missing variable 'validdata'.*found \\['testdata', 'traindata'\\]"):
        music.read_mat(_mat(tmp_path, traindata=_cells(good), testdata=_cells(good)))
    narrow = np.zeros((5, 87), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"split 'test', sequence 1: expected a \(T, 88\) array, "
                                         r"got shape \(5, 87\)"):
        music.read_mat(_mat(tmp_path, traindata=_cells(good), validdata=_cells(good),
                            testdata=_cells(good, narrow)))
    two = good.copy()
    two[3, 10] = 2
    with pytest.raises(ValueError, match=r"split 'train', sequence 1, step 3: expected 0/1 values, got 2"):
        music.read_mat(_mat(tmp_path, traindata=_cells(good, two), validdata=_cells(good),
                            testdata=_cells(good)))
    with pytest.raises(ValueError, match="traindata must be a non-empty cell array"):
        music.read_mat(_mat(tmp_path, traindata=good, validdata=_cells(good), testdata=_cells(good)))
    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(b"\x00" * 10 + b"definitely not MATLAB" * 20)
    with pytest.raises(ValueError, match="not a MATLAB 5 .mat file"):
        music.read_mat(garbage)
    cut = tmp_path / "cut.mat"
    cut.write_bytes(ok.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable MATLAB file"):
        music.read_mat(cut)


# -----------------------------------------------------------------------------
# batching


def test_batches_shapes_padding_and_coverage(data_dir):
    rolls = music.load_music("nottingham", "valid", folder=data_dir)
    seen = []
    for x, lengths in batches(rolls, 16, seed=3):
        assert x.dtype == torch.float32 and lengths.dtype == torch.int64
        T, B, K = x.shape
        assert K == 88 and B == len(lengths) <= 16 and T == lengths.max()
        assert torch.all(lengths[:-1] >= lengths[1:])  # longest first, for pack_padded_sequence
        for b, L in enumerate(lengths.tolist()):
            assert not x[L:, b].any()  # zero padding after the end
            match = [i for i, r in enumerate(rolls) if r.shape[0] == L and torch.equal(r, x[:L, b])]
            assert match
            seen.append(match[0])
    assert sorted(seen) == list(range(len(rolls)))  # each sequence exactly once


def test_batches_seeded_shuffle_and_length_grouping(data_dir):
    rolls = music.load_music("musedata", "train", folder=data_dir)

    def plan(**kw):
        return [tuple(lengths.tolist()) for _, lengths in batches(rolls, 32, **kw)]

    assert plan(seed=1) == plan(seed=1)
    assert plan(seed=1) != plan(seed=2)
    assert plan(shuffle=False) == plan(shuffle=False, seed=9)

    def padding(**kw):  # fraction of the batch tensors that is padding
        total = real = 0
        for x, lengths in batches(rolls, 32, **kw):
            total += x.shape[0] * x.shape[1]
            real += int(lengths.sum())
        return 1 - real / total

    assert padding(seed=0) < 0.2 < 0.5 < padding(seed=0, by_length=False)


def test_batches_bad_input():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        next(batches([torch.zeros(3, 88)], 0))
    with pytest.raises(ValueError, match="rolls: expected a non-empty list"):
        next(batches([], 2))
    with pytest.raises(ValueError, match=r"rolls\[1\]: has 96 keys, rolls\[0\] has 88"):
        next(batches([torch.zeros(3, 88), torch.zeros(3, 96)], 2))
    with pytest.raises(ValueError, match=r"rolls\[0\]: expected a non-empty \(T, K\) tensor, got \(0, 88\)"):
        next(batches([torch.zeros(0, 88)], 2))
    with pytest.raises(ValueError, match=r"rolls\[0\]: expected a non-empty \(T, K\) tensor, got ndarray"):
        next(batches([np.zeros((3, 88))], 2))


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


# -----------------------------------------------------------------------------
# the offline chorales


def test_chorales_size_shape_and_key(chorales_dir):
    d = music.load_music("chorales", split=None, folder=chorales_dir, progress=False)
    sizes = {s: len(v) for s, v in d.items()}
    assert sum(sizes.values()) > 380 and min(sizes.values()) > 50
    assert 0.5 < sizes["train"] / sum(sizes.values()) < 0.7
    st = music.dataset_stats("chorales", folder=chorales_dir)
    assert st["all"]["max_notes"] == 4  # four voices, never more
    assert 28 <= st["all"]["midi_min"] and st["all"]["midi_max"] <= 96  # fits the JSB paper width
    allr = torch.cat([r for v in d.values() for r in v])  # (steps, 88)
    assert allr.shape[1] == 88
    # transposed to C major / A minor: mostly white keys, and most pieces end on C or A in the bass
    pcs = torch.zeros(12)
    for k in range(88):
        pcs[(k + 21) % 12] += allr[:, k].sum()
    assert pcs[[0, 2, 4, 5, 7, 9, 11]].sum() / pcs.sum() > 0.9
    finals = [(int(np.flatnonzero(r[-1].numpy())[0]) + 21) % 12 for v in d.values() for r in v if r[-1].any()]
    assert sum(f in (0, 9) for f in finals) / len(finals) > 0.75
    # the paper-style width of the chorales is the JSB one
    assert music.load_music("chorales", "valid", key_range="paper", folder=chorales_dir)[0].shape[1] == 96


def test_chorale_split_is_a_stable_hash():
    # pinned: these must never move between splits, on any machine or Python
    assert [music.chorale_split(i) for i in ("bwv1.6", "bwv269", "bwv10.7")] == ["valid", "train", "test"]


def test_chorales_cache_is_checked_on_load(chorales_dir, tmp_path):
    path = chorales_dir / music.chorales._CHORALES_FILE
    with np.load(path, allow_pickle=False) as z:  # numpy arrays only, no pickle inside
        arrays = {k: z[k] for k in z.files}
    assert len(arrays["ids"]) == len(arrays["lengths"]) > 380

    def tampered(**changes):
        p = tmp_path / "t.npz"
        np.savez(p, **{**arrays, **changes})
        return p

    flipped = arrays["rolls"].copy()
    flipped[0, 0] ^= 1
    with pytest.raises(ValueError, match="digest mismatch"):
        music.read_chorales(tampered(rolls=flipped))
    with pytest.raises(ValueError, match="format 99, expected 1"):
        music.read_chorales(tampered(format=np.array(99)))
    with pytest.raises(ValueError, match="lengths add up to"):
        music.read_chorales(tampered(lengths=arrays["lengths"] + 1))
    moved = arrays["splits"].copy()
    moved[0] = "test" if moved[0] != "test" else "train"
    ids = [str(i) for i in arrays["ids"]]
    digest = music.chorales._chorale_digest(arrays["rolls"], arrays["lengths"], ids, [str(s) for s in moved])
    with pytest.raises(ValueError, match=f"chorale {ids[0]} is in split"):
        music.read_chorales(tampered(splits=moved, digest=np.array(digest)))
    with pytest.raises(ValueError, match=r"missing arrays \['digest'\]"):
        music.read_chorales(_without(tmp_path, arrays, "digest"))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK not really")
    with pytest.raises(ValueError, match="not a readable .npz"):
        music.read_chorales(junk)


def _without(tmp_path, arrays, key):
    p = tmp_path / "w.npz"
    np.savez(p, **{k: v for k, v in arrays.items() if k != key})
    return p


def test_damaged_chorales_cache_is_rebuilt(chorales_dir, monkeypatch):
    good = (chorales_dir / music.chorales._CHORALES_FILE).read_bytes()
    cached = download.cache_dir() / music.chorales._CHORALES_FILE      # the private cache of this test
    cached.write_bytes(b"garbage")
    built = []

    def fake_build(path, progress=True):  # stands in for the 30 s build: restore a good copy
        built.append(path)
        Path(path).write_bytes(good)
        return path

    monkeypatch.setattr(music.chorales, "build_chorales", fake_build)
    with pytest.warns(UserWarning, match="rebuilding the chorales cache"):
        d = music.load_music("chorales", split=None)
    assert built == [cached] and len(d["train"]) > 200
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a good cache loads silently, without building
        music.load_music("chorales")
    assert len(built) == 1


def test_a_data_folder_is_read_but_never_written(chorales_dir, tmp_path, monkeypatch):
    """--data may name a shared, read-only copy of the datasets: the chorales are then built
    into the gru_lib cache, not into that folder."""
    good = (chorales_dir / music.chorales._CHORALES_FILE).read_bytes()
    monkeypatch.setattr(music, "build_chorales",
                        lambda path, progress=True: Path(path).write_bytes(good) and path)
    folder = tmp_path / "datasets"
    folder.mkdir()
    music.load_music("chorales", folder=folder)
    assert list(folder.iterdir()) == []
    assert (download.cache_dir() / music.chorales._CHORALES_FILE).is_file()


# -----------------------------------------------------------------------------
# MIDI and audio


def test_midi_round_trip_real_data(data_dir, tmp_path):
    for name, spb in (("jsb", 1), ("nottingham", 2)):
        roll = music.load_music(name, "test", folder=data_dir)[3]
        path = music.save_midi(roll, tmp_path / f"{name}.mid", steps_per_beat=spb, tempo=97, program=19)
        back = music.midi_to_roll(path, steps_per_beat=spb)
        assert torch.equal(back, roll)


def test_midi_round_trip_paper_width_fine_grid_and_trailing_silence(tmp_path):
    g = torch.Generator().manual_seed(0)
    roll = (torch.rand(40, 96, generator=g) < 0.05).float()
    roll[-5:] = 0  # silence at the end must survive
    roll[:, :30] = 0
    path = music.save_midi(roll, tmp_path / "r.mid", key_range="paper", steps_per_beat=4, tempo=151.5)
    back = music.midi_to_roll(path, steps_per_beat=4, key_range="paper", width=96)
    assert torch.equal(back, roll)
    # also from bytes and from a PrettyMIDI object
    assert torch.equal(music.midi_to_roll(path.read_bytes(), steps_per_beat=4, key_range="paper", width=96), roll)
    pm = music.roll_to_midi(roll, key_range="paper", steps_per_beat=4)
    assert torch.equal(music.midi_to_roll(pm, steps_per_beat=4, key_range="paper", width=96), roll)
    assert pm.instruments[0].program == 0 and not list(tmp_path.glob(".*part"))


def test_midi_in_follows_the_tempo_map(tmp_path):
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track += [mido.MetaMessage("set_tempo", tempo=500000, time=0),
              mido.Message("note_on", note=60, velocity=80, time=0),
              mido.Message("note_off", note=60, velocity=0, time=480),
              mido.MetaMessage("set_tempo", tempo=250000, time=0),  # twice as fast from beat 1
              mido.Message("note_on", note=64, velocity=80, time=0),
              mido.Message("note_off", note=64, velocity=0, time=960),
              mido.Message("note_on", note=67, velocity=80, time=0),
              mido.Message("note_off", note=67, velocity=0, time=30)]  # a 16th of a beat: still one step
    path = tmp_path / "tempo.mid"
    mid.save(path)
    roll = music.midi_to_roll(path, steps_per_beat=2)
    expect = torch.zeros(7, 88)
    expect[0:2, 60 - 21] = 1
    expect[2:6, 64 - 21] = 1
    expect[6, 67 - 21] = 1
    assert torch.equal(roll, expect)


def test_midi_in_bad_files(tmp_path):
    import pretty_midi

    with pytest.raises(FileNotFoundError, match="midi: no such file"):
        music.midi_to_roll(tmp_path / "none.mid")
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06garbage garbage garbage")
    with pytest.raises(ValueError, match="corrupt.mid: not a readable MIDI file"):
        music.midi_to_roll(corrupt)
    with pytest.raises(ValueError, match="not a readable MIDI file"):
        music.midi_to_roll(b"hello, I am not MIDI")
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    with pytest.raises(ValueError, match="empty.mid: the MIDI file has no \\(non-drum\\) notes"):
        music.midi_to_roll(empty)
    drums = pretty_midi.PrettyMIDI()
    drums.instruments.append(pretty_midi.Instrument(0, is_drum=True))
    drums.instruments[0].notes.append(pretty_midi.Note(100, 36, 0.0, 0.5))
    with pytest.raises(ValueError, match="no \\(non-drum\\) notes"):
        music.midi_to_roll(drums)
    low = pretty_midi.PrettyMIDI()
    low.instruments.append(pretty_midi.Instrument(0))
    low.instruments[0].notes += [pretty_midi.Note(100, 12, 0.0, 0.5), pretty_midi.Note(100, 60, 0.0, 0.5)]
    with pytest.raises(ValueError, match="1 note\\(s\\) outside the key range 21..108; pass drop_outside"):
        music.midi_to_roll(low)
    kept = music.midi_to_roll(low, drop_outside=True)
    assert kept.sum() == 1 and kept[0, 60 - 21] == 1
    with pytest.raises(ValueError, match="steps_per_beat must be a positive integer, got 0"):
        music.midi_to_roll(low, steps_per_beat=0)
    with pytest.raises(ValueError, match="midi: expected a path, bytes or a PrettyMIDI, got int"):
        music.midi_to_roll(3)


def test_midi_out_bad_rolls():
    r = torch.zeros(4, 88)
    with pytest.raises(ValueError, match=r"roll: expected shape \(T, K\), got shape \(88,\)"):
        music.roll_to_midi(torch.zeros(88))
    with pytest.raises(ValueError, match="roll: expected only 0/1 values, got 0.7 at step 1, key 5"):
        bad = r.clone()
        bad[1, 5], bad[2, 7] = 0.7, 0.2
        music.roll_to_midi(bad)
    with pytest.raises(ValueError, match="roll: key_range '88' needs 88 columns, got 96"):
        music.roll_to_midi(torch.zeros(4, 96))
    with pytest.raises(ValueError, match="roll: has no time steps"):
        music.roll_to_midi(torch.zeros(0, 88))
    with pytest.raises(ValueError, match="roll: expected a \\(T, K\\) tensor or numpy array, got list"):
        music.roll_to_midi([[0] * 88])
    with pytest.raises(ValueError, match="tempo: expected beats per minute"):
        music.roll_to_midi(r, tempo=0)
    with pytest.raises(ValueError, match="program: expected a General MIDI program number 0..127, got 128"):
        music.roll_to_midi(r, program=128)
    with pytest.raises(ValueError, match="velocity: expected an int in 1..127"):
        music.roll_to_midi(r, velocity=0)
    with pytest.raises(ValueError, match="velocity: expected an int in 1..127, got True"):
        music.roll_to_midi(r, velocity=True)                    # a bool is not a velocity
    with pytest.raises(ValueError, match="steps_per_beat must be a positive integer, got 1.5"):
        music.roll_to_midi(r, steps_per_beat=1.5)


def test_synthesize_and_audio(data_dir):
    roll = music.load_music("jsb", "test", folder=data_dir)[0][:8]  # 8 beats
    wave = music.synthesize(roll, fs=8000, tempo=120)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) >= 8 * 0.5 * 8000 and 0.5 < np.abs(wave).max() <= 1.0
    with pytest.raises(ValueError, match="fs: expected a sample rate"):
        music.synthesize(roll, fs=10)
    if importlib.util.find_spec("IPython") is None:
        with pytest.raises(ImportError, match="audio\\(\\) needs IPython"):
            music.audio(roll)
    else:
        player = music.audio(roll, fs=8000)
        assert "audio" in player._repr_html_()


def test_plot_roll(data_dir):
    import matplotlib.pyplot as plt

    roll = music.load_music("jsb", "test", folder=data_dir)[0]
    ax = music.plot_roll(roll, steps_per_beat=1, title="JSB test 0")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "C4" in labels and all(lab.startswith("C") for lab in labels)
    assert ax.get_xlabel() == "beat" and ax.get_title() == "JSB test 0"
    paper = music.load_music("jsb", "test", key_range="paper", folder=data_dir)[0]
    ax2 = music.plot_roll(paper, key_range="paper", trim=False)
    assert ax2.get_ylim()[1] - ax2.get_ylim()[0] == 96
    with pytest.raises(ValueError, match="key_range: expected one of"):
        music.plot_roll(roll, key_range="piano")
    with pytest.raises(ValueError, match="roll: expected only 0/1 values"):
        music.plot_roll(roll * 0.5)
    plt.close("all")
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
