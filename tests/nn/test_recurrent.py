"""Tests of gru_lib.nn.recurrent, the sequence layer: padding never leaks, states and gates come
back in the right shapes."""
import re

import numpy as np
import pytest
import torch

from gru_lib import Recurrent
from tests.nn.helpers import layer as _layer

KINDS = [("tanh", {}), ("gru", {}), ("gru", {"variant": "torch"}), ("lstm", {}),
         ("lstm", {"coupled": True, "fixed_gates": {"output": 1.0}})]


@pytest.mark.parametrize("kind,options", KINDS)
def test_padding_does_not_change_final_state_or_leak(kind, options):
    """A padded batch gives, for each sequence, exactly what running it alone gives."""
    layer = _layer(kind, options)
    lengths = torch.tensor([7, 3, 5, 1])                      # unsorted on purpose
    x = torch.randn(7, 4, 5, dtype=torch.float64)
    x_garbage = x.clone()
    for b, L in enumerate(lengths):
        x_garbage[L:, b] = 1e3                                 # huge values in the padding
    out, state, _ = layer(x_garbage, lengths)
    for b, L in enumerate(lengths.tolist()):
        alone, alone_state, _ = layer(x[:L, b:b + 1])
        torch.testing.assert_close(out[:L, b], alone[:, 0])
        assert torch.all(out[L:, b] == 0)
        for final, expected in zip(state, alone_state):
            torch.testing.assert_close(final[b], expected[0])


@pytest.mark.parametrize("kind,options", KINDS)
def test_padding_gets_no_gradient(kind, options):
    layer = _layer(kind, options)
    x = torch.randn(6, 2, 5, dtype=torch.float64, requires_grad=True)
    out, state, _ = layer(x, lengths=[6, 2])
    (out.sum() + state[0].sum()).backward()
    assert torch.all(x.grad[2:, 1] == 0) and torch.all(x.grad[:2, 1] != 0)


@pytest.mark.parametrize("kind,options", KINDS)
def test_initial_state_and_continuation(kind, options):
    """Running 10 steps equals running 6, then 4 more from the state the first run ended in."""
    layer = _layer(kind, options)
    x = torch.randn(10, 3, 5, dtype=torch.float64)
    full = layer(x)
    first = layer(x[:6])
    state = first.state if kind == "lstm" else first.state[0]
    second = layer(x[6:], state=state)
    torch.testing.assert_close(torch.cat([first.outputs, second.outputs]), full.outputs)
    for a, b in zip(second.state, full.state):
        torch.testing.assert_close(a, b)


def test_gates_are_returned_per_step():
    layer = _layer("lstm", {})
    out, _, gates = layer(torch.randn(9, 2, 5, dtype=torch.float64), return_gates=True)
    assert set(gates) == {"input", "forget", "output", "candidate"}
    for name, value in gates.items():
        assert value.shape == (9, 2, 4), name
    assert torch.all((gates["forget"] > 0) & (gates["forget"] < 1))
    assert layer(torch.randn(9, 2, 5, dtype=torch.float64)).gates is None


def test_gru_gates_with_one_fixed():
    layer = _layer("gru", {"fixed_gates": {"reset": 1.0}})
    gates = layer(torch.randn(4, 3, 5, dtype=torch.float64), return_gates=True).gates
    assert set(gates) == {"update", "candidate"}


def test_outputs_are_the_hidden_states():
    layer = _layer("lstm", {})
    x = torch.randn(5, 2, 5, dtype=torch.float64)
    out, (h, c), _ = layer(x)
    assert out.shape == (5, 2, 4)
    torch.testing.assert_close(out[-1], h)


def _message(text):
    return re.escape(text)


@pytest.mark.parametrize("call,message", [
    (lambda L: L(torch.zeros(4, 2, 3)), "x has 3 features per step (shape (4, 2, 3)) but the cell expects input_size=5"),
    (lambda L: L(torch.zeros(4, 5)), "x must have shape (T, B, D)"),
    (lambda L: L([[0.0] * 5]), "x must be a torch.Tensor"),
    (lambda L: L(torch.zeros(4, 2, 5, dtype=torch.long)), "floating-point"),
    (lambda L: L(torch.zeros(4, 2, 5, dtype=torch.float64)), "x is torch.float64 on cpu but the cell's parameters are torch.float32"),
    (lambda L: L(torch.zeros(0, 2, 5)), "at least one step"),
    (lambda L: L(torch.zeros(4, 2, 5), lengths=[4, 5]), "lengths must lie in 1..T = 1..4"),
    (lambda L: L(torch.zeros(4, 2, 5), lengths=[0, 4]), "lengths must lie in 1..T"),
    (lambda L: L(torch.zeros(4, 2, 5), lengths=[4, 3, 2]), "one entry per sequence, shape (2,)"),
    (lambda L: L(torch.zeros(4, 2, 5), lengths=[4.0, 3.0]), "lengths must hold integers"),
    (lambda L: L(torch.zeros(4, 2, 5), state=torch.zeros(2, 3)), "state must have shape (B, H) = (2, 4); got (2, 3)"),
    (lambda L: L(torch.zeros(4, 2, 5), state=torch.zeros(1, 2, 4)), "state must have shape (B, H)"),
])
def test_bad_input_is_named(call, message):
    layer = Recurrent.make("gru", 5, 4)
    with pytest.raises(ValueError, match=_message(message)):
        call(layer)


def test_lstm_state_must_be_a_pair():
    layer = Recurrent.make("lstm", 5, 4)
    with pytest.raises(ValueError, match=_message("must be a pair (h0, c0)")):
        layer(torch.zeros(3, 2, 5), state=torch.zeros(2, 4))


def test_layer_needs_a_cell():
    with pytest.raises(ValueError, match="cell must be a gru_lib cell"):
        Recurrent(torch.nn.GRU(3, 2))


@pytest.mark.parametrize("lengths, got", [
    ("5,3,1", "got str '5,3,1'"),
    ([4.0, 3.0], "got list holding float 4.0"),
    ([[4], [3]], "got list holding list [4]"),
    ([True, True], "got list holding bool True"),
    (np.array([4.0, 3.0]), "got a numpy array of dtype float64"),
    (np.array([True, True]), "got a numpy array of dtype bool"),
    (4, "got int 4"),
    ((4, "3"), "got tuple holding str '3'"),
])
def test_lengths_that_are_not_integer_lists_are_named(lengths, got):
    layer = Recurrent.make("gru", 5, 4)
    need = "lengths must hold integers: a 1-D integer tensor or a list of ints, one per sequence " \
           "(shape (2,)), each in 1..T = 1..4"
    with pytest.raises(ValueError, match=_message(need) + ".*" + _message(got)):
        layer(torch.zeros(4, 2, 5), lengths=lengths)
    # the accepted forms give the same result
    x = torch.randn(4, 2, 5)
    ref = layer(x, lengths=torch.tensor([4, 3]))[0]
    for ok in ([4, 3], (4, 3), np.array([4, 3]), [np.int64(4), np.int32(3)]):
        assert torch.equal(layer(x, lengths=ok)[0], ref)
