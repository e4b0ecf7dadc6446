"""Tests of gru_lib.music.files: safe parsing of the pickles and .mat files (nothing executed,
errors name the place)."""
import pickle

import numpy as np
import pytest
import scipy.io

from gru_lib import music
from tests.music.helpers import RunsCommand, layout

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


class _WritesFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
@pytest.mark.parametrize("payload", [RunsCommand, _WritesFile])
def test_malicious_pickle_runs_nothing(tmp_path, protocol, payload):
    marker = tmp_path / "pwned"
    # alone, and hidden inside an otherwise valid layout
    for obj in (payload(marker), layout(train=[[(60,), (payload(marker),)]])):
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
        path.write_bytes(pickle.dumps(layout(train=[[notes, ()]]), protocol=protocol))
        d = music.read_pickle(path)
        assert d["train"][0].shape == (2, 128) and d["train"][0].dtype == np.uint8
        assert np.flatnonzero(d["train"][0][0]).tolist() == [60, 64] and not d["train"][0][1].any()


@pytest.mark.parametrize("obj, message", [
    ([[(60,)]], "expected a dict with keys"),
    ({"train": [[(60,)]], "valid": [[(60,)]]}, r"missing split\(s\) \['test'\]"),
    (layout(valid=[[(60,)], [(60,), (61,), (200,)]]),
     r"split 'valid', sequence 1, step 2: 200 is not a MIDI note number"),
    (layout(train=[[(60.0,)]]), r"split 'train', sequence 0, step 0: 60.0 is not a MIDI note"),
    (layout(train=[[(True,)]]), r"step 0: True is not a MIDI note"),
    (layout(test=[[(60,)], [(60,), 61]]), r"split 'test', sequence 1, step 1: expected a tuple"),
    (layout(train=[[(60,)], []]), r"split 'train', sequence 1: the sequence is empty"),
    (layout(train=[[(60,)], "abc"]), r"split 'train', sequence 1: expected a list of time steps"),
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
