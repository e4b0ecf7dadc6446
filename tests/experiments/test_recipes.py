import math

import pytest

from gru_lib.experiments.recipes import best_record, compare_candidates


def run(lr, valid, train=None):
    """Per-epoch records as a Trainer writes them: epoch 0 untrained, then one per epoch."""
    train = train or [v - 0.1 for v in valid]
    return [{"epoch": 0, "train_nll": 61.0, "valid_nll": 61.0, "lr": lr}] + [
        {"epoch": e, "train_nll": t, "valid_nll": v, "lr": lr}
        for e, (t, v) in enumerate(zip(train, valid), start=1)]


def test_best_record_is_what_early_stopping_keeps_within_the_first_epochs():
    records = run(1e-3, [5.0, 4.0, 4.5, 3.5, 3.9])
    assert best_record(records)["epoch"] == 4
    assert best_record(records, upto=3)["epoch"] == 2           # epoch 4 is not seen yet
    assert best_record(records[:1]) is None                     # only the untrained model
    assert best_record(run(1e-3, [math.nan, 4.0]))["epoch"] == 2  # a NaN epoch never wins


@pytest.mark.parametrize("upto", [0, -1, 2.5, True, "15"])
def test_best_record_refuses_a_bad_epoch_count(upto):
    with pytest.raises(ValueError, match="upto: expected a positive number of epochs"):
        best_record(run(1e-3, [4.0]), upto=upto)


def test_compare_candidates_picks_the_lowest_validation_at_the_same_epoch():
    fast = run(1e-3, [4.0, 3.8, 3.9, 3.9, 3.9])              # leads early, then stalls
    slow = run(2e-4, [6.0, 5.0, 4.0, 3.6, 3.4])              # overtakes it at epoch 4
    assert compare_candidates({0: fast, 1: slow}, upto=3)["candidate"] == 0
    row = compare_candidates({0: fast, 1: slow})
    assert (row["candidate"], row["lr"], row["epochs"], row["best"]["epoch"]) == (1, 2e-4, 5, 5)
    assert compare_candidates({0: fast}, upto=100)["epochs"] == 5    # trained 5 of 100
    assert compare_candidates({0: fast[:1]}) is None
