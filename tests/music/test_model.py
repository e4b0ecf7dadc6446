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
