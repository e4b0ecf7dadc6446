"""Tests of gru_lib.training.checkpoints: a file that is not a checkpoint is a ValueError naming
the file and what it is (torch.load's UnpicklingError / RuntimeError never reach the user)."""
import pickle
from pathlib import Path

import pytest
import torch

from gru_lib.training.checkpoints import load_checkpoint, save_checkpoint


@pytest.mark.parametrize("content, said", [
    (b"", "an empty file"),
    (bytes(range(256)) * 4, "unrecognised bytes"),
    (b"epoch,loss\n1,0.5\n", "a text file"),
    (pickle.dumps({"a": {1, 2}}), "a Python pickle (protocol")])
def test_what_is_not_a_checkpoint_is_named(tmp_path, content, said):
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(ValueError, match="is not a gru_lib checkpoint") as info:
        load_checkpoint(tmp_path / "x.pt")
    assert "x.pt" in str(info.value) and said in str(info.value)


def test_a_foreign_torch_file_and_a_damaged_one(tmp_path):
    torch.save({"model": Path("x")}, tmp_path / "foreign.pt")     # a class: refused
    with pytest.raises(ValueError, match="foreign.pt.*a zip archive"):
        load_checkpoint(tmp_path / "foreign.pt")
    save_checkpoint({"model": {"w": torch.zeros(3)}}, tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match="cut.pt.*is not a gru_lib checkpoint"):
        load_checkpoint(tmp_path / "cut.pt")
    assert torch.equal(load_checkpoint(tmp_path / "good.pt")["model"]["w"], torch.zeros(3))
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="holds a list"):
        load_checkpoint(tmp_path / "list.pt")
