"""Tests of gru_lib.training.population: a population of learning-rate candidates trained as one
gives each member exactly the run it would have had alone with ``Trainer`` (float64, within
1e-9), removes members that stop or diverge without touching the others, and resumes exactly."""
import json
import math
import os
import signal
import threading

import pytest
import torch

from gru_lib.music.model import make_model
from gru_lib.speech.model import make_speech_model
from gru_lib.tasks import load_model
from gru_lib.training.batching import batches
from gru_lib.training.callbacks import StopOnSignals
from gru_lib.training.checkpoints import load_checkpoint
from gru_lib.training.population import (
    FailedResult,
    PopulationTrainer,
    train_population,
)
from gru_lib.training.trainer import DivergedError, TrainConfig, Trainer

K = 6


def pieces(n, seed):
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(int(L), K, generator=g) < 0.3).double()
            for L in torch.randint(4, 12, (n,), generator=g)]


TRAIN, VALID = pieces(8, 0), pieces(4, 1)
# Weight noise, clipping (0.5 does clip here) and lr decay all on: every part of the protocol.
BASE = TrainConfig(batch_size=3, max_epochs=3, patience=None, progress=False, device="cpu",
                   weight_noise=0.075, clip_norm=0.5, lr_decay_to=0.1)
LRS = [0.003, 0.01, 0.03]


def gru(seed=1):
    return make_model("gru", K, 5, seed=seed, backend="python").double()


def solo(make, lr, config=BASE, train=TRAIN, valid=VALID):
    """The candidate trained alone: (its Trainer, its result, or the DivergedError)."""
    trainer = Trainer(make(), train, valid, config.replace(lr=lr))
    try:
        return trainer, trainer.fit()
    except DivergedError as error:
        return trainer, error


def assert_same_records(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert set(a) == set(b)
        for key in a:
            if key == "seconds":
                continue
            if a[key] is None or b[key] is None:
                assert a[key] == b[key], key
            else:
                assert a[key] == pytest.approx(b[key], rel=0, abs=1e-9), (a["epoch"], key)


def assert_same_weights(model, other):
    a, b = model.state_dict(), other.state_dict()
    assert set(a) == set(b)
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=0, atol=1e-9), k


def test_each_member_ends_as_it_would_alone():
    models = [gru() for _ in LRS]
    trainer = PopulationTrainer(models, TRAIN, VALID, [BASE.replace(lr=lr) for lr in LRS])
    assert trainer.params["rnn.cell.weight_hh"].shape == (3, 15, 5)        # (P, 3H, H)
    assert trainer.optimizer.velocity[0].shape[0] == 3
    results = trainer.fit()
    for lr, model, result in zip(LRS, models, results):
        alone, expected = solo(gru, lr)
        assert result.stopped == expected.stopped == "max-epochs"
        assert (result.epochs, result.updates, result.best_epoch) == (3, 9, expected.best_epoch)
        assert_same_records(result.records, expected.records)
        assert [r["lr"] for r in result.records] == [r["lr"] for r in expected.records]
        assert_same_weights(model, alone.model)                              # the last weights
    assert trainer.finished and trainer.size == 0
    assert all(p.shape[0] == 0 for p in trainer.params.values())           # all removed


def test_clean_evaluation_of_the_population_equals_each_member_alone():
    models = [gru(seed) for seed in (1, 2, 3)]                               # different weights
    trainer = PopulationTrainer(models, TRAIN, VALID, [BASE.replace(lr=lr) for lr in LRS])
    ours = trainer.evaluate(VALID)
    for value, seed in zip(ours, (1, 2, 3)):
        alone = Trainer(gru(seed), TRAIN, VALID, BASE)
        assert value == pytest.approx(alone.evaluate(VALID), rel=0, abs=1e-12)


def test_a_diverging_member_fails_alone_and_leaves_the_others_unchanged(tmp_path):
    lrs = [0.003, 1e308, 0.03]                       # 1e308 without clipping: NaN at update 2
    config = BASE.replace(clip_norm=None)
    sizes = []
    models = [gru() for _ in lrs]
    trainer = PopulationTrainer(models, TRAIN, VALID, [config.replace(lr=lr) for lr in lrs],
                                out_dirs=[tmp_path / str(i) for i in range(3)])
    trainer.add_callback("on_update", lambda t: sizes.append(t.params["readout.weight"].shape[0]))
    ended = []
    trainer.add_callback("on_member_end", lambda t: ended.append(t.ended.index))
    results = trainer.fit()
    assert sizes[:3] == [3, 3, 2]                    # gone from the stacks right after its NaN
    assert ended == [1, 0, 2]
    _, error = solo(gru, 1e308, config)
    assert isinstance(error, DivergedError)
    assert isinstance(results[1], FailedResult) and results[1].stopped == "diverged"
    assert results[1].error == str(error)            # the message a single run raises
    assert json.loads((tmp_path / "1" / "failed.json").read_text())["error"] == str(error)
    assert (tmp_path / "1" / "best.pt").is_file()    # its epoch-0 best is kept
    for i in (0, 2):
        alone, expected = solo(gru, lrs[i], config)
        assert_same_records(results[i].records, expected.records)
        assert_same_weights(models[i], alone.model)


def test_a_nan_validation_fails_that_member_before_training():
    models = [gru() for _ in LRS]
    with torch.no_grad():
        models[0].readout.bias[0] = float("nan")     # a member-specific weight: NaN validation
    poisoned = gru()
    with torch.no_grad():
        poisoned.readout.bias[0] = float("nan")
    results = PopulationTrainer(models, TRAIN, VALID, [BASE.replace(lr=lr) for lr in LRS]).fit()
    _, error = solo(lambda: poisoned, LRS[0])
    assert results[0].error == str(error) and "validation NLL is nan" in str(error)
    alone, expected = solo(gru, LRS[2])
    assert_same_records(results[2].records, expected.records)
    assert_same_weights(models[2], alone.model)


def test_members_that_stop_early_leave_and_the_others_go_on(tmp_path):
    lrs = [0.003, 0.03, 0.3]                         # patience 1 stops them after 5, 2, 1 epochs
    config = BASE.replace(max_epochs=5, patience=1)
    models = [gru() for _ in lrs]
    trainer = PopulationTrainer(models, TRAIN, VALID, [config.replace(lr=lr) for lr in lrs],
                                out_dirs=[tmp_path / str(i) for i in range(3)])
    sizes = []
    trainer.add_callback("on_epoch_end", lambda t: sizes.append(
        (t.size, t.params["rnn.cell.weight_ih"].shape[0] if t.params else 0,
         t.optimizer.square_avg[0].shape[0] if t.optimizer else 0)))
    results = trainer.fit()
    assert [s[0] for s in sizes] == [2, 1, 1, 1, 0]
    assert all(a == b == c for a, b, c in sizes)    # params and optimiser state shrink together
    for i, lr in enumerate(lrs):
        alone, expected = solo(gru, lr, config)
        assert results[i].stopped == expected.stopped
        assert results[i].epochs == expected.epochs and results[i].best_epoch == expected.best_epoch
        assert_same_records(results[i].records, expected.records)
        assert_same_weights(models[i], alone.model)
        # Every file a single run writes, in its format.
        out = tmp_path / str(i)
        assert json.loads((out / "result.json").read_text())["stopped"] == expected.stopped
        assert_same_records(json.loads((out / "records.json").read_text()), expected.records)
        best = load_checkpoint(out / "best.pt")
        assert best["epoch"] == expected.best_epoch
        loaded, _ = load_model(out / "best.pt")
        assert loaded.meta() == models[i].meta()
        assert (out / "records.csv").is_file()


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_request_stop_and_resume_give_the_uninterrupted_run(tmp_path, dropout):
    configs = [BASE.replace(lr=lr, dropout=dropout) for lr in LRS]
    full_models = [gru() for _ in LRS]
    full = train_population(full_models, TRAIN, VALID, configs,
                            out_dirs=[tmp_path / "full" / str(i) for i in range(3)])
    cut_dirs = [tmp_path / "cut" / str(i) for i in range(3)]
    trainer = PopulationTrainer([gru() for _ in LRS], TRAIN, VALID, configs, out_dirs=cut_dirs)

    def stop_from_another_thread(t):
        if t.live[0].state.updates == 4:             # in the middle of epoch 2
            thread = threading.Thread(target=t.request_stop)
            thread.start()
            thread.join()
    trainer.add_callback("on_update", stop_from_another_thread)
    cut = trainer.fit()
    assert trainer.interrupted and all(r.stopped == "interrupted" and r.updates == 4 for r in cut)
    assert all(load_checkpoint(d / "last.pt")["state"]["updates"] == 4 for d in cut_dirs)
    # Fresh models with other initial weights: the checkpoints overwrite them.
    resumed_models = [gru(seed=99) for _ in LRS]
    torch.manual_seed(7)              # torch's global generator: the masks do not come from it
    resumed = PopulationTrainer(resumed_models, TRAIN, VALID, configs, out_dirs=cut_dirs,
                                resume=True).fit()
    for a, b, ma, mb in zip(resumed, full, resumed_models, full_models):
        assert a.stopped == b.stopped == "max-epochs" and a.updates == b.updates
        assert_same_records(a.records, b.records)
        assert [r["noisy_train_nll"] for r in a.records] == [r["noisy_train_nll"] for r in b.records]
        assert_same_weights(ma, mb)
    for i in range(3):
        x = load_checkpoint(tmp_path / "full" / str(i) / "last.pt")["model"]
        y = load_checkpoint(cut_dirs[i] / "last.pt")["model"]
        assert all(torch.equal(x[k], y[k]) for k in x)


def test_sigint_saves_the_population_and_a_member_resumes_even_alone(tmp_path):
    handlers_before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    configs = [BASE.replace(lr=lr) for lr in LRS]
    dirs = [tmp_path / str(i) for i in range(3)]
    trainer = PopulationTrainer([gru() for _ in LRS], TRAIN, VALID, configs, out_dirs=dirs)
    trainer.add_callback("on_update", lambda t: t.live[0].state.updates == 5
                         and os.kill(os.getpid(), signal.SIGINT))
    with StopOnSignals(trainer):
        trainer.fit()
    assert trainer.stop_reason == "SIGINT" and trainer.interrupted
    assert {s: signal.getsignal(s) for s in handlers_before} == handlers_before
    # A member's last.pt is a single run's last.pt: Trainer(resume=True) finishes it alone ...
    member = Trainer(gru(seed=7), TRAIN, VALID, configs[1], out_dir=dirs[1], resume=True)
    assert member.state.updates == 5
    _, expected = solo(gru, LRS[1])
    assert_same_records(member.fit().records, expected.records)
    # ... and the population resumes the others (the finished one has nothing left to do).
    results = train_population([gru(seed=7) for _ in LRS], TRAIN, VALID, configs, out_dirs=dirs,
                               resume=True)
    for lr, result in zip(LRS, results):
        _, expected = solo(gru, lr)
        assert_same_records(result.records, expected.records)


def test_a_speech_population_matches_its_members_alone(waves):
    from tests.speech.helpers import small_clips
    clips = [c.double() for c in small_clips(waves, 5, 12)]         # (N, 10) frames
    train, valid = clips[:3], clips[3:]
    config = BASE.replace(batch_size=2, max_epochs=2)

    def speech():
        return make_speech_model("gru", 6, seed=0, backend="python").double()
    lrs = [1e-3, 1e-2]
    models = [speech() for _ in lrs]
    results = PopulationTrainer(models, train, valid, [config.replace(lr=lr) for lr in lrs]).fit()
    for lr, model, result in zip(lrs, models, results):
        alone, expected = solo(speech, lr, config, train, valid)
        assert_same_records(result.records, expected.records)
        assert_same_weights(model, alone.model)


def test_members_must_differ_in_their_learning_rate_and_weights_only():
    configs = [BASE.replace(lr=lr) for lr in LRS]
    with pytest.raises(ValueError, match=r"configs\[1\] differs .*\['seed'\]"):
        PopulationTrainer([gru() for _ in LRS], TRAIN, VALID,
                          [configs[0], configs[1].replace(seed=1), configs[2]])
    with pytest.raises(ValueError, match=r"models\[2\] .*weights only"):
        PopulationTrainer([gru(), gru(), make_model("gru", K, 6, backend="python").double()],
                          TRAIN, VALID, configs)
    with pytest.raises(ValueError, match="one TrainConfig per model"):
        PopulationTrainer([gru(), gru()], TRAIN, VALID, configs)
    model = gru()
    with pytest.raises(ValueError, match="its own model object"):
        PopulationTrainer([model, model, gru()], TRAIN, VALID, configs)


def test_progress_bar_runs(capsys):
    configs = [BASE.replace(lr=lr, progress=True, max_epochs=1) for lr in LRS]
    results = PopulationTrainer([gru() for _ in LRS], TRAIN, VALID, configs).fit()
    assert all(r.stopped == "max-epochs" for r in results)


def test_update_works_on_its_own_before_any_epoch():
    """A user (or a benchmark) may call update() directly: each member steps at its own lr."""
    models = [make_model("gru", K, 4, seed=0) for _ in range(2)]
    configs = [BASE.replace(lr=lr) for lr in (1e-3, 1e-2)]
    population = PopulationTrainer(models, TRAIN, VALID, configs)
    before = {k: v.detach().clone() for k, v in population.params.items()}
    x, lengths = next(batches(TRAIN, 3, shuffle=False))
    update = population.update(x, lengths)
    assert len(update.losses) == 2 and all(math.isfinite(v) for v in update.losses)
    moved = [max(float((population.params[k][m].detach() - before[k][m]).abs().max()) for k in before)
             for m in range(2)]
    assert 0 < moved[0] < moved[1]                # the larger learning rate moves further


# -- the minimal units (nn/minimal.py) on the scan, and a stack, as populations ----------------

@pytest.mark.parametrize("kind,layers,backend", [("mingru", 1, "scan"), ("minlstm", 1, "scan"),
                                                 ("minlstm", 1, "python"), ("mingru", 2, "scan")])
def test_a_population_of_minimal_models_is_its_members_alone(kind, layers, backend):
    """Two candidates at once = two single runs, on the log-space scan under vmap, with the
    default weight noise on the recurrent layer (a minimal cell's W only: it has no U)."""
    config = BASE
    make = lambda: make_model(kind, K, 5, seed=1, layers=layers, backend=backend).double()  # noqa: E731
    assert make().rnn.layers[0].backend == backend if layers > 1 else make().rnn.backend == backend
    lrs = LRS[:2]
    models = [make() for _ in lrs]
    results = PopulationTrainer(models, TRAIN, VALID, [config.replace(lr=lr) for lr in lrs]).fit()
    for lr, model, result in zip(lrs, models, results):
        alone, expected = solo(make, lr, config)
        assert_same_records(result.records, expected.records)
        assert_same_weights(model, alone.model)


def test_pruning_stops_the_hopeless_member_and_leaves_the_others_exactly_as_they_were(tmp_path):
    # lr 1e-7 hardly moves: at epoch 20, the first it is judged, even its fastest progress
    # kept up to epoch 24 cannot reach the leader (lr 0.01); lr 0.03 has stalled above the
    # leader by epoch 21. The leader itself is never hopeless and runs to max_epochs.
    lrs = [1e-7, 0.01, 0.03]
    config = BASE.replace(max_epochs=24, prune=True)
    dirs = [tmp_path / "full" / str(i) for i in range(3)]
    models = [gru() for _ in lrs]
    results = train_population(models, TRAIN, VALID, [config.replace(lr=lr) for lr in lrs],
                               out_dirs=dirs)
    assert [r.stopped for r in results] == ["pruned", "max-epochs", "pruned"]
    assert [r.epochs for r in results] == [20, 24, 21]
    assert json.loads((dirs[0] / "result.json").read_text())["stopped"] == "pruned"
    assert all(results[i].best_valid_nll > results[1].best_valid_nll for i in (0, 2))
    for i, lr in enumerate(lrs):                                # pruning changes nothing else:
        alone, expected = solo(gru, lr, config.replace(prune=False))   # the run without it
        assert_same_records(results[i].records, expected.records[:results[i].epochs + 1])
        if results[i].stopped == "max-epochs":
            assert_same_weights(models[i], alone.model)
    # Interrupted after the pruning and resumed: the same run (the leader is read back from
    # every member's last.pt, the pruned one's included).
    cut = [tmp_path / "cut" / str(i) for i in range(3)]
    trainer = PopulationTrainer([gru() for _ in lrs], TRAIN, VALID,
                                [config.replace(lr=lr) for lr in lrs], out_dirs=cut)
    trainer.add_callback("on_epoch_end", lambda t: t.live[0].state.epoch == 22 and
                         t.request_stop())
    trainer.fit()
    assert trainer.interrupted and trainer.members[0].state.stopped == "pruned"
    resumed = PopulationTrainer([gru(seed=99) for _ in lrs], TRAIN, VALID,
                                [config.replace(lr=lr) for lr in lrs], out_dirs=cut,
                                resume=True).fit()
    for a, b in zip(resumed, results):
        assert a.stopped == b.stopped and a.epochs == b.epochs
        assert_same_records(a.records, b.records)


def test_without_pruning_the_hopeless_member_trains_on():
    lrs = [1e-7, 0.01]
    config = BASE.replace(max_epochs=22)
    results = PopulationTrainer([gru() for _ in lrs], TRAIN, VALID,
                                [config.replace(lr=lr) for lr in lrs]).fit()
    assert [r.stopped for r in results] == ["max-epochs", "max-epochs"]


def test_the_replay_script_predicts_what_pruning_does(tmp_path):
    """runs/replay_pruning.py (what the README quotes) replays pruning on an unpruned run's
    records: it must stop the same members at the same epochs as a pruned run."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "replay_pruning", Path(__file__).resolve().parents[2] / "runs" / "replay_pruning.py")
    replay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replay)
    lrs = [1e-7, 0.01, 0.03]
    config = BASE.replace(max_epochs=24)
    for prune in (False, True):
        train_population([gru() for _ in lrs], TRAIN, VALID,
                         [config.replace(lr=lr, prune=prune) for lr in lrs],
                         out_dirs=[tmp_path / str(prune) / f"lr{i}" for i in range(3)])
    got = replay.replay(tmp_path / "False", max_epochs=24)
    pruned = {f"lr{i}": json.loads((tmp_path / "True" / f"lr{i}" / "result.json").read_text())
              for i in range(3)}
    assert got["pruned_at"] == {n: r["epochs"] for n, r in pruned.items() if r["stopped"] == "pruned"}
    assert got["pruned_at"] == {"lr0": 20, "lr2": 21} and got["winner"] == "lr1" and got["winner_kept"]
    assert got["last_epoch"] == 24 and got["member_epochs"] == 20 + 24 + 21
    with pytest.raises(ValueError, match="every member of a population"):
        replay.replay_pruning({"lr0": got}, max_epochs=24)


def test_a_new_population_never_writes_over_a_members_files(tmp_path):
    """A member's out_dir that already holds a run's files is refused (naming which member)
    unless resume=True, before any member is touched."""
    dirs = [tmp_path / str(i) for i in range(3)]
    dirs[1].mkdir()
    (dirs[1] / "result.json").write_text('{"mine": true}')
    configs = [BASE.replace(lr=lr) for lr in LRS]
    with pytest.raises(ValueError, match=r"out_dirs\[1\]: .* already holds result.json; .*"
                                         r"resume=True"):
        PopulationTrainer([gru() for _ in LRS], TRAIN, VALID, configs, out_dirs=dirs)
    assert (dirs[1] / "result.json").read_text() == '{"mine": true}'
    assert not dirs[0].exists() and not dirs[2].exists()


def test_members_take_their_learning_rate_drops_as_they_would_alone():
    """lr_drops: each member drops when ITS patience runs out, back to ITS best weights, and
    ends as it would alone."""
    config = BASE.replace(max_epochs=10, patience=1, lr_drops=2, lr_decay_to=1.0)
    lrs = [0.03, 0.1, 0.3]
    models = [gru() for _ in lrs]
    results = PopulationTrainer(models, TRAIN, VALID, [config.replace(lr=lr) for lr in lrs]).fit()
    dropped = 0
    for lr, model, result in zip(lrs, models, results):
        alone, expected = solo(gru, lr, config)
        assert (result.stopped, result.epochs) == (expected.stopped, expected.epochs)
        assert_same_records(result.records, expected.records)
        assert_same_weights(model, alone.model)
        dropped += any(r["lr"] < lr * 0.5 for r in result.records[1:])
    assert dropped >= 2              # the test sees drops (members at different epochs)


def test_with_dropout_each_member_ends_as_it_would_alone():
    """Dropout masks come from each member's seeded generator (Trainer._update), not from
    torch's global one: a member of a population ends with exactly the run it has alone,
    whatever the global generator did before, so a run with dropout is the same run twice."""
    config = BASE.replace(dropout=0.5)
    models = [gru() for _ in LRS]
    torch.manual_seed(123)
    results = PopulationTrainer(models, TRAIN, VALID, [config.replace(lr=lr) for lr in LRS]).fit()
    for i, (lr, model, result) in enumerate(zip(LRS, models, results)):
        torch.manual_seed(i)                         # another global state each time
        alone, expected = solo(gru, lr, config)
        assert_same_records(result.records, expected.records)
        assert_same_weights(model, alone.model)
        _, without = solo(gru, lr)                   # and the masks did drop units
        assert result.records[-1]["train_nll"] != pytest.approx(
            without.records[-1]["train_nll"], rel=0, abs=1e-6)


def test_dropout_leaves_the_clean_evaluation_alone():
    models = [gru(), gru()]
    config = BASE.replace(lr=0.01, dropout=0.5, max_epochs=1)
    trainer = PopulationTrainer(models, TRAIN, VALID, [config, config.replace(lr=0.02)])
    clean = Trainer(gru(), TRAIN, VALID, BASE).evaluate(VALID)
    assert trainer.evaluate(VALID) == pytest.approx([clean, clean], rel=0, abs=1e-12)
