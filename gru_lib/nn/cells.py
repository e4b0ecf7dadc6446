"""The three recurrent units of Chung et al. (2014), written out in plain torch ops.

Each cell computes ONE time step. To keep the time loop fast, a step is split in two:

* ``input_projection(x)`` computes ``W x + b`` for every gate. It does not depend on the
  previous state, so the sequence layer calls it once for ALL time steps, one big matmul.
* ``step(xw_t, state, weights)`` does the part that must be sequential: ``U h_{t-1}`` and
  the gate arithmetic. ``weights`` comes from ``step_weights()``, called once per sequence,
  so transposing or slicing a parameter does not add an autograd node at every step.

Weights use torch's layout (``weight_ih``: (gates*H, D), ``weight_hh``: (gates*H, H), gate
blocks stacked in torch's order) so that ``gru_lib.nn.interop`` can copy them from and to
``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` without reshuffling. One bias per gate, as the paper
counts parameters (torch keeps two, ``b_ih`` and ``b_hh``, whose sum is what matters).

Gate switches (for the ablation chapter): ``fixed_gates={"reset": 1.0}`` replaces a gate by
a constant and removes its parameters; ``peepholes``, ``coupled`` and ``forget_bias`` shape
the LSTM. With every switch at its default, each cell is exactly the paper's unit.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import checks

State = tuple  # (h,) for tanh and GRU, (h, c) for the LSTM; each (B, H)


def _check_fixed_gates(fixed_gates, allowed: tuple[str, ...], kind: str) -> dict[str, float]:
    fixed_gates = dict(fixed_gates or {})
    for name, value in fixed_gates.items():
        if name not in allowed:
            raise ValueError(
                f"fixed_gates: unknown {kind} gate {name!r}; the gates that can be fixed are "
                f"{', '.join(allowed)}")
        if not checks.is_number(value) or not 0.0 <= value <= 1.0:
            raise ValueError(
                f"fixed_gates[{name!r}] must be a number in [0, 1] (a gate is a sigmoid), "
                f"got {value!r}")
        fixed_gates[name] = float(value)
    return fixed_gates


RECURRENT_INITS = ("uniform", "orthogonal")
# A bound on one cell's parameters (10^10 floats = 40 GB): past it a typo in a size (10**12
# units) would fail deep in torch ("Storage size calculation overflowed", or the allocator),
# or take the machine's memory; the paper's cells have 20 K to 170 K.
MAX_PARAMETERS = 10 ** 10    # how U starts (RecurrentCell.reset_parameters)


class RecurrentCell(nn.Module):
    """What the three cells share: sizes, the gate bookkeeping, init and the input projection.

    Subclasses set ``kind`` and ``state_size`` (1 for (h,), 2 for (h, c)), build
    ``self.blocks`` (the names of the row blocks of ``weight_ih``/``weight_hh``/``bias``, in
    order) and implement ``step``.
    """

    kind = ""
    state_size = 1

    def __init__(self, input_size: int, hidden_size: int, blocks: list[str], init_scale: float,
                 recurrent: bool = True, recurrent_init: str = "uniform"):
        super().__init__()
        self.input_size = checks.positive_int("input_size", input_size)
        self.hidden_size = checks.positive_int("hidden_size", hidden_size)
        self.init_scale = checks.positive_number("init_scale", init_scale)
        if recurrent_init not in RECURRENT_INITS:
            raise ValueError(f"recurrent_init must be one of {', '.join(RECURRENT_INITS)} "
                             f"(uniform: U in ±init_scale like W; orthogonal: each gate's H x H "
                             f"block of U a random orthogonal matrix), got {recurrent_init!r}")
        self.recurrent_init = recurrent_init
        self.blocks = blocks                       # e.g. ["reset", "update", "candidate"]
        G, H, D = len(blocks), hidden_size, input_size
        if G * H * (D + (H if recurrent else 0) + 1) > MAX_PARAMETERS:
            raise ValueError(f"a {self.kind or 'recurrent'} cell of {D} inputs and {H} units "
                             f"would have {G * H * (D + (H if recurrent else 0) + 1):.3g} "
                             f"parameters, more than the {MAX_PARAMETERS:.0e} this library "
                             f"builds; check input_size and hidden_size")
        self.weight_ih = nn.Parameter(torch.empty(G * H, D))   # W: (G*H, D)
        if recurrent:                              # False: gates read x_t only (nn/minimal.py)
            self.weight_hh = nn.Parameter(torch.empty(G * H, H))   # U: (G*H, H)
        self.bias = nn.Parameter(torch.empty(G * H))           # b: (G*H,)

    def reset_parameters(self) -> None:
        # Uniform in [-0.1, 0.1], as in the authors' code (the paper does not say); biases 0.
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.uniform_(p, -self.init_scale, self.init_scale)
            else:
                nn.init.zeros_(p)
        if self.recurrent_init == "orthogonal":
            # The authors' pylearn2 layers start U orthogonal, one H x H matrix per gate: every
            # singular value 1, so at the start a step neither shrinks nor stretches h.
            with torch.no_grad():
                for name in self.blocks:
                    nn.init.orthogonal_(self.block(self.weight_hh, name))

    def block(self, tensor: Tensor, name: str) -> Tensor:
        """The rows (or last-dim slice) of ``tensor`` that belong to gate ``name``."""
        k, H = self.blocks.index(name), self.hidden_size
        return tensor[..., k * H:(k + 1) * H] if tensor.dim() == 1 else tensor[k * H:(k + 1) * H]

    def input_projection(self, x: Tensor) -> Tensor:
        """W x + b for every gate: (..., D) -> (..., G*H). One matmul for all time steps."""
        # Flattened to (T·B, D) by hand: the same matmul torch runs for a 3-D input, but under
        # vmap (a population) a 3-D input that is itself batched (a stack's upper layer reads
        # the layer below's per-member outputs) becomes P·T tiny matmuls against a weight
        # copied T times; flat, it is one batched matmul (music/model.py's readout does the same).
        flat = F.linear(x.reshape(-1, x.shape[-1]), self.weight_ih, self.bias)
        return flat.view(*x.shape[:-1], flat.shape[-1])

    def split_projection(self, xw: Tensor) -> tuple:
        """Cut W x + b into the pieces ``step`` uses, once per sequence rather than per step."""
        return (xw,)

    def step_weights(self) -> tuple:
        """Per-sequence views of the recurrent weights: U^T, so that h @ U^T = (U h)^T."""
        return (self.weight_hh.t(),)

    def initial_state(self, batch_size: int, like: Tensor) -> State:
        zeros = like.new_zeros(batch_size, self.hidden_size)
        return (zeros,) * self.state_size

    def forward(self, x: Tensor, state: State | None = None, record: dict | None = None) -> State:
        """One step on x: (B, D). Returns the new state; for a whole sequence use Recurrent.

        If ``record`` is a dict, each gate's activation is appended to ``record[name]``.
        """
        if state is None:
            state = self.initial_state(x.shape[0], x)
        xw = self.split_projection(self.input_projection(x))
        return self.step(xw, state, self.step_weights(), record)

    def step(self, xw: tuple, state: State, weights: tuple, record: dict | None = None) -> State:
        """One time step from the pieces of W x_t + b (see split_projection) and the state."""
        raise NotImplementedError

    @staticmethod
    def _record(record: dict | None, **gates: Tensor) -> None:
        if record is not None:
            for name, value in gates.items():
                record.setdefault(name, []).append(value)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class TanhCell(RecurrentCell):
    """h_t = tanh(W x_t + U h_{t-1} + b)   -- the plain recurrent unit, no gates."""

    kind = "tanh"

    def __init__(self, input_size: int, hidden_size: int, init_scale: float = 0.1,
                 recurrent_init: str = "uniform"):
        super().__init__(input_size, hidden_size, ["candidate"], init_scale,
                         recurrent_init=recurrent_init)
        self.reset_parameters()

    def step(self, xw, state, weights, record=None):
        (xw,), (h_prev,), (U_t,) = xw, state, weights
        a = torch.addmm(xw, h_prev, U_t)    # a_t = W x_t + b + U h_{t-1}
        h = torch.tanh(a)                   # h_t = tanh(a_t)
        return (h,)


class GRUCell(RecurrentCell):
    """The gated recurrent unit.

    ``variant="paper"`` (default) is the paper's equations (5)-(8):
        z_t = σ(W_z x_t + U_z h_{t-1})                 update gate
        r_t = σ(W_r x_t + U_r h_{t-1})                 reset gate
        h̃_t = tanh(W x_t + U (r_t ⊙ h_{t-1}))         reset BEFORE the matmul
        h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t

    ``variant="torch"`` is the cuDNN form used by ``nn.GRU``:
        n_t = tanh(W_n x_t + b_n + r_t ⊙ (U_n h_{t-1} + b_hn))   reset AFTER the matmul
        h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}                      z plays the opposite role
    Resetting after the matmul lets one matmul compute U h for all three blocks at once; it
    needs one more bias vector (b_hn), which is why nn.GRU has one more bias per unit.

    ``fixed_gates={"update": 0.5}`` (or "reset") replaces a gate by a constant.
    """

    kind = "gru"
    VARIANTS = ("paper", "torch")
    GATES = ("reset", "update")

    def __init__(self, input_size: int, hidden_size: int, variant: str = "paper",
                 fixed_gates: dict | None = None, init_scale: float = 0.1,
                 recurrent_init: str = "uniform"):
        if variant not in self.VARIANTS:
            raise ValueError(f"variant must be one of {self.VARIANTS}, got {variant!r}")
        self.fixed_gates = _check_fixed_gates(fixed_gates, self.GATES, "GRU")
        blocks = [g for g in self.GATES if g not in self.fixed_gates] + ["candidate"]
        super().__init__(input_size, hidden_size, blocks, init_scale,
                         recurrent_init=recurrent_init)
        self.variant = variant
        self.n_gates = len(blocks) - 1
        # b_hn of the torch form: the candidate's recurrent bias sits inside r ⊙ (...).
        self.bias_hn = nn.Parameter(torch.empty(hidden_size)) if variant == "torch" else None
        self.reset_parameters()

    def split_projection(self, xw):
        n = self.n_gates * self.hidden_size
        return (xw[..., :n], xw[..., n:])                       # gates (.., n_gates*H), candidate (.., H)

    def step_weights(self):
        U_t = self.weight_hh.t()                                 # (H, G*H)
        n = self.n_gates * self.hidden_size
        if self.variant == "torch":
            # b_hn goes with U_n h, so fold it into the one recurrent matmul: addmm(b_hh, h, U^T).
            b_hh = torch.cat([self.bias_hn.new_zeros(n), self.bias_hn])
            return (U_t, b_hh)
        return (U_t[:, :n], U_t[:, n:])                          # [U_r U_z]^T, U^T

    def _reset_and_update(self, gates_preactivation: Tensor | None) -> tuple:
        """r_t and z_t: σ of the pre-activations of the learned gates, or the fixed constants."""
        learned = (torch.sigmoid(gates_preactivation).chunk(self.n_gates, 1)
                   if self.n_gates else ())
        r = self.fixed_gates["reset"] if "reset" in self.fixed_gates else learned[0]
        z = self.fixed_gates["update"] if "update" in self.fixed_gates else learned[-1]
        return r, z

    def step(self, xw, state, weights, record=None):
        (xw_gates, xw_cand), (h_prev,) = xw, state
        if self.variant == "paper":
            U_gates_t, U_t = weights
            # r_t = σ(W_r x_t + U_r h_{t-1}), z_t = σ(W_z x_t + U_z h_{t-1})
            pre = (torch.addmm(xw_gates, h_prev, U_gates_t)
                   if self.n_gates else None)
            r, z = self._reset_and_update(pre)
            # h̃_t = tanh(W x_t + U (r_t ⊙ h_{t-1})): reset BEFORE the matmul
            candidate = torch.tanh(torch.addmm(xw_cand, r * h_prev, U_t))
            # h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
            h = torch.lerp(h_prev, candidate, z)
        else:
            U_t, b_hh = weights
            n = self.n_gates * self.hidden_size
            # W_hr h_{t-1}, W_hz h_{t-1}, W_hn h_{t-1} + b_hn: ONE matmul
            uh = torch.addmm(b_hh, h_prev, U_t)
            # r_t = σ(W_ir x_t + W_hr h_{t-1} + b_r), z_t likewise
            pre = xw_gates + uh[:, :n] if self.n_gates else None
            r, z = self._reset_and_update(pre)
            # n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
            candidate = torch.tanh(xw_cand + r * uh[:, n:])
            # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
            h = torch.lerp(candidate, h_prev, z)
        if record is not None:
            gates = {"reset": r, "update": z, "candidate": candidate}
            self._record(record, **{name: g for name, g in gates.items()
                                    if isinstance(g, Tensor)})
        return (h,)

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, variant={self.variant!r}"
                + (f", fixed_gates={self.fixed_gates}" if self.fixed_gates else ""))


class LSTMCell(RecurrentCell):
    """The long short-term memory unit with diagonal peepholes (Graves 2013), the paper's (1)-(4):
        i_t = σ(W_i x_t + U_i h_{t-1} + V_i c_{t-1})
        f_t = σ(W_f x_t + U_f h_{t-1} + V_f c_{t-1})
        c̃_t = tanh(W_c x_t + U_c h_{t-1})
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
        o_t = σ(W_o x_t + U_o h_{t-1} + V_o c_t)        (c_t, not c_{t-1})
        h_t = o_t ⊙ tanh(c_t)
    V_i, V_f, V_o are diagonal, so each is a vector of H weights and "V c" is an elementwise
    product. ``peepholes=False`` gives ``nn.LSTM``; ``coupled=True`` sets i_t = 1 - f_t (one
    gate fewer); ``fixed_gates`` replaces "input", "forget" or "output" by a constant;
    ``forget_bias`` is the initial value of the forget gate's bias (Jozefowicz et al. use 1).
    """

    kind = "lstm"
    state_size = 2
    GATES = ("input", "forget", "output")

    def __init__(self, input_size: int, hidden_size: int, peepholes: bool = True,
                 coupled: bool = False, fixed_gates: dict | None = None,
                 forget_bias: float = 0.0, init_scale: float = 0.1,
                 recurrent_init: str = "uniform"):
        for name, flag in (("peepholes", peepholes), ("coupled", coupled)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        self.fixed_gates = _check_fixed_gates(fixed_gates, self.GATES, "LSTM")
        if coupled and "input" in self.fixed_gates:
            raise ValueError("coupled=True computes the input gate as 1 - forget gate; it cannot "
                             "also be in fixed_gates. Drop one of the two.")
        if not checks.is_number(forget_bias) or not math.isfinite(forget_bias):
            # a NaN or inf bias would make every forget gate NaN (or saturated) from step one
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias!r}")
        if forget_bias != 0.0 and "forget" in self.fixed_gates:
            raise ValueError("forget_bias sets the bias of a learned forget gate; the forget gate "
                             "is fixed here. Drop forget_bias or the fixed forget gate.")
        self.coupled = coupled
        learned = [g for g in self.GATES if g not in self.fixed_gates
                   and not (coupled and g == "input")]
        # Row blocks in nn.LSTM's order i, f, g, o so weights copy straight across.
        blocks = [b for b in ("input", "forget", "candidate", "output")
                  if b == "candidate" or b in learned]
        super().__init__(input_size, hidden_size, blocks, init_scale,
                         recurrent_init=recurrent_init)
        self.peepholes = peepholes
        self.forget_bias = float(forget_bias)
        # One diagonal V per learned gate: (n_peepholes, H).
        self.peephole_gates = [g for g in self.GATES if g in learned] if peepholes else []
        self.peephole = (nn.Parameter(torch.empty(len(self.peephole_gates), hidden_size))
                         if self.peephole_gates else None)
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        if "forget" in self.blocks:
            with torch.no_grad():
                self.block(self.bias, "forget").fill_(self.forget_bias)

    def step_weights(self):
        V = {g: v for g, v in zip(self.peephole_gates, self.peephole.unbind(0))} \
            if self.peephole is not None else {}
        return (self.weight_hh.t(), V)

    def step(self, xw, state, weights, record=None):
        (xw,), (h_prev, c_prev), (U_t, V) = xw, state, weights
        # W x_t + b + U h_{t-1} for the four blocks, cut into pre[block]
        pre = torch.addmm(xw, h_prev, U_t).chunk(len(self.blocks), 1)
        pre = dict(zip(self.blocks, pre))

        def gate(name: str, c: Tensor) -> Tensor | float:
            if name in self.fixed_gates:
                return self.fixed_gates[name]
            if name in V:                         # + V ⊙ c (V is diagonal)
                return torch.sigmoid(pre[name] + V[name] * c)
            return torch.sigmoid(pre[name])

        # f_t = σ(W_f x_t + U_f h_{t-1} + V_f c_{t-1})
        f = gate("forget", c_prev)
        # i_t = σ(W_i x_t + U_i h_{t-1} + V_i c_{t-1}); coupled: 1 - f_t
        i = 1.0 - f if self.coupled else gate("input", c_prev)
        # c̃_t = tanh(W_c x_t + U_c h_{t-1})
        c_cand = torch.tanh(pre["candidate"])
        # c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
        c = f * c_prev + i * c_cand
        # o_t = σ(W_o x_t + U_o h_{t-1} + V_o c_t)   (the NEW cell c_t)
        o = gate("output", c)
        # h_t = o_t ⊙ tanh(c_t)
        h = o * torch.tanh(c)
        if record is not None:
            gates = {"input": i, "forget": f, "output": o,
                     "candidate": c_cand}
            self._record(record, **{n: g for n, g in gates.items()
                                    if isinstance(g, Tensor)})
        return (h, c)

    def extra_repr(self):
        opts = [f"peepholes={self.peepholes}"]
        if self.coupled:
            opts.append("coupled=True")
        if self.fixed_gates:
            opts.append(f"fixed_gates={self.fixed_gates}")
        if self.forget_bias:
            opts.append(f"forget_bias={self.forget_bias}")
        return f"{self.input_size}, {self.hidden_size}, " + ", ".join(opts)
