"""Run a cell over a whole batch of sequences of different lengths.

Shapes: x is (T, B, D) -- time first, as in nn.RNN's default -- and lengths is (B,). The
input projections W x_t + b of all T steps are one matmul before the loop; the loop then
iterates with ``unbind(0)``, which is about twice as fast as indexing ``x[t]`` in the loop.

Padding: for a sequence of length L, steps t >= L keep its state unchanged and produce zero
outputs, so padded steps never change the final state or leak into outputs. The padded input
steps are replaced by zeros before anything is computed from them (``padding.zero_padding``),
so not even a NaN or inf there reaches an output, a state or a gradient. Steps before the
shortest length need no mask at all, which keeps the common case cheap. Because of the mask,
lengths need not be sorted.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from .. import checks
from . import bptt, native, scan
from .cells import RecurrentCell
from .kinds import make_cell
from .padding import zero_padding

BACKENDS = ("python", "bptt", "native", "scan", "auto")


class SequenceOutput(NamedTuple):
    outputs: Tensor                 # (T, B, H): h_t at every step, zero after each length
    state: tuple                    # final state: (h,) or (h, c), each (B, H)
    gates: dict | None = None       # name -> (T, B, H) gate activations, if asked for


class Recurrent(nn.Module):
    """A recurrent layer: ``Recurrent(make_cell("gru", 88, 46))(x, lengths)``.

    ``forward(x, lengths=None, state=None, return_gates=False)`` returns a SequenceOutput
    ``(outputs, state, gates)``. ``state`` is a tensor (B, H) for tanh and GRU cells or a
    pair (h, c) for the LSTM; None means zeros. The returned state is always a tuple.

    ``backend="python"`` (default) runs the cell's own ``step`` in the loop below: readable,
    and every gate switch works. ``backend="native"`` hands a cell that has a torch twin
    (tanh, GRU variant="torch", LSTM peepholes=False; no fixed gates) to nn.RNN / nn.GRU /
    nn.LSTM's fused kernel with the cell's own parameters -- same numbers, native speed.
    ``backend="bptt"`` runs the same equations with the backward pass through time written
    by hand (see gru_lib/nn/bptt.py): 1.05-3.4x faster than autograd through the loop (most at
    batch 1; benchmarks/bench_cells.py), for every cell without fixed or coupled gates; for the
    minimal cells it computes all steps' gates at once and loops over h_t = a_t ⊙ h_{t-1} + b_t
    alone, the fastest of their backends on a CPU (benchmarks/bench_scan.py).
    ``backend="scan"`` computes every step of a minimal cell (mingru, minlstm: gates that
    read x_t only, so h_t is linear in h_{t-1}) at once by a parallel scan in log space
    (gru_lib/nn/scan.py); the same numbers as the loop over its ``step``.
    ``return_gates=True`` runs the python loop for that call, since bptt and the scan keep no
    per-step gates for the caller. ``backend="auto"`` picks "scan" for the minimal cells,
    "bptt" where the cell allows it and "python" otherwise; the models use it.
    """

    def __init__(self, cell: RecurrentCell, backend: str = "python"):
        super().__init__()
        checks.instance("cell", cell, RecurrentCell, "gru_lib cell (see make_cell)")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend == "auto":
            backend = ("scan" if not scan.why_no_scan(cell) else
                       "bptt" if not bptt.why_not(cell) else "python")
        why = {"native": native.why_no_twin, "bptt": bptt.why_not, "scan": scan.why_no_scan}
        needs = {"native": "needs a cell with a torch twin",
                 "bptt": "has no hand-written backward for this cell",
                 "scan": "needs a recurrence linear in h"}
        reason = why[backend](cell) if backend in why else None
        if reason:
            fits = ["python"] + [b for b in why if not why[b](cell)]
            raise ValueError(f"backend={backend!r} {needs[backend]}: {reason}. Use backend="
                             + " or ".join(repr(b) for b in fits) + " for this cell (or 'auto').")
        self.cell = cell
        self.backend = backend
        # An empty twin on the meta device (no memory): its parameters are swapped for the cell's.
        # Set past nn.Module.__setattr__ so the twin stays out of parameters() and state_dict().
        object.__setattr__(self, "_twin",
                           native.empty_twin(cell, device="meta") if backend == "native" else None)

    @classmethod
    def make(cls, kind: str, input_size: int, hidden_size: int, backend: str = "python",
             **options) -> "Recurrent":
        return cls(make_cell(kind, input_size, hidden_size, **options), backend=backend)

    @property
    def hidden_size(self) -> int:
        return self.cell.hidden_size

    def forward(self, x: Tensor, lengths=None, state=None, return_gates: bool = False
                ) -> SequenceOutput:
        T, B, _ = self._check_input(x)
        lengths = self._check_lengths(lengths, T, B, x.device)
        state = self._check_state(state, B, x)
        x = zero_padding(x, lengths)                             # padded steps: zeros, selected
        if self.backend == "native":
            if return_gates:
                raise ValueError("return_gates=True needs backend='python': the fused native kernel "
                                 "does not expose its gates")
            return SequenceOutput(*native.run_native(self.cell, x, lengths, state, self._twin))
        if self.backend == "bptt" and not return_gates:
            return SequenceOutput(*bptt.run(self.cell, x, lengths, state))
        if self.backend == "scan" and not return_gates:
            return SequenceOutput(*scan.run(self.cell, x, lengths, state))

        xw = self.cell.input_projection(x)                       # (T, B, G*H), all steps at once
        steps = zip(*(part.unbind(0) for part in self.cell.split_projection(xw)))
        weights = self.cell.step_weights()
        record = {} if return_gates else None
        # Steps t < min(lengths) are real for every sequence: no mask needed there.
        unmasked = T if lengths is None else int(lengths.min())
        outputs = []
        for t, xw_t in enumerate(steps):
            new_state = self.cell.step(xw_t, state, weights, record)
            if t >= unmasked:
                alive = (t < lengths).unsqueeze(1)               # (B, 1): still inside the sequence
                new_state = tuple(torch.where(alive, new, old) for new, old in zip(new_state, state))
                outputs.append(torch.where(alive, new_state[0], 0.0))
            else:
                outputs.append(new_state[0])
            state = new_state
        gates = {name: torch.stack(values) for name, values in record.items()} if record else None
        return SequenceOutput(torch.stack(outputs), state, gates)

    # -- input checks: clear errors at the boundary instead of a deep torch traceback --------

    def _check_input(self, x):
        if not isinstance(x, Tensor):
            raise ValueError(f"x must be a torch.Tensor of shape (T, B, D), got {type(x).__name__}")
        if x.dim() != 3:
            raise ValueError(f"x must have shape (T, B, D) = (time, batch, features); got a "
                             f"{x.dim()}-d tensor of shape {tuple(x.shape)}. For one sequence use "
                             f"x.unsqueeze(1); for batch-first data use x.transpose(0, 1).")
        T, B, D = x.shape
        if D != self.cell.input_size:
            raise ValueError(f"x has {D} features per step (shape {tuple(x.shape)}) but the cell "
                             f"expects input_size={self.cell.input_size}")
        if T == 0 or B == 0:
            raise ValueError(f"x must have at least one step and one sequence, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}; use x.float()")
        p = self.cell.weight_ih
        if x.dtype != p.dtype or x.device != p.device:
            raise ValueError(f"x is {x.dtype} on {x.device} but the cell's parameters are {p.dtype} "
                             f"on {p.device}; move one of them, e.g. x.to(layer.cell.weight_ih)")
        return T, B, D

    @staticmethod
    def _lengths_tensor(lengths, T, B):
        """``lengths`` as a tensor, or a ValueError naming what was given and what is needed."""
        need = (f"lengths must hold integers: a 1-D integer tensor or a list of ints, one per sequence "
                f"(shape ({B},)), each in 1..T = 1..{T}")
        if isinstance(lengths, torch.Tensor):
            return lengths
        if isinstance(lengths, np.ndarray):
            if lengths.dtype.kind not in "iu":
                raise ValueError(f"{need}; got a numpy array of dtype {lengths.dtype}. "
                                 f"Pass e.g. lengths=torch.as_tensor(arr).long() if it holds whole numbers")
            return torch.as_tensor(lengths)
        if isinstance(lengths, (list, tuple)):
            bad = [x for x in lengths if not checks.is_int(x)]
            if bad:
                x = bad[0]
                raise ValueError(f"{need}; got {type(lengths).__name__} holding "
                                 f"{type(x).__name__} {x!r}")
            return torch.tensor([int(x) for x in lengths], dtype=torch.long)
        raise ValueError(f"{need}; got {type(lengths).__name__} {lengths!r}"[:300])

    def _check_lengths(self, lengths, T, B, device):
        if lengths is None:
            return None
        lengths = self._lengths_tensor(lengths, T, B)
        if lengths.dim() != 1 or lengths.shape[0] != B:
            raise ValueError(f"lengths must have one entry per sequence, shape ({B},); got shape "
                             f"{tuple(lengths.shape)}")
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise ValueError(f"lengths must hold integers, got dtype {lengths.dtype}")
        low, high = int(lengths.min()), int(lengths.max())
        if low < 1 or high > T:
            raise ValueError(f"lengths must lie in 1..T = 1..{T} (T is x.shape[0]); got values "
                             f"from {low} to {high}")
        if low == T:
            return None                                          # nothing is padded
        return lengths.to(device=device, dtype=torch.long)

    def _check_state(self, state, B, x):
        cell = self.cell
        if state is None:
            return None if self.backend == "native" else cell.initial_state(B, x)
        parts = (state,) if isinstance(state, Tensor) else tuple(state)
        expected = "a tensor h0" if cell.state_size == 1 else "a pair (h0, c0)"
        if len(parts) != cell.state_size or not all(isinstance(p, Tensor) for p in parts):
            raise ValueError(f"state for a {cell.kind} cell must be {expected}, each of shape "
                             f"(B, H) = ({B}, {cell.hidden_size}); got {_describe(state)}")
        for p in parts:
            if tuple(p.shape) != (B, cell.hidden_size):
                raise ValueError(f"state must have shape (B, H) = ({B}, {cell.hidden_size}); got "
                                 f"{tuple(p.shape)}")
            if p.dtype != x.dtype or p.device != x.device:
                raise ValueError(f"state is {p.dtype} on {p.device} but x is {x.dtype} on {x.device}")
        return parts


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__
