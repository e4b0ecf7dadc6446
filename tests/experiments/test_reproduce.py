"""Tests of gru_lib.experiments.reproduce: the budgets and the loading of a data set's splits."""
from pathlib import Path

import pytest
import torch

from gru_lib.experiments.reproduce import BUDGETS, Budget, budget_for, load_splits


def test_load_splits_chunks_only_the_training_pieces():
    """Chunking cuts training pieces into consecutive <=100-step pieces; it loses no step and
    leaves validation and test whole (they are always scored on entire pieces)."""
    shared = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "music"
    if not shared.is_dir():
        pytest.skip("the shared data copies (../shared/data/music) are not here")
    whole = load_splits("nottingham", data=shared)
    cut = load_splits("nottingham", data=shared, chunk=100)
    assert sum(len(r) for r in cut["train"]) == sum(len(r) for r in whole["train"])
    assert max(len(r) for r in cut["train"]) == 100 < max(len(r) for r in whole["train"])
    assert torch.equal(torch.cat(cut["train"]), torch.cat(whole["train"]))
    assert [len(r) for r in cut["valid"]] == [len(r) for r in whole["valid"]]


def test_budgets_are_dataclasses_and_a_task_may_set_its_own():
    assert all(isinstance(b, Budget) for b in BUDGETS.values())
    assert BUDGETS["paper"].candidates == 10 and BUDGETS["paper"].config["batch_size"] == 1
    assert budget_for("jsb", "standard") == BUDGETS["standard"]
    speech = budget_for("fsdd", "standard")          # FSDD's own standard budget
    assert speech.subset == (600, 300, 300) and speech.chunk is None
    assert speech.config["max_seconds"] == 60.0
    assert budget_for("fsdd", "quick") == BUDGETS["quick"]
    with pytest.raises(ValueError, match="budget: unknown 'huge'"):
        budget_for("jsb", "huge")
    with pytest.raises(ValueError, match="dataset: unknown 'bach'"):
        budget_for("bach", "quick")
