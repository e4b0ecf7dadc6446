"""The speech task's sampler: the music sampler's options are refused, not silently ignored
(gru_lib.tasks.check_sample_options, which sample_checkpoint runs with the checkpoint's task)."""
from pathlib import Path

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


# -- an audit of bad input: every bad value is a ValueError naming the option (and its flag),
# raised before anything is read or written

def _prime(path):
    import numpy as np
    from scipy.io import wavfile

    from tests.speech.helpers import sine
    wavfile.write(path, 8000, (sine(8000) * 20000).astype(np.int16))       # 0.5 s
    return path


@pytest.mark.parametrize("name, flag", [("seconds", "--seconds"),
                                        ("prime_seconds", "--prime-seconds"),
                                        ("temperature", "--temperature")])
@pytest.mark.parametrize("bad", [10 ** 400, float("nan"), float("inf"), True, -1.0, "1"],
                         ids=["10**400", "nan", "inf", "True", "-1.0", "str"])
def test_numeric_options_refuse_huge_ints_nan_inf_and_bools(tmp_path, name, flag, bad):
    """seconds=10**400 was an OverflowError (int too large to convert to float)."""
    ckpt = _speech_checkpoint(tmp_path / "s.pt")
    with pytest.raises(ValueError, match=rf"^{name} \({flag}\) must be a "):
        sample_checkpoint(ckpt, tmp_path / "v.wav", prime=_prime(tmp_path / "p.wav"),
                          **{name: bad})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.wav", "s.pt"]      # nothing written


def test_seconds_below_one_frame_is_refused_naming_the_least(tmp_path):
    """seconds=1e-9 was accepted and wrote a single 10-sample frame."""
    ckpt, prime = _speech_checkpoint(tmp_path / "s.pt"), _prime(tmp_path / "p.wav")
    for tiny in (1e-9, 0.001):
        with pytest.raises(ValueError, match=r"^seconds \(--seconds\): .* less than one frame, .*"
                                             r"10 samples at 8000 Hz\); give at least 0\.00125 s$"):
            sample_checkpoint(ckpt, tmp_path / "v.wav", prime=prime, prime_seconds=0.1,
                              seconds=tiny)
    assert not (tmp_path / "v.wav").exists()
    written = sample_checkpoint(ckpt, tmp_path / "v.wav", prime=prime, prime_seconds=0.1,
                                seconds=0.00125)                  # one frame: the least
    assert [p.name for p in written] == ["v.wav", "v.png"]


def test_arguments_of_the_wrong_type_are_value_errors_naming_them(tmp_path):
    """clip=5 and the int paths were TypeErrors (pathlib's, naming nothing)."""
    ckpt, model = _speech_checkpoint(tmp_path / "s.pt"), make_speech_model("gru", 4, seed=0)
    with pytest.raises(ValueError, match=r"^clip \(--clip\): expected the name of an FSDD test "
                                         r"clip, a str such as '0_george_0.wav', got int 5$"):
        sample_checkpoint(ckpt, tmp_path / "v.wav", clip=5)
    with pytest.raises(ValueError, match=r"^data: expected a path \(a str or pathlib.Path\) or "
                                         r"None, got int 123$"):
        sample_checkpoint(ckpt, tmp_path / "v.wav", data=123)
    # sample_checkpoint turns out and prime into paths before it calls the sampler; the
    # sampler itself checks them for a caller that reaches it directly
    with pytest.raises(ValueError, match=r"^out: expected a path .*got int 123$"):
        SPEECH.sample(model, 123)
    with pytest.raises(ValueError, match=r"^prime: expected a path .*got int 123$"):
        SPEECH.sample(model, tmp_path / "v.wav", prime=123)
    with pytest.raises(ValueError, match=r"^prime: no such file '.*nope\.wav'"):
        SPEECH.sample(model, tmp_path / "v.wav", prime=tmp_path / "nope.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.pt"]


def test_a_prime_that_is_not_a_readable_wav_names_prime(tmp_path):
    """The error began with the file's path, not with the option that named it."""
    (tmp_path / "notes.wav").write_text("my notes")
    with pytest.raises(ValueError, match=r"^prime: .*notes\.wav: not a readable WAV file"):
        sample_checkpoint(_speech_checkpoint(tmp_path / "s.pt"), tmp_path / "v.wav",
                          prime=tmp_path / "notes.wav")
    assert (tmp_path / "notes.wav").read_text() == "my notes" and not (tmp_path / "v.wav").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_out_that_cannot_be_written_names_out(tmp_path):
    """It said "path: ... cannot be written to (No such file or directory)" of /proc."""
    with pytest.raises(ValueError, match=r"^out: cannot write '/proc/v\.wav': its folder '/proc' "
                                         r"cannot be written to; give a path") as info:
        sample_checkpoint(_speech_checkpoint(tmp_path / "s.pt"), "/proc/v.wav",
                          prime=_prime(tmp_path / "p.wav"), seconds=0.01)
    assert "No such file" not in str(info.value)
