"""The hand-written backward through time (gru_lib/nn/bptt.py) against the reference loop.

The reference is ``backend="python"``: autograd through ``cell.step``, itself checked
against torch.nn and numpy in test_cells.py / test_interop.py.
"""
import pytest
import torch

from gru_lib import Recurrent, make_cell
from gru_lib.music.model import PianoRollModel
from gru_lib.speech.model import SpeechModel

CELLS = [("tanh", {}), ("gru", {}), ("gru", {"variant": "torch"}),
         ("lstm", {}), ("lstm", {"peepholes": False}), ("lstm", {"forget_bias": 1.0})]
IDS = ["tanh", "gru-paper", "gru-torch", "lstm-peepholes", "lstm-plain", "lstm-forget-bias"]


def _cell(kind, options, D, H, dtype=torch.float64, scale=0.6, seed=0):
    torch.manual_seed(seed)
    cell = make_cell(kind, D, H, **options).to(dtype)
    with torch.no_grad():                       # larger than the default init: saturated gates too
        for p in cell.parameters():
            p.uniform_(-scale, scale)
    return cell


def _run_both(cell, T, B, lengths=None, with_state=True, dtype=torch.float64):
    """Outputs, final state and the gradients of a loss that uses both, for each backend."""
    torch.manual_seed(1)
    D, H = cell.input_size, cell.hidden_size
    x = torch.randn(T, B, D, dtype=dtype, requires_grad=True)
    state = tuple(torch.randn(B, H, dtype=dtype, requires_grad=True) for _ in range(cell.state_size)) \
        if with_state else None
    w_out = torch.randn(T, B, H, dtype=dtype)
    w_final = [torch.randn(B, H, dtype=dtype) for _ in range(cell.state_size)]
    inputs = [x, *(state or ()), *cell.parameters()]
    results = []
    for backend in ("python", "bptt"):
        out = Recurrent(cell, backend=backend)(x, lengths, state)
        loss = (out.outputs * w_out).sum() + sum((s * w).sum() for s, w in zip(out.state, w_final))
        results.append((out.outputs, out.state, torch.autograd.grad(loss, inputs)))
    return results


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
@pytest.mark.parametrize("T,B,lengths", [(1, 1, None), (9, 1, None), (9, 4, [5, 9, 9, 2]),
                                         (12, 3, [12, 1, 7])])
def test_matches_the_reference_loop_in_float64(kind, options, T, B, lengths):
    cell = _cell(kind, options, D=5, H=6)
    lengths = None if lengths is None else torch.tensor(lengths)
    (out_ref, state_ref, grads_ref), (out, state, grads) = _run_both(cell, T, B, lengths)
    torch.testing.assert_close(out, out_ref, atol=1e-12, rtol=1e-10)
    for a, b in zip(state, state_ref):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)
    assert len(grads) == len(grads_ref)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("kind,options", CELLS[:5], ids=IDS[:5])
def test_matches_the_reference_loop_in_float32_over_300_steps(kind, options):
    cell = _cell(kind, options, D=88, H=24, dtype=torch.float32, scale=0.1)
    lengths = torch.tensor([300, 170, 299, 1])
    (out_ref, state_ref, grads_ref), (out, state, grads) = _run_both(
        cell, 300, 4, lengths, with_state=False, dtype=torch.float32)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-4)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind,options", CELLS[:5], ids=IDS[:5])
def test_gradcheck(kind, options):
    cell = _cell(kind, options, D=3, H=2)
    layer = Recurrent(cell, backend="bptt")
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    state = tuple(torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
                  for _ in range(cell.state_size))

    def f(x, *state_and_params):
        out = layer(x, torch.tensor([4, 3]), state_and_params[:cell.state_size])
        return (out.outputs, *out.state)

    assert torch.autograd.gradcheck(f, (x, *state))
    # And each parameter, through a functional call so that gradcheck can perturb it.
    names = [name for name, _ in layer.named_parameters()]
    for name in names:
        def f_param(value, name=name):
            params = {n: (value if n == name else q.detach()) for n, q in layer.named_parameters()}
            args = (x.detach(), torch.tensor([4, 3]), tuple(s.detach() for s in state))
            out = torch.func.functional_call(layer, params, args)
            return (out.outputs, *out.state)
        value = dict(layer.named_parameters())[name].detach().clone().requires_grad_()
        assert torch.autograd.gradcheck(f_param, (value,)), name


def test_auto_picks_bptt_where_it_can():
    assert Recurrent.make("gru", 5, 4, backend="auto").backend == "bptt"
    assert Recurrent.make("lstm", 5, 4, backend="auto", peepholes=False).backend == "bptt"
    assert Recurrent.make("gru", 5, 4, backend="auto", fixed_gates={"reset": 1.0}).backend == "python"
    assert Recurrent.make("lstm", 5, 4, backend="auto", coupled=True).backend == "python"
    assert Recurrent.make("tanh", 5, 4).backend == "python"          # the default is the reference
    assert PianoRollModel("lstm", 88, 8).rnn.backend == "bptt"
    assert PianoRollModel("gru", 88, 8, fixed_gates={"update": 0.5}).rnn.backend == "python"
    assert PianoRollModel("gru", 88, 8, backend="python").rnn.backend == "python"
    assert SpeechModel("gru", 8).rnn.backend == "bptt"


@pytest.mark.parametrize("kind,options,reason", [
    ("gru", {"fixed_gates": {"update": 0.5}}, "its gates are fixed"),
    ("lstm", {"fixed_gates": {"output": 1.0}}, "its gates are fixed"),
    ("lstm", {"coupled": True}, "coupled"),
])
def test_bptt_refuses_cells_it_has_no_backward_for(kind, options, reason):
    with pytest.raises(ValueError, match=f"backend='bptt' has no hand-written backward.*{reason}"
                                         f".*Use backend='python'"):
        Recurrent.make(kind, 5, 4, backend="bptt", **options)


def test_return_gates_runs_the_reference_loop():
    cell = _cell("lstm", {}, D=5, H=6)
    x = torch.randn(7, 2, 5, dtype=torch.float64)
    fast = Recurrent(cell, backend="bptt")(x, return_gates=True)
    slow = Recurrent(cell)(x, return_gates=True)
    assert set(fast.gates) == {"input", "forget", "output", "candidate"}
    for name in slow.gates:
        torch.testing.assert_close(fast.gates[name], slow.gates[name])
    torch.testing.assert_close(fast.outputs, slow.outputs)


def test_input_errors_are_the_same_as_the_reference():
    layer = Recurrent.make("gru", 5, 4, backend="bptt")
    with pytest.raises(ValueError, match="x has 3 features"):
        layer(torch.zeros(2, 1, 3))
    with pytest.raises(ValueError, match="lengths must lie in 1..T"):
        layer(torch.zeros(2, 2, 5), torch.tensor([0, 2]))
