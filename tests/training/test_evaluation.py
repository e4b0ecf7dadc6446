"""Tests of gru_lib.training.evaluation: a split's score is nats per step, whatever the batching."""
import pytest
import torch

from gru_lib.music.model import PianoRollModel
from gru_lib.training.evaluation import evaluate, evaluate_per_piece


def test_split_average_is_over_steps_not_pieces_and_ignores_batching():
    torch.manual_seed(0)
    model = PianoRollModel("gru", keys=5, hidden_size=4)
    torch.nn.init.constant_(model.readout.bias, -3.0)         # expects silence: dense steps cost more
    # Densities differ, so per-step costs differ and the two averages can be told apart.
    pieces = [(torch.rand(T, 5) < d).float() for T, d in ((3, 0.9), (7, 0.1), (2, 0.9), (5, 0.5))]
    # Reference: each piece alone, total nats / total steps.
    total = sum(model.nll_sum(p.unsqueeze(1))[0].item() for p in pieces)
    expected = total / sum(p.shape[0] for p in pieces)
    one_batch = [(torch.nn.utils.rnn.pad_sequence(pieces), torch.tensor([3, 7, 2, 5]))]
    singles = [(p.unsqueeze(1), torch.tensor([p.shape[0]])) for p in pieces]
    assert evaluate(model, one_batch) == pytest.approx(expected, rel=1e-5)
    assert evaluate(model, singles) == pytest.approx(expected, rel=1e-5)
    # The mean of per-piece averages would be a different (wrong) number here.
    per_piece = sum(model.nll_sum(p.unsqueeze(1))[0].item() / p.shape[0] for p in pieces) / 4
    assert abs(per_piece - expected) > 1e-3


def test_per_piece_average_weighs_every_piece_the_same():
    torch.manual_seed(1)
    model = PianoRollModel("lstm", keys=5, hidden_size=3)
    torch.nn.init.constant_(model.readout.bias, -3.0)
    pieces = [(torch.rand(T, 5) < d).float() for T, d in ((4, 0.9), (9, 0.1), (2, 0.8))]
    each = [model.nll_sum(p.unsqueeze(1))[0].item() / p.shape[0] for p in pieces]
    assert evaluate_per_piece(model, pieces) == pytest.approx(sum(each) / 3, rel=1e-6)
    everything = [(torch.nn.utils.rnn.pad_sequence(pieces), torch.tensor([4, 9, 2]))]
    assert abs(evaluate_per_piece(model, pieces) - evaluate(model, everything)) > 1e-3
    # one piece: the two averages are the same number
    assert evaluate_per_piece(model, pieces[:1]) == pytest.approx(
        evaluate(model, [(pieces[0].unsqueeze(1), None)]), rel=1e-6)
    assert model.training                                   # evaluation leaves the mode as it was


def test_per_piece_average_needs_pieces():
    with pytest.raises(ValueError, match="no sequences"):
        evaluate_per_piece(PianoRollModel("gru", keys=5, hidden_size=3), [])


def test_evaluate_says_how_to_batch_a_list_of_rolls():
    """It was "too many values to unpack"."""
    model = PianoRollModel("gru", keys=6, hidden_size=4)
    rolls = [torch.zeros(5, 6), torch.ones(4, 6)]
    with pytest.raises(ValueError, match="batches must yield \\(rolls .*eval_batches\\(sequences, "
                                         "64\\).*evaluate_per_piece"):
        evaluate(model, rolls)


@pytest.mark.parametrize("bad", [0.5, float("nan")])
def test_evaluation_takes_only_0_and_1_rolls(bad):
    from gru_lib.training.batching import batches
    model = PianoRollModel("gru", keys=6, hidden_size=4)
    rolls = [torch.zeros(5, 6), torch.zeros(4, 6)]
    rolls[1][2, 3] = bad
    with pytest.raises(ValueError, match="evaluate: batch 0: a piano roll holds only 0 and 1"):
        evaluate(model, batches(rolls, 2, shuffle=False))
    with pytest.raises(ValueError, match="sequences\\[1\\]: a piano roll holds only 0 and 1.*"
                                         "step 2, key 3"):
        evaluate_per_piece(model, rolls)


def test_the_four_readings_of_per_time_step():
    from gru_lib.training.evaluation import per_step_readings
    torch.manual_seed(2)
    model = PianoRollModel("gru", keys=5, hidden_size=4)
    torch.nn.init.constant_(model.readout.bias, -3.0)
    pieces = [(torch.rand(T, 5) < d).float() for T, d in ((4, 0.9), (9, 0.1), (1, 0.8), (6, 0.4))]
    got = per_step_readings(model, pieces)
    everything = [(torch.nn.utils.rnn.pad_sequence(pieces), torch.tensor([4, 9, 1, 6]))]
    assert got["total"] == pytest.approx(evaluate(model, everything), rel=1e-6)
    assert got["piece_mean"] == pytest.approx(evaluate_per_piece(model, pieces), rel=1e-6)
    # Reference: every step's cost from torch's own Bernoulli loss on the logits.
    with torch.no_grad():
        costs = [torch.nn.functional.binary_cross_entropy_with_logits(
            model(p.unsqueeze(1))[:, 0], p, reduction="none").sum(1) for p in pieces]   # (T,)
    later = [c[1:] for c in costs if len(c) > 1]          # the one-step piece has none
    assert got["total_from_step_1"] == pytest.approx(
        sum(c.sum().item() for c in later) / sum(len(c) for c in later), rel=1e-5)
    assert got["piece_mean_from_step_1"] == pytest.approx(
        sum(c.mean().item() for c in later) / 3, rel=1e-5)
    assert got["total_from_step_1"] != pytest.approx(got["total"], rel=1e-3)
    assert model.training
    with pytest.raises(ValueError, match="every piece has a single step"):
        per_step_readings(model, [pieces[2]])
    with pytest.raises(ValueError, match="no sequences"):
        per_step_readings(model, [])


def test_step_0_readings_refuse_a_model_that_does_not_predict_every_row():
    from gru_lib.speech.model import SpeechModel
    from gru_lib.training.evaluation import per_step_readings
    with pytest.raises(ValueError, match="predicts 4 steps from 6 rows.*piano-roll"):
        per_step_readings(SpeechModel("gru", 8), [torch.zeros(6, 10)])


@pytest.mark.parametrize("kind", ["gru", "lstm", "tanh"])
def test_batched_per_piece_readings_equal_each_piece_run_alone(kind):
    """A piano-roll model reads the pieces in padded length groups; each piece's nats must be
    what the piece alone gives (padding comes after its end), whatever the group size."""
    from gru_lib.training.evaluation import _each_piece
    torch.manual_seed(3)
    model = PianoRollModel(kind, keys=5, hidden_size=4)
    pieces = [(torch.rand(T, 5) < 0.3).float() for T in (7, 1, 12, 6, 30, 11, 2)]
    alone = [(model.nll_sum(p.unsqueeze(1))[0].item(), p.shape[0],
              model.nll_sum(p[:1].unsqueeze(1))[0].item()) for p in pieces]
    for batch_size in (1, 2, 64):
        got = _each_piece(model, pieces, "test", step_0=True, batch_size=batch_size)
        for (nats, steps, first), (nats0, steps0, first0) in zip(got, alone):
            assert steps == steps0
            assert nats == pytest.approx(nats0, rel=1e-5) and first == pytest.approx(first0, rel=1e-5)


def test_a_bad_batch_size_is_refused_for_every_model():
    from gru_lib.speech.model import SpeechModel
    for model, piece in ((PianoRollModel("gru", keys=5, hidden_size=3), torch.zeros(4, 5)),
                         (SpeechModel("gru", 8), torch.zeros(6, 10))):
        with pytest.raises(ValueError, match="batch_size"):
            evaluate_per_piece(model, [piece], batch_size=0)
