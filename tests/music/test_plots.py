"""Tests of gru_lib.music.plots: drawing a piano roll."""
import io

import matplotlib
import pytest

matplotlib.use("Agg")  # no display in CI
from gru_lib import music  # noqa: E402

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


def test_plot_roll(data_dir):
    import matplotlib.pyplot as plt

    roll = music.load_music("jsb", "test", folder=data_dir)[0]
    ax = music.plot_roll(roll, steps_per_beat=1, title="JSB test 0")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "C4" in labels and all(lab.startswith("C") for lab in labels)
    assert ax.get_xlabel() == "beat" and ax.get_title() == "JSB test 0"
    paper = music.load_music("jsb", "test", key_range="paper", folder=data_dir)[0]
    ax2 = music.plot_roll(paper, key_range="paper", trim=False)
    assert ax2.get_ylim()[1] - ax2.get_ylim()[0] == 96
    with pytest.raises(ValueError, match="key_range: expected one of"):
        music.plot_roll(roll, key_range="piano")
    with pytest.raises(ValueError, match="roll: expected only 0/1 values"):
        music.plot_roll(roll * 0.5)
    plt.close("all")
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
