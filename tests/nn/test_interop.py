"""The proof that the cells are right: after copying weights, gru_lib and torch.nn agree."""
import pytest
import torch
from torch import nn

from gru_lib import Recurrent, make_cell
from gru_lib.nn.interop import copy_from_torch, copy_to_torch, from_torch, to_torch

TWINS = [("tanh", {}, lambda d, h: nn.RNN(d, h, nonlinearity="tanh")),
         ("gru", {"variant": "torch"}, nn.GRU),
         ("lstm", {"peepholes": False}, nn.LSTM)]
SIZES = [(5, 3, 1, 1), (7, 11, 4, 9), (88, 36, 3, 17)]     # (D, H, B, T)
TOLERANCE = {torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-10, rtol=1e-10)}


def _native_params(module):
    return {"weight_ih": module.weight_ih_l0, "weight_hh": module.weight_hh_l0, "bias": module.bias_ih_l0}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("D,H,B,T", SIZES)
@pytest.mark.parametrize("kind,options,native_cls", TWINS, ids=[t[0] for t in TWINS])
def test_outputs_and_gradients_match_torch(kind, options, native_cls, D, H, B, T, dtype):
    torch.manual_seed(D * 1000 + H)
    native = native_cls(D, H).to(dtype)
    # Give torch's b_hh non-zero values so the bias folding is really exercised.
    with torch.no_grad():
        native.bias_hh_l0.uniform_(-0.5, 0.5)
    layer = from_torch(native)
    x = torch.randn(T, B, D, dtype=dtype)
    h0 = torch.randn(B, H, dtype=dtype)
    state = (h0, torch.randn(B, H, dtype=dtype)) if kind == "lstm" else h0
    native_state = tuple(s.unsqueeze(0) for s in state) if kind == "lstm" else h0.unsqueeze(0)

    x_ours, x_native = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours, (h_ours, *_) , _ = layer(x_ours, state=state)
    theirs, final = native(x_native, native_state)
    h_theirs = final[0] if kind == "lstm" else final
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(ours, theirs, **tol)
    torch.testing.assert_close(h_ours, h_theirs[0], **tol)
    if kind == "lstm":
        torch.testing.assert_close(layer(x, state=state).state[1], final[1][0], **tol)

    # The same loss through both: gradients w.r.t. input and every weight must agree.
    target = torch.randn_like(ours)
    ((ours - target) ** 2).sum().backward()
    ((theirs - target) ** 2).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_native.grad, **tol)
    cell = layer.cell
    torch.testing.assert_close(cell.weight_ih.grad, native.weight_ih_l0.grad, **tol)
    torch.testing.assert_close(cell.weight_hh.grad, native.weight_hh_l0.grad, **tol)
    if kind == "gru":   # our r/z biases = b_ih + b_hh; the candidate's b_in and b_hn stay apart
        torch.testing.assert_close(cell.bias.grad, native.bias_ih_l0.grad, **tol)
        torch.testing.assert_close(cell.bias_hn.grad, native.bias_hh_l0.grad[2 * H:], **tol)
    else:
        torch.testing.assert_close(cell.bias.grad, native.bias_ih_l0.grad, **tol)
        torch.testing.assert_close(cell.bias.grad, native.bias_hh_l0.grad, **tol)


@pytest.mark.parametrize("kind,options,native_cls", TWINS, ids=[t[0] for t in TWINS])
def test_copy_to_torch_round_trip(kind, options, native_cls):
    torch.manual_seed(0)
    cell = make_cell(kind, 6, 5, **options)
    with torch.no_grad():
        for p in cell.parameters():
            p.uniform_(-1, 1)            # non-zero biases too
    native = to_torch(cell)
    x = torch.randn(8, 2, 6)
    torch.testing.assert_close(Recurrent(cell)(x).outputs, native(x)[0], atol=1e-6, rtol=1e-6)
    # ... and back into a fresh cell.
    again = copy_from_torch(make_cell(kind, 6, 5, **options), native)
    for name, p in cell.named_parameters():
        torch.testing.assert_close(dict(again.named_parameters())[name], p)


def test_many_steps_stay_in_agreement():
    """Long sequences accumulate rounding; 500 steps in float64 still agree to 1e-10."""
    torch.manual_seed(1)
    native = nn.GRU(4, 8).double()
    layer = from_torch(native)
    x = torch.randn(500, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(layer(x).outputs, native(x)[0], atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("cell_kwargs,module,message", [
    (("gru", 4, 3), nn.GRU(4, 3), "variant='torch'"),
    (("lstm", 4, 3), nn.LSTM(4, 3), "peepholes=False"),
    (("tanh", 4, 3), nn.GRU(4, 3), "copies to/from RNN"),
    (("tanh", 4, 3), nn.RNN(4, 3, num_layers=2), "num_layers=2"),
    (("tanh", 4, 3), nn.RNN(4, 3, bidirectional=True), "bidirectional"),
    (("tanh", 4, 3), nn.RNN(4, 5), "sizes (4, 5) differ"),
    (("tanh", 4, 3), nn.RNN(4, 3, nonlinearity="relu"), "nonlinearity='tanh'"),
])
def test_mismatched_modules_are_refused(cell_kwargs, module, message):
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        copy_to_torch(make_cell(*cell_kwargs), module)


def test_from_torch_refuses_other_modules():
    with pytest.raises(ValueError, match="nn.RNN, nn.GRU or nn.LSTM"):
        from_torch(nn.Linear(3, 3))


def test_fixed_gates_have_no_twin():
    cell = make_cell("gru", 4, 3, variant="torch", fixed_gates={"reset": 1.0})
    with pytest.raises(ValueError, match="fixed gates"):
        to_torch(cell)


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_minimal_cells_have_no_twin_and_say_so(kind):
    """No torch module computes them: a clear ValueError, never a KeyError from inside."""
    cell = make_cell(kind, 4, 3)
    for call in (lambda: to_torch(cell), lambda: copy_to_torch(cell, nn.GRU(4, 3)),
                 lambda: copy_from_torch(cell, nn.GRU(4, 3))):
        with pytest.raises(ValueError, match=f"torch has no module computing a {kind} cell"):
            call()


def test_torch_form_gru_with_a_fixed_gate_still_runs_and_differentiates():
    """Fixed gates reach the torch form too (no twin, so gradcheck instead)."""
    cell = make_cell("gru", 3, 2, variant="torch", fixed_gates={"reset": 0.5}).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    h = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda h, *p: cell(x, (h,))[0], (h, *cell.parameters()))
