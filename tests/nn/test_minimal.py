"""Tests of gru_lib.nn.minimal and gru_lib.nn.scan: minGRU and minLSTM (Feng et al. 2024), the
loop over their ``step`` against the log-space parallel scan and against the hand-written
backward of their linear recurrence (nn/bptt.py), in float64: outputs, final states and
gradients agree to 1e-10, gradcheck passes, padding is sealed, and the scan stays finite and
exact over MuseData's 4,273-step pieces."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state

from gru_lib import MinGRUCell, MinLSTMCell, Recurrent, make_cell
from gru_lib.nn.bptt import LinearRecurrenceThroughTime
from gru_lib.nn.minimal import g, log_g
from gru_lib.nn.padding import real_steps
from gru_lib.nn.scan import linear_scan

KINDS = ["mingru", "minlstm"]
FAST = ["scan", "bptt"]             # the two backends that are checked against the loop
T, B, D, H = 9, 4, 5, 6
LENGTHS = torch.tensor([9, 3, 7, 1])


def cell_of(kind, seed=0, scale=0.8, **options):
    torch.manual_seed(seed)
    cell = make_cell(kind, D, H, **options).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.uniform_(-scale, scale)
    return cell


def inputs(seed=1, T=T):
    torch.manual_seed(seed)
    return torch.randn(T, B, D, dtype=torch.float64)


def initial(sign):
    """h0 > 0, = 0 or mixed: log-space needs h > 0, so the scan keeps h0's term apart."""
    torch.manual_seed(2)
    h0 = torch.rand(B, H, dtype=torch.float64) + 0.1
    return {"positive": h0, "zero": torch.zeros_like(h0),
            "mixed": h0 * torch.randn(B, H, dtype=torch.float64).sign()}[sign]


def run(cell, backend, x, lengths=None, h0=None):
    """(outputs, final h, grads of params, x and h0) through ``backend``."""
    x = x.clone().requires_grad_()
    h0 = None if h0 is None else h0.clone().requires_grad_()
    cell.zero_grad()
    out = Recurrent(cell, backend=backend)(x, lengths, h0)
    torch.manual_seed(3)
    w = torch.randn_like(out.outputs)
    ((out.outputs * w).sum() + out.state[0].pow(2).sum()).backward()
    grads = [p.grad.clone() for p in cell.parameters()] + [x.grad]
    grads += [] if h0 is None else [h0.grad]
    return out.outputs.detach(), out.state[0].detach(), grads


def assert_same(a, b, tol=1e-10):
    for u, v in zip(a[:2], b[:2]):
        torch.testing.assert_close(u, v, rtol=tol, atol=tol)
    assert len(a[2]) == len(b[2])
    for u, v in zip(a[2], b[2]):
        torch.testing.assert_close(u, v, rtol=tol, atol=tol)


# -- the equations ------------------------------------------------------------------------------

def test_g_is_positive_continuous_and_log_g_is_its_log():
    k = torch.linspace(-30, 30, 601, dtype=torch.float64)
    assert (g(k) > 0).all()
    assert g(torch.tensor(0.0)) == 0.5 and torch.allclose(g(k[k >= 0]), k[k >= 0] + 0.5)
    torch.testing.assert_close(log_g(k), torch.log(g(k)), rtol=1e-12, atol=1e-12)
    k = torch.tensor([-50.0, 0.0, 50.0], dtype=torch.float64, requires_grad=True)
    log_g(k).sum().backward()
    assert torch.isfinite(k.grad).all()                  # neither branch leaks a NaN


@pytest.mark.parametrize("candidate", ["g", "linear"])
def test_min_gru_step_is_the_equations(candidate):
    cell = cell_of("mingru", candidate=candidate)
    x, h_prev = inputs()[0], initial("mixed")
    W_z, W_h = cell.weight_ih.chunk(2)
    b_z, b_h = cell.bias.chunk(2)
    z = torch.sigmoid(x @ W_z.T + b_z)                   # z_t = σ(Linear_z(x_t))
    k = x @ W_h.T + b_h
    cand = g(k) if candidate == "g" else k               # h̃_t
    expected = (1 - z) * h_prev + z * cand
    torch.testing.assert_close(cell(x, (h_prev,))[0], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("candidate", ["g", "linear"])
def test_min_lstm_step_is_the_equations(candidate):
    cell = cell_of("minlstm", candidate=candidate)
    x, h_prev = inputs()[0], initial("mixed")
    W_f, W_i, W_h = cell.weight_ih.chunk(3)
    b_f, b_i, b_h = cell.bias.chunk(3)
    f, i = torch.sigmoid(x @ W_f.T + b_f), torch.sigmoid(x @ W_i.T + b_i)
    k = x @ W_h.T + b_h
    cand = g(k) if candidate == "g" else k
    expected = f / (f + i) * h_prev + i / (f + i) * cand
    torch.testing.assert_close(cell(x, (h_prev,))[0], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_log_coefficients_are_the_logs_of_the_steps_coefficients(kind):
    """h_t = a_t h_{t-1} + b_t: b_t is the step from h = 0, a_t the slope in h."""
    cell = cell_of(kind)
    xw = cell.input_projection(inputs())
    log_a, log_b = cell.log_coefficients(xw)
    parts = [p for p in cell.split_projection(xw)]
    zero = torch.zeros(T, B, H, dtype=torch.float64)
    b = cell.step(parts, (zero,), ())[0]
    a = cell.step(parts, (torch.ones_like(zero),), ())[0] - b
    torch.testing.assert_close(log_a.exp(), a, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(log_b.exp(), b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("candidate", ["g", "linear"])
def test_coefficients_are_the_steps_coefficients(kind, candidate):
    cell = cell_of(kind, candidate=candidate)
    xw = cell.input_projection(inputs())
    a, b = cell.coefficients(xw)
    zero = torch.zeros(T, B, H, dtype=torch.float64)
    b_step = cell.step(cell.split_projection(xw), (zero,), ())[0]
    a_step = cell.step(cell.split_projection(xw), (torch.ones_like(zero),), ())[0] - b_step
    torch.testing.assert_close(a, a_step, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(b, b_step, rtol=1e-12, atol=1e-12)


def test_cells_have_no_recurrent_weights_and_count_as_derived():
    assert not hasattr(make_cell("mingru", 88, 10), "weight_hh")
    assert isinstance(make_cell("mingru", 3, 2), MinGRUCell)
    assert isinstance(make_cell("minlstm", 3, 2), MinLSTMCell)
    assert sum(p.numel() for p in make_cell("mingru", 88, 10).parameters()) == 2 * (10 * 88 + 10)
    assert sum(p.numel() for p in make_cell("minlstm", 88, 10).parameters()) == 3 * (10 * 88 + 10)


# -- the loop, the scan and the hand-written backward compute the same function ----------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", FAST)
@pytest.mark.parametrize("sign", ["positive", "zero", "mixed", None])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
def test_scan_and_bptt_equal_the_loop(kind, backend, sign, lengths):
    cell = cell_of(kind)
    h0 = None if sign is None else initial(sign)
    assert_same(run(cell, "python", inputs(), lengths, h0), run(cell, backend, inputs(), lengths, h0))


@pytest.mark.parametrize("kind", KINDS)
def test_bptt_runs_the_paper_printed_candidate_too(kind):
    """candidate="linear" (h̃ may be negative) has no log-space scan, but its recurrence is
    still linear in h, so the hand-written backward takes it."""
    cell = cell_of(kind, candidate="linear")
    assert_same(run(cell, "python", inputs(), LENGTHS, initial("mixed")),
                run(cell, "bptt", inputs(), LENGTHS, initial("mixed")))


def test_linear_recurrence_gradcheck():
    torch.manual_seed(0)
    a = torch.rand(7, 2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(7, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(LinearRecurrenceThroughTime.apply, (a, b, h0))


@pytest.mark.parametrize("kind", KINDS)
def test_auto_picks_the_scan_and_return_gates_runs_the_loop(kind):
    cell = cell_of(kind)
    layer = Recurrent(cell, backend="auto")
    assert layer.backend == "scan"
    out = layer(inputs(), LENGTHS, return_gates=True)
    ref = Recurrent(cell)(inputs(), LENGTHS, return_gates=True)
    assert set(out.gates) == set(ref.gates) and "candidate" in out.gates
    torch.testing.assert_close(out.outputs, ref.outputs, rtol=0, atol=0)
    assert Recurrent(make_cell("gru", 3, 2), backend="auto").backend == "bptt"
    assert Recurrent(make_cell("mingru", 3, 2, candidate="linear"), backend="auto").backend == "bptt"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", FAST)
def test_gradcheck_through_the_layer(kind, backend):
    torch.manual_seed(0)
    cell = make_cell(kind, 3, 2).double()
    layer = Recurrent(cell, backend=backend)
    x = torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)      # mixed signs
    names = [n for n, _ in cell.named_parameters()]

    def f(x, h0, *params):
        out = functional_call(layer, dict(zip([f"cell.{n}" for n in names], params)),
                              (x, torch.tensor([6, 4]), h0))
        return out.outputs, out.state[0]

    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    assert torch.autograd.gradcheck(f, (x, h0, *params))


@pytest.mark.parametrize("kind", KINDS)
def test_second_derivatives_without_padding(kind):
    """Double backward is exact where no upstream gradient is exactly 0 (torch's
    logcumsumexp backward takes log |grad|; see nn/scan.py), i.e. without padding."""
    torch.manual_seed(0)
    cell = make_cell(kind, 3, 2).double()
    layer = Recurrent(cell, backend="scan")
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda x, h0: layer(x, None, h0).outputs, (x, h0))


def test_linear_scan_is_the_recurrence():
    torch.manual_seed(0)
    a, b = torch.rand(50, 2, 3, dtype=torch.float64), torch.rand(50, 2, 3, dtype=torch.float64)
    h0 = torch.randn(2, 3, dtype=torch.float64)
    h, expected = h0, []
    for t in range(50):
        h = a[t] * h + b[t]
        expected.append(h)
    torch.testing.assert_close(linear_scan(a.log(), b.log(), h0), torch.stack(expected),
                               rtol=1e-12, atol=1e-12)


# -- padding ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", ["python", *FAST])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_padding_reaches_no_output_state_or_gradient(kind, backend, value):
    cell = cell_of(kind)
    x = inputs()
    bad = x.clone()
    bad[~real_steps(LENGTHS, T)] = value
    clean, poisoned = run(cell, backend, x, LENGTHS, initial("mixed")), \
        run(cell, backend, bad, LENGTHS, initial("mixed"))
    for t in [*poisoned[:2], *poisoned[2][:-2]]:          # x's grad at padding: 0, not NaN
        assert torch.isfinite(t).all()
    assert_same(clean[:2] + (clean[2][:-2],), poisoned[:2] + (poisoned[2][:-2],), tol=0)
    # each sequence alone, unpadded, gives the same outputs and final state
    for b, L in enumerate(LENGTHS.tolist()):
        alone = Recurrent(cell, backend=backend)(x[:L, b:b + 1], None, initial("mixed")[b:b + 1])
        torch.testing.assert_close(alone.outputs[:, 0], poisoned[0][:L, b], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(alone.state[0][0], poisoned[1][b], rtol=1e-12, atol=1e-12)
        assert poisoned[0][L:, b].abs().sum() == 0


# -- long sequences: MuseData's longest piece --------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_scan_is_stable_and_exact_over_4273_steps(kind):
    """Gates far from 0 and 1 for 4,273 steps: A_t = Π a_s underflows to 0 (10^-1000 and
    below), which the log-space scan never forms. Float64 agrees with the loop: outputs and
    states to 1e-10; the weight gradients, sums over 4,273 steps whose log-space exponents
    reach |a*| ~ 10^3 (each rounded to ~10^3 · 1e-16), to 1e-9 of their size. Float32 stays
    finite and near float64."""
    T = 4273
    cell = cell_of(kind, scale=1.0)
    x, h0 = inputs(T=T), initial("mixed")
    lengths = torch.tensor([T, 4000, 100, 2500])
    xw = cell.input_projection(x)
    assert cell.log_coefficients(xw)[0].sum(0).max() < -500          # A_T < 10^-217
    loop, scan = run(cell, "python", x, lengths, h0), run(cell, "scan", x, lengths, h0)
    torch.testing.assert_close(loop[0], scan[0], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(loop[1], scan[1], rtol=1e-10, atol=1e-10)
    for u, v in zip(loop[2], scan[2]):
        assert (u - v).abs().max() <= 1e-9 * u.abs().max()
    assert_same(loop, run(cell, "bptt", x, lengths, h0))      # the same loop, without autograd
    single = copy.deepcopy(cell).float()
    out = Recurrent(single, backend="scan")(x.float(), lengths, h0.float())
    assert torch.isfinite(out.outputs).all() and torch.isfinite(out.state[0]).all()
    torch.testing.assert_close(out.outputs.double(), scan[0], rtol=1e-3, atol=1e-3)
    out.outputs.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in single.parameters())


# -- a population under torch.vmap -------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", ["python", *FAST])
def test_a_vmapped_population_gives_each_member_its_own_numbers(kind, backend):
    layers = [Recurrent(cell_of(kind, seed=s), backend=backend) for s in range(3)]
    params, buffers = stack_module_state(layers)
    skeleton = copy.deepcopy(layers[0]).to("meta")
    x, h0 = inputs(), initial("mixed")

    def one(p):
        out = functional_call(skeleton, (p, buffers), (x, LENGTHS, h0))
        return (out.outputs.sin().sum() + out.state[0].sum()), out.outputs

    losses, outputs = torch.vmap(one)(params)
    losses.sum().backward()
    for m, layer in enumerate(layers):
        out = layer(x, LENGTHS, h0)
        loss = out.outputs.sin().sum() + out.state[0].sum()
        loss.backward()
        torch.testing.assert_close(outputs[m], out.outputs.detach(), rtol=1e-10, atol=1e-10)
        for name, p in layer.named_parameters():
            torch.testing.assert_close(params[name].grad[m], p.grad, rtol=1e-10, atol=1e-10)


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call,message", [
    (lambda: Recurrent(make_cell("gru", 3, 2), backend="scan"),
     "backend='scan' needs a recurrence linear in h: a gru cell's gates read h_"),
    (lambda: Recurrent(make_cell("lstm", 3, 2), backend="scan"), "Use backend='python'"),
    (lambda: Recurrent(make_cell("mingru", 3, 2, candidate="linear"), backend="scan"),
     "needs a positive candidate"),
    (lambda: make_cell("minlstm", 3, 2, candidate="relu"), "candidate must be one of"),
    (lambda: make_cell("mingru", 3, 2, variant="paper"), "unknown option"),
    (lambda: Recurrent(make_cell("minlstm", 3, 2), backend="native"), "torch twin"),
    (lambda: Recurrent(make_cell("mingru", 3, 2), backend="scan")(torch.zeros(4, 2, 3),
                                                                   state=torch.zeros(2, 3)),
     r"state must have shape \(B, H\) = \(2, 2\)"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_log_space_gates_are_exact_far_into_saturation():
    """log σ by logsigmoid, not −softplus(−k): torch's softplus returns k itself past k = 20,
    a 2e-9 error that would show in float64; logsigmoid has none."""
    k_f = torch.tensor([-40.0, -21.0, 0.3, 21.0, 40.0], dtype=torch.float64)
    k_i = torch.tensor([30.0, -25.0, -0.7, 22.0, -35.0], dtype=torch.float64)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    ratio = F.logsigmoid(k_i) - F.logsigmoid(k_f)
    torch.testing.assert_close((-ratio).sigmoid(), f / (f + i), rtol=1e-14, atol=0)
    torch.testing.assert_close(ratio.sigmoid(), i / (f + i), rtol=1e-14, atol=0)
    torch.testing.assert_close(log_g(k_f), torch.log(g(k_f)), rtol=1e-14, atol=0)
