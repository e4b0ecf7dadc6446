"""Tests of gru_lib.music.model: the piano-roll model and the paper's metric (nats per step,
summed over keys)."""
import math

import pytest
import torch

from gru_lib.music.model import PianoRollModel, nll_sum, shift_right


def test_shift_right_feeds_previous_step_and_silence_first():
    rolls = torch.arange(12.).reshape(3, 2, 2)                 # (T=3, B=2, K=2)
    x = shift_right(rolls)
    assert torch.equal(x[0], torch.zeros(2, 2))
    assert torch.equal(x[1:], rolls[:-1])


def test_nll_matches_a_hand_computation_with_padding():
    # Two pieces, K = 2 keys; the second piece has 1 real step, its step 2 is padding.
    logits = torch.tensor([[[0.0, 1.0], [2.0, -1.0]],
                           [[-2.0, 0.5], [9.0, 9.0]]])          # (T=2, B=2, K=2)
    rolls = torch.tensor([[[1.0, 0.0], [1.0, 1.0]],
                          [[0.0, 1.0], [0.0, 0.0]]])
    lengths = torch.tensor([2, 1])
    sig = lambda a: 1 / (1 + math.exp(-a))                    # noqa: E731
    # -log p for each real step, summed over the keys:
    step_a0 = -(math.log(sig(0.0)) + math.log(1 - sig(1.0)))
    step_b0 = -(math.log(sig(2.0)) + math.log(sig(-1.0)))
    step_a1 = -(math.log(1 - sig(-2.0)) + math.log(sig(0.5)))
    total, steps = nll_sum(logits, rolls, lengths)
    assert steps == 3                                          # the padded step does not count
    assert total.item() == pytest.approx(step_a0 + step_b0 + step_a1, rel=1e-6)


def test_prediction_at_t_does_not_see_step_t():
    torch.manual_seed(0)
    model = PianoRollModel("lstm", keys=6, hidden_size=3)
    rolls = (torch.rand(8, 1, 6) < 0.5).float()
    changed = rolls.clone()
    changed[5] = 1 - changed[5]
    a, b = model(rolls), model(changed)
    assert torch.allclose(a[:6], b[:6])                        # steps <= 5 are unaffected
    assert not torch.allclose(a[6], b[6])


def test_untrained_model_costs_about_K_log_2():
    # Zero readout: every key has p = 1/2, so each step costs exactly K·log 2 nats.
    model = PianoRollModel("tanh", keys=88, hidden_size=7)
    torch.nn.init.zeros_(model.readout.weight)
    rolls = (torch.rand(10, 3, 88) < 0.1).float()
    assert model.nll(rolls).item() == pytest.approx(88 * math.log(2), rel=1e-6)


def test_sample_shapes_binary_and_repeatable():
    model = PianoRollModel("gru", keys=10, hidden_size=4)
    a = model.sample(12, generator=torch.Generator().manual_seed(1))
    b = model.sample(12, prime=torch.ones(3, 10), generator=torch.Generator().manual_seed(1))
    c = model.sample(12, generator=torch.Generator().manual_seed(1))
    assert a.shape == (12, 10) and b.shape == (12, 10)
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(a, c)


@pytest.mark.parametrize("bad, match", [(dict(keys=0), "keys"), (dict(keys=8.5), "keys"),
                                        (dict(kind="elman"), "kind")])
def test_bad_arguments_raise_clear_errors(bad, match):
    kwargs = dict(kind="gru", keys=8, hidden_size=4) | bad
    with pytest.raises(ValueError, match=match):
        PianoRollModel(**kwargs)
    with pytest.raises(ValueError, match="steps"):
        PianoRollModel("gru", 8, 4).sample(0)


# -- beyond the paper: the minimal units and stacks ---------------------------------------------

@pytest.mark.parametrize("kind,layers", [("mingru", 1), ("minlstm", 1), ("mingru", 2),
                                         ("minlstm", 3), ("gru", 2)])
def test_minimal_and_stacked_models_train_save_and_reload(kind, layers, tmp_path):
    from gru_lib.music.model import make_model
    from gru_lib.music.task import MUSIC
    from gru_lib.tasks import load_model
    from gru_lib.training.checkpoints import save_checkpoint

    name = kind if layers == 1 else f"{kind}-{layers}"
    model = MUSIC.build_model(name, 88, seed=0)
    assert model.layers == layers and model.meta()["layers"] == layers
    assert model.hidden_size == {"mingru": 112, "minlstm": 75, "mingru-2": 65, "minlstm-3": 39,
                                 "gru-2": 34}[name]
    small = make_model(kind, 12, 5, seed=1, layers=layers).double()
    rolls = (torch.rand(9, 3, 12, generator=torch.Generator().manual_seed(0)) < 0.3).double()
    lengths = torch.tensor([9, 4, 6])
    loss = small.nll(rolls, lengths)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in small.parameters())
    path = tmp_path / "best.pt"
    save_checkpoint({"meta": small.meta(), "model": small.state_dict()}, path)
    loaded, _ = load_model(path)
    assert loaded.meta() == small.meta()
    assert torch.equal(loaded.double().nll(rolls, lengths), small.nll(rolls, lengths).detach())
    assert small.sample(4, generator=torch.Generator().manual_seed(0)).shape == (4, 12)


def test_the_papers_one_layer_model_keeps_its_parameter_names():
    model = PianoRollModel("gru", 12, 5)
    assert model.layers == 1 and "rnn.cell.weight_hh" in model.state_dict()
    assert "rnn.layers.1.cell.weight_ih" in PianoRollModel("gru", 12, 5, layers=2).state_dict()
    old = {k: v for k, v in model.meta().items() if k != "layers"}      # before stacks
    assert PianoRollModel.from_meta(old).layers == 1


def test_make_model_checks_seed_and_layers_up_front():
    from gru_lib.music.model import make_model
    with pytest.raises(ValueError, match="seed must be an integer in 0.."):
        make_model("gru", 88, 46, seed=2 ** 70)            # torch: "Overflow when unpacking"
    with pytest.raises(ValueError, match="layers must be a positive integer, at most 8"):
        make_model("gru", 88, 46, layers=100)             # as "gru-100" is refused
    with pytest.raises(ValueError, match="would have .* parameters"):
        make_model("gru", 88, 10 ** 9)                    # torch: "Storage size ... overflowed"


@pytest.mark.parametrize("bad", [0.5, float("nan")])
def test_sample_prime_and_nll_take_only_0_and_1(bad):
    model = PianoRollModel("gru", keys=6, hidden_size=4)
    prime = torch.zeros(3, 6)
    prime[1, 2] = bad
    with pytest.raises(ValueError, match="prime: a piano roll holds only 0 and 1.*step 1, key 2"):
        model.sample(2, prime=prime)
    rolls = torch.zeros(4, 2, 6)
    rolls[3, 1, 5] = bad
    with pytest.raises(ValueError, match="rolls: a piano roll holds only 0 and 1.*step 3, piece 1, key 5"):
        model.nll(rolls)
    assert torch.isfinite(model.nll(torch.zeros(4, 2, 6)))
