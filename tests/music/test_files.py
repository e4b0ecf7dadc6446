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
    # object dtypes are allowed for arrays of pieces, never for a note number
    with pytest.raises(ValueError, match="refusing numpy scalar of dtype 'O8'"):
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


# -----------------------------------------------------------------------------
# copies whose splits are numpy object arrays (numpy's _reconstruct / BUILD layout)

PLAIN = {"train": [[(60, 64), ()], [(62,), (48, 52, 55)]], "valid": [[(61,)]], "test": [[(70, 71, 72)]]}


def _objects(items):
    a = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        a[i] = x
    return a


def _numpy_layouts():
    return {
        "lists of int arrays": {k: _objects([[np.array(s, dtype=np.int64) for s in p] for p in v])
                                for k, v in PLAIN.items()},
        "lists of tuples of numpy ints": {k: _objects([[tuple(np.int64(n) for n in s) for s in p]
                                                       for p in v]) for k, v in PLAIN.items()},
        "int32 arrays, uint8 notes": {k: _objects([[np.array(s, dtype=np.int32 if i % 2 else np.uint8)
                                                    for i, s in enumerate(p)] for p in v])
                                      for k, v in PLAIN.items()},
    }


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("kind", list(_numpy_layouts()))
def test_numpy_object_array_pickles_load_as_the_plain_layout(tmp_path, kind, protocol):
    (tmp_path / "plain.pickle").write_bytes(pickle.dumps(PLAIN, protocol=2))
    raw = pickle.dumps(_numpy_layouts()[kind], protocol=protocol)
    assert b"_reconstruct" in raw and b"ndarray" in raw
    (tmp_path / "np.pickle").write_bytes(raw)
    want, got = music.read_pickle(tmp_path / "plain.pickle"), music.read_pickle(tmp_path / "np.pickle")
    for split in ("train", "valid", "test"):
        assert len(got[split]) == len(want[split])
        for a, b in zip(got[split], want[split]):
            assert a.dtype == np.uint8 and a.shape == b.shape and np.array_equal(a, b)


def test_numpy_2d_pieces_rows_of_notes_or_piano_rolls(tmp_path):
    voices = np.array([[60, 64, 67, 72], [62, 65, 69, 74]], dtype=np.int64)     # (T, 4) note numbers
    roll = np.zeros((2, 88), dtype=np.uint8)
    roll[0, 39] = roll[1, [41, 45]] = 1                                      # MIDI 60; 62 and 66
    obj = {"train": _objects([voices]), "valid": _objects([roll]), "test": [[(1,)]]}
    (tmp_path / "x.pickle").write_bytes(pickle.dumps(obj, protocol=2))
    d = music.read_pickle(tmp_path / "x.pickle")
    assert [np.flatnonzero(r).tolist() for r in d["train"][0]] == [[60, 64, 67, 72], [62, 65, 69, 74]]
    assert [np.flatnonzero(r).tolist() for r in d["valid"][0]] == [[60], [62, 66]]


def _tamper(raw, old, new):
    assert raw.count(old) >= 1, old
    return raw.replace(old, new, 1)


def _hostile():
    """(name, pickle bytes, message): numpy-looking pickles that must be refused."""
    good = pickle.dumps({"train": _objects([[np.array([60], dtype=np.int64)]]),
                         "valid": [[(1,)]], "test": [[(1,)]]}, protocol=2)
    cases = []
    for label, arr, msg in [("float64", np.array([60.0]), "refusing numpy dtype 'f8'"),
                            ("complex", np.array([60j]), "refusing numpy dtype 'c16'"),
                            ("fields", np.zeros(1, dtype=[("a", "i8")]), "refusing numpy dtype 'V8'"),
                            ("matrix", np.matrix([[60]]), r"refusing global numpy\.matrix")]:
        cases.append((label, pickle.dumps(layout(train=[[arr]]), protocol=2), msg))
    # a plain int dtype whose BUILD state smuggles in field names
    cases.append(("dtype state with fields",
                  _tamper(good, b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff",
                          b"N(X\x01\x00\x00\x00at}J\xff\xff\xff\xffJ\xff\xff\xff\xff"),
                  r"refusing numpy dtype 'O8' with state .*\('a',\).*no fields"))
    # _reconstruct asked to build something other than a plain ndarray
    cases.append(("_reconstruct of a dtype", _tamper(good, b"cnumpy\nndarray\n", b"cnumpy\ndtype\n"),
                  "refusing numpy _reconstruct of"))
    # numpy functions that are not part of the layout
    for module, name in [(b"numpy", b"load"), (b"numpy.ctypeslib", b"load_library")]:
        cases.append((name.decode(), _tamper(good, b"cnumpy\nndarray\n", b"c" + module + b"\n" + name + b"\n"),
                      f"refusing global {module.decode()}\\.{name.decode()}"))
    # a malformed state tuple: an unknown version
    cases.append(("malformed state", _tamper(good, b"(K\x01K\x01\x85", b"(K\x07K\x01\x85"),
                  "refusing a numpy array with a malformed state: version 7"))
    return cases


@pytest.mark.parametrize("protocol", [2, 3])
def test_object_array_holding_a_command_runs_nothing(tmp_path, protocol):
    marker = tmp_path / "pwned"
    for obj in (_objects([RunsCommand(marker)]), {"train": _objects([[RunsCommand(marker)]]),
                                                   "valid": [[(1,)]], "test": [[(1,)]]}):
        path = tmp_path / "evil.pickle"
        path.write_bytes(pickle.dumps(obj, protocol=protocol))
        with pytest.raises(ValueError, match=r"refusing global (posix|os)\.system.*nothing was executed"):
            music.read_pickle(path)
        assert not marker.exists()


@pytest.mark.parametrize("label, raw, message", _hostile(), ids=[c[0] for c in _hostile()])
def test_hostile_numpy_pickles_are_refused(tmp_path, label, raw, message):
    path = tmp_path / "x.pickle"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=message):
        music.read_pickle(path)


@pytest.mark.parametrize("state, message", [
    ((1, (2,), "dtype", False, [1, 2]), "malformed state"),
    ((1, (1,), "O8", False, [RunsCommand("x")]), "refusing a numpy object array holding RunsCommand"),
    ((1, (1,), "O8", False, [[1]], 5), "malformed state"),
    ((1, (3,), "i8", False, b"\x00" * 8), "with 8 bytes of data, expected 24"),
    ((1, (1, 1, 1), "i8", False, b"\x00" * 8), "malformed state"),
    ((1, (2,), "O8", False, [1]), "expected a 1-D array of 2"),
])
def test_array_states_are_checked_before_use(state, message):
    from gru_lib.music import files

    state = tuple(files._Dtype(x) if x in ("i8", "O8") else x for x in state)
    with pytest.raises(files._Refused, match=message):
        files._reconstruct(files._NDARRAY, (0,), b"b").__setstate__(state)
