"""Tests of gru_lib.nn.native: ``backend="native"`` runs torch's fused kernel on the cell's own
parameters, and refuses the cells that have no torch twin."""
import pytest
import torch

from gru_lib import Recurrent
from tests.nn.helpers import layer as _layer

NATIVE = [("tanh", {}), ("gru", {"variant": "torch"}), ("lstm", {"peepholes": False})]


@pytest.mark.parametrize("kind,options", NATIVE)
@pytest.mark.parametrize("with_lengths", [False, True])
def test_native_backend_agrees_with_the_python_loop(kind, options, with_lengths):
    """backend='native' runs torch's fused kernel on the cell's OWN parameters."""
    python = _layer(kind, options)
    native = Recurrent(python.cell, backend="native")
    assert list(native.state_dict()) == list(python.state_dict())    # the twin is not saved
    x = torch.randn(9, 4, 5, dtype=torch.float64)
    lengths = torch.tensor([9, 4, 6, 2]) if with_lengths else None
    h0 = torch.randn(4, 4, dtype=torch.float64)
    state = (h0, torch.randn(4, 4, dtype=torch.float64)) if kind == "lstm" else h0
    grads = []
    for layer in (python, native):
        layer.zero_grad()
        out, final, _ = layer(x, lengths, state=state)
        (out.pow(2).sum() + final[-1].sum()).backward()
        grads.append([p.grad.clone() for p in layer.parameters()])
        if layer is python:
            expected = (out, final)
    torch.testing.assert_close(out, expected[0], atol=1e-10, rtol=1e-10)
    for a, b in zip(final, expected[1]):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_native_backend_refuses_cells_without_a_twin():
    with pytest.raises(ValueError, match="backend='native' needs a cell with a torch twin"):
        Recurrent.make("gru", 5, 4, backend="native")               # the paper's GRU
    with pytest.raises(ValueError, match="backend must be one of python, bptt, native, scan, auto"):
        Recurrent.make("gru", 5, 4, backend="cuda")
    layer = Recurrent.make("lstm", 5, 4, backend="native", peepholes=False)
    with pytest.raises(ValueError, match="return_gates=True needs backend='python'"):
        layer(torch.zeros(3, 2, 5), return_gates=True)
