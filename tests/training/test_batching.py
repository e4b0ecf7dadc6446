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
