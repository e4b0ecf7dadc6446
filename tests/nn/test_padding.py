"""Padded steps are sealed: a NaN or inf past a sequence's length reaches no output, no state
and no gradient, on every backend and through both models' losses (gru_lib/nn/padding.py)."""
import pytest
import torch

from gru_lib import Recurrent, make_cell
from gru_lib.music.model import PianoRollModel
from gru_lib.nn.padding import real_steps, zero_padding
from gru_lib.speech.model import SpeechModel

CELLS = [("tanh", {}), ("gru", {}), ("gru", {"variant": "torch"}), ("lstm", {}),
         ("lstm", {"peepholes": False})]


def poisoned(x, lengths, value):
    """x with `value` written into every padded step of every sequence."""
    bad = x.clone()
    bad[~real_steps(lengths, x.shape[0])] = value
    return bad


def test_real_steps_and_zero_padding():
    lengths = torch.tensor([3, 1])
    assert real_steps(lengths, 4).tolist() == [[True, True], [True, False], [True, False], [False, False]]
    x = torch.full((4, 2, 2), float("nan"))
    x[:3, 0], x[:1, 1] = 1.0, 2.0
    sealed = zero_padding(x, lengths)
    assert torch.isfinite(sealed).all() and sealed[3].abs().sum() == 0 and sealed[1:, 1].abs().sum() == 0
    assert zero_padding(x, None) is x


@pytest.mark.parametrize("backend", ["python", "bptt", "native"])
@pytest.mark.parametrize("kind,options", CELLS)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_padding_reaches_no_output_state_or_gradient(kind, options, backend, value):
    torch.manual_seed(0)
    cell = make_cell(kind, 5, 4, **options).double()
    if backend == "native" and (kind == "gru" and options.get("variant") != "torch" or kind == "lstm" and options.get("peepholes", True)):
        pytest.skip("no torch twin for this cell")
    layer = Recurrent(cell, backend=backend)
    lengths = torch.tensor([6, 2, 4])
    x = torch.randn(6, 3, 5, dtype=torch.double)

    def run(inputs):
        cell.zero_grad()
        out, state, _ = layer(inputs, lengths)
        (out.sum() + sum(s.sum() for s in state)).backward()
        return out.detach(), [s.detach() for s in state], [p.grad.clone() for p in cell.parameters()]

    clean_out, clean_state, clean_grads = run(x)
    out, state, grads = run(poisoned(x, lengths, value))
    assert torch.isfinite(out).all() and (out[~real_steps(lengths, 6)] == 0).all()
    assert all(torch.equal(a, b) for a, b in zip(state, clean_state))
    assert torch.equal(out, clean_out)
    assert all(torch.isfinite(g).all() and torch.allclose(g, c, atol=1e-12) for g, c in zip(grads, clean_grads))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_piano_roll_loss_ignores_non_finite_padding(value):
    torch.manual_seed(0)
    model = PianoRollModel("gru", 6, 5).double()
    lengths = torch.tensor([7, 3])
    rolls = (torch.rand(7, 2, 6) < 0.3).double()
    rolls[~real_steps(lengths, 7)] = 0

    def loss_and_grads(r):
        model.zero_grad()
        total, steps = model.nll_sum(r, lengths)
        (total / steps).backward()
        return float(total.detach()), steps, [p.grad.clone() for p in model.parameters()]

    total, steps, grads = loss_and_grads(rolls)
    bad_total, bad_steps, bad_grads = loss_and_grads(poisoned(rolls, lengths, value))
    assert (bad_total, bad_steps) == (total, steps) and steps == 10
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(bad_grads, grads))


def test_speech_loss_ignores_non_finite_padding():
    torch.manual_seed(0)
    model = SpeechModel("lstm", 6).double()
    lengths = torch.tensor([9, 5])                                 # frames
    frames = torch.randn(9, 2, 10, dtype=torch.double) * 0.05
    frames[~real_steps(lengths, 9)] = 0

    def loss_and_grads(f):
        model.zero_grad()
        total, steps = model.nll_sum(f, lengths)
        (total / steps).backward()
        return float(total.detach()), steps, [p.grad.clone() for p in model.parameters()]

    total, steps, grads = loss_and_grads(frames)
    bad_total, bad_steps, bad_grads = loss_and_grads(poisoned(frames, lengths, float("nan")))
    assert (bad_total, bad_steps) == (total, steps) and steps == 7 + 3
    assert all(torch.isfinite(g).all() and torch.allclose(a, g, atol=1e-12) for a, g in zip(grads, bad_grads))
