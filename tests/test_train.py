"""The training protocol: optimiser, weight noise, clipping, early stopping, seeds, resume,
divergence, records."""
import csv
import json
import os
import signal

import pytest
import torch

import gru_lib.training.trainer as train_mod
from gru_lib.music.model import make_model
from gru_lib.tasks import load_model
from gru_lib.training.checkpoints import load_checkpoint
from gru_lib.training.optim import RMSPropMomentum
from gru_lib.training.trainer import DivergedError, TrainConfig, TrainingInterrupted, train

K = 6


def pieces(n, seed):
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(int(L), K, generator=g) < 0.3).float()
            for L in torch.randint(4, 12, (n,), generator=g)]


TRAIN, VALID = pieces(8, 0), pieces(4, 1)
FAST = dict(batch_size=3, max_epochs=3, patience=None, progress=False, device="cpu")


def test_rmsprop_momentum_follows_the_authors_formula():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    opt = RMSPropMomentum([p], lr=0.1, decay=0.9, eps=1e-2, momentum=0.5)
    ms, v, theta = torch.zeros(3), torch.zeros(3), p.detach().clone()
    for g in (torch.tensor([0.3, -1e-4, 2.0]), torch.tensor([-0.1, 1e-4, 1.0])):
        p.grad = g.clone()
        opt.step()
        ms = 0.9 * ms + 0.1 * g ** 2
        v = 0.5 * v - 0.1 * g / torch.clamp(ms.sqrt(), min=1e-2)   # RMS floored, not + eps
        theta = theta + v
        assert torch.allclose(p.detach(), theta, atol=1e-7)


@pytest.mark.parametrize("clip", [0.1, None])
def test_one_update_uses_noisy_gradient_clipped_and_applies_it_to_clean_weights(clip):
    config = TrainConfig(weight_noise=0.075, clip_norm=clip, lr=0.01, progress=False)
    model = make_model("gru", K, 4, seed=0)
    ref = make_model("gru", K, 4, seed=0)
    rolls = torch.nn.utils.rnn.pad_sequence(TRAIN[:3])
    lengths = torch.tensor([p.shape[0] for p in TRAIN[:3]])
    noisy = train_mod.noisy_parameters(model, "recurrent")
    assert [id(p) for p in noisy] == [id(model.rnn.cell.weight_ih), id(model.rnn.cell.weight_hh)]
    opt = RMSPropMomentum(model.parameters(), lr=0.01)
    train_mod._update(model, opt, rolls, lengths, noisy, config, torch.Generator().manual_seed(7))

    # By hand: the same noise, gradient at θ+ε, clip, RMSProp step from the CLEAN θ.
    g = torch.Generator().manual_seed(7)
    clean = {n: p.detach().clone() for n, p in ref.named_parameters()}
    with torch.no_grad():
        for p in (ref.rnn.cell.weight_ih, ref.rnn.cell.weight_hh):
            p.add_(torch.randn(p.shape, generator=g) * 0.075)
    ref.nll(rolls, lengths).backward()
    grads = {n: p.grad for n, p in ref.named_parameters()}
    norm = torch.sqrt(sum((gr ** 2).sum() for gr in grads.values()))
    scale = min(1.0, clip / (norm.item() + 1e-6)) if clip else 1.0
    if clip:
        assert norm > clip                                # the clip actually changes this update
    for n, p in model.named_parameters():
        gr = grads[n] * scale
        step = -0.01 * gr / torch.clamp((0.05 * gr ** 2).sqrt(), min=1e-2)
        assert torch.allclose(p.detach(), clean[n] + step, atol=1e-6), n


def test_same_seed_same_losses_different_seed_different(tmp_path):
    def run(seed):
        model = make_model("lstm", K, 4, seed=seed)
        res = train(model, TRAIN, VALID, TrainConfig(seed=seed, **FAST))
        return [(r["train_nll"], r["valid_nll"], r["noisy_train_nll"]) for r in res.records]
    a, b, c = run(0), run(0), run(1)
    assert a == b
    assert a != c


def test_records_checkpoints_and_results_are_written(tmp_path):
    model = make_model("tanh", K, 5, seed=0)
    res = train(model, TRAIN, VALID, TrainConfig(**FAST), out_dir=tmp_path)
    assert [r["epoch"] for r in res.records] == [0, 1, 2, 3]
    assert [r["updates"] for r in res.records] == [0, 3, 6, 9]          # 8 pieces / 3 per batch
    seconds = [r["seconds"] for r in res.records]
    assert seconds == sorted(seconds) and seconds[-1] > 0
    assert json.loads((tmp_path / "records.json").read_text()) == res.records
    rows = list(csv.DictReader(open(tmp_path / "records.csv")))
    assert [float(r["valid_nll"]) for r in rows] == pytest.approx([r["valid_nll"] for r in res.records])
    assert res.stopped == "max-epochs" and res.epochs == 3
    best = load_checkpoint(tmp_path / "best.pt")                         # weights_only=True
    assert best["epoch"] == res.best_epoch
    assert best["valid_nll"] == min(r["valid_nll"] for r in res.records)
    loaded, _ = load_model(tmp_path / "best.pt")
    from gru_lib.training.evaluation import evaluate
    from gru_lib.training.batching import batches
    assert evaluate(loaded, batches(VALID, 64, shuffle=False)) == pytest.approx(res.best_valid_nll, rel=1e-6)


def test_early_stopping_with_patience_keeps_the_best_epoch(tmp_path, monkeypatch):
    scripted = iter([5.0, 4.0, 4.5, 4.6, 3.0, 2.0])         # epoch 0, 1, 2, 3 ...
    monkeypatch.setattr(train_mod, "evaluate", lambda model, batches: next(scripted))
    model = make_model("gru", K, 4, seed=0)
    cfg = TrainConfig(**{**FAST, "max_epochs": 10, "patience": 2, "eval_train": False})
    res = train(model, TRAIN, VALID, cfg, out_dir=tmp_path)
    assert res.stopped == "early-stopping"
    assert res.epochs == 3 and res.best_epoch == 1 and res.best_valid_nll == 4.0
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_saves_and_resume_matches_an_uninterrupted_run(tmp_path, sig):
    handlers_before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    cfg = TrainConfig(**{**FAST, "max_epochs": 3})
    full = train(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path / "full")

    def interrupt(updates, loss):
        if updates == 4:                                  # in the middle of epoch 2
            os.kill(os.getpid(), sig)
    with pytest.raises(TrainingInterrupted) as info:
        train(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path / "cut",
              on_update=interrupt)
    assert info.value.checkpoint == str(tmp_path / "cut" / "last.pt")
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["progress"]["updates"] == 4
    # A fresh model object (different init) must be overwritten by the checkpoint.
    resumed = train(make_model("gru", K, 4, seed=99), TRAIN, VALID, cfg, out_dir=tmp_path / "cut",
                    resume=True)
    strip = lambda recs: [{k: v for k, v in r.items() if k != "seconds"} for r in recs]  # noqa: E731
    assert strip(resumed.records) == strip(full.records)
    assert resumed.best_valid_nll == full.best_valid_nll and resumed.updates == full.updates
    a = load_checkpoint(tmp_path / "full" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "cut" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    # The caller's handlers are back (not necessarily Python's defaults: a CI job started in
    # the background may run with SIGINT ignored).
    assert {s: signal.getsignal(s) for s in handlers_before} == handlers_before


def test_nan_loss_stops_with_a_clear_error_and_no_update(tmp_path):
    model = make_model("gru", K, 4, seed=0)
    with torch.no_grad():
        model.readout.bias[0] = float("nan")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = TrainConfig(**{**FAST, "eval_train": False})
    # The epoch-0 validation already sees the NaN: stop before training at all.
    with pytest.raises(DivergedError, match=r"lr=0\.001.*diverged"):
        train(model, TRAIN, VALID, cfg, out_dir=tmp_path)
    after = model.state_dict()
    assert all(torch.allclose(before[k], after[k], equal_nan=True) for k in before)  # no update
    # And a NaN that first appears in the training loss stops at that update, unapplied.
    model2 = make_model("gru", K, 4, seed=0)
    poisoned = [p.clone() for p in TRAIN]
    poisoned[0][0, 0] = float("nan")
    with pytest.raises(DivergedError, match="training loss is nan"):
        train(model2, poisoned, VALID, cfg)
    assert all(torch.isfinite(p).all() for p in model2.parameters())


@pytest.mark.parametrize("field, value", [("lr", 0), ("lr", -1e-3), ("batch_size", 0),
                                          ("clip_norm", 0.0), ("momentum", 1.0), ("rms_decay", -0.1),
                                          ("noise_on", "bias"), ("patience", 0), ("lr_decay_to", 0)])
def test_bad_config_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"TrainConfig.{field}.*{value!r}"):
        TrainConfig(**{field: value})


def test_bad_data_is_rejected_early():
    model = make_model("gru", K, 4)
    with pytest.raises(ValueError, match="train_rolls"):
        train(model, [], VALID, TrainConfig(**FAST))
    with pytest.raises(ValueError, match=r"K=6"):
        train(model, [torch.zeros(5, 7)], VALID, TrainConfig(**FAST))


def test_a_signal_during_the_final_evaluation_is_not_lost(tmp_path, monkeypatch):
    """SIGTERM while the last epoch is being scored: the run is complete and saved, but the
    caller (the learning-rate search) must still hear about it and stop."""
    cfg = TrainConfig(**{**FAST, "max_epochs": 2})
    calls = {"n": 0}
    real_evaluate = train_mod.evaluate

    def evaluate_then_signal(model, batches):
        calls["n"] += 1
        if calls["n"] == 5:          # epoch 0, 1, 2 each score train + valid: 5 = epoch 2 train
            os.kill(os.getpid(), signal.SIGTERM)
        return real_evaluate(model, batches)

    monkeypatch.setattr(train_mod, "evaluate", evaluate_then_signal)
    with pytest.raises(TrainingInterrupted, match="during the final evaluation"):
        train(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path)
    assert load_checkpoint(tmp_path / "last.pt")["progress"]["stopped"] == "max-epochs"
