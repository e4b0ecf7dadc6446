"""The speech task's sampler: music-only options are refused, not silently ignored."""
import inspect

import pytest

from gru_lib.music.task import MUSIC
from gru_lib.speech.task import MUSIC_SAMPLE_DEFAULTS, SPEECH
from gru_lib.speech.model import make_speech_model

# What `python -m gru_lib sample` passes when the user gives no music option.
CLI_DEFAULTS = dict(steps=64, tempo=100.0, fs=16000, wav=True)


def test_the_music_defaults_are_the_music_samplers():
    params = inspect.signature(type(MUSIC).sample).parameters
    assert {name: params[name].default for name in MUSIC_SAMPLE_DEFAULTS} == MUSIC_SAMPLE_DEFAULTS


@pytest.mark.parametrize("change, message", [
    (dict(wav=False), r"wav \(--no-wav\) is for music checkpoints; a speech sample is a WAV"),
    (dict(steps=5), r"steps \(--steps\) is for music checkpoints; .*--seconds"),
    (dict(tempo=0.0), r"tempo \(--tempo\) is for music checkpoints"),
    (dict(fs=8000), r"fs \(--fs\) is for music checkpoints")])
def test_music_options_with_values_of_their_own_are_refused(tmp_path, change, message):
    """--no-wav still wrote the WAV; --steps 5 and --tempo 0 were accepted and ignored."""
    model = make_speech_model("gru", 4, seed=0)
    with pytest.raises(ValueError, match=message):
        SPEECH.sample(model, tmp_path / "s.wav", seed=0, **{**CLI_DEFAULTS, **change})
    assert list(tmp_path.iterdir()) == []                          # nothing written


def test_the_defaults_the_command_line_passes_are_not_mistaken_for_choices(tmp_path):
    model = make_speech_model("gru", 4, seed=0)
    # gets past the music options to the speech ones: the bad clip is what is refused
    for options in (CLI_DEFAULTS, {}):
        with pytest.raises((TypeError, ValueError), match="clip"):
            SPEECH.sample(model, tmp_path / "s.wav", seed=0, clip=3, **options)
