"""The playground's plain logic: model specs and budgets, step-wise training sessions, the
gradient-flow, gate and clipping measurements. Small data (a few chorales) keeps it fast."""
import math

import numpy as np
import pytest
import torch

from gru_lib.experiments import playground as P
from gru_lib.nn.budget import count_parameters, formula_parameters, units_for_budget
from gru_lib.music.model import shift_right
from gru_lib.training.batching import batches
from gru_lib.training.evaluation import evaluate

torch.set_num_threads(1)


def small_config(**changes):
    base = dict(model=P.ModelSpec("gru", 12), epochs=2, batch_size=4, max_pieces=8)
    return P.RunConfig(**{**base, **changes})


# -- model specs -------------------------------------------------------------------------------

def test_spec_counts_match_the_paper_formulas():
    assert P.ModelSpec("gru", 46).parameter_count() == formula_parameters("gru", 88, 46) == 18_630
    assert P.ModelSpec("lstm", 36).parameter_count() == formula_parameters("lstm", 88, 36)
    assert P.ModelSpec("tanh", 100).total_parameters() == 100 * 88 + 100 ** 2 + 100 + 100 * 88 + 88


def test_spec_switches_change_the_count():
    H, D = 30, 88
    block = H * D + H * H + H
    # a fixed forget gate loses its weights and its peephole
    assert P.ModelSpec("lstm", H, fixed_gates={"forget": 1.0}).parameter_count() == 3 * block + 2 * H
    assert P.ModelSpec("lstm", H, peepholes=False).parameter_count() == 4 * block
    assert P.ModelSpec("lstm", H, coupled=True).parameter_count() == 3 * block + 2 * H
    assert P.ModelSpec("gru", H, fixed_gates={"reset": 1.0}).parameter_count() == 2 * block


def test_spec_keeps_only_the_options_of_its_kind():
    spec = P.ModelSpec("gru", 20, fixed_gates={"forget": 1.0, "update": 0.5}, peepholes=False)
    assert spec.cell_options() == {"fixed_gates": {"update": 0.5}}
    assert spec.label() == "GRU 20 (update fixed 0.5)"
    lstm = P.ModelSpec("lstm", 20, fixed_gates={"forget": 1.0, "update": 0.5}, forget_bias=0.0)
    assert lstm.cell_options()["fixed_gates"] == {"forget": 1.0}
    assert P.ModelSpec("tanh", 20, fixed_gates={"reset": 1.0}).cell_options() == {}
    # a fixed forget gate has no bias: the builder's bias setting is dropped, not an error
    no_forget = P.ModelSpec("lstm", 20, fixed_gates={"forget": 1.0}, forget_bias=1.0)
    assert "forget_bias" not in no_forget.cell_options()
    assert no_forget.parameter_count() == count_parameters("lstm", 88, 20, fixed_gates={"forget": 1.0})


def test_matched_units_are_the_budget_sizes():
    matched = P.ModelSpec("gru", 46).matched_units()
    assert matched == {"tanh": 99, "gru": 46, "lstm": 37}
    ablated = P.ModelSpec("lstm", 40, fixed_gates={"forget": 1.0})
    budget = ablated.parameter_count()
    assert ablated.matched_units()["lstm"] == units_for_budget("lstm", budget, 88) == 32
    # the full LSTM at the ablated budget is smaller: a fixed gate frees a quarter of the weights


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="rnn"), "ModelSpec.kind"),
    (dict(units=0), "ModelSpec.units"),
    (dict(units=True), "ModelSpec.units"),
    (dict(fixed_gates=[1.0]), r"ModelSpec.fixed_gates must be a dict.*\[1.0\]"),
    (dict(fixed_gates="reset"), "ModelSpec.fixed_gates must be a dict"),
])
def test_spec_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        P.ModelSpec(**kwargs)


def test_spec_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown gate"):
        P.ModelSpec("gru", 8, fixed_gates={"gate": 0.5}).cell_options()
    with pytest.raises(ValueError, match="fixed_gates"):
        P.ModelSpec("lstm", 8, fixed_gates={"input": 1.0}, coupled=True).parameter_count()
    with pytest.raises(ValueError, match="RunConfig.dataset"):
        P.RunConfig(dataset="bach")
    with pytest.raises(ValueError, match="TrainConfig.lr"):
        P.RunConfig(lr=-1.0)
    with pytest.raises(ValueError, match="max_pieces"):
        P.RunConfig(max_pieces=0)


# -- training sessions -------------------------------------------------------------------------

def test_session_trains_epoch_by_epoch_and_records():
    session = P.TrainingSession(small_config())
    assert [r["epoch"] for r in session.records] == [0]
    record = session.run_epoch()
    assert record["epoch"] == 1 and record["updates"] == 2       # 8 pieces / batch 4
    assert len(session.grad_norms) == len(session.losses) == 2
    session.run()
    assert session.stopped == "epochs" and session.epoch == 2 and session.updates == 4
    assert [r["updates"] for r in session.records] == [0, 2, 4]
    # it learns: the untrained model pays ≈ 88·log 2 ≈ 61 nats per step
    assert session.records[0]["valid_nll"] > 55 > session.records[-1]["valid_nll"]
    assert session.best_valid == min(r["valid_nll"] for r in session.records)
    row = session.summary()
    assert row["params"] == count_parameters("gru", 88, 12) and row["epochs"] == 2
    assert math.isfinite(row["test_nll"])


def test_session_records_the_clean_train_nll_apart_from_the_running_one():
    session = P.TrainingSession(small_config())
    untrained = session.config.model.build(seed=session.config.seed)
    clean = lambda model: evaluate(model, batches(session.train_rolls, 64, shuffle=False))  # noqa: E731
    assert session.records[0]["train_nll"] == clean(untrained)
    assert session.records[0]["noisy_train_nll"] is None          # no update yet
    record = session.run_epoch()
    assert record["train_nll"] == clean(session.model)              # no noise, end of the epoch
    steps = [int(l.sum()) for _, l in batches(session.train_rolls, 4, shuffle=True, seed=[0, 0])]
    running = sum(loss * n for loss, n in zip(session.losses, steps)) / sum(steps)
    assert record["noisy_train_nll"] == pytest.approx(running)      # the updates' own losses
    assert record["noisy_train_nll"] != record["train_nll"]


def test_session_drives_the_one_trainer():
    session = P.TrainingSession(small_config(epochs=1))
    ran = []
    session.trainer.add_callback("on_update", lambda t: ran.append(t.last_update.grad_norm))
    session.run()
    assert ran == session.grad_norms and session.stopped == "epochs"
    assert session.trainer.config.lr_decay_to == 1.0 and session.trainer.config.patience is None


def test_session_is_repeatable():
    a, b = P.TrainingSession(small_config()).run(), P.TrainingSession(small_config()).run()
    assert [r["valid_nll"] for r in a.records] == [r["valid_nll"] for r in b.records]
    assert a.grad_norms == b.grad_norms


def test_session_runs_partial_epochs_and_stops():
    session = P.TrainingSession(small_config())
    assert session.run_updates(1) == 1
    assert session.epoch == 0 and session.batch == 1 and len(session.records) == 1
    assert session.run_updates(None) == 1                          # the rest of the epoch
    assert session.epoch == 1 and len(session.records) == 2
    session.stop()
    session.run()
    assert session.stopped == "stopped" and session.epoch == 1 and session.updates == 2
    assert session.run_updates(5) == 0                             # a stopped run stays stopped


def test_grad_norm_is_measured_before_clipping():
    free = P.TrainingSession(small_config(clip_norm=None))
    free.run_updates(1)
    raw = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in free.model.parameters()))
    assert free.grad_norms[0] == pytest.approx(raw, rel=1e-5)      # no clipping: .grad is raw
    clipped = P.TrainingSession(small_config(clip_norm=1e-3))
    clipped.run_updates(1)
    assert clipped.grad_norms[0] == pytest.approx(raw, rel=1e-5)   # same start, same noise
    after = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in clipped.model.parameters()))
    assert after == pytest.approx(1e-3, rel=1e-3)                  # while .grad was rescaled


def test_comparison_table_names_repeated_runs():
    table = P.Comparison()
    s = P.TrainingSession(small_config(epochs=1)).run()
    table.add(s)
    table.add(s)
    assert [r["run"] for r in table.rows] == ["GRU 12", "GRU 12 #2"]
    assert list(table.curves) == ["GRU 12", "GRU 12 #2"]
    md = table.markdown().splitlines()
    assert len(md) == 4 and "best_valid_nll" in md[0]
    assert table.html().count("<tr>") == 3


# -- gradient flow -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["tanh", "gru", "lstm"])
def test_gradient_flow_matches_restarting_from_a_leaf_state(kind):
    """∂L_T/∂h_t from the unrolled loop equals the gradient w.r.t. h_t fed in as a leaf state."""
    model = P.ModelSpec(kind, 10, peepholes=False).build(seed=3)
    roll = P.pick_piece("chorales", 0, min_length=30)
    T, t = 30, 12                                                  # check h_t at step t (1-based)
    flow = P.gradient_flow(model, roll, T)
    assert all(p.grad is None for p in model.parameters())        # the model is left clean
    assert flow["h"].shape == (T,) and (flow["c"] is None) == (kind != "lstm")
    x = shift_right(roll[:T].unsqueeze(1))
    with torch.no_grad():
        first = model.rnn(x[:t], return_gates=True)
    leaves = tuple(s.clone().requires_grad_(True) for s in first.state)
    out = model.rnn(x[t:], state=leaves if kind == "lstm" else leaves[0])
    logits = model.readout(out.outputs[-1])
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, roll[T - 1:T], reduction="sum")
    grads = torch.autograd.grad(loss, leaves)
    assert flow["h"][t - 1] == pytest.approx(float(grads[0].norm()), rel=1e-4)
    if kind == "lstm":
        # With (h_t, c_t) as leaves, c_t's gradient misses the path through h_t = o_t ⊙ tanh(c_t);
        # the flow reports the total derivative: ∂L/∂c_t + o_t ⊙ (1 - tanh²c_t) ⊙ ∂L/∂h_t.
        o, c = first.gates["output"][-1], first.state[1]
        total = grads[1] + o * (1 - torch.tanh(c) ** 2) * grads[0]
        assert flow["c"][t - 1] == pytest.approx(float(total.norm()), rel=1e-4)


def test_gradient_flow_vanishes_for_a_small_tanh_rnn():
    model = P.ModelSpec("tanh", 20).build(seed=0)                 # weights in ±0.1: contracting
    flow = P.gradient_flow(model, P.pick_piece("chorales", 0, min_length=40), 40)["h"]
    assert flow[-1] > 1e3 * flow[-11] > 1e6 * flow[-21]           # geometric decay going back


def test_gradient_flow_rejects_bad_lengths():
    model = P.ModelSpec("gru", 8).build()
    roll = P.pick_piece("chorales", 0)
    with pytest.raises(ValueError, match="length must be an integer in 2.."):
        P.gradient_flow(model, roll, roll.shape[0] + 1)
    with pytest.raises(ValueError, match="roll must be"):
        P.gradient_flow(model, roll[:, :50])
    with pytest.raises(ValueError, match="index must be"):
        P.pick_piece("chorales", 10_000)


# -- gates and clipping ------------------------------------------------------------------------

def test_gate_activations_shapes_and_ranges():
    roll = P.pick_piece("chorales", 1)
    gates = P.gate_activations(P.ModelSpec("gru", 9).build(), roll)
    assert set(gates) == {"update", "reset"}
    assert gates["update"].shape == (roll.shape[0], 9)
    assert ((gates["update"] > 0) & (gates["update"] < 1)).all()
    lstm = P.ModelSpec("lstm", 7, fixed_gates={"output": 1.0}).build()
    assert set(P.gate_activations(lstm, roll)) == {"input", "forget"}   # fixed gates are constants
    assert P.gate_activations(P.ModelSpec("tanh", 5).build(), roll) == {}
    fig = P.plot_gates(roll, gates)
    assert P.figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_clipping_experiment_shows_the_explosion():
    # A tanh-RNN at a large learning rate. Without clipping one update's gradient is thousands
    # of times the threshold (measured: ≈9e4 at update 3 for this seed); with clipping the run
    # stays in a calmer region where the largest raw norm is tens.
    config = P.RunConfig(model=P.ModelSpec("tanh", 100), lr=1e-2, clip_norm=1.0, max_pieces=40,
                         batch_size=8, seed=0)
    result = P.clipping_experiment(config, updates=10)
    assert len(result["clipped"]) == len(result["unclipped"]) == 10 == len(result["clipped_loss"])
    assert result["clipped"][0] == pytest.approx(result["unclipped"][0])   # the same first step
    assert result["unclipped"].max() > 1000 * result["clip"]
    assert result["unclipped"].max() > 100 * result["clipped"].max()
    assert np.isfinite(result["clipped_loss"]).all()
    assert P.clipping_experiment(P.RunConfig(model=P.ModelSpec("tanh", 8), clip_norm=None,
                                             max_pieces=8), updates=1)["clip"] == 1.0
    with pytest.raises(ValueError, match="updates"):
        P.clipping_experiment(config, updates=0)


@pytest.mark.parametrize("options, message", [
    ({"fixed_gates": {"bogus": 1.0}}, "unknown gate"),
    ({"peepholes": "no"}, "ModelSpec.peepholes must be a bool"),
    ({"forget_bias": float("nan")}, "ModelSpec.forget_bias must be a number")])
def test_a_model_spec_is_checked_when_made_not_when_built(options, message):
    with pytest.raises(ValueError, match=message):
        P.ModelSpec(**options)


@pytest.mark.parametrize("value", [5, -0.1, float("nan"), "1"])
def test_model_spec_checks_fixed_gate_values_when_made(value):
    """Not only at build(): a spec is made long before it is built."""
    with pytest.raises(ValueError, match=r"fixed_gates\['reset'\].* must be a number in \[0, 1\]"):
        P.ModelSpec("gru", 8, fixed_gates={"reset": value})


def test_pick_piece_checks_its_arguments():
    with pytest.raises(ValueError, match="split: unknown 'tests'"):
        P.pick_piece("chorales", 0, split="tests")
    with pytest.raises(ValueError, match="min_length must be a non-negative integer"):
        P.pick_piece("chorales", 0, min_length="5")
    with pytest.raises(ValueError, match="index must be an integer"):
        P.pick_piece("chorales", 0.0)
    assert torch.equal(P.pick_piece("chorales", np.int64(1)), P.pick_piece("chorales", 1))


def test_figure_png_and_comparison_name_what_they_need():
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure, got NoneType"):
        P.figure_png(None)
    with pytest.raises(ValueError, match="session must be a TrainingSession"):
        P.Comparison().add(5)


def test_gradient_flow_takes_a_numpy_integer_length():
    """np.int64(5) was refused, though pick_piece takes numpy integers."""
    model = P.ModelSpec("gru", 4).build(seed=0)
    roll = P.pick_piece("chorales", np.int64(0))
    assert np.array_equal(P.gradient_flow(model, roll, np.int64(5))["h"],
                          P.gradient_flow(model, roll, 5)["h"])
    with pytest.raises(ValueError, match="length must be an integer"):
        P.gradient_flow(model, roll, 5.0)


@pytest.mark.parametrize("dpi", [0, -5, 1e5, float("nan"), "90"])
def test_figure_png_bounds_dpi(dpi):
    """dpi=0 was matplotlib's ValueError, 1e5 a MemoryError."""
    import matplotlib.pyplot as plt
    fig = plt.figure()
    with pytest.raises(ValueError, match=r"dpi must be a number in \[10, 1200\]"):
        P.figure_png(fig, dpi=dpi)
    assert not plt.fignum_exists(fig.number)                     # closed, not leaked
    assert P.figure_png(plt.figure(figsize=(1, 1)), dpi=10)[:4] == b"\x89PNG"


@pytest.mark.parametrize("max_units", [0, -1, 2.5])
def test_plot_gates_refuses_a_max_units_that_is_not_positive(max_units):
    """0 showed every unit and -1 all but the last, without a word."""
    roll = P.pick_piece("chorales", 1)
    gates = P.gate_activations(P.ModelSpec("gru", 6).build(), roll)
    with pytest.raises(ValueError, match="max_units must be a positive integer or None"):
        P.plot_gates(roll, gates, max_units=max_units)


def test_the_module_docstring_names_the_widgets_module_that_exists():
    assert "gru_lib.experiments.widgets" in P.__doc__ and "(gru_lib.widgets)" not in P.__doc__
