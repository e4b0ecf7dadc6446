"""The piano-roll model and the paper's metric (nats per step, summed over keys); the task
seam (gru_lib.tasks) and the checkpoints it rebuilds."""
import math

import pytest
import torch

from gru_lib import music, paper, speech, tasks
from gru_lib.music.model import PianoRollModel, nll_sum, shift_right
from gru_lib.speech.model import SpeechModel
from gru_lib.training.checkpoints import save_checkpoint
from gru_lib.training.evaluation import evaluate


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


# -----------------------------------------------------------------------------
# the task seam


def test_every_dataset_has_exactly_one_task():
    assert tasks.DATASETS == music.DATASETS + ("fsdd",)
    assert len(set(tasks.DATASETS)) == len(tasks.DATASETS)
    for name in tasks.DATASETS:
        task = tasks.task_for(name)
        assert name in task.datasets
        assert task is (speech.SPEECH if name == "fsdd" else music.MUSIC)
        assert task.checkpoint_kind == task.model_class.checkpoint_kind
        assert task.name in paper.UNITS and task.metric == "NLL" and task.unit
    with pytest.raises(ValueError, match="dataset: unknown 'bach'"):
        tasks.task_for("bach")


@pytest.mark.parametrize("kind", paper.KINDS)
def test_tasks_build_the_papers_sizes_with_a_row_size(kind):
    m = music.MUSIC.build_model(kind, 88, seed=0)
    assert isinstance(m, PianoRollModel) and m.hidden_size == paper.UNITS["music"][kind]
    assert m.row_size == 88 and tasks.task_of(m) is music.MUSIC
    # the builder is make_model at Table 1's size: same seed, same weights
    same = music.make_model(kind, 88, paper.UNITS["music"][kind], seed=0)
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), same.state_dict().values()))
    s = speech.SPEECH.build_model(kind, 10, seed=0, units=8)
    assert isinstance(s, SpeechModel) and s.hidden_size == 8 and s.row_size == 10
    assert not hasattr(s, "keys")           # the trainer reads row_size, for every model
    assert tasks.task_of(s) is speech.SPEECH


def test_steps_counted_by_each_task():
    rolls = [torch.zeros(5, 88), torch.zeros(3, 88)]
    assert music.MUSIC.steps(rolls) == 8                  # every step is predicted
    assert speech.SPEECH.steps([torch.zeros(5, 10), torch.zeros(3, 10)]) == 3 + 1   # N - 2


def _round_trip(model, tmp_path, meta=None):
    path = tmp_path / "best.pt"
    save_checkpoint({"meta": model.meta() if meta is None else meta, "model": model.state_dict()}, path)
    return tasks.load_model(path)


def test_load_model_rebuilds_both_kinds_from_their_checkpoints(tmp_path):
    roll_model = music.make_model("lstm", 12, 5, seed=3, peepholes=False)
    assert roll_model.meta()["model"] == "piano-roll"
    speech_model = speech.make_speech_model("gru", 6, seed=3)
    assert speech_model.meta()["model"] == "speech"
    rolls = (torch.rand(7, 2, 12) < 0.3).float()
    frames = torch.randn(9, 2, 10) * 0.05
    for model, x in ((roll_model, rolls), (speech_model, frames)):
        loaded, ckpt = _round_trip(model, tmp_path)
        assert type(loaded) is type(model) and loaded.meta() == model.meta()
        assert ckpt["meta"] == model.meta()
        assert torch.equal(loaded.nll(x), model.nll(x))


def test_an_old_checkpoint_without_a_model_name_is_a_piano_roll_model(tmp_path):
    model = music.make_model("gru", 9, 4, seed=1)
    old_meta = {k: v for k, v in model.meta().items() if k != "model"}   # as written before
    loaded, _ = _round_trip(model, tmp_path, meta=old_meta)
    assert isinstance(loaded, PianoRollModel) and loaded.meta() == model.meta()
    rolls = (torch.rand(6, 1, 9) < 0.3).float()
    assert torch.equal(loaded.nll(rolls), model.nll(rolls))


def test_load_model_refuses_what_it_cannot_rebuild(tmp_path):
    model = music.make_model("tanh", 4, 3)
    with pytest.raises(ValueError, match="unknown model 'video'"):
        _round_trip(model, tmp_path, meta={**model.meta(), "model": "video"})
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a gru_lib model checkpoint"):
        tasks.load_model(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a piano-roll model"):
        PianoRollModel.from_meta({**model.meta(), "model": "speech"})
