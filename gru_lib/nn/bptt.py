"""Backpropagation through time written out by hand: the same cells, with a faster backward.

Autograd records every small op of every step and replays them backwards one by one. For a
cell of 36 units that bookkeeping costs more than the arithmetic. Here each cell's backward
pass is derived on paper and written as a short loop:

* The forward pass computes each step's gates in scratch buffers, with a handful of fused,
  in-place ops, and keeps h_t (and c_t) and the gates: one copy per step. Nothing is
  recorded for autograd inside the loop.
* The backward pass turns the kept gates into the per-step coefficients K_t of the chain
  rule for all steps at once. What must still run step by step, backwards, is only the
  recurrence itself: dh_{t-1} = dout_{t-1} + (dh_t ⊙ K_t) U + ... (3-6 ops per step).
* Weight gradients need no loop: dU^T = Σ_t h_{t-1}^T dpre_t is one matmul over all steps.

Keeping the gates costs memory; recomputing them costs one (T*B, H) matmul in the backward
pass. The torch-form GRU recomputes (its U h is one matmul, and copying its four per-step
tensors measured slower at small sizes); the others keep. Both ways are exact.

A population of models. At the paper's sizes a step costs the launch overhead of its ~10
small ops, not their arithmetic. P models that differ only in their weights (say, one per
learning rate) can therefore share every launch: each Function also takes a leading
population dimension P -- xw (T, P, B, G), h0 and c0 (P, B, H), U_t (P, H, G), V (P, 3, H),
b_hh (P, 3H) -- and then runs ONE loop whose matmuls are batched over the members
(torch.baddbmm / torch.bmm instead of addmm / mm) and whose elementwise ops simply see a
bigger tensor. A step of the whole population costs about one model's step. You do not
build that layout by hand: stack the models' parameters (``torch.func.stack_module_state``)
and ``torch.vmap`` a ``functional_call`` of the layer. Under vmap each Function's ``vmap``
staticmethod receives the stacked tensors, moves the population to its place, and calls the
same Function once. One body per Function serves both layouts: the helpers ``_mm``,
``_addmm`` and ``_addmm_`` pick the 2-d or the batched matmul, everything else broadcasts,
and dims are counted from the end (-1 the features, -2 the batch) so they mean the same in
both. With no population dim the ops are exactly those of a single model, in the same order.

Notation: pre_t = W x_t + U h_{t-1} + b is a gate's pre-activation, and dX means ∂L/∂X.
``xw`` is W x + b for all steps (the cell's input projection). ``U_t`` is U^T, shape
(H, G*H), so h @ U_t = (U h)^T. The autograd graph carries the input projection, the
transposes and the bias cat, so their gradients come for free. The Functions are written in
the form torch.func asks for: ``forward`` without ctx, then ``setup_context`` saves what the
backward needs. An intermediate that the backward needs (the gates) is therefore returned as
an extra output, marked non-differentiable.

``Recurrent(cell, backend="bptt")`` uses this module. tests/nn/test_bptt.py checks every
Function against the reference loop (autograd through ``cell.step``), in float64 and with
gradcheck; tests/nn/test_population.py checks a vmapped population against its members run
one by one; tests/nn/test_minimal.py checks the minimal cells' LinearRecurrenceThroughTime
against their loop and their scan. Cells with fixed or coupled gates, and ``return_gates``,
stay on backend="python".
"""
from __future__ import annotations

import torch
from torch import Tensor

from .cells import GRUCell, LSTMCell, RecurrentCell, TanhCell
from .minimal import MinimalCell
from .padding import real_steps


def why_not(cell: RecurrentCell) -> str | None:
    """None if ``cell`` has a hand-written backward here, else the reason it does not."""
    if isinstance(cell, (TanhCell, MinimalCell)):
        return None
    if isinstance(cell, GRUCell):
        return f"its gates are fixed ({cell.fixed_gates})" if cell.fixed_gates else None
    if isinstance(cell, LSTMCell):
        if cell.fixed_gates:
            return f"its gates are fixed ({cell.fixed_gates})"
        return "its input gate is coupled to the forget gate" if cell.coupled else None
    return (f"a {cell.kind or type(cell).__name__} cell has none (only the tanh, GRU, LSTM and "
            f"minimal cells do)")


def run(cell: RecurrentCell, x: Tensor, lengths: Tensor | None, state: tuple) -> tuple:
    """(outputs (T, B, H), final state) of ``cell`` over x: (T, B, D), as Recurrent returns them.

    Every sequence runs all T steps, padding included. A step depends only on the steps
    before it, so the real steps are exact. The padded steps are then dropped: outputs are
    zeroed after each length, and the final state is the state at step length - 1.

    Under ``torch.vmap`` (a population of cells) every line here is unchanged: the tensors
    are vmap's batched tensors, and the Functions' ``vmap`` rules run the whole population.
    """
    xw = cell.input_projection(x)                                # (T, B, G*H), all steps at once
    if isinstance(cell, MinimalCell):
        # The gates read x_t only, so all their arithmetic runs at once under autograd; the
        # loop is left with the linear recurrence h_t = a_t ⊙ h_{t-1} + b_t alone.
        states = (LinearRecurrenceThroughTime.apply(*cell.coefficients(xw), state[0]),)
    elif isinstance(cell, TanhCell):
        states = (TanhThroughTime.apply(xw, state[0], cell.weight_hh.t()),)
    elif isinstance(cell, GRUCell) and cell.variant == "paper":
        states = (PaperGRUThroughTime.apply(xw, state[0], cell.weight_hh.t())[0],)  # hs, not the gates
    elif isinstance(cell, GRUCell):
        b_hh = torch.cat([cell.bias_hn.new_zeros(2 * cell.hidden_size), cell.bias_hn])
        states = (TorchGRUThroughTime.apply(xw, state[0], cell.weight_hh.t(), b_hh),)
    else:
        states = LSTMThroughTime.apply(xw, *state, cell.weight_hh.t(), cell.peephole)[:2]  # hs, cs
    outputs = states[0]                                          # (T, B, H)
    if lengths is None:
        return outputs, tuple(s[-1] for s in states)
    T, B = outputs.shape[:2]
    last = (lengths - 1, torch.arange(B, device=lengths.device))
    alive = real_steps(lengths, T).unsqueeze(2)                  # (T, B, 1)
    return torch.where(alive, outputs, 0.0), tuple(s[last] for s in states)   # select, not scale


# σ'(pre) and tanh'(pre) from the activation y, fused with the product by g (one kernel, and
# no temporaries: at (T, B, H) sizes, allocating temporaries costs more than the arithmetic).
def _sigmoid_slope(g: Tensor, y: Tensor, out: Tensor | None = None) -> Tensor:
    """g ⊙ y(1 - y), y = σ(pre)."""
    return torch.ops.aten.sigmoid_backward(g, y) if out is None else \
        torch.ops.aten.sigmoid_backward.grad_input(g, y, grad_input=out)


def _tanh_slope(g: Tensor, y: Tensor, out: Tensor | None = None) -> Tensor:
    """g ⊙ (1 - y²), y = tanh(pre)."""
    return torch.ops.aten.tanh_backward(g, y) if out is None else \
        torch.ops.aten.tanh_backward.grad_input(g, y, grad_input=out)


def _shifted(first: Tensor, states: Tensor) -> Tensor:
    """(h_0, h_1, ..., h_{T-1}) from h_0 and (h_1, ..., h_T): the state each step started from."""
    return torch.cat([first.unsqueeze(0), states[:-1]])


# One model or a population: a per-step tensor is (B, n) for one model and (P, B, n) for P
# models, a weight (k, n) or (P, k, n). These pick the matching matmul, so that every Function
# has ONE body. For P models, torch.bmm / torch.baddbmm do P matmuls in one launch -- on CPU
# only when the result they write is contiguous; written into a slice (the r, z columns of a
# step's gates, say) they fall back to a loop of P matmuls. A contiguous temporary and one
# copy cost less than that loop, so a slice gets one.
def _mm(a: Tensor, b: Tensor, out: Tensor | None = None) -> Tensor:
    """a @ b, member by member if batched."""
    if a.dim() == 2:
        return torch.mm(a, b, out=out)
    if out is None or out.is_contiguous():
        return torch.bmm(a, b, out=out)
    return out.copy_(torch.bmm(a, b))


def _addmm(bias: Tensor, a: Tensor, b: Tensor, out: Tensor | None = None) -> Tensor:
    """bias + a @ b. A bias with one dim fewer than a is a row shared by the batch."""
    if a.dim() == 2:
        return torch.addmm(bias, a, b, out=out)
    if bias.dim() == 2:
        bias = bias.unsqueeze(1)                                 # (P, n) -> (P, 1, n)
    if out is None or out.is_contiguous():
        return torch.baddbmm(bias, a, b, out=out)
    return out.copy_(torch.baddbmm(bias, a, b))


def _addmm_(acc: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """acc += a @ b, in place."""
    if a.dim() == 2:
        return acc.addmm_(a, b)
    return acc.baddbmm_(a, b) if acc.is_contiguous() else acc.add_(torch.bmm(a, b))


def _flat_mm(a: Tensor, b: Tensor) -> Tensor:
    """Σ over steps and batch of a_t^T b_t: (T, [P,] B, m), (T, [P,] B, n) -> ([P,] m, n). One matmul."""
    if a.dim() == 3:
        return a.reshape(-1, a.shape[-1]).t() @ b.reshape(-1, b.shape[-1])
    # (T, P, B, .) -> (P, T*B, .): each member's rows side by side (a copy: T and B are not
    # adjacent in memory), then P matmuls in one bmm.
    a, b = (y.transpose(0, 1).reshape(y.shape[1], -1, y.shape[-1]) for y in (a, b))
    return torch.bmm(a.mT, b)


def _all_steps_addmm(bias: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """bias + a_t @ b for every step at once: (T, [P,] B, k) @ ([P,] k, n) -> (T, [P,] B, n)."""
    if a.dim() == 3:
        T, B, k = a.shape
        return torch.addmm(bias, a.reshape(-1, k), b).view(T, B, -1)
    T, P, B, k = a.shape
    rows = a.transpose(0, 1).reshape(P, T * B, k)               # (P, T*B, k), a copy
    return _addmm(bias, rows, b).view(P, T, B, -1).transpose(0, 1)


def _population(x: Tensor | None, in_dim: int | None, size: int, dim: int) -> Tensor | None:
    """x with the population at ``dim``: moved there if vmap batched it, else shared by all.

    A tensor that vmap did not batch (h0 = zeros, the same for every member, say) is
    expanded: a view, no copy; its gradient comes back summed over the members.
    """
    if x is None:
        return None
    if in_dim is None:
        return x.unsqueeze(dim).expand(*x.shape[:dim], size, *x.shape[dim:])
    return x.movedim(in_dim, dim)


def _vmap_rule(function, info, in_dims: tuple, args: tuple, out_dims):
    """What each Function's ``vmap`` staticmethod does: run the whole population in one call.

    vmap hands over the stacked tensors and, for each, the dim that holds the members
    (``in_dims``; None: shared). xw is time-first, (T, P, B, G), so its population goes to
    dim 1; every other input's to dim 0. The outputs say where theirs is (``out_dims``).
    """
    P = info.batch_size
    xw, *rest = args
    xw = _population(xw, in_dims[0], P, dim=1)
    # The small ones (states, weights) are made contiguous, a copy of a few KB per call: the
    # batched matmuls take their fast path only for contiguous (or transposed) members, and
    # U_t laid out row by row measured ~1.5x faster per step than the transposed view
    # weight_hh.t(). The big xw is only read, step by step, so it is left as it lies.
    rest = [None if x is None else _population(x, in_dim, P, dim=0).contiguous()
            for x, in_dim in zip(rest, in_dims[1:])]
    return function.apply(xw, *rest), out_dims


class LinearRecurrenceThroughTime(torch.autograd.Function):
    """h_t = a_t ⊙ h_{t-1} + b_t: the minimal cells' recurrence (nn/minimal.py), a_t and b_t
    computed beforehand from x_t alone.

    Backward: the gradient flows back through the same linear map, transposed (it is
    diagonal, so transposing changes nothing): dh_t = dout_t + a_{t+1} ⊙ dh_{t+1}, ONE
    fused op per step. Then, for all steps at once, db_t = dh_t, da_t = dh_t ⊙ h_{t-1}, and
    dh_0 = a_1 ⊙ dh_1. The loops hold no gate arithmetic: on a CPU, where each step of the
    python loop costs the launches of its ~10 ops and their autograd records, this is what
    a step can cost at least, and the scan's logcumsumexp is not needed.
    Shapes are for one model; a population adds P in front of B.
    """

    @staticmethod
    def forward(a, b, h0):                                       # (T, B, H), (T, B, H), (B, H)
        hs = b.new_empty(b.shape)                                # (T, B, H)
        h_at, a_at, b_at = hs.unbind(0), a.unbind(0), b.unbind(0)
        h = h0
        for t in range(b.shape[0]):
            h = torch.addcmul(b_at[t], a_at[t], h, out=h_at[t])  # h_t = a_t ⊙ h_{t-1} + b_t
        return hs

    @staticmethod
    def setup_context(ctx, inputs, output):
        a, _, h0 = inputs
        ctx.save_for_backward(a, h0, output)

    @staticmethod
    def backward(ctx, d_out):                                    # d_out: (T, B, H)
        a, h0, hs = ctx.saved_tensors
        d_h = torch.empty_like(hs)
        d_h_at, d_out_at, a_at = d_h.unbind(0), d_out.unbind(0), a.unbind(0)
        d_h_at[-1].copy_(d_out_at[-1])
        for t in range(hs.shape[0] - 2, -1, -1):
            torch.addcmul(d_out_at[t], a_at[t + 1], d_h_at[t + 1], out=d_h_at[t])  # dh_t
        return d_h * _shifted(h0, hs), d_h, a[0] * d_h[0]        # da, db, dh_0

    @staticmethod
    def vmap(info, in_dims, a, b, h0):
        P = info.batch_size
        a, b = (_population(x, d, P, dim=1) for x, d in zip((a, b), in_dims))   # (T, P, B, H)
        return LinearRecurrenceThroughTime.apply(a, b, _population(h0, in_dims[2], P, dim=0)), 1


class TanhThroughTime(torch.autograd.Function):
    """h_t = tanh(pre_t), pre_t = W x_t + U h_{t-1} + b.

    Backward: dpre_t = (dout_t + dpre_{t+1} U) ⊙ (1 - h_t²), two ops per step.
    Shapes are for one model; a population adds P in front of B (and of a weight's rows).
    """

    @staticmethod
    def forward(xw, h0, U_t):                                    # (T, B, H), (B, H), (H, H)
        hs = xw.new_empty(xw.shape)                              # (T, B, H)
        h_at, xw_at = hs.unbind(0), xw.unbind(0)                 # per-step views, made once
        h = h0
        for t in range(xw.shape[0]):
            _addmm(xw_at[t], h, U_t, out=h_at[t])                # W x_t + b + U h_{t-1}
            h = h_at[t].tanh_()                                  # h_t = tanh(...)
        return hs

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, h0, U_t = inputs
        ctx.save_for_backward(output, h0, U_t)

    @staticmethod
    def backward(ctx, d_out):                                    # d_out: (T, B, H)
        hs, h0, U_t = ctx.saved_tensors
        T = hs.shape[0]
        d_pre = torch.empty_like(hs)
        d_pre_at, d_out_at, h_at = d_pre.unbind(0), d_out.unbind(0), hs.unbind(0)
        U = U_t.mT.contiguous()                                  # weight_hh: no copy for one model
        _tanh_slope(d_out_at[-1], h_at[-1], out=d_pre_at[-1])
        for t in range(T - 2, -1, -1):
            _addmm(d_out_at[t], d_pre_at[t + 1], U, out=d_pre_at[t])        # dh_t
            _tanh_slope(d_pre_at[t], h_at[t], out=d_pre_at[t])              # dpre_t = dh_t ⊙ (1 - h_t²)
        return d_pre, d_pre[0] @ U, _flat_mm(_shifted(h0, hs), d_pre)

    @staticmethod
    def vmap(info, in_dims, xw, h0, U_t):
        return _vmap_rule(TanhThroughTime, info, in_dims, (xw, h0, U_t), out_dims=1)


class PaperGRUThroughTime(torch.autograd.Function):
    """The paper's GRU, eqs. (5)-(8); xw holds the blocks [r, z, candidate].

        r, z = σ(pre_r), σ(pre_z)            pre = W x + U h_{t-1} (+ b)
        h̃    = tanh(pre_h̃)                  pre_h̃ = W x + U_h̃ (r ⊙ h_{t-1}) (+ b)
        h_t  = h_{t-1} + z ⊙ (h̃ - h_{t-1})

    Backward, with dh = dh_t (the output's gradient plus what step t+1 sent back):
        dpre_h̃ = dh ⊙ z ⊙ (1 - h̃²)
        d(r⊙h) = dpre_h̃ U_h̃
        dpre_r = d(r⊙h) ⊙ h_{t-1} ⊙ r(1-r),   dpre_z = dh ⊙ (h̃ - h_{t-1}) ⊙ z(1-z)
        dh_{t-1} = dout_{t-1} + dh ⊙ (1-z) + d(r⊙h) ⊙ r + [dpre_r dpre_z] U_rz

    Returns (hs, gates): the gates r, z, h̃ of every step are kept for the backward.
    """

    @staticmethod
    def forward(xw, h0, U_t):                                    # (T, B, 3H), (B, H), (H, 3H)
        H = xw.shape[-1] // 3
        U_rz_t, U_cand_t = U_t[..., :2 * H], U_t[..., 2 * H:]
        gates = xw.new_empty(xw.shape)                           # (T, B, 3H): r, z, h̃, kept
        step_gates = xw.new_empty(xw.shape[1:])                  # scratch: this step's r, z, h̃
        rz, cand = step_gates[..., :2 * H], step_gates[..., 2 * H:]
        r, z, r_h = rz[..., :H], rz[..., H:], h0.new_empty(h0.shape)
        hs = xw.new_empty(xw.shape[:-1] + (H,))                  # (T, B, H)
        h_at, gates_at = hs.unbind(0), gates.unbind(0)
        xw_rz_at, xw_cand_at = xw[..., :2 * H].unbind(0), xw[..., 2 * H:].unbind(0)
        h = h0
        for t in range(xw.shape[0]):
            _addmm(xw_rz_at[t], h, U_rz_t, out=rz).sigmoid_()        # r, z = σ(W x + U h_{t-1})
            torch.mul(r, h, out=r_h)                                  # r ⊙ h_{t-1}
            _addmm(xw_cand_at[t], r_h, U_cand_t, out=cand).tanh_()    # h̃ = tanh(W x + U(r ⊙ h))
            h = torch.lerp(h, cand, z, out=h_at[t])                   # h = h_{t-1} + z (h̃ - h_{t-1})
            gates_at[t].copy_(step_gates)
        return hs, gates

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, h0, U_t = inputs
        hs, gates = output
        ctx.mark_non_differentiable(gates)
        ctx.save_for_backward(gates, h0, U_t, hs)

    @staticmethod
    def backward(ctx, d_out, _):
        gates, h0, U_t, hs = ctx.saved_tensors
        T, H = gates.shape[0], gates.shape[-1] // 3
        U_rz_t, U_cand_t = U_t[..., :2 * H], U_t[..., 2 * H:]
        h_prev = _shifted(h0, hs)                                           # (T, B, H)
        r, z, cand = gates.split(H, -1)
        r_h = r * h_prev
        # Chain-rule coefficients: dpre_h̃ = dh ⊙ k_cand; [dpre_r, dpre_z] = [d(r⊙h), dh] ⊙ k_rz.
        k_cand = _tanh_slope(z, cand)                                       # z (1 - h̃²)
        k_rz = gates.new_empty(hs.shape[:-1] + (2, H))                      # (T, B, 2, H)
        _sigmoid_slope(h_prev, r, out=k_rz[..., 0, :])                      # h_{t-1} r(1-r)
        _sigmoid_slope(torch.sub(cand, h_prev, out=k_rz[..., 1, :]), z, out=k_rz[..., 1, :])  # (h̃-h) z(1-z)
        keep = torch.neg(z).add_(1)                                         # ∂h_t/∂h_{t-1}, direct path

        # d_both[t] = [d(r⊙h_{t-1}), dh_t]; dh_t starts as dout_t and gathers what t+1 sends back.
        d_both = gates.new_empty(hs.shape[:-1] + (2, H))                    # (T, B, 2, H)
        d_both[..., 1, :] = d_out
        d_xw = torch.empty_like(gates)                                      # (T, B, 3H)
        d_pre_rz, d_pre_cand = d_xw[..., :2 * H], d_xw[..., 2 * H:]
        U_rz, U_cand = U_rz_t.mT.contiguous(), U_cand_t.mT.contiguous()     # no copy for one model
        both_at, d_rh_at, dh_at = d_both.unbind(0), d_both[..., 0, :].unbind(0), d_both[..., 1, :].unbind(0)
        d_pre_rz_at, d_pre_rz2_at = d_pre_rz.unbind(0), d_pre_rz.unflatten(-1, (2, H)).unbind(0)
        d_pre_cand_at = d_pre_cand.unbind(0)
        k_cand_at, k_rz_at, keep_at, r_at = k_cand.unbind(0), k_rz.unbind(0), keep.unbind(0), r.unbind(0)
        for t in range(T - 1, -1, -1):
            torch.mul(dh_at[t], k_cand_at[t], out=d_pre_cand_at[t])        # dpre_h̃
            _mm(d_pre_cand_at[t], U_cand, out=d_rh_at[t])                   # d(r ⊙ h_{t-1})
            torch.mul(both_at[t], k_rz_at[t], out=d_pre_rz2_at[t])          # dpre_r, dpre_z
            if t > 0:
                _addmm_(dh_at[t - 1], d_pre_rz_at[t], U_rz)                 # + [dpre_r dpre_z] U_rz
                dh_at[t - 1].addcmul_(dh_at[t], keep_at[t])                 # + dh ⊙ (1 - z)
                dh_at[t - 1].addcmul_(d_rh_at[t], r_at[t])                  # + d(r⊙h) ⊙ r
        dh0 = d_pre_rz[0] @ U_rz + d_both[0, ..., 1, :] * keep[0] + d_both[0, ..., 0, :] * r[0]
        d_U_t = torch.cat([_flat_mm(h_prev, d_pre_rz), _flat_mm(r_h, d_pre_cand)], -1)
        return d_xw, dh0, d_U_t

    @staticmethod
    def vmap(info, in_dims, xw, h0, U_t):
        return _vmap_rule(PaperGRUThroughTime, info, in_dims, (xw, h0, U_t), out_dims=(1, 1))


class TorchGRUThroughTime(torch.autograd.Function):
    """nn.GRU's form; xw holds [r, z, n], b_hh = [0, 0, b_hn].

        uh   = U h_{t-1} + b_hh                        one matmul for all three blocks
        r, z = σ(xw_r + uh_r), σ(xw_z + uh_z)
        n    = tanh(xw_n + r ⊙ uh_n)
        h_t  = n + z ⊙ (h_{t-1} - n)

    Backward: every pre-activation's gradient is dh_t times a coefficient known in advance:
        dpre_n = dh ⊙ k_n,              k_n = (1-z)(1-n²)
        d(uh)  = dh ⊙ [k_n ⊙ uh_n ⊙ r(1-r),  (h_{t-1} - n) ⊙ z(1-z),  k_n ⊙ r]     (blocks r, z, n)
        dh_{t-1} = dout_{t-1} + dh ⊙ z + d(uh) U
    so the loop is three ops per step.
    """

    @staticmethod
    def forward(xw, h0, U_t, b_hh):                              # (T, B, 3H), (B, H), (H, 3H), (3H,)
        H = xw.shape[-1] // 3
        uh = xw.new_empty(xw.shape[1:])                          # scratch: U h_{t-1} + b_hh, (B, 3H)
        rz, n = h0.new_empty(h0.shape[:-1] + (2 * H,)), h0.new_empty(h0.shape)  # r, z and n
        uh_rz, uh_n, r, z = uh[..., :2 * H], uh[..., 2 * H:], rz[..., :H], rz[..., H:]
        hs = xw.new_empty(xw.shape[:-1] + (H,))                  # (T, B, H)
        h_at, xw_rz_at, xw_n_at = hs.unbind(0), xw[..., :2 * H].unbind(0), xw[..., 2 * H:].unbind(0)
        h = h0
        for t in range(xw.shape[0]):
            _addmm(b_hh, h, U_t, out=uh)                                 # U h_{t-1} + b_hh
            torch.add(xw_rz_at[t], uh_rz, out=rz).sigmoid_()             # r, z
            torch.addcmul(xw_n_at[t], r, uh_n, out=n).tanh_()            # n = tanh(W_n x + r ⊙ uh_n)
            h = torch.lerp(n, h, z, out=h_at[t])                         # h = (1 - z) n + z h_{t-1}
        return hs

    @staticmethod
    def setup_context(ctx, inputs, output):
        xw, h0, U_t, b_hh = inputs
        ctx.save_for_backward(xw, h0, U_t, b_hh, output)

    @staticmethod
    def backward(ctx, d_out):
        xw, h0, U_t, b_hh, hs = ctx.saved_tensors
        T, H = xw.shape[0], xw.shape[-1] // 3
        h_prev = _shifted(h0, hs)
        uh = _all_steps_addmm(b_hh, h_prev, U_t)                             # U h + b_hh again, one matmul
        rz = torch.add(xw[..., :2 * H], uh[..., :2 * H]).sigmoid_()
        r, z = rz[..., :H], rz[..., H:]
        n = torch.addcmul(xw[..., 2 * H:], r, uh[..., 2 * H:]).tanh_()
        k_n = _tanh_slope(torch.neg(z).add_(1), n)                           # dpre_n = dh ⊙ (1-z)(1-n²)
        k_uh = xw.new_empty(hs.shape[:-1] + (3, H))                          # d(uh) = dh ⊙ k_uh:
        _sigmoid_slope(torch.mul(k_n, uh[..., 2 * H:], out=k_uh[..., 0, :]), r, out=k_uh[..., 0, :])  # uh_r
        _sigmoid_slope(torch.sub(h_prev, n, out=k_uh[..., 1, :]), z, out=k_uh[..., 1, :])             # uh_z
        torch.mul(k_n, r, out=k_uh[..., 2, :])                                                        # uh_n

        dh = d_out.clone(memory_format=torch.contiguous_format)              # dh_t, filled backwards
        d_uh = torch.empty_like(xw, memory_format=torch.contiguous_format)   # (T, B, 3H)
        U = U_t.mT.contiguous()                                  # weight_hh: no copy for one model
        dh_at, dh1_at = dh.unbind(0), dh.unsqueeze(-2).unbind(0)
        d_uh_at, d_uh3_at = d_uh.unbind(0), d_uh.unflatten(-1, (3, H)).unbind(0)
        k_uh_at, z_at = k_uh.unbind(0), z.unbind(0)
        for t in range(T - 1, -1, -1):
            torch.mul(dh1_at[t], k_uh_at[t], out=d_uh3_at[t])                # d(uh) = dh ⊙ k
            if t > 0:
                _addmm_(dh_at[t - 1], d_uh_at[t], U)                         # + d(uh) U
                dh_at[t - 1].addcmul_(dh_at[t], z_at[t])                     # + dh ⊙ z
        dh0 = d_uh[0] @ U + dh[0] * z[0]
        d_U_t, d_b_hh = _flat_mm(h_prev, d_uh), d_uh.sum((0, -2))
        d_xw = d_uh                                  # xw_r, xw_z enter where uh_r, uh_z do ...
        torch.mul(dh, k_n, out=d_xw[..., 2 * H:])    # ... but xw_n outside r ⊙ (.): reuse the buffer
        return d_xw, dh0, d_U_t, d_b_hh

    @staticmethod
    def vmap(info, in_dims, xw, h0, U_t, b_hh):
        return _vmap_rule(TorchGRUThroughTime, info, in_dims, (xw, h0, U_t, b_hh), out_dims=1)


class LSTMThroughTime(torch.autograd.Function):
    """The LSTM, eqs. (1)-(4); xw holds [i, f, c̃, o]; V = rows (V_i, V_f, V_o), or None.

    Backward, with dh = dh_t and dc = dc_t (each gathering what step t+1 sends back):
        dpre_o = dh ⊙ tanh(c) ⊙ o(1-o)
        dc    += dh ⊙ o ⊙ (1 - tanh²c) + dpre_o ⊙ V_o        = dh ⊙ k_c
        [dpre_i, dpre_f, dpre_c̃] = dc ⊙ [c̃ i(1-i), c_{t-1} f(1-f), i(1-c̃²)]
        dc_{t-1} = dc ⊙ (f + dpre_i/dc ⊙ V_i + dpre_f/dc ⊙ V_f) = dc ⊙ k_carry
        dh_{t-1} = dout_{t-1} + dpre U

    Returns (hs, cs, gates): the gates i, f, c̃, o of every step are kept for the backward.
    """

    @staticmethod
    def forward(xw, h0, c0, U_t, V):                             # (T, B, 4H), (B, H) x2, (H, 4H), (3, H)
        H = xw.shape[-1] // 4
        pre = xw.new_empty(xw.shape[1:])                         # scratch: i, f, c̃, o of this step
        i, f, cand, o = pre.chunk(4, -1)
        i_f, i_f2 = pre[..., :2 * H], pre[..., :2 * H].unflatten(-1, (2, H))
        tanh_c = h0.new_empty(h0.shape)
        hs, cs = xw.new_empty(xw.shape[:-1] + (H,)), xw.new_empty(xw.shape[:-1] + (H,))
        gates = xw.new_empty(xw.shape)                           # (T, B, 4H): i, f, c̃, o, kept
        h_at, c_at, xw_at, gates_at = hs.unbind(0), cs.unbind(0), xw.unbind(0), gates.unbind(0)
        if V is not None:
            # V_i, V_f as (1, 2, H) and V_o as (1, H): the 1 broadcasts over the batch.
            V_if, V_o = V[..., None, :2, :], V[..., None, 2, :]
            c1_at = (c0.unsqueeze(-2),) + cs.unsqueeze(-2).unbind(0)   # c_{t-1} as (B, 1, H)
        h, c = h0, c0
        for t in range(xw.shape[0]):
            _addmm(xw_at[t], h, U_t, out=pre)                    # W x_t + U h_{t-1} + b, 4 blocks
            if V is not None:
                i_f2.addcmul_(c1_at[t], V_if)                    # + V_i ⊙ c_{t-1}, V_f ⊙ c_{t-1}
            i_f.sigmoid_()                                       # i_t, f_t
            cand.tanh_()                                         # c̃_t
            c = torch.mul(f, c, out=c_at[t]).addcmul_(i, cand)   # c_t = f ⊙ c_{t-1} + i ⊙ c̃
            if V is not None:
                o.addcmul_(c, V_o)                               # + V_o ⊙ c_t
            o.sigmoid_()                                         # o_t
            torch.tanh(c, out=tanh_c)
            h = torch.mul(o, tanh_c, out=h_at[t])                # h_t = o ⊙ tanh(c_t)
            gates_at[t].copy_(pre)
        return hs, cs, gates

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, h0, c0, U_t, V = inputs
        hs, cs, gates = output
        ctx.mark_non_differentiable(gates)
        ctx.save_for_backward(gates, h0, c0, U_t, V, hs, cs)

    @staticmethod
    def backward(ctx, d_hs, d_cs, _):
        gates, h0, c0, U_t, V, hs, cs = ctx.saved_tensors
        T, H = gates.shape[0], gates.shape[-1] // 4
        h_prev, c_prev = _shifted(h0, hs), _shifted(c0, cs)
        i, f, cand, o = gates.chunk(4, -1)
        tanh_c = torch.tanh(cs)
        k_o = _sigmoid_slope(tanh_c, o)                                      # dpre_o = dh ⊙ k_o
        k_c = _tanh_slope(o, tanh_c)                                         # dc += dh ⊙ k_c
        k_ifc = gates.new_empty(hs.shape[:-1] + (3, H))                      # dpre_i,f,c̃ = dc ⊙ k_ifc
        _sigmoid_slope(cand, i, out=k_ifc[..., 0, :])
        _sigmoid_slope(c_prev, f, out=k_ifc[..., 1, :])
        _tanh_slope(i, cand, out=k_ifc[..., 2, :])
        k_carry = f                                                          # dc_{t-1} = dc ⊙ k_carry
        if V is not None:
            V_i, V_f, V_o = (V[..., None, k, :] for k in range(3))           # (1, H): over the batch
            k_c.addcmul_(k_o, V_o)
            k_carry = torch.addcmul(f, k_ifc[..., 0, :], V_i).addcmul_(k_ifc[..., 1, :], V_f)

        d_pre = torch.empty_like(gates)                                      # (T, B, 4H)
        dh, dc = h0.new_empty(h0.shape), c0.new_empty(c0.shape)                  # scratch
        dc1 = dc.unsqueeze(-2)                                   # (B, 1, H), broadcasts over i, f, c̃
        U = U_t.mT.contiguous()                                  # weight_hh: no copy for one model
        d_pre_at, d_pre_ifc_at = d_pre.unbind(0), d_pre[..., :3 * H].unflatten(-1, (3, H)).unbind(0)
        d_pre_o_at = d_pre[..., 3 * H:].unbind(0)
        d_hs_at, d_cs_at = d_hs.unbind(0), d_cs.unbind(0)
        k_o_at, k_c_at, k_ifc_at, k_carry_at = (k.unbind(0) for k in (k_o, k_c, k_ifc, k_carry))
        dh.copy_(d_hs_at[-1])
        dc.copy_(d_cs_at[-1])
        for t in range(T - 1, -1, -1):
            if t < T - 1:
                _addmm(d_hs_at[t], d_pre_at[t + 1], U, out=dh)                 # dh_t = dout_t + dpre_{t+1} U
                torch.addcmul(d_cs_at[t], dc, k_carry_at[t + 1], out=dc)       # dc from c_{t+1}
            dc.addcmul_(dh, k_c_at[t])                                         # + through h_t (and V_o)
            torch.mul(dc1, k_ifc_at[t], out=d_pre_ifc_at[t])                   # dpre_i, dpre_f, dpre_c̃
            torch.mul(dh, k_o_at[t], out=d_pre_o_at[t])                        # dpre_o
        dh0, dc0 = d_pre[0] @ U, dc * k_carry[0]
        d_V = None
        if V is not None:
            product = torch.empty_like(cs)
            d_V = torch.stack([torch.mul(d_pre[..., k * H:(k + 1) * H], c, out=product).sum((0, -2))
                               for k, c in ((0, c_prev), (1, c_prev), (3, cs))], -2)
        return d_pre, dh0, dc0, _flat_mm(h_prev, d_pre), d_V

    @staticmethod
    def vmap(info, in_dims, xw, h0, c0, U_t, V):
        return _vmap_rule(LSTMThroughTime, info, in_dims, (xw, h0, c0, U_t, V), out_dims=(1, 1, 1))
