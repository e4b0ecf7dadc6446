"""Cells: the paper's equations, checked against numpy by hand and by gradcheck."""
import numpy as np
import pytest
import torch

from gru_lib import GRUCell, LSTMCell, TanhCell, make_cell


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _randomise(cell, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in cell.parameters():
            p.uniform_(-0.8, 0.8)       # biases and peepholes non-zero, so they are tested
    return cell.double()


def _blocks(cell, name):
    """(W, U, b) of one gate block as numpy arrays."""
    return tuple(cell.block(t, name).detach().numpy() for t in (cell.weight_ih, cell.weight_hh, cell.bias))


def test_tanh_step_by_hand():
    cell = _randomise(TanhCell(4, 3))
    x, h = np.random.default_rng(0).normal(size=(2, 4)), np.random.default_rng(1).normal(size=(2, 3))
    W, U, b = _blocks(cell, "candidate")
    expected = np.tanh(x @ W.T + h @ U.T + b)
    (got,) = cell(torch.from_numpy(x), (torch.from_numpy(h),))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_paper_gru_step_by_hand():
    """Equations (5)-(8): reset BEFORE the matmul, h = (1-z) h_prev + z h~."""
    cell = _randomise(GRUCell(4, 3))
    rng = np.random.default_rng(2)
    x, h = rng.normal(size=(2, 4)), rng.normal(size=(2, 3))
    Wz, Uz, bz = _blocks(cell, "update")
    Wr, Ur, br = _blocks(cell, "reset")
    W, U, b = _blocks(cell, "candidate")
    z = sigmoid(x @ Wz.T + h @ Uz.T + bz)
    r = sigmoid(x @ Wr.T + h @ Ur.T + br)
    h_tilde = np.tanh(x @ W.T + (r * h) @ U.T + b)
    expected = (1 - z) * h + z * h_tilde
    (got,) = cell(torch.from_numpy(x), (torch.from_numpy(h),))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_torch_gru_step_by_hand():
    cell = _randomise(GRUCell(4, 3, variant="torch"))
    rng = np.random.default_rng(3)
    x, h = rng.normal(size=(2, 4)), rng.normal(size=(2, 3))
    Wz, Uz, bz = _blocks(cell, "update")
    Wr, Ur, br = _blocks(cell, "reset")
    W, U, b = _blocks(cell, "candidate")
    b_hn = cell.bias_hn.detach().numpy()
    z = sigmoid(x @ Wz.T + h @ Uz.T + bz)
    r = sigmoid(x @ Wr.T + h @ Ur.T + br)
    n = np.tanh(x @ W.T + b + r * (h @ U.T + b_hn))
    expected = (1 - z) * n + z * h
    (got,) = cell(torch.from_numpy(x), (torch.from_numpy(h),))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_peephole_lstm_step_by_hand():
    """Equations (1)-(4), with V_o acting on c_t (not c_{t-1})."""
    cell = _randomise(LSTMCell(4, 3))
    rng = np.random.default_rng(4)
    x, h, c = rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    Vi, Vf, Vo = cell.peephole.detach().numpy()
    Wi, Ui, bi = _blocks(cell, "input")
    Wf, Uf, bf = _blocks(cell, "forget")
    Wc, Uc, bc = _blocks(cell, "candidate")
    Wo, Uo, bo = _blocks(cell, "output")
    i = sigmoid(x @ Wi.T + h @ Ui.T + bi + Vi * c)
    f = sigmoid(x @ Wf.T + h @ Uf.T + bf + Vf * c)
    c_new = f * c + i * np.tanh(x @ Wc.T + h @ Uc.T + bc)
    o = sigmoid(x @ Wo.T + h @ Uo.T + bo + Vo * c_new)
    h_new = o * np.tanh(c_new)
    got_h, got_c = cell(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c)))
    np.testing.assert_allclose(got_c.detach().numpy(), c_new, rtol=1e-12)
    np.testing.assert_allclose(got_h.detach().numpy(), h_new, rtol=1e-12)


@pytest.mark.parametrize("kind,options", [
    ("tanh", {}),
    ("gru", {}),
    ("gru", {"variant": "torch"}),
    ("gru", {"fixed_gates": {"reset": 1.0}}),
    ("gru", {"fixed_gates": {"update": 0.5, "reset": 0.3}}),
    ("lstm", {}),
    ("lstm", {"coupled": True}),
    ("lstm", {"fixed_gates": {"output": 1.0}, "peepholes": True}),
    ("lstm", {"fixed_gates": {"forget": 1.0, "input": 1.0}}),
])
def test_gradcheck_over_several_steps(kind, options):
    """Autograd through 3 steps matches finite differences (float64), for every switch."""
    cell = _randomise(make_cell(kind, 3, 2, **options), seed=5)
    torch.manual_seed(6)
    x = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)

    def unroll(x, h0, *params):
        state = (h0,) * cell.state_size
        for x_t in x.unbind(0):
            state = cell(x_t, state)
        return state

    assert torch.autograd.gradcheck(unroll, (x, h0, *cell.parameters()), eps=1e-6, atol=1e-7)


def test_fixed_gates_remove_their_parameters_and_act_as_constants():
    free = make_cell("gru", 5, 4)
    no_reset = make_cell("gru", 5, 4, fixed_gates={"reset": 1.0})
    assert free.weight_ih.shape == (12, 5) and no_reset.weight_ih.shape == (8, 5)
    # A GRU whose update gate is stuck at 1 simply IS its candidate: h_t = h~_t.
    always_update = _randomise(make_cell("gru", 5, 4, fixed_gates={"update": 1.0}))
    x, h = torch.randn(2, 5, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    record = {}
    (h_new,) = always_update(x, (h,), record)
    torch.testing.assert_close(h_new, record["candidate"][0])
    assert set(record) == {"reset", "candidate"}


def test_lstm_with_all_gates_open_and_no_peepholes_just_accumulates():
    """i = f = o = 1: c_t = c_{t-1} + c~_t -- the constant error carousel, no gating."""
    cell = _randomise(make_cell("lstm", 3, 2, fixed_gates={"input": 1.0, "forget": 1.0, "output": 1.0}))
    assert cell.peephole is None and cell.blocks == ["candidate"]
    x, h, c = (torch.randn(4, n, dtype=torch.float64) for n in (3, 2, 2))
    h_new, c_new = cell(x, (h, c))
    c_expected = c + torch.tanh(cell.input_projection(x) + h @ cell.weight_hh.t())
    torch.testing.assert_close(c_new, c_expected)
    torch.testing.assert_close(h_new, torch.tanh(c_expected))


def test_coupled_lstm_sets_input_to_one_minus_forget():
    cell = _randomise(make_cell("lstm", 3, 2, coupled=True))
    assert "input" not in cell.blocks and cell.peephole.shape == (2, 2)   # V_f, V_o
    record = {}
    x, h, c = (torch.randn(4, n, dtype=torch.float64) for n in (3, 2, 2))
    cell(x, (h, c), record)
    torch.testing.assert_close(record["input"][0], 1 - record["forget"][0])


def test_forget_bias_initialises_only_the_forget_block():
    cell = make_cell("lstm", 3, 4, forget_bias=1.0)
    assert torch.all(cell.block(cell.bias, "forget") == 1.0)
    for other in ("input", "candidate", "output"):
        assert torch.all(cell.block(cell.bias, other) == 0.0)


def test_defaults_are_the_papers_cells():
    gru, lstm = make_cell("gru", 3, 2), make_cell("lstm", 3, 2)
    assert gru.variant == "paper" and gru.fixed_gates == {}
    assert lstm.peepholes and not lstm.coupled and lstm.fixed_gates == {} and lstm.forget_bias == 0.0
    assert lstm.peephole_gates == ["input", "forget", "output"]
    # Init follows the authors' code: uniform in [-0.1, 0.1], zero biases.
    assert gru.weight_hh.abs().max() <= 0.1 and torch.all(gru.bias == 0)


@pytest.mark.parametrize("call,message", [
    (lambda: make_cell("rnn", 3, 2), "kind must be one of tanh, gru, lstm, mingru, minlstm, got 'rnn'"),
    (lambda: make_cell("gru", 3, 2, variant="cudnn"), "variant must be one of"),
    (lambda: make_cell("gru", 3, 2, fixed_gates={"forget": 1.0}), "unknown GRU gate 'forget'"),
    (lambda: make_cell("lstm", 3, 2, fixed_gates={"reset": 1.0}), "unknown LSTM gate 'reset'"),
    (lambda: make_cell("lstm", 3, 2, fixed_gates={"forget": 1.5}), r"fixed_gates\['forget'\] must be a number in \[0, 1\]"),
    (lambda: make_cell("lstm", 3, 2, coupled=True, fixed_gates={"input": 1.0}), "cannot also be in fixed_gates"),
    (lambda: make_cell("lstm", 3, 2, peepholes="yes"), "peepholes must be True or False"),
    (lambda: make_cell("lstm", 3, 2, forget_bias=1.0, fixed_gates={"forget": 1.0}), "forget gate is fixed"),
    (lambda: make_cell("tanh", 3, 2, variant="paper"), "unknown option"),
    (lambda: make_cell("tanh", 0, 2), "input_size must be a positive integer, got 0"),
    (lambda: make_cell("gru", 3, 2.5), "hidden_size must be a positive integer, got 2.5"),
])
def test_bad_options_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("kind, options", [("tanh", {}), ("gru", {}), ("gru", {"variant": "torch"}),
                                           ("lstm", {}), ("lstm", {"coupled": True})])
def test_orthogonal_recurrent_init_makes_each_gates_block_of_U_orthogonal(kind, options):
    cell = make_cell(kind, 88, 24, recurrent_init="orthogonal", **options)
    for name in cell.blocks:
        U = cell.block(cell.weight_hh, name).detach()                 # (H, H)
        assert torch.allclose(U @ U.T, torch.eye(24), atol=1e-5), name
    # W, the peepholes and the biases start as with the default init
    assert cell.weight_ih.abs().max() <= 0.1 and not cell.bias.any()
    default = make_cell(kind, 88, 24, **options)
    assert default.recurrent_init == "uniform" and default.weight_hh.abs().max() <= 0.1


def test_recurrent_init_is_checked_and_the_minimal_cells_have_none():
    with pytest.raises(ValueError, match="recurrent_init must be one of uniform, orthogonal"):
        make_cell("gru", 88, 4, recurrent_init="xavier")
    with pytest.raises(ValueError, match="unknown option"):
        make_cell("mingru", 88, 4, recurrent_init="orthogonal")


@pytest.mark.parametrize("bias", [float("nan"), float("inf"), "1"])
def test_forget_bias_must_be_finite(bias):
    with pytest.raises(ValueError, match="forget_bias must be a finite number"):
        make_cell("lstm", 3, 4, forget_bias=bias)


def test_absurd_sizes_are_a_clear_error_not_a_torch_overflow():
    with pytest.raises(ValueError, match="a tanh cell of 1000000000000 inputs and 1000000000000 "
                                         "units would have .* parameters"):
        make_cell("tanh", 10 ** 12, 10 ** 12)
