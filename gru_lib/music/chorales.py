"""Bach chorales built offline from the music21 corpus: the default music set, no network needed.

The four benchmarks of the paper must be downloaded; these need only music21, which ships
the scores. ``build_chorales`` keeps every score with a clear soprano / alto / tenor / bass,
samples it once per quarter-note beat (one note per voice, so at most four at once) and
transposes it by its key signature to C major / A minor, as the JSB set is transposed.
Each chorale's split comes from a stable hash of its id (about 60 / 20 / 20), so the splits
do not depend on which scores a music21 version ships.

A measured oddity: the JSB files put every note an octave above its sung pitch (their range
is MIDI 43..96, so sopranos would reach C7); the chorales built here keep true pitches
(31..84). Both fit either key range (see keys.py).

The set is saved as one .npz (no pickle) with a format number and a digest, and
``read_chorales`` checks both, and every split and polyphony, before trusting a cached copy.
"""
from __future__ import annotations

import hashlib
import math
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import download
from ..atomic import make_folder, set_aside, writable_new_file, write_atomically
from ..checks import expand_user
from ..paper import SPLITS
from .keys import N_MIDI

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


def build_chorales(path=None, progress=True, overwrite: bool = False):
    """Build the chorales set from the music21 corpus and save it as .npz; returns the path.

    Takes about half a minute (parsing ~400 MusicXML files). Only scores with a
    clear soprano / alto / tenor / bass are kept. Saved with numpy (no pickle), to
    a temporary file renamed into place when complete. ``path`` None: the gru_lib cache's
    copy. An existing file at ``path`` is an error unless ``overwrite=True`` (as for
    ``save_midi``): it may be the user's, and a file cannot say who wrote it.
    """
    import music21
    from music21 import converter, corpus

    path = Path(path) if path is not None else download.cache_dir() / _CHORALES_FILE
    # checked now, not after the 30 s build
    path = writable_new_file(path, overwrite, creates_folder=True)
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
    make_folder(path.parent, "path")
    return write_atomically(path, lambda f: np.savez_compressed(f, **arrays))


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
    except Exception:
        # Not numpy's own message: for a text file or a .mat it says the file "contains pickled
        # data" and suggests allow_pickle=True, which is misleading and unsafe advice.
        raise ValueError(f"{path}: not a chorales .npz built by gru_lib (not a readable numpy "
                         f".npz file); leave out --data (the chorales are built from music21) "
                         f"or give the {_CHORALES_FILE} that gru_lib wrote") from None
    if "rolls" not in d and "format" not in d:      # some other .npz altogether
        raise ValueError(f"{path}: not a chorales .npz built by gru_lib (it holds the arrays "
                         f"{sorted(d)}); leave out --data (the chorales are built from music21) "
                         f"or give the {_CHORALES_FILE} that gru_lib wrote")
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


def load_chorales(folder=None, progress=True):
    """The chorales: a built copy in ``folder`` if there is one, else the gru_lib cache's,
    built there on first use. A ``folder`` the user names for data files is only read, never
    written: it may be a shared or read-only copy of the datasets. ``folder`` may also be the
    built .npz itself, under any name; a path that does not exist is a ValueError (a mistyped
    --data must not quietly train on another copy)."""
    if folder is not None:
        folder = expand_user(folder, "data")
        if folder.is_file():
            return read_chorales(folder)
        if not folder.is_dir():
            raise ValueError(f"data: {str(folder)!r} is neither a file nor a folder")
        if (folder / _CHORALES_FILE).is_file():
            return read_chorales(folder / _CHORALES_FILE)
    path = download.cache_dir() / _CHORALES_FILE
    if path.is_file():
        try:
            return read_chorales(path)
        except ValueError as e:
            # Moved aside, not replaced: $GRU_LIB_DATA may be a folder of the user's, and the
            # file something of theirs (as download.fetch does with a file that fails its check).
            aside = set_aside(path)
            warnings.warn(f"rebuilding the chorales cache: {e}; the file was moved to "
                          f"{str(aside)!r}")
    build_chorales(path, progress=progress)
    return read_chorales(path)

