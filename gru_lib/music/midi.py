"""Piano rolls to and from MIDI, and rolls made audible: hear what a model wrote.

Out: ``roll_to_midi`` turns each run of consecutive 1s in a column into one held note (a
binary roll cannot tell a held note from repeated ones) and marks the end with a text event,
so trailing silent steps survive a round trip; ``save_midi`` writes the file atomically;
``synthesize`` and ``audio`` render it with pretty_midi's additive sine synthesis, so no
fluidsynth or sound font is needed.

In: ``midi_to_roll`` reads any MIDI file (a path, bytes or a PrettyMIDI) onto a grid of
beats taken from the file's own tempo map, so a user's own music can be fed to a model.
pretty_midi (and IPython, for ``audio``) are imported only when a function needs them.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from .. import checks
from ..atomic import writable_new_file, write_atomically
from .keys import as_binary_roll, key_layout

# -----------------------------------------------------------------------------
# MIDI and audio out

# A MIDI file stores the tempo as microseconds per beat in 3 bytes (at most 16777215 µs), so
# no tempo slower than 60e6 / 16777215 ≈ 3.58 beats per minute can be written; 1000 bpm is
# our own sanity bound (a step of 60 ms).
MIN_TEMPO = 60e6 / 0xFFFFFF
MAX_TEMPO = 1000.0
# What ``synthesize`` renders at (Hz): the rates audio software plays.
MIN_FS, MAX_FS = 1000, 192000


def check_tempo(tempo, name: str = "tempo") -> float:
    """``tempo`` in beats per minute, within what a MIDI file can hold (MIN_TEMPO..MAX_TEMPO)."""
    if not checks.is_number(tempo) or not MIN_TEMPO <= tempo <= MAX_TEMPO:
        raise ValueError(f"{name}: expected beats per minute in [{MIN_TEMPO:.4f}, {MAX_TEMPO:g}] "
                         f"(a MIDI file holds a beat of at most 16777215 µs), got "
                         f"{checks.shown(tempo)}")
    return float(tempo)


def check_fs(fs, name: str = "fs") -> int:
    """``fs``, a sample rate in Hz for ``synthesize``: an int in MIN_FS..MAX_FS."""
    if not checks.is_int(fs) or not MIN_FS <= fs <= MAX_FS:
        raise ValueError(f"{name}: expected a sample rate in Hz (int, {MIN_FS}..{MAX_FS}), "
                         f"got {checks.shown(fs)}")
    return int(fs)


def roll_to_midi(roll, *, key_range="88", steps_per_beat=1, tempo=100.0, program=0, velocity=90):
    """Piano roll (T, K) of 0/1 -> ``pretty_midi.PrettyMIDI``.

    A run of consecutive 1s in a column becomes one held note (a binary roll cannot
    tell a held note from repeated ones). steps_per_beat: 1 for the quarter-note
    sets (JSB, chorales), 2 for eighth notes (Nottingham). tempo in beats per
    minute; program is the General MIDI instrument (0 = acoustic grand piano).
    A text event marks the end, so trailing silent steps survive a round trip.
    """
    import pretty_midi

    roll = as_binary_roll(roll)
    lowest, _ = key_layout(key_range, width=roll.shape[1] if key_range == "paper" else None)
    if key_range == "88" and roll.shape[1] != 88:
        raise ValueError(f"roll: key_range '88' needs 88 columns, got {roll.shape[1]}")
    steps_per_beat = checks.positive_int("steps_per_beat", steps_per_beat)
    tempo = check_tempo(tempo)
    if not checks.is_int(program) or not 0 <= program <= 127:
        raise ValueError(f"program: expected a General MIDI program number 0..127, got {program!r}")
    if not checks.is_int(velocity) or not 1 <= velocity <= 127:
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


def save_midi(roll, path, overwrite: bool = False, **kwargs):
    """Write a roll as a .mid file (via a temporary file); kwargs go to ``roll_to_midi``.
    An existing file at ``path`` is an error unless ``overwrite=True``."""
    path = writable_new_file(path, overwrite)
    pm = roll_to_midi(roll, **kwargs)
    return write_atomically(path, pm.write)


def synthesize(roll, fs=16000, **kwargs):
    """A roll (or a PrettyMIDI) -> mono waveform, float32 in [-1, 1], at ``fs`` Hz.

    pretty_midi's additive sine synthesis: no fluidsynth or sound font needed.
    Keep clips short in notebooks: embedded audio costs ~40 KB per second at 16 kHz.
    """
    import pretty_midi

    fs = check_fs(fs)
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

    steps_per_beat = checks.positive_int("steps_per_beat", steps_per_beat)
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
    if outside == len(spans):     # dropping them all would leave silence, never what is meant
        raise ValueError(f"{where}: all {outside} note(s) lie outside the key range "
                         f"{lowest}..{lowest + n_keys - 1}; nothing of the file would be left")
    if outside and not drop_outside:
        raise ValueError(f"{where}: {outside} note(s) outside the key range "
                         f"{lowest}..{lowest + n_keys - 1}; pass drop_outside=True to drop them")
    return torch.from_numpy(roll)

