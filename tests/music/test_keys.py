"""Tests of gru_lib.music.keys: the 88-key and the paper's key ranges, on the real data sets."""
import pytest
import torch

from gru_lib import music
from tests.music.helpers import README

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


def test_key_ranges(data_dir):
    r88 = music.load_music("jsb", "valid", folder=data_dir)
    paper = music.load_music("jsb", "valid", key_range="paper", folder=data_dir)
    assert r88[0].dtype == torch.float32 and r88[0].shape[1] == 88 and paper[0].shape[1] == 96
    for a, b in zip(r88, paper):
        # the same notes: 88-key column m - 21, paper column m - 1
        assert torch.equal(a[:, : 96 - 20], b[:, 20:96])
        assert not b[:, :20].any() and not a[:, 96 - 20:].any()
    widths = {n: music.key_layout("paper", n)[1] for n in README}
    assert widths == {"jsb": 96, "nottingham": 93, "musedata": 105, "piano-midi": 108}
    for n in ("nottingham", "musedata", "piano-midi"):
        rolls = music.load_music(n, "test", key_range="paper", folder=data_dir)
        assert rolls[0].shape[1] == widths[n]
    assert music.key_layout("88") == (21, 88)
    assert music.key_layout("paper", width=50) == (1, 50)
