"""Tests of gru_lib.nn.stack: L recurrent layers in a row behave as their composition, keep
padding sealed, hand their states back, train as a vmapped population member by member, and
one layer is a plain Recurrent."""
import copy

import pytest
import torch
from torch.func import functional_call, stack_module_state

from gru_lib import Recurrent
from gru_lib.nn.padding import real_steps
from gru_lib.nn.stack import StackedRecurrent, make_layers, recurrent_weights

LENGTHS = torch.tensor([7, 2, 5])


def stack(kind, layers=3, backend="python"):
    torch.manual_seed(0)
    return make_layers(kind, 4, 5, layers, backend=backend).double()


@pytest.mark.parametrize("kind,backend", [("gru", "bptt"), ("mingru", "scan"),
                                          ("minlstm", "python"), ("lstm", "python")])
def test_a_stack_is_its_layers_one_after_the_other(kind, backend):
    rnn = stack(kind, backend=backend)
    x = torch.randn(7, 3, 4, dtype=torch.float64)
    out = rnn(x, LENGTHS)
    h, states = x, []
    for layer in rnn.layers:
        o = layer(h, LENGTHS)
        h = o.outputs
        states.append(o.state)
    torch.testing.assert_close(out.outputs, h, rtol=0, atol=0)
    assert len(out.state) == 3 and all(len(s) == len(t) for s, t in zip(out.state, states))
    # continuing from the returned state = running the whole sequence at once
    first, rest = rnn(x[:3]), None
    rest = rnn(x[3:], state=first.state)
    whole = rnn(x)
    torch.testing.assert_close(rest.outputs, whole.outputs[3:], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind,backend", [("mingru", "bptt"), ("minlstm", "scan"),
                                          ("gru", "bptt"), ("lstm", "python")])
def test_a_vmapped_population_of_stacks_gives_each_member_its_own_numbers(kind, backend):
    """An upper layer reads the per-member outputs of the layer below: a batched input, which
    the input projection must multiply by each member's own W (cells.input_projection)."""
    stacks = []
    for seed in range(3):
        torch.manual_seed(seed)
        stacks.append(make_layers(kind, 4, 5, 2, backend=backend).double())
    params, buffers = stack_module_state(stacks)
    skeleton = copy.deepcopy(stacks[0]).to("meta")
    x = torch.randn(7, 3, 4, dtype=torch.float64)

    def one(p):
        out = functional_call(skeleton, (p, buffers), (x, LENGTHS))
        return out.outputs.sin().sum(), out.outputs

    losses, outputs = torch.vmap(one)(params)
    losses.sum().backward()
    for m, rnn in enumerate(stacks):
        out = rnn(x, LENGTHS)
        out.outputs.sin().sum().backward()
        torch.testing.assert_close(outputs[m], out.outputs.detach(), rtol=1e-10, atol=1e-10)
        for name, p in rnn.named_parameters():
            torch.testing.assert_close(params[name].grad[m], p.grad, rtol=1e-10, atol=1e-10)


def test_padding_stays_sealed_through_the_stack():
    rnn = stack("mingru", backend="scan")
    x = torch.randn(7, 3, 4, dtype=torch.float64)
    bad = x.clone()
    bad[~real_steps(LENGTHS, 7)] = float("nan")
    a, b = rnn(x, LENGTHS), rnn(bad, LENGTHS)
    torch.testing.assert_close(a.outputs, b.outputs, rtol=0, atol=0)
    b.outputs.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in rnn.parameters())


def test_gates_names_and_weights():
    rnn = stack("minlstm", layers=2)
    out = rnn(torch.zeros(3, 1, 4, dtype=torch.float64), return_gates=True)
    assert set(out.gates) == {f"{i}.{g}" for i in (0, 1) for g in ("forget", "input", "candidate")}
    assert recurrent_weights(rnn) == [c.weight_ih for c in rnn.cells]
    gru = stack("gru", layers=2)
    assert recurrent_weights(gru) == [gru.cells[0].weight_ih, gru.cells[0].weight_hh,
                                      gru.cells[1].weight_ih, gru.cells[1].weight_hh]
    one = make_layers("gru", 4, 5)
    assert isinstance(one, Recurrent) and recurrent_weights(one) == [one.cell.weight_ih,
                                                                     one.cell.weight_hh]


@pytest.mark.parametrize("call,message", [
    (lambda: StackedRecurrent([Recurrent.make("gru", 4, 5)]), "at least 2 Recurrent layers"),
    (lambda: StackedRecurrent([Recurrent.make("gru", 4, 5), Recurrent.make("gru", 4, 5)]),
     r"layers\[1\] reads 4 inputs but layers\[0\] gives 5"),
    (lambda: make_layers("gru", 4, 5, 0), "layers must be a positive integer"),
    (lambda: stack("gru")(torch.zeros(2, 3, 4, dtype=torch.float64), state=torch.zeros(3, 5)),
     "a tuple of 3 layer states"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
