"""Tests of gru_lib.music.midi: piano rolls to and from MIDI, synthesis and audio."""
import importlib.util

import numpy as np
import pytest
import torch

from gru_lib import music

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


def test_midi_round_trip_real_data(data_dir, tmp_path):
    for name, spb in (("jsb", 1), ("nottingham", 2)):
        roll = music.load_music(name, "test", folder=data_dir)[3]
        path = music.save_midi(roll, tmp_path / f"{name}.mid", steps_per_beat=spb, tempo=97, program=19)
        back = music.midi_to_roll(path, steps_per_beat=spb)
        assert torch.equal(back, roll)


def test_midi_round_trip_paper_width_fine_grid_and_trailing_silence(tmp_path):
    g = torch.Generator().manual_seed(0)
    roll = (torch.rand(40, 96, generator=g) < 0.05).float()
    roll[-5:] = 0  # silence at the end must survive
    roll[:, :30] = 0
    path = music.save_midi(roll, tmp_path / "r.mid", key_range="paper", steps_per_beat=4, tempo=151.5)
    back = music.midi_to_roll(path, steps_per_beat=4, key_range="paper", width=96)
    assert torch.equal(back, roll)
    # also from bytes and from a PrettyMIDI object
    assert torch.equal(music.midi_to_roll(path.read_bytes(), steps_per_beat=4, key_range="paper", width=96), roll)
    pm = music.roll_to_midi(roll, key_range="paper", steps_per_beat=4)
    assert torch.equal(music.midi_to_roll(pm, steps_per_beat=4, key_range="paper", width=96), roll)
    assert pm.instruments[0].program == 0 and not list(tmp_path.glob(".*part"))


def test_midi_in_follows_the_tempo_map(tmp_path):
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track += [mido.MetaMessage("set_tempo", tempo=500000, time=0),
              mido.Message("note_on", note=60, velocity=80, time=0),
              mido.Message("note_off", note=60, velocity=0, time=480),
              mido.MetaMessage("set_tempo", tempo=250000, time=0),  # twice as fast from beat 1
              mido.Message("note_on", note=64, velocity=80, time=0),
              mido.Message("note_off", note=64, velocity=0, time=960),
              mido.Message("note_on", note=67, velocity=80, time=0),
              mido.Message("note_off", note=67, velocity=0, time=30)]  # a 16th of a beat: still one step
    path = tmp_path / "tempo.mid"
    mid.save(path)
    roll = music.midi_to_roll(path, steps_per_beat=2)
    expect = torch.zeros(7, 88)
    expect[0:2, 60 - 21] = 1
    expect[2:6, 64 - 21] = 1
    expect[6, 67 - 21] = 1
    assert torch.equal(roll, expect)


def test_midi_in_bad_files(tmp_path):
    import pretty_midi

    with pytest.raises(FileNotFoundError, match="midi: no such file"):
        music.midi_to_roll(tmp_path / "none.mid")
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06garbage garbage garbage")
    with pytest.raises(ValueError, match="corrupt.mid: not a readable MIDI file"):
        music.midi_to_roll(corrupt)
    with pytest.raises(ValueError, match="not a readable MIDI file"):
        music.midi_to_roll(b"hello, I am not MIDI")
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    with pytest.raises(ValueError, match="empty.mid: the MIDI file has no \\(non-drum\\) notes"):
        music.midi_to_roll(empty)
    drums = pretty_midi.PrettyMIDI()
    drums.instruments.append(pretty_midi.Instrument(0, is_drum=True))
    drums.instruments[0].notes.append(pretty_midi.Note(100, 36, 0.0, 0.5))
    with pytest.raises(ValueError, match="no \\(non-drum\\) notes"):
        music.midi_to_roll(drums)
    low = pretty_midi.PrettyMIDI()
    low.instruments.append(pretty_midi.Instrument(0))
    low.instruments[0].notes += [pretty_midi.Note(100, 12, 0.0, 0.5), pretty_midi.Note(100, 60, 0.0, 0.5)]
    with pytest.raises(ValueError, match="1 note\\(s\\) outside the key range 21..108; pass drop_outside"):
        music.midi_to_roll(low)
    kept = music.midi_to_roll(low, drop_outside=True)
    assert kept.sum() == 1 and kept[0, 60 - 21] == 1
    # every note outside: dropping them would leave silence, which is never what was meant
    low.instruments[0].notes.pop()
    with pytest.raises(ValueError, match="all 1 note\\(s\\) lie outside the key range 21..108"):
        music.midi_to_roll(low, drop_outside=True)
    with pytest.raises(ValueError, match="steps_per_beat must be a positive integer, got 0"):
        music.midi_to_roll(low, steps_per_beat=0)
    with pytest.raises(ValueError, match="midi: expected a path, bytes or a PrettyMIDI, got int"):
        music.midi_to_roll(3)


def test_midi_out_bad_rolls():
    r = torch.zeros(4, 88)
    with pytest.raises(ValueError, match=r"roll: expected shape \(T, K\), got shape \(88,\)"):
        music.roll_to_midi(torch.zeros(88))
    with pytest.raises(ValueError, match="roll: expected only 0/1 values, got 0.7 at step 1, key 5"):
        bad = r.clone()
        bad[1, 5], bad[2, 7] = 0.7, 0.2
        music.roll_to_midi(bad)
    with pytest.raises(ValueError, match="roll: key_range '88' needs 88 columns, got 96"):
        music.roll_to_midi(torch.zeros(4, 96))
    with pytest.raises(ValueError, match="roll: has no time steps"):
        music.roll_to_midi(torch.zeros(0, 88))
    with pytest.raises(ValueError, match="roll: expected a \\(T, K\\) tensor or numpy array, got list"):
        music.roll_to_midi([[0] * 88])
    with pytest.raises(ValueError, match="tempo: expected beats per minute"):
        music.roll_to_midi(r, tempo=0)
    with pytest.raises(ValueError, match="program: expected a General MIDI program number 0..127, got 128"):
        music.roll_to_midi(r, program=128)
    with pytest.raises(ValueError, match="velocity: expected an int in 1..127"):
        music.roll_to_midi(r, velocity=0)
    with pytest.raises(ValueError, match="velocity: expected an int in 1..127, got True"):
        music.roll_to_midi(r, velocity=True)                    # a bool is not a velocity
    with pytest.raises(ValueError, match="steps_per_beat must be a positive integer, got 1.5"):
        music.roll_to_midi(r, steps_per_beat=1.5)


def test_synthesize_and_audio(data_dir):
    roll = music.load_music("jsb", "test", folder=data_dir)[0][:8]  # 8 beats
    wave = music.synthesize(roll, fs=8000, tempo=120)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) >= 8 * 0.5 * 8000 and 0.5 < np.abs(wave).max() <= 1.0
    with pytest.raises(ValueError, match="fs: expected a sample rate"):
        music.synthesize(roll, fs=10)
    if importlib.util.find_spec("IPython") is None:
        with pytest.raises(ImportError, match="audio\\(\\) needs IPython"):
            music.audio(roll)
    else:
        player = music.audio(roll, fs=8000)
        assert "audio" in player._repr_html_()


def test_save_midi_never_writes_over_a_file_unless_told(tmp_path):
    """A user's file at the name given survives; overwrite=True is the caller saying it is theirs."""
    roll = torch.zeros(8, 88)
    roll[:4, 40] = 1
    mine = tmp_path / "notes.mid"
    mine.write_text("my notes")
    with pytest.raises(ValueError, match="already exists.*overwrite=True"):
        music.save_midi(roll, mine)
    assert mine.read_text() == "my notes"
    with pytest.raises(ValueError, match="is a folder"):
        music.save_midi(roll, tmp_path)
    music.save_midi(roll, mine, overwrite=True)
    assert torch.equal(music.midi_to_roll(mine), roll)
    assert not list(tmp_path.glob(".*part"))


def test_tempo_must_fit_a_midi_file(tmp_path):
    """MIDI holds a beat of at most 16777215 µs: below ~3.58 bpm the MIDI library failed with
    "attribute must be in range 0..16777215"."""
    roll = torch.zeros(4, 88)
    roll[0, 40] = 1
    with pytest.raises(ValueError, match=r"tempo: expected beats per minute in \[3.5763, 1000\]"):
        music.save_midi(roll, tmp_path / "slow.mid", tempo=3.5)
    assert not (tmp_path / "slow.mid").exists()
    music.save_midi(roll, tmp_path / "slowest.mid", tempo=music.midi.MIN_TEMPO)
    assert music.midi_to_roll(tmp_path / "slowest.mid")[0, 40] == 1


def test_save_midi_into_a_missing_folder_names_it(tmp_path):
    with pytest.raises(ValueError, match="its folder '.*/nowhere' does not exist"):
        music.save_midi(torch.zeros(4, 88), tmp_path / "nowhere" / "x.mid")
