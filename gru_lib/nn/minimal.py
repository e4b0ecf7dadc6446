"""The minimal GRU and LSTM of Feng et al. (2024), "Were RNNs All We Needed?", as cells.

Strip the GRU and the LSTM until their gates read the input x_t only, never h_{t-1}:

    minGRU    z_t = σ(Linear_z(x_t))                      update gate
              h̃_t = g(Linear_h(x_t))                      candidate
              h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t

    minLSTM   f_t = σ(Linear_f(x_t)),  i_t = σ(Linear_i(x_t))
              f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)    normalised: f' + i' = 1
              h̃_t = g(Linear_h(x_t))
              h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ h̃_t

Both are h_t = a_t ⊙ h_{t−1} + b_t with a_t, b_t computed from x_t alone: the recurrence is
LINEAR in h, so every h_t can be computed at once by a parallel scan (``nn/scan.py``,
``Recurrent(cell, backend="scan")``) instead of a loop of T steps. There is no U, no
``weight_hh``: a layer's parameters are W (``weight_ih``) and b only.

The candidate's g. The paper's equations write h̃_t = Linear_h(x_t). The authors train in
log space (their appendix; Heinsen 2023), where log h_t must exist, so h̃_t must be positive:
they use g(k) = k + 0.5 for k ≥ 0 and σ(k) for k < 0 (continuous at 0, where its slope
jumps from 1/4 to 1; always > 0; linear, like Linear_h, for k ≥ 0). We follow the authors:
``candidate="g"`` is the default, and the loop (``step``) and the scan compute the SAME
function with it. ``candidate="linear"`` is the paper's printed h̃_t = Linear_h(x_t); its h̃
can be negative, so it has no log-space scan and runs on backend="python" only
(``Recurrent`` says so if asked for the scan).

``log_coefficients`` gives the scan log a_t and log b_t, computed in log space from the
pre-activations (log σ(k) by ``F.logsigmoid``, exact for any k), never as the log of a
rounded product: with gates near 0 or 1 that is where the precision is.

Weights: ``weight_ih`` (G*H, D) and ``bias`` (G*H,), row blocks in the order of ``blocks``
(minGRU: update, candidate; minLSTM: forget, input, candidate), like the paper's cells.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import checks
from .cells import RecurrentCell

CANDIDATES = ("g", "linear")      # h̃_t = g(Linear_h(x_t)) (the authors'), or Linear_h(x_t)


def g(k: Tensor) -> Tensor:
    """g(k) = k + 0.5 for k ≥ 0, σ(k) for k < 0: a positive candidate (Feng et al.)."""
    return torch.where(k >= 0, k + 0.5, torch.sigmoid(k))


def log_g(k: Tensor) -> Tensor:
    """log g(k), stable: log(k + 0.5) for k ≥ 0, log σ(k) for k < 0.

    Both branches are finite for every finite k (relu keeps the log's argument ≥ 0.5), so the
    branch torch.where drops cannot send a NaN into the gradient.
    """
    return torch.where(k >= 0, torch.log(F.relu(k) + 0.5), F.logsigmoid(k))


class MinimalCell(RecurrentCell):
    """What minGRU and minLSTM share: gates from x_t only, h_t = a_t ⊙ h_{t−1} + b_t.

    Subclasses set ``kind`` and ``GATES`` and implement ``step`` (the loop's form, each
    equation beside its line), ``coefficients`` (a_t and b_t for all steps, for the
    hand-written backward) and ``log_coefficients`` (the scan's form).
    """

    GATES: tuple = ()

    def __init__(self, input_size: int, hidden_size: int, candidate: str = "g",
                 init_scale: float = 0.1):
        if candidate not in CANDIDATES:
            raise ValueError(f"candidate must be one of {CANDIDATES} (g: the authors' positive "
                             f"h̃ that the log-space scan needs; linear: the paper's printed "
                             f"h̃ = Linear_h(x)), got {candidate!r}")
        super().__init__(input_size, hidden_size, [*self.GATES, "candidate"], init_scale,
                         recurrent=False)
        self.candidate = candidate
        self.reset_parameters()

    def split_projection(self, xw: Tensor) -> tuple:
        """W x + b (.., G*H) -> one (.., H) pre-activation per block, in ``blocks`` order."""
        return tuple(xw.chunk(len(self.blocks), dim=-1))

    def step_weights(self) -> tuple:
        return ()                                  # no U: nothing recurrent to transpose

    def candidate_of(self, k: Tensor) -> Tensor:
        """h̃ from its pre-activation k = Linear_h(x): g(k), or k itself ("linear")."""
        return g(k) if self.candidate == "g" else k

    def coefficients(self, xw: Tensor) -> tuple[Tensor, Tensor]:
        """(a, b), each (T, B, H), of h_t = a_t ⊙ h_{t−1} + b_t, from xw (T, B, G*H): every
        step's gate arithmetic at once, for the hand-written backward (backend="bptt")."""
        raise NotImplementedError

    def log_coefficients(self, xw: Tensor) -> tuple[Tensor, Tensor]:
        """(log a, log b), each (T, B, H), of h_t = a_t ⊙ h_{t−1} + b_t, from xw (T, B, G*H)."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, candidate={self.candidate!r}"


class MinGRUCell(MinimalCell):
    """minGRU: the GRU without its reset gate and without h_{t−1} in its gates."""

    kind = "mingru"
    GATES = ("update",)

    def step(self, xw, state, weights, record=None):
        (k_z, k_h), (h_prev,) = xw, state
        z = torch.sigmoid(k_z)              # z_t = σ(Linear_z(x_t))
        cand = self.candidate_of(k_h)       # h̃_t = g(Linear_h(x_t))
        # h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t
        h = torch.lerp(h_prev, cand, z)
        self._record(record, update=z, candidate=cand)
        return (h,)

    def coefficients(self, xw):
        k_z, k_h = self.split_projection(xw)
        # a_t = 1 − z_t = σ(−k_z): exact where z_t rounds to 1; b_t = z_t ⊙ h̃_t
        return torch.sigmoid(-k_z), torch.sigmoid(k_z) * self.candidate_of(k_h)

    def log_coefficients(self, xw):
        k_z, k_h = self.split_projection(xw)
        log_a = F.logsigmoid(-k_z)                       # log(1 − z_t) = log σ(−k_z)
        log_b = F.logsigmoid(k_z) + log_g(k_h)           # log(z_t ⊙ h̃_t)
        return log_a, log_b


class MinLSTMCell(MinimalCell):
    """minLSTM: the LSTM without its output gate, without c (h is the cell) and without
    h_{t−1} in its gates; forget and input gates normalised to sum to 1."""

    kind = "minlstm"
    GATES = ("forget", "input")

    def step(self, xw, state, weights, record=None):
        (k_f, k_i, k_h), (h_prev,) = xw, state
        f = torch.sigmoid(k_f)              # f_t = σ(Linear_f(x_t))
        i = torch.sigmoid(k_i)              # i_t = σ(Linear_i(x_t))
        f_n = f / (f + i)                   # f'_t = f_t / (f_t + i_t)
        i_n = i / (f + i)                   # i'_t = i_t / (f_t + i_t)
        cand = self.candidate_of(k_h)       # h̃_t = g(Linear_h(x_t))
        # h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ h̃_t
        h = f_n * h_prev + i_n * cand
        self._record(record, forget=f_n, input=i_n, candidate=cand)
        return (h,)

    def coefficients(self, xw):
        k_f, k_i, k_h = self.split_projection(xw)
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)    # f_t, i_t
        total = f + i
        return f / total, i / total * self.candidate_of(k_h)   # a_t = f'_t, b_t = i'_t ⊙ h̃_t

    def log_coefficients(self, xw):
        k_f, k_i, k_h = self.split_projection(xw)
        # f' = 1 / (1 + i/f) = σ(−log(i/f)) and i' = σ(log(i/f)): only the ratio matters.
        log_ratio = F.logsigmoid(k_i) - F.logsigmoid(k_f)   # log(i_t / f_t)
        log_a = F.logsigmoid(-log_ratio)                    # log f'_t
        log_b = F.logsigmoid(log_ratio) + log_g(k_h)        # log(i'_t ⊙ h̃_t)
        return log_a, log_b


MINIMAL_CELLS = {"mingru": MinGRUCell, "minlstm": MinLSTMCell}


def why_no_scan(cell: RecurrentCell) -> str | None:
    """None if ``cell`` can run on the log-space scan, else the reason it cannot."""
    checks.instance("cell", cell, RecurrentCell, "gru_lib cell")
    if not isinstance(cell, MinimalCell):
        return (f"a {cell.kind} cell's gates read h_{{t-1}}, so its recurrence is not linear in "
                f"h and has no parallel scan; only the minimal cells ({', '.join(MINIMAL_CELLS)})"
                f" do")
    if cell.candidate != "g":
        return ("the log-space scan needs a positive candidate h̃ (candidate='g', the "
                "default); candidate='linear' can be negative")
    return None
