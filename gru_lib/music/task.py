"""The music task behind the seam (``gru_lib.tasks.Task``): what generic code needs to know.

    >>> from gru_lib.music.task import MUSIC
    >>> model = MUSIC.build_model("gru", width=88, seed=0)     # Table 1: 46 GRU units
    >>> splits = MUSIC.load_splits("jsb")                      # {split: list of (T, 88) rolls}
    >>> MUSIC.steps(splits["test"])                            # every step of a piece is predicted

The trainer, the search, the reproduction, ``evaluate_checkpoint`` and ``sample_checkpoint``
reach music only through this object (``gru_lib.tasks.task_for("jsb")`` returns it), so none
of them has to know what a piano roll or a MIDI file is.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from scipy.io import wavfile

from .. import checks
from ..atomic import atomic_write, check_creatable, make_folder, refuse_to_overwrite
from ..checks import one_of, positive_int
from ..nn.budget import task_units
from ..nn.kinds import model_name
from .data import load_music
from .keys import DATASETS, key_layout
from .midi import check_fs, check_tempo, midi_to_roll, save_midi, synthesize
from .model import PianoRollModel, make_model

# The width of an 88-key roll, read from the key layout rather than written out again.
_, WIDTH_88 = key_layout("88")
# The most steps one call to ``sample`` draws: one step at a time (a forward pass each), 10^5
# steps take minutes; 10^8 would take hours with no sign of progress.
MAX_SAMPLE_STEPS = 100_000


class MusicTask:
    """Polyphonic music (section 4.1): piano rolls in, K independent sigmoids out.

    Attributes and methods: see ``gru_lib.tasks.Task``, whose documentation they follow.
    """

    name = "music"                         # the key of paper.UNITS and paper.PARAMS
    datasets = DATASETS                    # chorales (ours, built offline) + the paper's four
    model_class = PianoRollModel
    checkpoint_kind = PianoRollModel.checkpoint_kind
    metric = "NLL"
    unit = "nats per time step"            # summed over the keys of the step
    sequences = "pieces"
    # ``sample``'s keyword options and the command line's flag for each
    sample_options = {"steps": "--steps", "tempo": "--tempo", "fs": "--fs", "wav": "--no-wav"}
    # what to tell someone who gives a music checkpoint the speech sampler's options
    foreign_option_hints = {"seconds": "a music sample's length is set in steps with --steps "
                                       "(steps= in Python)"}
    default_out = "sample.mid"                # where ``sample`` writes when not told
    budgets: dict = {}                     # the generic budgets were sized on music
    paper_reference = None                 # Table 2 has our very data sets: paper.TABLE2
    credit = None

    def load_splits(self, dataset: str, data=None, key_range: str = "88") -> dict:
        """{split: list of (T, K) float rolls}: K = 88 keys, or the paper's width of
        ``dataset`` with key_range "paper". ``data``: the folder holding the files."""
        one_of("dataset", dataset, self.datasets)
        return load_music(dataset, None, key_range=key_range, folder=data, progress=False)

    def build_model(self, kind: str, width: int, seed: int = 0, units: int | None = None,
                    **cell_options):
        """A PianoRollModel over ``width`` keys with Table 1's units for ``kind`` (or ``units``).

        ``kind`` is a model name (nn.kinds.model_name): "gru", "mingru", "minlstm-3", ...; the
        models outside Table 1 get the units of the same budget (nn.budget.task_units).
        """
        cell, layers = model_name(kind)
        units = task_units(self.name, kind) if units is None else positive_int("units", units)
        return make_model(cell, width, units, seed=seed, layers=layers, **cell_options)

    def steps(self, sequences) -> int:
        """Predicted steps in a list of rolls: all of them (step 0 is predicted from silence)."""
        return sum(r.shape[0] for r in sequences)

    def describe(self, splits: dict) -> str:
        """How the reproduction's log names the sequences and their width."""
        return f"pieces, K={splits['train'][0].shape[1]} keys"

    def key_range_of(self, model) -> str:
        """The key range ``model``'s rows were built with: "88", else the paper's widths."""
        return "88" if model.row_size == WIDTH_88 else "paper"

    def sample(self, model, out, *, steps: int = 64, seed: int = 0, prime=None,
               tempo: float = 100.0, fs: int = 16000, wav: bool = True) -> list:
        """Draw ``steps`` new steps (after the MIDI file ``prime``, if given); write the roll
        as MIDI to ``out`` and, with ``wav``, its sine synthesis at ``fs`` Hz beside it.

        Each step's keys are independent coins from the model's sigmoids, fed back as the
        next input. Returns the paths written. (The speech sampler's options are refused
        before this is called: gru_lib.tasks.check_sample_options.)

        Every option is checked before anything is sampled or written: a bad ``fs`` found
        after the MIDI file was written would leave that file behind, and the corrected rerun
        would then be refused for it. A bad one is a ValueError naming it (``fs`` too when
        ``wav`` is False: a wrong value is a mistake even where it goes unused).
        """
        steps = positive_int("steps", steps)
        if steps > MAX_SAMPLE_STEPS:       # one step at a time: 10^8 steps would run for hours
            raise ValueError(f"steps: at most {MAX_SAMPLE_STEPS} steps can be sampled at once "
                             f"(≈ {MAX_SAMPLE_STEPS * 60 / 100 / 3600:.0f} hours of music at "
                             f"100 bpm), got {checks.shown(steps)}")
        seed = checks.seed("seed", seed)
        tempo = check_tempo(tempo)
        if not isinstance(wav, (bool, np.bool_)):
            raise ValueError(f"wav: expected True (write the WAV beside the MIDI file) or False "
                             f"(only the MIDI file: --no-wav), got {checks.shown(wav)}")
        fs = check_fs(fs)
        checks.path_like("out", out)
        checks.existing_file("prime", prime, "a MIDI file to continue", allow_none=True)
        out = Path(out)
        refuse_to_overwrite([out, out.with_suffix(".wav")] if wav else [out])
        if out.suffix.lower() not in (".mid", ".midi"):    # "x.wav" would be both files at once
            raise ValueError(f"out: the sample is a MIDI file, so its name ends in .mid or .midi "
                             f"(the WAV goes beside it); got {str(out)!r}")
        check_creatable(out)
        key_range = self.key_range_of(model)
        if prime is not None:
            # A user's MIDI may hold notes outside the model's keys: drop those, keep the rest.
            try:
                prime = midi_to_roll(prime, key_range=key_range, drop_outside=True,
                                     width=None if key_range == "88" else model.row_size)
            except ValueError as err:
                raise ValueError(f"prime: {err}") from None
        roll = model.sample(steps, prime=prime, generator=torch.Generator().manual_seed(seed))
        if prime is not None:
            roll = torch.cat([prime.to(roll), roll])
        make_folder(out.parent)                             # like reproduce's --out folder
        save_midi(roll, out, key_range=key_range, tempo=tempo)
        written = [out]
        if wav:
            wave = synthesize(roll, fs=fs, key_range=key_range, tempo=tempo)
            buffer = io.BytesIO()
            wavfile.write(buffer, fs, (np.clip(wave, -1, 1) * 32767).astype(np.int16))
            atomic_write(out.with_suffix(".wav"), buffer.getvalue())
            written.append(out.with_suffix(".wav"))
        return written


MUSIC = MusicTask()
