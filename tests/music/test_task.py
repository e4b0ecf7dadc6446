"""Tests of gru_lib.music.task, the music task's sampler: every bad option is a ValueError that
names it, raised before anything is sampled or written."""
from pathlib import Path

import pytest

from gru_lib.experiments.checkpoint_tools import sample_checkpoint
from gru_lib.music.task import MUSIC
from gru_lib.training.checkpoints import save_checkpoint


def _music_checkpoint(path):
    model = MUSIC.build_model("gru", 88, seed=0, units=4)
    save_checkpoint({"meta": model.meta(), "model": model.state_dict()}, path)
    return path


@pytest.mark.parametrize("name, said", [("steps", "steps"), ("tempo", "tempo: expected beats"),
                                        ("fs", "fs: expected a sample rate")])
@pytest.mark.parametrize("bad", [10 ** 400, float("nan"), float("inf"), True, -1, "64"],
                         ids=["10**400", "nan", "inf", "True", "-1", "str"])
def test_numeric_options_refuse_huge_ints_nan_inf_and_bools(tmp_path, name, said, bad):
    ckpt = _music_checkpoint(tmp_path / "m.pt")
    with pytest.raises(ValueError, match=rf"^{said}") as info:
        sample_checkpoint(ckpt, tmp_path / "s.mid", **{name: bad})
    if bad == 10 ** 400:                       # shown by its length, not 401 digits long
        assert "an integer of about 401 digits" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]          # nothing written


def test_wav_and_paths_of_the_wrong_type_are_value_errors_naming_them(tmp_path):
    """wav='no' and the int paths were TypeErrors (pathlib's named nothing); a bad fs is refused
    even with wav=False, and a missing prime is a ValueError naming prime."""
    ckpt, model = _music_checkpoint(tmp_path / "m.pt"), MUSIC.build_model("gru", 88, units=4)
    with pytest.raises(ValueError, match=r"^wav: expected True .* or False .*--no-wav\), got 'no'$"):
        sample_checkpoint(ckpt, tmp_path / "s.mid", wav="no")
    with pytest.raises(ValueError, match=r"^fs: expected a sample rate"):
        sample_checkpoint(ckpt, tmp_path / "s.mid", wav=False, fs=0.5)
    # sample_checkpoint turns out and prime into paths before it calls the sampler; the
    # sampler itself checks them for a caller that reaches it directly
    with pytest.raises(ValueError, match=r"^out: expected a path \(a str or pathlib.Path\), got "
                                         r"int 123$"):
        MUSIC.sample(model, 123)
    with pytest.raises(ValueError, match=r"^prime: expected a path .*got int 123$"):
        MUSIC.sample(model, tmp_path / "s.mid", prime=123)
    with pytest.raises(ValueError, match=r"^prime: no such file '.*nope\.mid'"):
        MUSIC.sample(model, tmp_path / "s.mid", prime=tmp_path / "nope.mid")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_out_that_cannot_be_written_names_out(tmp_path):
    """It said "path: ... cannot be written to (No such file or directory)" of /proc."""
    with pytest.raises(ValueError, match=r"^out: cannot write '/proc/s\.mid': its folder '/proc' "
                                         r"cannot be written to; give a path") as info:
        sample_checkpoint(_music_checkpoint(tmp_path / "m.pt"), "/proc/s.mid", steps=4)
    assert "No such file" not in str(info.value)
