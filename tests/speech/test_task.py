"""The speech task's sampler: the music sampler's options are refused, not silently ignored
(gru_lib.tasks.check_sample_options, which sample_checkpoint runs with the checkpoint's task)."""
import pytest

from gru_lib.experiments.checkpoint_tools import sample_checkpoint
from gru_lib.music.task import MUSIC
from gru_lib.speech.model import make_speech_model
from gru_lib.speech.task import SPEECH
from gru_lib.training.checkpoints import save_checkpoint


def _speech_checkpoint(path):
    model = make_speech_model("gru", 4, seed=0)
    save_checkpoint({"meta": model.meta(), "model": model.state_dict()}, path)
    return path


@pytest.mark.parametrize("option, message", [
    (dict(wav=False), r"wav \(--no-wav\) is for music checkpoints, .*; a speech sample is a WAV"),
    # typed at its music default, it is still a choice the speech sampler cannot honour
    (dict(steps=64), r"steps \(--steps\) is for music checkpoints, .*--seconds"),
    (dict(tempo=100.0), r"tempo \(--tempo\) is for music checkpoints, .*does not apply"),
    (dict(fs=8000), r"fs \(--fs\) is for music checkpoints")])
def test_music_options_are_refused_whatever_their_value(tmp_path, option, message):
    """--no-wav still wrote the WAV; --steps 5 and --tempo 0 were accepted and ignored, and
    --steps 64 typed out could not be told from the default."""
    ckpt = _speech_checkpoint(tmp_path / "s.pt")
    with pytest.raises(ValueError, match=message):
        sample_checkpoint(ckpt, tmp_path / "s.wav", **option)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.pt"]       # nothing written


def test_the_samplers_take_only_their_own_options():
    """Each task's sample() has exactly the keyword options it declares (the command line and
    check_sample_options read the declaration)."""
    import inspect
    for task in (MUSIC, SPEECH):
        params = inspect.signature(type(task).sample).parameters
        own = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY and n not in ("seed", "prime")]
        assert set(own) == set(task.sample_options), task.name
        assert not [p for p in params.values() if p.kind is p.VAR_KEYWORD], task.name
