"""A piano roll drawn as a piano roll: time across, pitch up, every C labelled by name.

One function, ``plot_roll``, for the notebooks: it checks the roll like every other reader
of a user's roll (``keys.as_binary_roll``), so probabilities are refused rather than drawn
as grey, and it trims to the pitches in use so a four-voice chorale is not lost in 88 rows.
matplotlib and pretty_midi (for the note names) are imported only when it is called.
"""
from __future__ import annotations

import numpy as np

from .keys import as_binary_roll, key_layout


def plot_roll(roll, *, key_range="88", ax=None, steps_per_beat=None, title=None, trim=True):
    """Draw a piano roll: time on x, pitch on y with note names (C4 = middle C).

    trim: show only the pitches the roll uses (plus a small margin). Returns the axes.
    """
    import matplotlib.pyplot as plt
    import pretty_midi

    r = as_binary_roll(roll)
    lowest, _ = key_layout(key_range, width=r.shape[1] if key_range == "paper" else None)
    if key_range == "88" and r.shape[1] != 88:
        raise ValueError(f"roll: key_range '88' needs 88 columns, got {r.shape[1]}")
    lo, hi = 0, r.shape[1] - 1
    used = np.flatnonzero(r.any(0))
    if trim and len(used):
        lo, hi = max(0, used[0] - 2), min(r.shape[1] - 1, used[-1] + 2)
    if ax is None:
        # the book's text column (gru_lib.experiments.plotting.COLUMN_WIDTH inches)
        from ..style import COLUMN_WIDTH

        _, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.6), layout="constrained")
    scale = 1.0 / steps_per_beat if steps_per_beat else 1.0
    ax.imshow(r[:, lo:hi + 1].T, aspect="auto", origin="lower", cmap="Greys",
              interpolation="nearest",
              extent=(-0.5 * scale, (r.shape[0] - 0.5) * scale, lo - 0.5, hi + 0.5))
    ax.grid(False)          # a grid (the book style's) would hide the notes
    # label every C (and the lowest row if no C is in view)
    ticks = [k for k in range(lo, hi + 1) if (k + lowest) % 12 == 0] or [lo]
    ax.set_yticks(ticks)
    ax.set_yticklabels([pretty_midi.note_number_to_name(k + lowest) for k in ticks])
    ax.set_xlabel("beat" if steps_per_beat else "step")
    ax.set_ylabel("pitch")
    if title:
        ax.set_title(title)
    return ax

