"""Polyphonic music data for the music half of Chung et al. (2014): one loader for every set.

``load_music(name, split, key_range)`` returns a split as a list of piano rolls, (T, K)
float32 tensors; the model reads rows x_1..x_{t-1} and predicts row x_t with K independent
sigmoids. The data sets:

- ``"chorales"``: Bach chorales built offline from the music21 corpus (default; needs no
  network; see chorales.py).
- ``"jsb"``, ``"nottingham"``, ``"musedata"``, ``"piano-midi"``: the four benchmarks of
  Boulanger-Lewandowski et al. (2012) used by the paper, fetched (and sha256-verified)
  through ``gru_lib.download`` and read safely by files.py.

Every set is first loaded whole as MIDI-indexed rolls (``load_full``); the key range
(keys.py) is applied last. ``roll_stats`` and ``dataset_stats`` summarise the result:
lengths, MIDI range, polyphony.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import download
from ..checks import expand_user
from ..paper import SPLITS
from .chorales import load_chorales
from .files import read_mat, read_music_file, read_pickle
from .keys import DATASETS, check_dataset_name, crop_to_keys, key_layout

# -----------------------------------------------------------------------------
# the public loader


def load_full(name, folder=None, source=None, progress=True):
    """All three splits of a dataset as MIDI-indexed rolls: {split: [(T, 128) uint8]}.

    source: which registry file to read (default: the dataset's first source), e.g.
        "jsb-chorales-quarter.pkl" or "JSB Chorales.pickle" for the pickles.
    folder: a user's copy, used instead of the cache and the network: a folder holding one
        of the dataset's files under its registry name (the first source found there, or
        ``source``), or the FILE itself under any name (a .mat or a pickle, told apart by
        content or suffix; ``source`` is then ignored). A folder holding none of them, or a
        file that cannot be read, is a ValueError saying why: nothing is downloaded.
    """
    check_dataset_name(name)
    if name == "chorales":
        if source is not None:
            raise ValueError(f"source: 'chorales' is built locally and has no sources, got {source!r}")
        return load_chorales(folder, progress=progress)
    sources = download.dataset_info(name)["sources"]
    names = [s["filename"] for s in sources]
    if source is not None and source not in names:
        raise ValueError(f"source: {source!r} is not a source of {name!r}; expected one of {names}")
    if folder is not None:
        folder = expand_user(folder, "data")
        if folder.is_file():                       # the user's own copy, under any name
            _not_another_datasets_file(folder, name)
            return read_music_file(folder)
        if not folder.is_dir():
            raise ValueError(f"data: {str(folder)!r} is neither a file nor a folder")
        wanted = names if source is None else [source]
        present = [n for n in wanted if (folder / n).is_file()]
        if not present:
            raise ValueError(_nothing_usable(folder, name, wanted))
        source = present[0]
    entry = sources[names.index(source)] if source is not None else sources[0]
    # The reader is the structure check that fetch runs on every file before handing it
    # over: a downloaded file that fails it never reaches the cache, and a file the user
    # put there is left as it is, named in the error with what is wrong with it.
    reader = read_mat if entry["format"] == "mat" else read_pickle
    parsed = []

    def check(path):
        parsed[:] = [reader(path)]

    download.fetch(entry, folder=folder, progress=progress, check=check)
    return parsed[0]


class OtherDatasetsFile(ValueError):
    """A file given for one data set (``wanted``) that is, by its sha256, the registry's file of
    another (``found``). Its message ends with the fix for training: name ``found``; a caller
    for whom that is not the whole fix (evaluate: a model trained on ``wanted``) rewords it."""

    def __init__(self, path: Path, found: str, filename: str, wanted: str):
        self.path, self.found, self.wanted = path, found, wanted
        self.problem = (f"data: {str(path)!r} is the {found} file ({filename}, by its sha256), "
                        f"not {wanted}'s")
        super().__init__(f"{self.problem}; give {wanted}'s file, or --dataset {found}")


def _not_another_datasets_file(path: Path, name: str) -> None:
    """A file under any name is the user's copy of ``name``, unless its sha256 says it is the
    registry's file of ANOTHER set (--dataset jsb --data Nottingham.mat would train and report
    Nottingham as JSB). A file the registry does not know is taken as given."""
    digest = download.sha256sum(path)
    for other in DATASETS:
        if other in ("chorales", name):
            continue
        for entry in download.dataset_info(other)["sources"]:
            if entry.get("sha256") == digest:
                raise OtherDatasetsFile(path, other, entry["filename"], name)


def _nothing_usable(folder: Path, name: str, wanted: list) -> str:
    """Why a folder the user named holds no file of ``name``: what is there, what is expected."""
    found = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    shown = ", ".join(repr(n) for n in found[:12]) + (f" and {len(found) - 12} more"
                                                      if len(found) > 12 else "")
    return (f"data: the folder {str(folder)!r} holds no {name} file: expected "
            f"{' or '.join(repr(n) for n in wanted)}, found {shown or 'nothing'}; rename your "
            f"copy to one of the expected names, or give the file itself instead of the folder "
            f"(it may have any name: a .mat file or a pickle)")


def load_music(name="chorales", split="train", key_range="88", folder=None, source=None, progress=True):
    """Load a music dataset as a list of piano rolls, each a (T, K) float32 tensor.

    name: one of "chorales" (offline default), "jsb", "nottingham", "musedata", "piano-midi".
    split: "train", "valid", "test", or None for a dict of all three.
    key_range: "88" (MIDI 21..108, K = 88) or "paper" (MIDI 1..width, K = 93/96/105/108).
    folder: the user's copy: a folder holding the data file, or the file itself (see
        ``load_full``; for chorales: where the built .npz lives); the gru_lib cache otherwise.
    source: an alternative registry file for the dataset (see ``load_full``).
    """
    check_dataset_name(name)
    if split is not None and split not in SPLITS:
        raise ValueError(f"split: expected one of {list(SPLITS)} or None, got {split!r}")
    if folder is not None and not isinstance(folder, (str, os.PathLike)):   # e.g. folder=5
        raise TypeError(f"folder must be a path (str or Path) or None, got "
                        f"{type(folder).__name__}")
    lowest, width = key_layout(key_range, name)
    full = load_full(name, folder=folder, source=source, progress=progress)
    out = {s: [crop_to_keys(r, lowest, width, f"{name} {s} sequence {i}") for i, r in enumerate(full[s])]
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

