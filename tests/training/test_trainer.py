"""Tests of gru_lib.training.trainer, the training protocol: weight noise, clipping, early stopping,
seeds, resume, divergence, records; the Trainer's callbacks, stop requests and typed state."""
import csv
import json
import math
import os
import signal
import threading

import pytest
import torch

import gru_lib.training.trainer as train_mod
from gru_lib import speech
from gru_lib.music.model import make_model
from gru_lib.tasks import load_model
from gru_lib.training.batching import batches
from gru_lib.training.checkpoints import load_checkpoint
from gru_lib.training.trainer import (DivergedError, Trainer, TrainConfig, TrainingInterrupted,
                                      TrainState, hopeless, train)
from tests.speech.helpers import small_clips

K = 6


def pieces(n, seed):
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(int(L), K, generator=g) < 0.3).float()
            for L in torch.randint(4, 12, (n,), generator=g)]


TRAIN, VALID = pieces(8, 0), pieces(4, 1)


FAST = dict(batch_size=3, max_epochs=3, patience=None, progress=False, device="cpu")


def test_clip_on_update_bounds_the_step_not_the_gradient():
    """clip_on="update" (the authors' momentum_clipping): the gradient reaches RMSProp whole and
    the step θ moves by has norm ≤ clip_norm; with clip_on="gradient" the step is not bounded."""
    rolls = torch.nn.utils.rnn.pad_sequence(TRAIN[:3])
    lengths = torch.tensor([p.shape[0] for p in TRAIN[:3]])
    moved = {}
    for clip_on in ("update", "gradient"):
        config = TrainConfig(weight_noise=0.0, clip_norm=0.01, clip_on=clip_on, lr=0.05,
                             progress=False, device="cpu")
        model = make_model("gru", K, 4, seed=0)
        before = [p.detach().clone() for p in model.parameters()]
        Trainer(model, TRAIN, VALID, config).update(rolls, lengths)
        moved[clip_on] = float(torch.sqrt(sum(((p.detach() - b) ** 2).sum()
                                              for p, b in zip(model.parameters(), before))))
    assert moved["update"] == pytest.approx(0.01, rel=1e-4)
    # gradient clipped to 0.01, then lr·g / max(√ms, 0.01) = 5·g: a step of norm 0.05
    assert moved["gradient"] == pytest.approx(0.05, rel=1e-3)
    with pytest.raises(ValueError, match="clip_on"):
        TrainConfig(clip_on="weights")


@pytest.mark.parametrize("clip", [0.1, None])
def test_one_update_uses_noisy_gradient_clipped_and_applies_it_to_clean_weights(clip):
    config = TrainConfig(weight_noise=0.075, clip_norm=clip, lr=0.01, progress=False, device="cpu")
    model = make_model("gru", K, 4, seed=0)
    ref = make_model("gru", K, 4, seed=0)
    rolls = torch.nn.utils.rnn.pad_sequence(TRAIN[:3])
    lengths = torch.tensor([p.shape[0] for p in TRAIN[:3]])
    trainer = Trainer(model, TRAIN, VALID, config)
    assert [id(p) for p in trainer.noisy] == [id(model.rnn.cell.weight_ih), id(model.rnn.cell.weight_hh)]
    trainer.noise_gen.manual_seed(7)
    update = trainer.update(rolls, lengths)

    # By hand: the same noise, gradient at θ+ε, clip, RMSProp step from the CLEAN θ.
    g = torch.Generator().manual_seed(7)
    clean = {n: p.detach().clone() for n, p in ref.named_parameters()}
    with torch.no_grad():
        for p in (ref.rnn.cell.weight_ih, ref.rnn.cell.weight_hh):
            p.add_(torch.randn(p.shape, generator=g) * 0.075)
    ref.nll(rolls, lengths).backward()
    grads = {n: p.grad for n, p in ref.named_parameters()}
    norm = torch.sqrt(sum((gr ** 2).sum() for gr in grads.values()))
    assert update.grad_norm == pytest.approx(norm.item(), rel=1e-5)   # measured BEFORE clipping
    assert update.loss == pytest.approx(float(ref.nll(rolls, lengths).detach()), rel=1e-6)  # at θ+ε
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
    from gru_lib.training.batching import batches
    from gru_lib.training.evaluation import evaluate
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
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["state"]["updates"] == 4
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
    # And a NaN that first appears in the training loss stops at that update, unapplied. (NaN
    # in the data is refused before training starts: test_bad_data_is_rejected_early.)
    model2 = make_model("gru", K, 4, seed=0)
    clean = model2.nll_sum

    def nan_when_training(rolls, lengths=None):          # scoring (no grad) stays finite
        total, steps = clean(rolls, lengths)
        return (total * float("nan") if torch.is_grad_enabled() else total), steps

    model2.nll_sum = nan_when_training
    with pytest.raises(DivergedError, match="training loss is nan"):
        train(model2, TRAIN, VALID, cfg)
    assert all(torch.isfinite(p).all() for p in model2.parameters())


@pytest.mark.parametrize("field, value", [("lr", 0), ("lr", -1e-3), ("batch_size", 0),
                                          ("clip_norm", 0.0), ("momentum", 1.0), ("rms_decay", -0.1),
                                          ("noise_on", "bias"), ("patience", 0), ("lr_decay_to", 0),
                                          ("device", "tpu"), ("device", 3)])
def test_bad_config_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"TrainConfig.{field}.*{value!r}"):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("field", ["prune", "eval_train", "progress"])
def test_switches_must_be_bools(field):
    """--set eval_train=maybe reaches TrainConfig as the word 'maybe': truthy, never checked."""
    with pytest.raises(ValueError, match=f"TrainConfig.{field} must be a bool .*got str"):
        TrainConfig(**{field: "maybe"})


def test_bad_data_is_rejected_early():
    model = make_model("gru", K, 4)
    with pytest.raises(ValueError, match="train_rolls"):
        train(model, [], VALID, TrainConfig(**FAST))
    with pytest.raises(ValueError, match=r"row_size=6"):
        train(model, [torch.zeros(5, 7)], VALID, TrainConfig(**FAST))
    # every sequence is checked, not just the first, before any update
    nan, wide = torch.zeros(5, K), torch.zeros(4, K + 1)
    nan[2, 1] = float("nan")
    for rolls, message in [
            (TRAIN + [wide], rf"train_rolls\[{len(TRAIN)}\] has shape \(4, 7\)"),
            (TRAIN + [torch.zeros(0, K)], rf"train_rolls\[{len(TRAIN)}\] .* T >= 1"),
            (TRAIN + [nan], rf"train_rolls\[{len(TRAIN)}\] holds NaN"),
            ([r.numpy() for r in TRAIN], r"train_rolls\[0\] is a numpy.ndarray, not a torch tensor"),
            ([r.long() for r in TRAIN], r"dtype torch.int64.*x.float\(\)"),
            ([r * 0.5 for r in TRAIN], r"a piano roll holds only 0 and 1, got 0.5")]:
        with pytest.raises(ValueError, match=message):
            train(model, rolls, VALID, TrainConfig(**FAST))
    with pytest.raises(ValueError, match=r"valid_rolls\[0\] holds NaN"):
        train(model, TRAIN, [nan] + VALID, TrainConfig(**FAST))
    # speech frames are real numbers: only the piano roll asks for 0/1
    sm = speech.SpeechModel("gru", 4)
    frames = [torch.full((3, sm.row_size), 0.25)]
    train(sm, frames, frames, TrainConfig(**FAST))


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
    assert load_checkpoint(tmp_path / "last.pt")["state"]["stopped"] == "max-epochs"


def strip_seconds(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_callbacks_fire_at_their_events():
    trainer = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, TrainConfig(**FAST))
    seen = []
    for event in ("on_run_start", "on_update", "on_epoch_end", "on_run_end"):
        trainer.add_callback(event, lambda t, event=event: seen.append((event, t.state.updates)))
    norms = []
    trainer.add_callback("on_update", lambda t: norms.append(t.last_update.grad_norm))
    result = trainer.fit()
    assert seen[0] == ("on_run_start", 0) and seen[-1] == ("on_run_end", 9)
    assert [u for e, u in seen if e == "on_update"] == list(range(1, 10))   # 3 epochs x 3 batches
    assert [u for e, u in seen if e == "on_epoch_end"] == [3, 6, 9]
    assert len(norms) == 9 and all(n > 0 for n in norms)
    assert result.stopped == "max-epochs" and result.updates == 9
    with pytest.raises(ValueError, match="event: unknown 'on_step'"):
        trainer.add_callback("on_step", print)


def test_run_updates_and_run_epoch_advance_step_by_step():
    trainer = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, TrainConfig(**FAST))
    assert trainer.run_updates(2) == 2
    assert (trainer.state.epoch, trainer.state.batch, len(trainer.state.records)) == (0, 2, 1)
    assert trainer.run_updates(5) == 1                       # only one batch left in epoch 1
    assert (trainer.state.epoch, trainer.state.batch, len(trainer.state.records)) == (1, 0, 2)
    assert trainer.run_epoch()["epoch"] == 2
    # The same numbers as a run in one go.
    whole = train(make_model("gru", K, 4, seed=0), TRAIN, VALID, TrainConfig(**FAST))
    trainer.fit()
    assert strip_seconds(trainer.state.records) == strip_seconds(whole.records)


def test_request_stop_ends_after_the_current_update_and_resume_gives_the_same_numbers(tmp_path):
    cfg = TrainConfig(**FAST)
    full = train(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path / "full")
    trainer = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path / "cut")

    def stop_from_another_thread(t):
        if t.state.updates == 4:                             # in the middle of epoch 2
            thread = threading.Thread(target=t.request_stop)
            thread.start()
            thread.join()
    trainer.add_callback("on_update", stop_from_another_thread)
    result = trainer.fit()
    assert result.stopped == "interrupted" and result.updates == 4 and trainer.interrupted
    assert trainer.run_updates(1) == 0                       # a stopped trainer stays stopped
    saved = load_checkpoint(tmp_path / "cut" / "last.pt")["state"]
    assert saved["updates"] == 4 and TrainState(**saved) == trainer.state   # saved as it stopped
    resumed = Trainer(make_model("gru", K, 4, seed=99), TRAIN, VALID, cfg, out_dir=tmp_path / "cut",
                      resume=True)
    assert resumed.state.updates == 4 and resumed.state.batch == 1
    again = resumed.fit()
    assert strip_seconds(again.records) == strip_seconds(full.records)
    assert again.best_valid_nll == full.best_valid_nll and again.stopped == "max-epochs"
    a = load_checkpoint(tmp_path / "full" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "cut" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_last_pt_from_before_stacks_resumes(tmp_path):
    """Checkpoints written before models had a number of layers carry no "layers" in their
    meta: they hold one layer, and resume as such (a run interrupted then continues)."""
    from gru_lib.training.checkpoints import save_checkpoint

    cfg = TrainConfig(**{**FAST, "max_epochs": 1})
    train(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path)
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert ckpt["meta"].pop("layers") == 1
    save_checkpoint(ckpt, tmp_path / "last.pt")
    resumed = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path,
                      resume=True)
    assert resumed.state.epoch == 1 and resumed.state.updates == ckpt["state"]["updates"]
    with pytest.raises(ValueError, match="resume: .* holds a"):          # a real mismatch still fails
        Trainer(make_model("gru", K, 5, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path, resume=True)


def test_the_typed_state_round_trips_through_last_pt(tmp_path):
    trainer = Trainer(make_model("lstm", K, 4, seed=0), TRAIN, VALID, TrainConfig(**FAST),
                      out_dir=tmp_path)
    assert trainer.run_updates(4) == 3                       # run_updates stays in its epoch
    assert trainer.run_updates(1) == 1
    trainer.request_stop()
    trainer.run_updates(1)                                   # honours the request: saves last.pt
    saved = load_checkpoint(tmp_path / "last.pt")            # weights_only=True: plain data
    state = TrainState(**saved["state"])
    assert state == trainer.state
    assert (state.epoch, state.batch, state.updates, len(state.records)) == (1, 1, 4, 2)
    assert state.run_steps > 0 and state.stopped is None
    assert state.running_nll == pytest.approx(trainer.state.run_sum / trainer.state.run_steps)
    back = Trainer(make_model("lstm", K, 4, seed=5), TRAIN, VALID, TrainConfig(**FAST),
                   out_dir=tmp_path, resume=True)
    assert back.state == trainer.state
    assert all(torch.equal(back.best_state[k], trainer.best_state[k]) for k in trainer.best_state)


def test_train_nll_is_clean_and_the_running_nll_is_kept_apart():
    trainer = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, TrainConfig(**FAST))
    losses, steps = [], []
    trainer.add_callback("on_update", lambda t: (losses.append(t.last_update.loss),
                                                 steps.append(t.last_update.steps)))
    record = trainer.run_epoch()
    assert record["train_nll"] == trainer.evaluate(TRAIN)    # no noise, after the epoch
    assert record["noisy_train_nll"] == pytest.approx(
        sum(l * s for l, s in zip(losses, steps)) / sum(steps))
    assert trainer.state.records[0]["noisy_train_nll"] is None
    off = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, TrainConfig(**FAST, eval_train=False))
    assert off.run_epoch()["train_nll"] is None


def test_no_module_but_the_trainer_steps_an_optimizer():
    """One Trainer owns the update: nobody else adds weight noise, zeroes, clips or steps
    gradients -- not even PopulationTrainer, which only supplies its layout (stacked leaves,
    a vmapped loss, a stacked optimiser) to the Trainer's own update."""
    import re
    from pathlib import Path
    package = Path(train_mod.__file__).resolve().parents[1]
    pattern = re.compile(r"optimizer\.step|\.step\(\s*(frozen\b.*)?\)|apply_update\(|zero_grad\(|"
                         r"clip_grad_norm_|clip_gradients_\(|add_weight_noise_\(|RMSPropMomentum\(")
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).as_posix() in ("training/trainer.py", "training/optim.py"):
            continue
        offenders += [f"{path.relative_to(package)}:{i}" for i, line in
                      enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
    assert "self.optimizer.step(" in Path(train_mod.__file__).read_text()   # the trainer does it
    # The population has no update of its own: no backward, no gradient, no update method.
    import ast
    tree = ast.parse((package / "training" / "population.py").read_text())
    assert not [node.lineno for node in ast.walk(tree) if (isinstance(node, ast.Attribute)
                and node.attr in ("backward", "grad", "step")) or (isinstance(node, ast.FunctionDef)
                and node.name in ("update", "_update"))]


def test_training_step_survives_exploding_and_nan_gradients(waves):
    """A 400-unit tanh-RNN under weight noise produces gradients of ~1e25 (their squared norm
    overflows float32) and sometimes NaN: the update must rescale the first to norm 1 and
    skip the second, never write NaN into the weights."""
    from gru_lib.training.trainer import TrainConfig, Trainer

    clips = small_clips(waves, 2, 10)
    x, lengths = next(batches(clips, 2, shuffle=False))
    model = speech.make_speech_model("tanh", 6, seed=0)
    trainer = Trainer(model, clips, clips,
                      TrainConfig(lr=1e-3, weight_noise=0.0, device="cpu", progress=False))
    for scale, moves in ((1e25, True), (float("nan"), False)):
        before = [p.detach().clone() for p in model.parameters()]
        real = model.nll_sum
        model.nll_sum = lambda f, n, real=real, scale=scale: (lambda t, s: (t * scale, s))(*real(f, n))
        trainer.update(x, lengths)
        del model.nll_sum
        assert all(torch.isfinite(p).all() for p in model.parameters())
        changed = any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
        assert changed == moves


def falling(values):
    """records.json rows with these validation NLLs (epoch 0 first)."""
    return [{"epoch": e, "valid_nll": v} for e, v in enumerate(values)]


def test_hopeless_is_a_member_whose_fastest_recent_progress_cannot_reach_the_leader():
    flat = falling([5.0] * 31)                                  # 30 epochs, no progress
    assert hopeless(flat, 500, leader_best=4.9)
    assert not hopeless(flat, 500, leader_best=5.0)             # level with the leader: kept
    assert not hopeless(flat[:20], 500, leader_best=1.0)        # judged from epoch 20 on
    assert not hopeless(flat, 500, leader_best=math.inf)        # no leader yet
    # 0.01 an epoch for 480 more epochs could still gain 4.8 nats (7.8 -> 3.0): kept, unless
    # the leader is further ahead than that.
    slope = falling([8.0 - 0.01 * e for e in range(21)])
    assert not hopeless(slope, 500, leader_best=3.1)
    assert hopeless(slope, 500, leader_best=2.9)
    assert hopeless(slope, 30, leader_best=7.0)                 # 10 epochs left: 0.1 to gain
    # The FASTEST window counts: stalled for the last 10 epochs after falling for 30 is judged
    # by the last 40 (3 nats: 0.075 an epoch), not by the stall (0 over the last 10).
    stalled = falling([9.0 - 0.1 * e for e in range(31)] + [6.0] * 10)
    assert not hopeless(stalled, 100, leader_best=2.0)
    assert hopeless(stalled, 45, leader_best=5.0)               # 5 epochs left: 5.6 at best
    # The best so far, not the last epoch: a noisy curve is judged by its running minimum.
    noisy = falling([5.0 if e % 2 else 6.0 for e in range(31)])
    assert hopeless(noisy, 500, leader_best=4.9) and not hopeless(noisy, 500, leader_best=5.0)


def test_a_new_run_never_writes_over_files_already_in_out_dir(tmp_path):
    """out_dir holding a user's records.csv, result.json and best.pt: a new run would replace
    them, so it is refused up front, naming them and the two ways on; resume=True continues a
    run there. An out_dir that is a file is a clear error too (it was pathlib's FileExistsError)."""
    out = tmp_path / "mine"
    out.mkdir()
    mine = {"records.csv": b"my,own\n1,2\n", "result.json": b'{"mine": true}', "best.pt": b"x"}
    for name, data in mine.items():
        (out / name).write_bytes(data)
    config = TrainConfig(max_epochs=1, batch_size=2, progress=False, device="cpu")
    with pytest.raises(ValueError, match=r"out_dir: .*mine' already holds best.pt, records.csv, "
                                         r"result.json; .*resume=True to continue that run, or "
                                         r"give a new or empty folder"):
        train(make_model("gru", K, 4, seed=0), TRAIN, VALID, config, out_dir=out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == mine
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ValueError, match="out_dir: .*file' is a file; give the folder"):
        train(make_model("gru", K, 4, seed=0), TRAIN, VALID, config, out_dir=tmp_path / "file")
    with pytest.raises(ValueError, match="a part of its path is a file"):
        Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, config,
                out_dir=tmp_path / "file" / "run")
    # a run of ours is continued with resume=True (finished: nothing left to do), not restarted
    first = train(make_model("gru", K, 4, seed=0), TRAIN, VALID, config, out_dir=tmp_path / "r")
    with pytest.raises(ValueError, match="already holds best.pt, last.pt, records.json"):
        train(make_model("gru", K, 4, seed=0), TRAIN, VALID, config, out_dir=tmp_path / "r")
    again = train(make_model("gru", K, 4, seed=0), TRAIN, VALID, config, out_dir=tmp_path / "r",
                  resume=True)
    assert again.records == first.records


def test_a_seed_beyond_64_bits_is_refused_by_the_config():
    """torch's generators take at most 64 bits: a bigger seed failed at the first draw."""
    assert TrainConfig(seed=2**63 - 1).seed == 2**63 - 1
    with pytest.raises(ValueError, match=r"TrainConfig.seed must be an integer in 0\.\.9223372036854775807"):
        TrainConfig(seed=99999999999999999999)


@pytest.mark.parametrize("field, value, message", [
    ("weight_noise", 1e300, r"TrainConfig.weight_noise must be a number in \[0, 3.40282e\+38\]"),
    ("clip_norm", 1e300, r"TrainConfig.clip_norm must be a number in \(0, 3.40282e\+38\]"),
    ("rms_eps", 1e300, r"TrainConfig.rms_eps must be a number in \(0, 3.40282e\+38\]"),
])
def test_float_settings_beyond_float32_are_refused_when_the_config_is_made(field, value,
                                                                           message):
    """torch holds them as float32: 1e300 was accepted, then failed mid-run ("cannot be
    converted to type float without overflow") with the run folder half started."""
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})
    TrainConfig(clip_norm=None, weight_noise=0.0, lr=1.0)      # the ends that stay allowed


def test_a_learning_rate_past_float32_diverges_instead_of_crashing():
    """lr=1e300 reached addcdiv_ as its value and failed with "value cannot be converted to
    type float without overflow"; it is now a run that diverged, like any other."""
    rolls = [torch.bernoulli(torch.full((12, 88), 0.1),
                             generator=torch.Generator().manual_seed(i)) for i in range(4)]
    config = TrainConfig(lr=1e300, clip_norm=None, max_epochs=2, batch_size=2, progress=False,
                         device="cpu")
    with pytest.raises(DivergedError):
        train(make_model("gru", 88, 8), rolls, rolls, config)


def test_checkpoints_record_what_the_model_was_trained_on(tmp_path):
    """trained_on goes into best.pt and last.pt (evaluate reads it back), and a resumed run
    that predates it (no record in its last.pt) continues and records it from then on."""
    on = {"dataset": "jsb", "key_range": "88"}
    cfg = TrainConfig(**{**FAST, "max_epochs": 1})
    train(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path / "a",
          trained_on=on)
    for name in ("best.pt", "last.pt"):
        assert load_checkpoint(tmp_path / "a" / name)["trained_on"] == on
    old = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path / "b")
    old.add_callback("on_update", lambda t: t.request_stop())
    assert old.fit().stopped == "interrupted"
    assert "trained_on" not in load_checkpoint(tmp_path / "b" / "last.pt")       # not recorded
    train(make_model("gru", K, 4, seed=0), TRAIN, VALID, cfg, out_dir=tmp_path / "b",
          resume=True, trained_on=on)
    for name in ("best.pt", "last.pt"):
        assert load_checkpoint(tmp_path / "b" / name)["trained_on"] == on


@pytest.mark.parametrize("bad", ["jsb", {"dataset": object()}, {1: "jsb"}, ["jsb"], {},
                                 {"dataset": ""}, {"dataset": float("nan")},
                                 {"dataset": "jsb", "key_range": 88},
                                 {"dataset": "jsb", "keys": "88"}])
def test_trained_on_must_name_a_data_set_and_its_key_range(bad):
    with pytest.raises(ValueError, match=r"trained_on must be None or \{'dataset': NAME"):
        Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, TrainConfig(**FAST),
                trained_on=bad)


# -- learning-rate drops (TrainConfig.lr_drops) ---------------------------------------------------

DROPS = dict(FAST, max_epochs=12, patience=2, eval_train=False, lr=0.01, lr_drops=1)
# Validation NLLs by epoch (0 = untrained): best at 1, patience (2) runs out at 3 -> a drop;
# best again at 4, runs out at 6 -> stop.
SCRIPT = [5.0, 4.0, 4.5, 4.6, 3.9, 4.2, 4.3, 1.0, 1.0]


def scripted_valid(monkeypatch):
    values = iter(SCRIPT)
    monkeypatch.setattr(train_mod, "evaluate", lambda model, batches: next(values))


def test_a_drop_goes_back_to_the_best_weights_at_a_lower_rate(tmp_path, monkeypatch):
    scripted_valid(monkeypatch)
    trainer = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, TrainConfig(**DROPS),
                      out_dir=tmp_path)
    at_drop = {}

    def look(t):
        if t.state.epoch == 3:               # the drop was just taken
            at_drop["weights"] = {k: v.clone() for k, v in t.model.state_dict().items()}
            at_drop["velocity"] = [s["velocity"].clone() for s in t.optimizer.state.values()]
            at_drop["square_avg"] = [s["square_avg"].clone() for s in t.optimizer.state.values()]
    trainer.add_callback("on_epoch_end", look)
    best_at_1 = None

    def keep_best_1(t):
        nonlocal best_at_1
        if t.state.epoch == 1:
            best_at_1 = load_checkpoint(tmp_path / "best.pt")["model"]
    trainer.add_callback("on_epoch_end", keep_best_1)
    result = trainer.fit()
    assert result.stopped == "early-stopping" and result.epochs == 6 and result.best_epoch == 4
    assert trainer.state.drops == 1
    lrs = [r["lr"] for r in result.records]
    assert lrs[1:4] == [0.01] * 3 and lrs[4:] == [pytest.approx(0.001)] * 3
    for k, v in best_at_1.items():           # epoch 3's weights thrown away for epoch 1's
        assert torch.equal(at_drop["weights"][k], v), k
    assert all(not v.any() for v in at_drop["velocity"])          # momentum cleared ...
    assert any(s.any() for s in at_drop["square_avg"])            # ... the mean squares kept
    assert load_checkpoint(tmp_path / "last.pt")["state"]["drops"] == 1


def test_a_finished_run_resumed_with_more_drops_continues_as_one_started_with_them(
        tmp_path, monkeypatch):
    scripted_valid(monkeypatch)
    straight = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, TrainConfig(**DROPS),
                       out_dir=tmp_path / "a").fit()
    scripted_valid(monkeypatch)
    first = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID,
                    TrainConfig(**{**DROPS, "lr_drops": 0}), out_dir=tmp_path / "b").fit()
    assert first.stopped == "early-stopping" and first.epochs == 3
    again = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID,
                    TrainConfig(**{**DROPS, "lr_drops": 0}), out_dir=tmp_path / "b", resume=True)
    assert again.finished                    # no drops asked: nothing left to do
    resumed = Trainer(make_model("gru", K, 4, seed=0), TRAIN, VALID, TrainConfig(**DROPS),
                      out_dir=tmp_path / "b", resume=True)
    assert not resumed.finished
    extended = resumed.fit()
    assert (extended.stopped, extended.epochs, extended.best_epoch) == ("early-stopping", 6, 4)
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert drop(extended.records) == drop(straight.records)
    for name in ("best.pt", "last.pt"):
        a = load_checkpoint(tmp_path / "a" / name)["model"]
        b = load_checkpoint(tmp_path / "b" / name)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a), name


@pytest.mark.parametrize("changes, match", [
    (dict(lr_drops=-1), "TrainConfig.lr_drops"),
    (dict(lr_drops=1.5), "TrainConfig.lr_drops"),
    (dict(lr_drop_factor=1.0), "TrainConfig.lr_drop_factor"),
    (dict(lr_drop_factor=0.0), "TrainConfig.lr_drop_factor"),
    (dict(lr_drops=1, patience=None), "lr_drops: 1 drops, but patience is None"),
])
def test_bad_drop_settings_are_refused(changes, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**changes)


def test_dropout_changes_the_training_passes_only():
    """TrainConfig.dropout reaches the model (the trainer sets it), drops units in train() mode
    and nothing in eval(): the update differs from dropout 0's, the clean evaluation does not."""
    rolls = torch.nn.utils.rnn.pad_sequence(TRAIN[:3])
    lengths = torch.tensor([p.shape[0] for p in TRAIN[:3]])
    moved, evaluations = {}, {}
    for p in (0.0, 0.5):
        model = make_model("gru", K, 8, seed=0)
        trainer = Trainer(model, TRAIN, VALID, TrainConfig(dropout=p, weight_noise=0.0, **FAST))
        assert model.dropout == p
        evaluations[p] = trainer.evaluate(VALID)          # the same weights: the same number
        torch.manual_seed(0)
        trainer.update(rolls, lengths)
        moved[p] = torch.cat([q.detach().flatten() for q in model.parameters()])
        model.eval()
        x = torch.stack(TRAIN[0:1], dim=1)                 # (T, 1, K)
        assert torch.equal(model(x), model(x))             # eval: no draw
    assert evaluations[0.0] == evaluations[0.5]
    assert not torch.allclose(moved[0.0], moved[0.5])
    model.train()
    assert not torch.equal(model(x), model(x))             # train: a new mask per pass


def test_dropout_is_refused_for_a_model_without_it_and_out_of_range(waves):
    clips = small_clips(waves, 3, 12)
    with pytest.raises(ValueError, match="dropout.*SpeechModel has none"):
        Trainer(speech.make_speech_model("gru", 6, seed=0), clips[:2], clips[2:],
                TrainConfig(dropout=0.3, **FAST))
    for p in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="dropout"):
            TrainConfig(dropout=p)
