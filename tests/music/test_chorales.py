"""Tests of gru_lib.music.chorales: the offline chorales set, its stable split and its checked cache.

The chorales set is built once per session (about half a minute) into a temporary folder.
"""
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from gru_lib import download, music

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


@pytest.fixture(scope="session")
def chorales_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chorales")
    music.build_chorales(folder / music.chorales._CHORALES_FILE, progress=False)
    return folder


def test_chorales_size_shape_and_key(chorales_dir):
    d = music.load_music("chorales", split=None, folder=chorales_dir, progress=False)
    sizes = {s: len(v) for s, v in d.items()}
    assert sum(sizes.values()) > 380 and min(sizes.values()) > 50
    assert 0.5 < sizes["train"] / sum(sizes.values()) < 0.7
    st = music.dataset_stats("chorales", folder=chorales_dir)
    assert st["all"]["max_notes"] == 4  # four voices, never more
    assert 28 <= st["all"]["midi_min"] and st["all"]["midi_max"] <= 96  # fits the JSB paper width
    allr = torch.cat([r for v in d.values() for r in v])  # (steps, 88)
    assert allr.shape[1] == 88
    # transposed to C major / A minor: mostly white keys, and most pieces end on C or A in the bass
    pcs = torch.zeros(12)
    for k in range(88):
        pcs[(k + 21) % 12] += allr[:, k].sum()
    assert pcs[[0, 2, 4, 5, 7, 9, 11]].sum() / pcs.sum() > 0.9
    finals = [(int(np.flatnonzero(r[-1].numpy())[0]) + 21) % 12 for v in d.values() for r in v if r[-1].any()]
    assert sum(f in (0, 9) for f in finals) / len(finals) > 0.75
    # the paper-style width of the chorales is the JSB one
    assert music.load_music("chorales", "valid", key_range="paper", folder=chorales_dir)[0].shape[1] == 96


def test_chorale_split_is_a_stable_hash():
    # pinned: these must never move between splits, on any machine or Python
    assert [music.chorale_split(i) for i in ("bwv1.6", "bwv269", "bwv10.7")] == ["valid", "train", "test"]


def test_chorales_cache_is_checked_on_load(chorales_dir, tmp_path):
    path = chorales_dir / music.chorales._CHORALES_FILE
    with np.load(path, allow_pickle=False) as z:  # numpy arrays only, no pickle inside
        arrays = {k: z[k] for k in z.files}
    assert len(arrays["ids"]) == len(arrays["lengths"]) > 380

    def tampered(**changes):
        p = tmp_path / "t.npz"
        np.savez(p, **{**arrays, **changes})
        return p

    flipped = arrays["rolls"].copy()
    flipped[0, 0] ^= 1
    with pytest.raises(ValueError, match="digest mismatch"):
        music.read_chorales(tampered(rolls=flipped))
    with pytest.raises(ValueError, match="format 99, expected 1"):
        music.read_chorales(tampered(format=np.array(99)))
    with pytest.raises(ValueError, match="lengths add up to"):
        music.read_chorales(tampered(lengths=arrays["lengths"] + 1))
    moved = arrays["splits"].copy()
    moved[0] = "test" if moved[0] != "test" else "train"
    ids = [str(i) for i in arrays["ids"]]
    digest = music.chorales._chorale_digest(arrays["rolls"], arrays["lengths"], ids, [str(s) for s in moved])
    with pytest.raises(ValueError, match=f"chorale {ids[0]} is in split"):
        music.read_chorales(tampered(splits=moved, digest=np.array(digest)))
    with pytest.raises(ValueError, match=r"missing arrays \['digest'\]"):
        music.read_chorales(_without(tmp_path, arrays, "digest"))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK not really")
    with pytest.raises(ValueError, match="not a chorales .npz built by gru_lib"):
        music.read_chorales(junk)


def _without(tmp_path, arrays, key):
    p = tmp_path / "w.npz"
    np.savez(p, **{k: v for k, v in arrays.items() if k != key})
    return p


def test_damaged_chorales_cache_is_rebuilt(chorales_dir, monkeypatch):
    good = (chorales_dir / music.chorales._CHORALES_FILE).read_bytes()
    cached = download.cache_dir() / music.chorales._CHORALES_FILE      # the private cache of this test
    cached.write_bytes(b"garbage")
    built = []

    def fake_build(path, progress=True):  # stands in for the 30 s build: restore a good copy
        built.append(path)
        Path(path).write_bytes(good)
        return path

    monkeypatch.setattr(music.chorales, "build_chorales", fake_build)
    with pytest.warns(UserWarning, match="rebuilding the chorales cache"):
        d = music.load_music("chorales", split=None)
    assert built == [cached] and len(d["train"]) > 200
    # moved aside, not replaced: $GRU_LIB_DATA may be the user's folder, the file theirs
    assert cached.with_name(cached.name + ".rejected").read_bytes() == b"garbage"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a good cache loads silently, without building
        music.load_music("chorales")
    assert len(built) == 1


def test_a_data_folder_is_read_but_never_written(chorales_dir, tmp_path, monkeypatch):
    """--data may name a shared, read-only copy of the datasets: the chorales are then built
    into the gru_lib cache, not into that folder."""
    good = (chorales_dir / music.chorales._CHORALES_FILE).read_bytes()
    monkeypatch.setattr(music, "build_chorales",
                        lambda path, progress=True: Path(path).write_bytes(good) and path)
    folder = tmp_path / "datasets"
    folder.mkdir()
    music.load_music("chorales", folder=folder)
    assert list(folder.iterdir()) == []
    assert (download.cache_dir() / music.chorales._CHORALES_FILE).is_file()


def test_a_data_path_that_does_not_exist_is_an_error_not_the_cache(chorales_dir, tmp_path):
    """A mistyped --data must not quietly train on the cache's copy instead."""
    with pytest.raises(ValueError, match="is neither a file nor a folder"):
        music.load_music("chorales", folder=tmp_path / "no-such-folder")
    # the built file itself, under any name, is read (and checked) like the folder's copy
    own = tmp_path / "my-chorales.npz"
    own.write_bytes((chorales_dir / music.chorales._CHORALES_FILE).read_bytes())
    assert [r.shape for r in music.load_music("chorales", "test", folder=own)] == \
        [r.shape for r in music.load_music("chorales", "test", folder=chorales_dir)]
    junk = tmp_path / "junk.npz"
    junk.write_text("not an archive")
    with pytest.raises(ValueError, match="not a chorales .npz built by gru_lib"):
        music.load_music("chorales", folder=junk)


def test_build_chorales_never_replaces_a_file_unless_told(tmp_path, monkeypatch):
    """Checked before the 30 s build: music21 is never reached."""
    mine = tmp_path / "mine.npz"
    mine.write_bytes(b"my own arrays")
    monkeypatch.setattr(music.chorales, "_chorale_roll", lambda score: pytest.fail("built"))
    with pytest.raises(ValueError, match="mine.npz' already exists.*overwrite=True"):
        music.build_chorales(mine, progress=False)
    assert mine.read_bytes() == b"my own arrays"


@pytest.mark.parametrize("content", [b"some text, not arrays\n", b"MATLAB 5.0 MAT-file junk"])
def test_a_wrong_chorales_file_says_what_to_give_and_never_suggests_pickle(tmp_path, content):
    """numpy's own message suggested allow_pickle=True: unsafe, and not the problem."""
    wrong = tmp_path / "some.txt"
    wrong.write_bytes(content)
    with pytest.raises(ValueError, match="not a chorales .npz built by gru_lib.*leave out --data") \
            as info:
        music.load_music("chorales", folder=wrong)
    assert "pickle" not in str(info.value)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match=r"not a chorales .npz built by gru_lib \(it holds the arrays \['a'\]\)"):
        music.read_chorales(tmp_path / "other.npz")
