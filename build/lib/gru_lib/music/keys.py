"""TODO docstring"""
from __future__ import annotations

import numpy as np
import torch
from ..paper import KEY_WIDTHS

DATASETS = ("chorales", "jsb", "nottingham", "musedata", "piano-midi")
KEY_RANGES = ("88", "paper")
LOWEST_88 = 21  # MIDI number of A0, the lowest piano key
N_MIDI = 128


def _check_name(name):
    if name not in DATASETS:
        raise ValueError(f"name: unknown dataset {name!r}; expected one of {list(DATASETS)}")


def _paper_width(name):
    """The authors' roll width for a music set; our chorales take JSB's (they are chorales too)."""
    return KEY_WIDTHS["jsb" if name == "chorales" else name]


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

