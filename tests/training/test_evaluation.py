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
        evaluate(model, [(pieces[0].unsqueeze(1), None)]), rel=1e-9)
    assert model.training                                   # evaluation leaves the mode as it was


def test_per_piece_average_needs_pieces():
    with pytest.raises(ValueError, match="no sequences"):
        evaluate_per_piece(PianoRollModel("gru", keys=5, hidden_size=3), [])


def test_evaluate_says_how_to_batch_a_list_of_rolls():
    """It was "too many values to unpack"."""
    model = PianoRollModel("gru", keys=6, hidden_size=4)
    rolls = [torch.zeros(5, 6), torch.ones(4, 6)]
    with pytest.raises(ValueError, match="batches must yield \\(rolls .*batches\\(sequences, 64, "
                                         "shuffle=False\\).*evaluate_per_piece"):
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
