"""Polyphonic music, the paper's first task: piano rolls, their files, MIDI, and the model.

    keys.py      which MIDI note each column of a roll is (88 keys or the paper's widths)
    files.py     the Boulanger-Lewandowski .mat files and pickles, read safely
    chorales.py  Bach chorales built offline from music21 (the default data set)
    data.py      ``load_music``: a data set's three splits as (T, K) rolls; statistics
    midi.py      rolls to and from MIDI files, synthesised audio
    plots.py     a roll drawn as a piano roll
    model.py     ``PianoRollModel``: recurrent layer -> K sigmoids, and its NLL
    task.py      the music task behind the seam generic code uses (gru_lib.tasks)

The names below are the ones notebooks and users reach for, as ``gru_lib.music.load_music``.
"""
from .chorales import build_chorales, chorale_split, read_chorales
from .data import dataset_stats, load_full, load_music, roll_stats
from .files import read_mat, read_pickle
from .keys import DATASETS, KEY_RANGES, key_layout
from .midi import audio, midi_to_roll, roll_to_midi, save_midi, synthesize
from .model import PianoRollModel, make_model, nll_sum, shift_right
from .plots import plot_roll

__all__ = ["DATASETS", "KEY_RANGES", "PianoRollModel", "audio", "build_chorales", "chorale_split",
           "dataset_stats", "key_layout", "load_full", "load_music", "make_model", "midi_to_roll",
           "nll_sum", "plot_roll", "read_chorales", "read_mat", "read_pickle", "roll_stats",
           "roll_to_midi", "save_midi", "shift_right", "synthesize"]
