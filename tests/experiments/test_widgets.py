"""Drive chapter 7's widgets without a browser: set widget values in code, click buttons with
``Button.click()``, and check the configuration, parameter counts and recorded runs."""
import math
import time

import pytest
import torch

pytest.importorskip("ipywidgets")

from gru_lib.experiments import playground as P  # noqa: E402
from gru_lib.nn.budget import count_parameters, units_for_budget  # noqa: E402
from gru_lib.experiments.widgets import Playground  # noqa: E402

torch.set_num_threads(1)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def pg():
    # 12 pieces in batches of 4: 3 updates per epoch
    return Playground(P.RunConfig(epochs=1, batch_size=4, max_pieces=12), background=False)


def test_builder_shows_live_counts_and_matched_sizes(pg):
    b = pg.builder
    assert "18,630 recurrent parameters" in b.info.value            # the paper's GRU 46
    assert "tanh-RNN 99 units" in b.info.value and "LSTM 37 units" in b.info.value
    b.kind.value, b.units.value = "lstm", 36
    spec = b.spec()
    assert (spec.kind, spec.units, spec.peepholes) == ("lstm", 36, True)
    assert f"{count_parameters('lstm', 88, 36):,} recurrent" in b.info.value
    assert f"GRU {units_for_budget('gru', count_parameters('lstm', 88, 36), 88)} units" in b.info.value
    assert b._boxes["gru"].layout.display == "none" and b._boxes["lstm"].layout.display is None


def test_gate_switches_reach_the_config(pg):
    b = pg.builder
    b.kind.value = "lstm"
    learned, value = b.gates["forget"]
    assert value.disabled                                          # learned: no constant to set
    learned.value = False
    assert not value.disabled
    value.value = 0.9
    b.peepholes.value, b.forget_bias.value = False, 1.0            # bias ignored: forget is fixed
    b.gates["update"][0].value = False                            # a GRU gate: ignored for LSTM
    config = b.run_config()
    assert b.forget_bias.disabled
    assert config.model.cell_options() == {"fixed_gates": {"forget": 0.9}, "peepholes": False,
                                           "coupled": False}
    assert b.spec().parameter_count() == count_parameters("lstm", 88, 46, peepholes=False,
                                                          fixed_gates={"forget": 0.9})
    assert "forget fixed 0.9" in b.info.value
    b.clip_on.value = False
    b.lr.value = 1e-3
    b.epochs.value = 7
    b.dataset.value = "jsb"
    config = b.run_config()
    assert config.clip_norm is None and config.lr == pytest.approx(1e-3)
    assert (config.epochs, config.dataset) == (7, "jsb")
    assert b.clip.disabled


def test_impossible_switches_are_reported_not_trained(pg):
    b = pg.builder
    b.kind.value = "lstm"
    b.coupled.value = True
    b.gates["input"][0].value = False                             # coupled AND a fixed input gate
    assert "cannot also be in fixed_gates" in b.info.value
    pg.train_button.click()
    assert "cannot also be in fixed_gates" in pg.status.value
    assert pg.comparison.rows == [] and pg.session is None


def test_train_button_runs_and_records(pg):
    pg.train_button.click()
    assert pg.session.stopped == "epochs" and pg.session.updates == 3
    assert pg.progress.value == pg.progress.max == 1
    (row,) = pg.comparison.rows
    assert (row["kind"], row["units"], row["params"], row["epochs"]) == ("gru", 46, 18_630, 1)
    assert math.isfinite(row["test_nll"]) and row["test_nll"] < 60
    assert "GRU 46" in pg.table.value and pg.curves.value[:8] == PNG
    assert not pg.train_button.disabled and pg.stop_button.disabled
    pg.builder.kind.value = "tanh"
    pg.builder.units.value = 99
    pg.train_button.click()
    assert [r["run"] for r in pg.comparison.rows] == ["GRU 46", "tanh-RNN 99"]
    assert list(pg.comparison.curves) == ["GRU 46", "tanh-RNN 99"]     # the overlaid plot's runs
    assert pg.table.value.count("<tr>") == 3
    name, model = pg.current_model()                               # the builder's settings
    assert name == "tanh-RNN 99 (trained)" and model is pg.models["tanh-RNN 99"]
    pg.clear_button.click()
    assert pg.comparison.rows == [] and pg.current_model()[0] == "tanh-RNN 99 (untrained)"


def test_stop_button_ends_a_background_run(pg):
    pg.builder.epochs.value = 100
    pg.background = True
    pg.train_button.click()
    assert pg.stop_button.disabled is False
    time.sleep(0.5)
    pg.stop_button.click()
    pg.wait(timeout=20)
    session = pg.session
    assert session.stopped == "stopped" and session.epoch < 100
    assert pg.comparison.rows[-1]["stopped"] == "stopped"
    assert pg.comparison.rows[-1]["updates"] == session.updates > 0


def test_views_measure_the_builder_model(pg):
    pg.train_button.click()                                        # a trained GRU 46
    pg.gradient_flow.length.value = 40                             # the slider redraws
    flows = pg.gradient_flow.flows
    assert list(flows) == ["GRU 46 (trained)"]
    assert flows["GRU 46 (trained)"]["h"].shape == (40,)
    assert pg.gradient_flow.image.value[:8] == PNG
    pg.builder.kind.value = "lstm"
    pg.builder.units.value = 10
    flows = pg.gradient_flow.update()
    assert set(flows) == {"LSTM 10 (untrained)", "GRU 46"}          # current + trained runs
    assert flows["LSTM 10 (untrained)"]["c"].shape == (40,)
    pg.gates.piece.value = 2
    gates = pg.gates.gates
    assert set(gates) == {"input", "forget", "output"}
    T = P.load_splits("chorales")["valid"][2].shape[0]
    assert gates["forget"].shape == (T, 10)
    assert "piece 2" in pg.gates.note.value
    pg.builder.kind.value = "tanh"
    pg.clipping.updates.value = 5
    pg.clipping.button.click()
    result = pg.clipping.result
    assert len(result["clipped"]) == len(result["unclipped"]) == 5 and result["clip"] == 1.0
    assert pg.clipping.image.value[:8] == PNG


@pytest.mark.parametrize("changes, field", [
    (dict(model=P.ModelSpec("lstm", units=1000)), "model.units=1000"),
    (dict(model=P.ModelSpec("lstm", forget_bias=5.0)), "model.forget_bias=5"),
    (dict(lr=1.0), "lr=1"), (dict(clip_norm=100.0), "clip_norm=100"),
    (dict(epochs=500), "epochs=500")])
def test_builder_refuses_values_its_sliders_would_clamp(changes, field):
    """The sliders clamped them silently (units 256, lr 0.0316, ...): another model trained."""
    from gru_lib.experiments.widgets import ModelBuilder
    config = P.RunConfig(**changes)
    with pytest.raises(ValueError, match=rf"{field} is outside the builder's range \["):
        ModelBuilder(config)
    builder = ModelBuilder(P.RunConfig())
    with pytest.raises(ValueError, match=rf"{field} is outside"):
        builder.set_config(config)
    assert builder.run_config() == P.RunConfig()              # left as it was
    edge = P.RunConfig(model=P.ModelSpec("lstm", units=256, forget_bias=3.0), lr=10 ** -1.5,
                       clip_norm=10.0, epochs=100)
    assert ModelBuilder(edge).run_config() == edge              # the ends of the ranges fit


def test_a_data_error_is_shown_and_the_widgets_stay_usable(tmp_path):
    """Building the session was outside the try: a raw ValueError, status stuck on Loading…"""
    pg = Playground(P.RunConfig(dataset="jsb", folder=str(tmp_path / "nope"), epochs=1),
                    background=False)
    assert pg.train(wait=True) is None
    assert "neither a file nor a folder" in pg.status.value and "Loading" not in pg.status.value
    assert not pg.train_button.disabled and pg.stop_button.disabled
    for view in (pg.gates, pg.gradient_flow):
        assert view.update() == {}
        assert "neither a file nor a folder" in view.note.value
