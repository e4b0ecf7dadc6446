"""Tests of gru_lib.training.batching: padded, length-grouped, seeded batches of real music data."""
import numpy as np
import pytest
import torch

from gru_lib import music
from gru_lib.training.batching import batches

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


def test_batches_shapes_padding_and_coverage(data_dir):
    rolls = music.load_music("nottingham", "valid", folder=data_dir)
    seen = []
    for x, lengths in batches(rolls, 16, seed=3):
        assert x.dtype == torch.float32 and lengths.dtype == torch.int64
        T, B, K = x.shape
        assert K == 88 and B == len(lengths) <= 16 and T == lengths.max()
        assert torch.all(lengths[:-1] >= lengths[1:])  # longest first, for pack_padded_sequence
        for b, L in enumerate(lengths.tolist()):
            assert not x[L:, b].any()  # zero padding after the end
            match = [i for i, r in enumerate(rolls) if r.shape[0] == L and torch.equal(r, x[:L, b])]
            assert match
            seen.append(match[0])
    assert sorted(seen) == list(range(len(rolls)))  # each sequence exactly once


def test_batches_seeded_shuffle_and_length_grouping(data_dir):
    rolls = music.load_music("musedata", "train", folder=data_dir)

    def plan(**kw):
        return [tuple(lengths.tolist()) for _, lengths in batches(rolls, 32, **kw)]

    assert plan(seed=1) == plan(seed=1)
    assert plan(seed=1) != plan(seed=2)
    assert plan(shuffle=False) == plan(shuffle=False, seed=9)

    def padding(**kw):  # fraction of the batch tensors that is padding
        total = real = 0
        for x, lengths in batches(rolls, 32, **kw):
            total += x.shape[0] * x.shape[1]
            real += int(lengths.sum())
        return 1 - real / total

    assert padding(seed=0) < 0.2 < 0.5 < padding(seed=0, by_length=False)


def test_batches_bad_input():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        next(batches([torch.zeros(3, 88)], 0))
    with pytest.raises(ValueError, match="rolls: expected a non-empty list"):
        next(batches([], 2))
    with pytest.raises(ValueError, match=r"rolls\[1\]: has 96 keys, rolls\[0\] has 88"):
        next(batches([torch.zeros(3, 88), torch.zeros(3, 96)], 2))
    with pytest.raises(ValueError, match=r"rolls\[0\]: expected a non-empty \(T, K\) tensor, got \(0, 88\)"):
        next(batches([torch.zeros(0, 88)], 2))
    with pytest.raises(ValueError, match=r"rolls\[0\]: expected a non-empty \(T, K\) tensor, got ndarray"):
        next(batches([np.zeros((3, 88))], 2))


def test_length_groups_bound_the_padding_and_keep_every_sequence():
    from gru_lib.training.batching import length_groups
    lengths = [10, 400, 390, 3, 200, 205, 4273, 2000, 5, 6]
    groups = length_groups(lengths, 3, min_fill=0.5)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for g in groups:
        assert len(g) <= 3
        assert [lengths[i] for i in g] == sorted((lengths[i] for i in g), reverse=True)
        assert all(lengths[i] >= 0.5 * lengths[g[0]] for i in g)     # at least half real
    assert [[lengths[i] for i in g] for g in groups] == [[4273], [2000], [400, 390, 205], [200],
                                                          [10, 6, 5], [3]]
    assert all(len(g) == 1 for g in length_groups([5, 4, 3], 1))
    for bad in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match="min_fill"):
            length_groups(lengths, 3, min_fill=bad)


def test_eval_batches_pad_a_real_split_far_less_than_fixed_groups(data_dir):
    from gru_lib.training.batching import eval_batches
    rolls = music.load_music("musedata", "test", folder=data_dir)
    seen, padded = [], 0
    for x, lengths in eval_batches(rolls, 64):
        T, B, K = x.shape
        assert T == lengths.max() and B == len(lengths) <= 64
        padded += T * B
        for b, L in enumerate(lengths.tolist()):
            assert not x[L:, b].any()
            seen += [i for i, r in enumerate(rolls) if r.shape[0] == L and torch.equal(r, x[:L, b])][:1]
    assert sorted(seen) == list(range(len(rolls)))
    real = sum(r.shape[0] for r in rolls)
    fixed = sum(x.shape[0] * x.shape[1] for x, _ in batches(rolls, 64, shuffle=False))
    assert padded < 1.5 * real < fixed / 2          # MuseData's test set: 1.44x vs 4.2x
    with pytest.raises(ValueError, match="rolls\\[1\\]: expected a non-empty"):
        list(eval_batches([torch.zeros(3, 88), torch.zeros(0, 88)], 4))
