"""Argument checks shared by every public function, so each states its checks in one line each.

    >>> positive_int("batch_size", 16)
    16
    >>> positive_number("lr", -1.0)
    Traceback (most recent call last):
    ValueError: lr must be a positive number, got -1.0

Every check returns the value it accepted and raises ValueError with a message that names the
argument, says what was expected and shows what came instead. ``bool`` is never accepted as a
number (``True`` is an ``int`` in Python, and ``units=True`` is always a mistake).
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np


def is_int(value) -> bool:
    """An int (numpy integers too), but not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value) -> bool:
    """An int or float (numpy scalars too), but not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _or_none(allow_none: bool) -> str:
    return " or None" if allow_none else ""


def shown(value) -> str:
    """``repr(value)`` for a message, except an integer too long to print usefully (10**400
    would fill the screen, and Python refuses to turn one of over 4300 digits into text at
    all): "an integer of about 401 digits"."""
    if is_int(value) and abs(int(value)).bit_length() > 100:        # over 30 digits
        digits = int(abs(int(value)).bit_length() * math.log10(2)) + 1
        return f"{'a negative' if value < 0 else 'an'} integer of about {digits} digits"
    return repr(value)


def _finite(value) -> bool:
    """math.isfinite, but False (not OverflowError) for an int no float can hold (10**400)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _beyond_float(value) -> str:
    """A note for an int too large for a float: it is refused, though it looks in range."""
    return " (too large for a float)" if is_int(value) and not _finite(value) else ""


def positive_int(name: str, value, *, allow_none: bool = False):
    """An integer >= 1 (or None where allowed)."""
    if value is None and allow_none:
        return None
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer{_or_none(allow_none)}, got "
                         f"{shown(value)}")
    return int(value)


def non_negative_int(name: str, value, *, allow_none: bool = False):
    """An integer >= 0 (or None where allowed)."""
    if value is None and allow_none:
        return None
    if not is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer{_or_none(allow_none)}, got "
                         f"{shown(value)}")
    return int(value)


def positive_number(name: str, value, *, allow_none: bool = False, allow_zero: bool = False):
    """A finite number > 0 (>= 0 with allow_zero; or None where allowed). An int too large for
    a float (10**400) is not one: it could only become inf."""
    if value is None and allow_none:
        return None
    ok = is_number(value) and _finite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        what = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {what} number{_or_none(allow_none)}, got "
                         f"{shown(value)}{_beyond_float(value)}")
    return float(value)


def number_in(name: str, value, low: float, high: float, *, low_open: bool = False,
              high_open: bool = False, allow_none: bool = False):
    """A finite number in the interval [low, high]; ``low_open`` / ``high_open`` exclude an end.
    NaN, infinities, bools and ints too large for a float are refused, never an OverflowError."""
    if value is None and allow_none:
        return None
    ok = is_number(value) and _finite(value) and \
        (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a number in {interval}{_or_none(allow_none)}, got "
                         f"{shown(value)}{_beyond_float(value)}")
    return float(value)


def one_of(name: str, value, choices: Iterable[Any]):
    """One of ``choices`` (compared with ==)."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name}: unknown {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value


def instance(name: str, value, cls, what: str | None = None):
    """An instance of ``cls`` (a class or tuple of classes)."""
    if not isinstance(value, cls):
        what = what or (cls.__name__ if isinstance(cls, type) else " or ".join(c.__name__ for c in cls))
        raise ValueError(f"{name} must be a {what}, got {type(value).__name__}")
    return value


# torch's generators take a seed in 64 bits; numpy's take no negative one. A seed that fits
# both, checked where it comes in, so a huge one is a message naming it, not torch's
# "Overflow when unpacking long long" from deep inside a sampler.
SEED_MAX = 2 ** 63 - 1


def seed(name: str, value):
    """A random seed: an integer in 0..SEED_MAX (2**63 - 1)."""
    if not is_int(value) or not 0 <= value <= SEED_MAX:
        raise ValueError(f"{name} must be an integer in 0..{SEED_MAX} (2**63 - 1), got "
                         f"{shown(value)}")
    return int(value)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2, like every
    other error of the command line: argparse's own prints the whole usage block first, which
    buries the line that says what is wrong. ``--help`` still shows the usage. Subcommands
    (``add_subparsers``) get this class too."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def path_like(name: str, value, *, allow_none: bool = False):
    """A file or folder path: a str or an os.PathLike such as pathlib.Path (or None where
    allowed). Anything else (``out=123``) is a ValueError naming the argument, not pathlib's
    TypeError ("expected str, bytes or os.PathLike object, not int"), which names nothing."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (str, os.PathLike)) or not isinstance(os.fspath(value), str):
        raise ValueError(f"{name}: expected a path (a str or pathlib.Path){_or_none(allow_none)}, "
                         f"got {type(value).__name__} {shown(value)}")
    return value


def existing_file(name: str, value, what: str, *, allow_none: bool = False):
    """A path (see ``path_like``) to a file that exists, as a Path (or None where allowed); else
    a ValueError naming the argument and saying what to give instead (``what``: "a MIDI file
    to continue")."""
    if value is None and allow_none:
        return None
    path = Path(path_like(name, value))
    if not path.is_file():
        raise ValueError(f"{name}: no such file {str(value)!r}; give {what}")
    return path


def expand_user(path, what: str = "data") -> Path:
    """``Path(path).expanduser()``, but a ``~user`` that names no user (or a ``~`` with no
    home folder) is a ValueError naming the path -- pathlib raises a bare RuntimeError
    ("Could not determine home directory") that names nothing and escapes the CLI's
    one-line error handling. So is a ``path`` that is no path at all (``path_like``)."""
    path_like(what, path)
    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise ValueError(f"{what}: cannot expand {str(path)!r}: no such user or home folder; "
                         f"give the path without '~' or as an absolute path") from None
