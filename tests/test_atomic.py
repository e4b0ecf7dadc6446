"""Tests of gru_lib.atomic: a file that cannot be written is an error naming the user's path
(not our hidden temporary file), and a file that fails its checks is moved aside, not lost."""
import os
from pathlib import Path

import pytest

from gru_lib.atomic import (UnwritablePathError, atomic_write, check_creatable, make_folder,
                            set_aside, writable_new_file, write_atomically)


def test_writing_into_a_missing_folder_names_the_folder_not_the_temporary_file(tmp_path):
    path = tmp_path / "no" / "song.mid"
    with pytest.raises(ValueError, match="its folder '.*/no' does not exist") as info:
        write_atomically(path, lambda f: f.write(b"x"))
    assert ".part" not in str(info.value) and "song.mid" in str(info.value)
    assert isinstance(info.value, OSError)       # still what code around file writes catches
    assert not path.parent.exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_cannot_be_written_or_created_is_named():
    with pytest.raises(UnwritablePathError, match="cannot write '/proc/x.mid': its folder '/proc'"):
        write_atomically("/proc/x.mid", lambda f: f.write(b"x"))
    with pytest.raises(UnwritablePathError, match="cannot create the folder '/proc/x'"):
        atomic_write("/proc/x/y.json", "{}")
    with pytest.raises(UnwritablePathError, match="cannot create the folder '/proc/x'"):
        make_folder("/proc/x")


def test_a_file_where_a_folder_should_be(tmp_path):
    (tmp_path / "notes.md").write_text("mine")
    with pytest.raises(UnwritablePathError, match="notes.md' is a file, not a folder"):
        check_creatable(tmp_path / "notes.md" / "a" / "b.mid")
    with pytest.raises(UnwritablePathError, match="is not a folder"):
        write_atomically(tmp_path / "notes.md" / "b.mid", lambda f: f.write(b"x"))
    assert (tmp_path / "notes.md").read_text() == "mine"
    assert check_creatable(tmp_path / "new" / "b.mid") == tmp_path / "new" / "b.mid"


def test_writable_new_file_checks_the_folder_up_front(tmp_path):
    with pytest.raises(UnwritablePathError, match="does not exist"):
        writable_new_file(tmp_path / "missing" / "x.wav")
    # a writer that makes the folder itself (build_chorales) only needs it creatable
    assert writable_new_file(tmp_path / "missing" / "x.npz", creates_folder=True).name == "x.npz"
    (tmp_path / "x.wav").write_bytes(b"mine")
    with pytest.raises(ValueError, match="already exists"):
        writable_new_file(tmp_path / "x.wav")


def test_set_aside_keeps_every_rejected_copy(tmp_path):
    bad = tmp_path / "cache.npz"
    for i, name in enumerate(("cache.npz.rejected", "cache.npz.rejected-2")):
        bad.write_text(f"copy {i}")
        assert set_aside(bad) == tmp_path / name and not bad.exists()
    assert (tmp_path / "cache.npz.rejected").read_text() == "copy 0"
    assert (tmp_path / "cache.npz.rejected-2").read_text() == "copy 1"
    assert os.listdir(tmp_path) and not bad.exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_check_creatable_tries_the_folder_and_names_the_argument():
    """As root, os.access passes for /proc, so the sampler went on and failed at the write with
    "path: ... cannot be written to (No such file or directory)" for a folder that exists."""
    with pytest.raises(UnwritablePathError, match=r"^out: cannot write '/proc/x.mid': its folder "
                                                  r"'/proc' cannot be written to; give a path") as info:
        check_creatable("/proc/x.mid", "out")
    assert "No such file" not in str(info.value) and ".part" not in str(info.value)
    with pytest.raises(UnwritablePathError, match=r"^out: cannot create the folder '/proc/new' for "
                                                  r"'/proc/new/x.mid': '/proc' cannot be written to"):
        check_creatable("/proc/new/x.mid")
    with pytest.raises(UnwritablePathError, match=r"'/proc' cannot be written to") as info:
        make_folder("/proc/new")
    assert "No such file" not in str(info.value)


def test_check_creatable_leaves_nothing_behind(tmp_path):
    assert check_creatable(tmp_path / "song.mid") == tmp_path / "song.mid"
    assert check_creatable(tmp_path / "a" / "b" / "song.mid") == tmp_path / "a" / "b" / "song.mid"
    assert os.listdir(tmp_path) == []            # the trial file is gone, no folder was made
