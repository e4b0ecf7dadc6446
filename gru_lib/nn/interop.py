"""Copy weights between gru_lib cells and torch.nn.RNN / nn.GRU / nn.LSTM.

This is how we prove the hand-written cells right: copy the weights, run both, compare
outputs and gradients (tests/nn/test_interop.py). Only cells that HAVE a torch twin can be
copied (``gru_lib.nn.native.why_no_twin`` says why the others cannot): the tanh cell, the
GRU with ``variant="torch"`` and the LSTM with ``peepholes=False``, each with no fixed or
coupled gates.

Biases: torch keeps two per gate, b_ih and b_hh, and only their sum matters, except for
the GRU candidate where b_hn sits inside r ⊙ (U_n h + b_hn). We keep one bias per gate
(as the paper counts) plus ``bias_hn`` for the torch-form GRU. Copying to torch puts our
bias into b_ih and zeros (or b_hn) into b_hh; copying from torch adds the two back up.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import checks
from .cells import GRUCell, RecurrentCell
from .kinds import make_cell
from .native import TWINS, empty_twin, why_no_twin
from .recurrent import Recurrent


def _has_twin(cell: RecurrentCell) -> None:
    checks.instance("cell", cell, RecurrentCell, "gru_lib cell")
    reason = why_no_twin(cell)
    if reason:
        raise ValueError(f"cell: {reason}, so its weights cannot be copied to or from torch")


def _check_twin(cell: RecurrentCell, module: nn.Module) -> None:
    _has_twin(cell)
    twin = TWINS[cell.kind]
    if type(module) is not twin:
        raise ValueError(f"a {cell.kind} cell copies to/from {twin.__name__}, got {type(module).__name__}")
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


def to_torch(cell: RecurrentCell) -> nn.Module:
    """A new nn.RNN / nn.GRU / nn.LSTM with the cell's weights, dtype and device."""
    _has_twin(cell)
    return copy_to_torch(cell, empty_twin(cell).to(cell.weight_ih))


def from_torch(module: nn.Module):
    """A new gru_lib layer with the weights, dtype and device of a one-layer torch module."""
    kinds = {twin: kind for kind, twin in TWINS.items()}
    if type(module) not in kinds:
        raise ValueError(f"module must be nn.RNN, nn.GRU or nn.LSTM, got {type(module).__name__}")
    kind = kinds[type(module)]
    options = {"gru": {"variant": "torch"}, "lstm": {"peepholes": False}}.get(kind, {})
    cell = make_cell(kind, module.input_size, module.hidden_size, **options)
    cell.to(module.weight_ih_l0)
    return Recurrent(copy_from_torch(cell, module))

