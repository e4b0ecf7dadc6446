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


def test_a_folder_given_as_the_checkpoint_names_the_checkpoint_in_it(tmp_path):
    """It said "no such file 's1'" of a folder that is there."""
    run = tmp_path / "run"
    save_checkpoint({"model": {"w": torch.zeros(1)}}, run / "gru" / "lr0" / "best.pt")
    save_checkpoint({"model": {"w": torch.zeros(1)}}, run / "gru" / "lr0" / "last.pt")
    candidate = run / "gru" / "lr0"
    with pytest.raises(ValueError, match=r"^checkpoint: '.*/lr0' is a folder; give the checkpoint "
                                         r"file in it, e\.g\. '.*/gru/lr0/best\.pt'$"):
        load_checkpoint(candidate)
    for above in (run / "gru", run):               # OUT/MODEL and OUT: the best.pt below them
        with pytest.raises(ValueError, match=r"is a folder; give a checkpoint file under it, "
                                             r"e\.g\. '.*/gru/lr0/best\.pt'$"):
            load_checkpoint(above)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"^checkpoint: '.*/empty' is a folder; .*best\.pt or "
                                         r"last\.pt written by reproduce \(none lies"):
        load_checkpoint(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"^checkpoint: no such file '.*/nope\.pt'$"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(ValueError, match=r"^checkpoint: expected a path .*got int 5$"):
        load_checkpoint(5)
