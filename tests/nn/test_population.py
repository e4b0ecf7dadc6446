"""A population of layers under torch.vmap (gru_lib/nn/bptt.py) against its members run one by one.

P layers that differ only in their weights are stacked (torch.func.stack_module_state) and run
as ``vmap(functional_call(layer, ...))``. Each backward-through-time Function then runs the whole
population in ONE loop, with a leading population dim. These tests check, in float64, that this
gives each member exactly what it gets alone: outputs, final states and every gradient.
"""
import copy

import pytest
import torch
from torch.func import functional_call, stack_module_state

from gru_lib import Recurrent, make_cell
from gru_lib.nn import bptt

CELLS = [("tanh", {}), ("gru", {}), ("gru", {"variant": "torch"}),
         ("lstm", {}), ("lstm", {"peepholes": False})]
IDS = ["tanh", "gru-paper", "gru-torch", "lstm-peepholes", "lstm-plain"]
P, T, B, D, H = 3, 9, 4, 5, 6
LENGTHS = torch.tensor([9, 3, 7, 1])


def _members(kind, options, n=P, D=D, H=H):
    """n bptt layers of one kind, each from its own seed (weights larger than the default init)."""
    layers = []
    for seed in range(n):
        torch.manual_seed(seed)
        layer = Recurrent(make_cell(kind, D, H, **options), backend="bptt").double()
        with torch.no_grad():
            for p in layer.parameters():
                p.uniform_(-0.6, 0.6)
        layers.append(layer)
    return layers


def _population(layers, x_dim=None, state_dim=None):
    """(params, f): the stacked parameters and the vmapped layer f(params, x, lengths, state)."""
    params, buffers = stack_module_state(layers)
    skeleton = copy.deepcopy(layers[0]).to("meta")           # structure only; weights come from params

    def one(p, x, lengths, state):
        out = functional_call(skeleton, (p, buffers), (x, lengths, state))
        return out.outputs, out.state

    return params, torch.vmap(one, in_dims=(0, x_dim, None, state_dim))


def _loss(outputs, state, w_out, w_state):
    return (outputs * w_out).sum() + sum((s * w).sum() for s, w in zip(state, w_state))


def _weights(kind, n_state, lead=()):
    torch.manual_seed(7)
    return (torch.randn(*lead, T, B, H, dtype=torch.float64),
            [torch.randn(*lead, B, H, dtype=torch.float64) for _ in range(n_state)])


def _assert_close(a, b):
    torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
def test_population_matches_its_members_run_alone(kind, options, lengths):
    layers = _members(kind, options)
    n_state = layers[0].cell.state_size
    torch.manual_seed(3)
    x = torch.randn(T, B, D, dtype=torch.float64)          # one batch, shared by every member
    params, f = _population(layers)
    outputs, state = f(params, x, lengths, None)
    w_out, w_state = _weights(kind, n_state, lead=(P,))
    grads = torch.autograd.grad(_loss(outputs, state, w_out, w_state), list(params.values()))

    assert outputs.shape == (P, T, B, H) and all(s.shape == (P, B, H) for s in state)
    for k, layer in enumerate(layers):
        alone = layer(x, lengths)
        loss = _loss(alone.outputs, alone.state, w_out[k], [w[k] for w in w_state])
        _assert_close(outputs[k], alone.outputs)
        for s, s_alone in zip(state, alone.state):
            _assert_close(s[k], s_alone)
        for name, g, g_alone in zip(params, grads, torch.autograd.grad(loss, list(layer.parameters()))):
            assert g.shape == (P, *g_alone.shape), name
            _assert_close(g[k], g_alone)


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
def test_each_member_its_own_batch_and_initial_state(kind, options):
    layers = _members(kind, options)
    n_state = layers[0].cell.state_size
    torch.manual_seed(4)
    x = torch.randn(P, T, B, D, dtype=torch.float64, requires_grad=True)      # in_dims=0: per member
    state = tuple(torch.randn(P, B, H, dtype=torch.float64, requires_grad=True) for _ in range(n_state))
    params, f = _population(layers, x_dim=0, state_dim=0)
    outputs, final = f(params, x, LENGTHS, state)
    w_out, w_state = _weights(kind, n_state, lead=(P,))
    inputs = [x, *state, *params.values()]
    grads = torch.autograd.grad(_loss(outputs, final, w_out, w_state), inputs)

    for k, layer in enumerate(layers):
        x_k = x[k].detach().requires_grad_()
        state_k = tuple(s[k].detach().requires_grad_() for s in state)
        alone = layer(x_k, LENGTHS, state_k)
        loss = _loss(alone.outputs, alone.state, w_out[k], [w[k] for w in w_state])
        grads_alone = torch.autograd.grad(loss, [x_k, *state_k, *layer.parameters()])
        _assert_close(outputs[k], alone.outputs)
        for s, s_alone in zip(final, alone.state):
            _assert_close(s[k], s_alone)
        for g, g_alone in zip(grads, grads_alone):
            _assert_close(g[k], g_alone)


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
def test_a_state_shared_by_all_members_gets_the_sum_of_their_gradients(kind, options):
    layers = _members(kind, options)
    n_state = layers[0].cell.state_size
    torch.manual_seed(5)
    x = torch.randn(T, B, D, dtype=torch.float64)
    state = tuple(torch.randn(B, H, dtype=torch.float64, requires_grad=True) for _ in range(n_state))
    params, f = _population(layers)                        # state: in_dim None, expanded to P inside
    outputs, final = f(params, x, LENGTHS, state)
    w_out, w_state = _weights(kind, n_state, lead=(P,))
    grads = torch.autograd.grad(_loss(outputs, final, w_out, w_state), state)
    expected = [torch.zeros_like(s) for s in state]
    for k, layer in enumerate(layers):
        alone = layer(x, LENGTHS, state)
        loss = _loss(alone.outputs, alone.state, w_out[k], [w[k] for w in w_state])
        for total, g in zip(expected, torch.autograd.grad(loss, state)):
            total += g
    for g, e in zip(grads, expected):
        _assert_close(g, e)


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
def test_padded_steps_do_not_leak_under_vmap(kind, options):
    params, f = _population(_members(kind, options))
    torch.manual_seed(6)
    x = torch.randn(T, B, D, dtype=torch.float64)
    outputs, state = f(params, x, LENGTHS, None)
    for b, length in enumerate(LENGTHS.tolist()):
        if length < T:
            assert outputs[:, length:, b].abs().max() == 0   # zero after the length
        assert outputs[:, :length, b].abs().min() > 0      # the real steps are there
        _assert_close(state[0][:, b], outputs[:, length - 1, b])   # final h = h at length - 1
    # Changing x after a sequence's end changes nothing of that sequence.
    x2 = x.clone()
    x2[LENGTHS[1]:, 1] += 10.0
    outputs2, state2 = f(params, x2, LENGTHS, None)
    assert torch.equal(outputs2[:, :, 1], outputs[:, :, 1])
    for s, s2 in zip(state, state2):
        assert torch.equal(s2[:, 1], s[:, 1])


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
def test_vmap_runs_one_loop_for_the_whole_population(kind, options, monkeypatch):
    """No fallback to P loops: the Function's forward is called once, with the population dim."""
    function = {"tanh": bptt.TanhThroughTime, "lstm": bptt.LSTMThroughTime}.get(
        kind, bptt.TorchGRUThroughTime if options.get("variant") == "torch" else bptt.PaperGRUThroughTime)
    calls = []
    forward = function.forward

    def spy(xw, *rest):
        calls.append(tuple(xw.shape))
        return forward(xw, *rest)

    monkeypatch.setattr(function, "forward", staticmethod(spy))
    params, f = _population(_members(kind, options))
    outputs, _ = f(params, torch.randn(T, B, D, dtype=torch.float64), LENGTHS, None)
    outputs.sum().backward()
    assert len(calls) == 1 and calls[0][:3] == (T, P, B)


def _function_inputs(kind, options, lead, T=3, B=2, H=2, seed=0):
    """Random inputs of one Function in the layout ``lead`` = () for one model or (P,)."""
    torch.manual_seed(seed)
    G = {"tanh": 1, "gru": 3, "lstm": 4}[kind] * H

    def r(*shape):
        return (torch.rand(*shape, dtype=torch.float64) * 1.2 - 0.6).requires_grad_()

    xw = r(T, *lead, B, G)
    if kind == "tanh":
        return bptt.TanhThroughTime, (xw, r(*lead, B, H), r(*lead, H, G))
    if kind == "gru" and options.get("variant") == "torch":
        return bptt.TorchGRUThroughTime, (xw, r(*lead, B, H), r(*lead, H, G), r(*lead, G))
    if kind == "gru":
        return bptt.PaperGRUThroughTime, (xw, r(*lead, B, H), r(*lead, H, G))
    V = r(*lead, 3, H) if options.get("peepholes", True) else None
    return bptt.LSTMThroughTime, (xw, r(*lead, B, H), r(*lead, B, H), r(*lead, H, G), V)


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
def test_gradcheck_in_the_population_layout(kind, options):
    function, args = _function_inputs(kind, options, lead=(2,))
    n_out = 2 if kind == "lstm" else 1                     # hs (and cs); the kept gates are not differentiable
    tensors = [a for a in args if a is not None]

    def f(*tensors):
        it = iter(tensors)
        out = function.apply(*(None if a is None else next(it) for a in args))
        return out if isinstance(out, torch.Tensor) else out[:n_out]

    assert torch.autograd.gradcheck(f, tuple(tensors))


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
def test_population_layout_is_each_member_in_the_single_layout(kind, options):
    """The Function called directly with P members = the same Function on each member alone."""
    function, args = _function_inputs(kind, options, lead=(3,))
    together = function.apply(*args)
    together = (together,) if isinstance(together, torch.Tensor) else together
    for k in range(3):
        alone = function.apply(*(None if a is None else (a[:, k] if i == 0 else a[k])
                                 for i, a in enumerate(args)))
        alone = (alone,) if isinstance(alone, torch.Tensor) else alone
        for a, b in zip(together, alone):
            _assert_close(a[:, k], b)


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
def test_gradcheck_through_vmap(kind, options):
    """The vmap rule itself (moving, expanding, contiguous) is differentiable and exact."""
    layers = _members(kind, options, n=2, D=3, H=2)
    params, f = _population(layers)
    names = list(params)
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    lengths = torch.tensor([4, 2])

    def g(*values):
        outputs, state = f(dict(zip(names, values)), x, lengths, None)
        return (outputs, *state)

    values = tuple(params[n].detach().clone().requires_grad_() for n in names)
    assert torch.autograd.gradcheck(g, values)


@pytest.mark.parametrize("kind,options", CELLS, ids=IDS)
def test_one_model_still_matches_the_reference_loop(kind, options):
    """Without vmap nothing changed: bptt = autograd through cell.step, in float64."""
    layer = _members(kind, options, n=1)[0]
    torch.manual_seed(8)
    x = torch.randn(T, B, D, dtype=torch.float64, requires_grad=True)
    state = tuple(torch.randn(B, H, dtype=torch.float64, requires_grad=True)
                  for _ in range(layer.cell.state_size))
    w_out, w_state = _weights(kind, len(state))
    results = []
    for backend in ("python", "bptt"):
        out = Recurrent(layer.cell, backend=backend)(x, LENGTHS, state)
        grads = torch.autograd.grad(_loss(out.outputs, out.state, w_out, w_state),
                                    [x, *state, *layer.parameters()])
        results.append((out.outputs, out.state, grads))
    (out_ref, state_ref, grads_ref), (out, final, grads) = results
    torch.testing.assert_close(out, out_ref, atol=1e-12, rtol=1e-10)
    for a, b in zip(final, state_ref):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)
    for a, b in zip(grads, grads_ref):
        _assert_close(a, b)
