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
    monkeypatch.setattr(checkpoint_tools, "evaluate", lambda *a, **k: bad)
    with pytest.raises(ValueError, match=r"gives a non-finite NLL .*diverged"):
        evaluate_checkpoint(tmp_path / "x.pt", "jsb")
