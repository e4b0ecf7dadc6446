"""experiments/checkpoint_tools.py: evaluate_checkpoint's refusals."""
from __future__ import annotations

import math

import pytest
import torch

from gru_lib.experiments import checkpoint_tools
from gru_lib.experiments.checkpoint_tools import MAX_CONTEXT, evaluate_checkpoint
from gru_lib.music.model import make_model


def test_a_context_beyond_any_integer_torch_takes_is_refused_naming_it(tmp_path):
    """--context 9223372036854775808 was "Overflow when unpacking long long" from torch."""
    for context in (2**63, MAX_CONTEXT + 1):
        with pytest.raises(ValueError, match=rf"context: {context} steps .* at most {MAX_CONTEXT}"):
            evaluate_checkpoint(tmp_path / "none.pt", "jsb", context=context)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_nll_is_an_error_not_a_number(tmp_path, monkeypatch, bad):
    """A diverged checkpoint's NaN was printed by --json as NaN, which is not JSON."""
    model = make_model("gru", 88, 4, seed=0)
    rolls = [(torch.rand(10, 88) < 0.1).float() for _ in range(3)]
    monkeypatch.setattr(checkpoint_tools, "load_model", lambda *a, **k: (model, {}))
    monkeypatch.setattr(checkpoint_tools, "load_splits",
                        lambda *a, **k: {"train": rolls, "valid": rolls, "test": rolls})
    with torch.no_grad():                 # diverged weights, as a run that blew up leaves them
        model.readout.bias.fill_(bad)
    with pytest.raises(ValueError, match=r"gives a non-finite NLL .*diverged"):
        evaluate_checkpoint(tmp_path / "x.pt", "jsb")


def _checkpoint(path, **extra):
    from gru_lib.training.checkpoints import save_checkpoint
    model = make_model("gru", 88, 4, seed=0)
    save_checkpoint({"meta": model.meta(), "model": model.state_dict(), **extra}, path)
    return path


def test_a_checkpoint_without_a_record_of_its_data_needs_the_data_set_named(tmp_path):
    with pytest.raises(ValueError, match=r"does not record the data set .* name it \(--dataset\)"):
        evaluate_checkpoint(_checkpoint(tmp_path / "old.pt"))


@pytest.mark.parametrize("record", [{"dataset": "jsbb"}, "jsb", {"key_range": "88"},
                                    {"dataset": 3}])
def test_a_record_of_the_data_naming_no_known_set_is_refused(tmp_path, record):
    with pytest.raises(ValueError, match=r"its record of the data .* names no data set"):
        evaluate_checkpoint(_checkpoint(tmp_path / "x.pt", trained_on=record))


def test_another_data_set_than_the_one_learned_is_refused_unless_asked_for(tmp_path,
                                                                            monkeypatch):
    rolls = [(torch.rand(10, 88) < 0.1).float() for _ in range(3)]
    asked = []
    monkeypatch.setattr(checkpoint_tools, "load_splits",
                        lambda dataset, **k: asked.append(dataset) or {"test": rolls})
    path = _checkpoint(tmp_path / "x.pt", trained_on={"dataset": "jsb", "key_range": "88"})
    with pytest.raises(ValueError, match=r"was trained on jsb, not nottingham; .*--other-dataset"):
        evaluate_checkpoint(path, "nottingham")
    assert asked == []                                   # refused before any data was read
    assert evaluate_checkpoint(path)["dataset"] == "jsb"
    report = evaluate_checkpoint(path, "nottingham", other_dataset=True)
    assert (report["dataset"], report["trained_on"]) == ("nottingham", "jsb")
    assert asked == ["jsb", "nottingham"]


@pytest.mark.parametrize("record, said", [
    ({"dataset": "fsdd"}, "names a speech data set, but it holds a music model"),
    ({"dataset": "jsb", "key_range": "paper"},
     r"gives the key range 'paper', but its model reads rows of 88 \('88'\)")])
def test_a_record_that_does_not_fit_the_model_is_refused_unless_overridden(tmp_path,
                                                                           monkeypatch, record,
                                                                           said):
    """An altered record was trusted: {"dataset": "fsdd"} on a music model said "fsdd is a
    speech data set" to a user who never named fsdd."""
    rolls = [(torch.rand(10, 88) < 0.1).float() for _ in range(3)]
    monkeypatch.setattr(checkpoint_tools, "load_splits", lambda dataset, **k: {"test": rolls})
    path = _checkpoint(tmp_path / "x.pt", trained_on=record)
    for options in ({}, {"dataset": "jsb"}, {"other_dataset": True}):
        with pytest.raises(ValueError, match=rf"its record of the data .* {said}: the file was "
                                             rf"altered .*--dataset NAME --other-dataset"):
            evaluate_checkpoint(path, **options)
    report = evaluate_checkpoint(path, "jsb", other_dataset=True)
    assert (report["dataset"], report["trained_on"]) == ("jsb", None)


def test_other_dataset_must_be_a_bool(tmp_path):
    with pytest.raises(ValueError, match=r"other_dataset must be a bool \(True or False\), got str"):
        evaluate_checkpoint(tmp_path / "x.pt", "jsb", other_dataset="no")


def test_another_sets_file_for_the_learned_set_names_the_whole_fix(tmp_path, data_dir):
    """--data Nottingham.mat for a JSB model said "or --dataset nottingham", which evaluate then
    refused a second time (the model was trained on jsb): the hint now holds both options."""
    path = _checkpoint(tmp_path / "x.pt", trained_on={"dataset": "jsb", "key_range": "88"})
    copy = tmp_path / "mine.mat"
    copy.write_bytes((data_dir / "Nottingham.mat").read_bytes())
    with pytest.raises(ValueError, match=r"mine.mat' is the nottingham file \(Nottingham.mat, by "
                                         r"its sha256\), not jsb's, the set this model was "
                                         r"trained on; give jsb's file, or score the model on "
                                         r"nottingham on purpose \(--dataset nottingham "
                                         r"--other-dataset\)$"):
        evaluate_checkpoint(path, data=copy)
    report = evaluate_checkpoint(path, "nottingham", data=copy, other_dataset=True)
    assert (report["dataset"], report["trained_on"]) == ("nottingham", "jsb")
    # Asked for another set on purpose, the file's own name is the fix, as in training.
    with pytest.raises(ValueError, match=r"not piano-midi's; give piano-midi's file, or "
                                         r"--dataset nottingham$"):
        evaluate_checkpoint(path, "piano-midi", data=copy, other_dataset=True)
