"""Copy weights between gru_lib cells and torch.nn.RNN / nn.GRU / nn.LSTM.

This is how we prove the hand-written cells right: copy the weights, run both, compare
outputs and gradients (tests/test_interop.py). Only cells that HAVE a torch twin can be
copied: the tanh cell, the GRU with ``variant="torch"`` and the LSTM with
``peepholes=False``, each with no fixed or coupled gates.

Biases: torch keeps two per gate, b_ih and b_hh, and only their sum matters, except for
the GRU candidate where b_hn sits inside r ⊙ (U_n h + b_hn). We keep one bias per gate
(as the paper counts) plus ``bias_hn`` for the torch-form GRU. Copying to torch puts our
bias into b_ih and zeros (or b_hn) into b_hh.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .cells import GRUCell, LSTMCell, RecurrentCell, TanhCell, make_cell

_TWINS = {"tanh": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def has_twin(cell: RecurrentCell) -> str | None:
    """None if ``cell`` has a torch twin, else the reason it has none."""
    if isinstance(cell, GRUCell) and cell.variant != "torch":
        return ("only GRUCell(variant='torch') has an nn.GRU twin; the paper variant resets "
                "before the matmul, which nn.GRU cannot express")
    if isinstance(cell, LSTMCell) and (cell.peepholes or cell.coupled):
        return "only LSTMCell(peepholes=False, coupled=False) has an nn.LSTM twin"
    if getattr(cell, "fixed_gates", None):
        return f"a cell with fixed gates {cell.fixed_gates} has no torch twin"
    return None


def _check_twin(cell: RecurrentCell, module: nn.Module) -> None:
    if not isinstance(cell, RecurrentCell):
        raise ValueError(f"cell must be a gru_lib cell, got {type(cell).__name__}")
    twin = _TWINS[cell.kind]
    if type(module) is not twin:
        raise ValueError(f"a {cell.kind} cell copies to/from {twin.__name__}, got {type(module).__name__}")
    reason = has_twin(cell)
    if reason:
        raise ValueError(reason)
    if isinstance(module, nn.RNN) and module.nonlinearity != "tanh":
        raise ValueError(f"nn.RNN must use nonlinearity='tanh', got {module.nonlinearity!r}")
    problems = []
    if module.num_layers != 1:
        problems.append(f"num_layers={module.num_layers} (need 1)")
    if module.bidirectional:
        problems.append("bidirectional=True (need False)")
    if not module.bias:
        problems.append("bias=False (need True)")
    if getattr(module, "proj_size", 0):
        problems.append(f"proj_size={module.proj_size} (need 0)")
    if (module.input_size, module.hidden_size) != (cell.input_size, cell.hidden_size):
        problems.append(f"sizes ({module.input_size}, {module.hidden_size}) differ from the cell's "
                        f"({cell.input_size}, {cell.hidden_size})")
    if problems:
        raise ValueError(f"cannot copy between {type(module).__name__} and a {cell.kind} cell: "
                         + "; ".join(problems))


@torch.no_grad()
def copy_from_torch(cell: RecurrentCell, module: nn.Module) -> RecurrentCell:
    """Load ``module``'s weights (nn.RNN/GRU/LSTM, one layer) into ``cell``; returns the cell."""
    _check_twin(cell, module)
    cell.weight_ih.copy_(module.weight_ih_l0)
    cell.weight_hh.copy_(module.weight_hh_l0)
    b_ih, b_hh = module.bias_ih_l0, module.bias_hh_l0
    if isinstance(cell, GRUCell):
        H = cell.hidden_size
        cell.bias.copy_(torch.cat([b_ih[:2 * H] + b_hh[:2 * H], b_ih[2 * H:]]))
        cell.bias_hn.copy_(b_hh[2 * H:])
    else:
        cell.bias.copy_(b_ih + b_hh)
    return cell


@torch.no_grad()
def copy_to_torch(cell: RecurrentCell, module: nn.Module) -> nn.Module:
    """Write ``cell``'s weights into ``module`` (nn.RNN/GRU/LSTM, one layer); returns the module."""
    _check_twin(cell, module)
    module.weight_ih_l0.copy_(cell.weight_ih)
    module.weight_hh_l0.copy_(cell.weight_hh)
    module.bias_ih_l0.copy_(cell.bias)
    module.bias_hh_l0.zero_()
    if isinstance(cell, GRUCell):
        module.bias_hh_l0[2 * cell.hidden_size:] = cell.bias_hn
    return module


def _empty_twin(cell: RecurrentCell, device=None) -> nn.Module:
    options = {"nonlinearity": "tanh"} if isinstance(cell, TanhCell) else {}
    return _TWINS[cell.kind](cell.input_size, cell.hidden_size, device=device, **options)


def to_torch(cell: RecurrentCell) -> nn.Module:
    """A new nn.RNN / nn.GRU / nn.LSTM with the cell's weights, dtype and device."""
    return copy_to_torch(cell, _empty_twin(cell).to(cell.weight_ih))


def twin_parameters(cell: RecurrentCell) -> dict:
    """The cell's own parameters under the twin's names (b_hh = 0, or [0, 0, b_hn] for the GRU).

    Not copies: gradients through the twin reach the cell's parameters.
    """
    if isinstance(cell, GRUCell):
        b_hh = torch.cat([cell.bias_hn.new_zeros(2 * cell.hidden_size), cell.bias_hn])
    else:
        b_hh = torch.zeros_like(cell.bias)
    return {"weight_ih_l0": cell.weight_ih, "weight_hh_l0": cell.weight_hh,
            "bias_ih_l0": cell.bias, "bias_hh_l0": b_hh}


def run_native(cell: RecurrentCell, x, lengths=None, state: tuple | None = None,
               module: nn.Module | None = None):
    """Run a cell through its torch twin's fused kernel (cuDNN, oneDNN) with the cell's weights.

    x: (T, B, D); lengths: (B,) or None; state: tuple of (B, H) tensors or None. Returns
    (outputs (T, B, H) zero after each length, final state tuple). Inputs are assumed
    checked (Recurrent does that); ``module`` is an empty twin to reuse between calls.
    """
    reason = has_twin(cell)
    if reason:
        raise ValueError(f"backend='native' needs a cell with a torch twin: {reason}")
    module = module if module is not None else _empty_twin(cell, device="meta")
    T = x.shape[0]
    hx = None if state is None else (
        tuple(s.unsqueeze(0) for s in state) if cell.state_size == 2 else state[0].unsqueeze(0))
    inputs = x if lengths is None else pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
    outputs, final = functional_call(module, twin_parameters(cell), (inputs, hx))
    if lengths is not None:
        outputs, _ = pad_packed_sequence(outputs, total_length=T)
    final = tuple(f[0] for f in final) if cell.state_size == 2 else (final[0],)
    return outputs, final


def from_torch(module: nn.Module):
    """A new gru_lib layer with the weights, dtype and device of a one-layer torch module."""
    kinds = {twin: kind for kind, twin in _TWINS.items()}
    if type(module) not in kinds:
        raise ValueError(f"module must be nn.RNN, nn.GRU or nn.LSTM, got {type(module).__name__}")
    kind = kinds[type(module)]
    options = {"gru": {"variant": "torch"}, "lstm": {"peepholes": False}}.get(kind, {})
    cell = make_cell(kind, module.input_size, module.hidden_size, **options)
    cell.to(module.weight_ih_l0)
    from .sequence import Recurrent   # sequence imports this module for backend="native"
    return Recurrent(copy_from_torch(cell, module))
