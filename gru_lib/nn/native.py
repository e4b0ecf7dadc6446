"""Run a gru_lib cell through its torch twin's fused kernel, with the cell's own parameters.

Three of the cells compute exactly what a one-layer torch module computes: the tanh cell
(``nn.RNN``), the GRU with ``variant="torch"`` (``nn.GRU``) and the LSTM with
``peepholes=False`` (``nn.LSTM``), each with no fixed or coupled gates. For those,
``Recurrent(cell, backend="native")`` lends the cell's parameters to an empty twin built on
the meta device (``torch.func.functional_call``): the numbers are the cell's, the speed is
cuDNN's or oneDNN's, and gradients flow back into the cell. ``why_no_twin`` says why any
other cell has no twin; ``gru_lib.nn.interop`` copies weights between cells and twins.

Biases: torch keeps two per gate, b_ih and b_hh, of which only the sum matters, except for
the GRU candidate, whose b_hn sits inside r ⊙ (U_n h + b_hn). A cell keeps one bias per
gate (as the paper counts) plus ``bias_hn`` for the torch-form GRU, so the twin gets the
cell's bias as b_ih and zeros (or [0, 0, b_hn]) as b_hh.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .cells import GRUCell, LSTMCell, RecurrentCell, TanhCell

# The torch module that computes each kind of cell (for the cells that have a twin at all).
TWINS = {"tanh": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def why_no_twin(cell: RecurrentCell) -> str | None:
    """The reason ``cell`` has no torch twin, or None when it has one (like ``bptt.why_not``)."""
    if cell.kind not in TWINS:
        return f"torch has no module computing a {cell.kind or type(cell).__name__} cell"
    if isinstance(cell, GRUCell) and cell.variant != "torch":
        return ("only GRUCell(variant='torch') has an nn.GRU twin; the paper variant resets "
                "before the matmul, which nn.GRU cannot express")
    if isinstance(cell, LSTMCell) and (cell.peepholes or cell.coupled):
        return "only LSTMCell(peepholes=False, coupled=False) has an nn.LSTM twin"
    if getattr(cell, "fixed_gates", None):
        return f"a cell with fixed gates {cell.fixed_gates} has no torch twin"
    return None


def empty_twin(cell: RecurrentCell, device=None) -> nn.Module:
    """A fresh one-layer twin of ``cell`` (sizes and nonlinearity; its own random weights).

    On ``device="meta"`` it holds no memory: ``run_native`` swaps in the cell's parameters.
    """
    options = {"nonlinearity": "tanh"} if isinstance(cell, TanhCell) else {}
    return TWINS[cell.kind](cell.input_size, cell.hidden_size, device=device, **options)


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
    reason = why_no_twin(cell)
    if reason:
        raise ValueError(f"backend='native' needs a cell with a torch twin: {reason}")
    module = module if module is not None else empty_twin(cell, device="meta")
    T = x.shape[0]
    hx = None if state is None else (
        tuple(s.unsqueeze(0) for s in state) if cell.state_size == 2 else state[0].unsqueeze(0))
    inputs = x if lengths is None else pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
    outputs, final = functional_call(module, twin_parameters(cell), (inputs, hx))
    if lengths is not None:
        outputs, _ = pad_packed_sequence(outputs, total_length=T)
    final = tuple(f[0] for f in final) if cell.state_size == 2 else (final[0],)
    return outputs, final

