"""Tests of gru_lib.experiments.plotting: learning curves drawn for the book's column."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from gru_lib.experiments.plotting import plot_curves  # noqa: E402
from gru_lib.style import COLOURS, COLUMN_WIDTH  # noqa: E402


def records(start, end, noisy_first=60.0):
    n = 10
    return [{"epoch": e, "updates": 100 * e, "seconds": 2.0 * e,
             "train_nll": start + (end - start) * e / n, "valid_nll": start + 0.1 + (end - start) * e / n,
             "noisy_train_nll": noisy_first if e == 1 else start + 0.2 + (end - start) * e / n}
            for e in range(1, n + 1)]


def test_curves_fit_the_column_with_readable_ticks_and_a_legend_below(tmp_path):
    fig = plot_curves({"gru": records(9.0, 8.0), "lstm": records(9.2, 8.2)}, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert fig.get_figwidth() == pytest.approx(COLUMN_WIDTH)
    left, right = fig.axes[:2]
    low, high = left.get_ylim()
    assert 7.9 < low < 8.0 and 9.2 < high < 9.4           # the clean curves, not the first noisy 60
    labels = [t.get_text() for t in left.get_yticklabels() if t.get_text()]
    assert len(labels) >= 3 and not any("10^" in t or "times" in t for t in labels), labels
    assert [t.get_text() for t in right.get_yticklabels() if t.get_text()]   # both panels labelled
    assert fig.legends and not left.get_legend() and not right.get_legend()   # below, not inside
    colours = {line.get_label().split()[0]: line.get_color() for line in left.get_lines()}
    assert matplotlib.colors.same_color(colours["GRU"], COLOURS["gru"])     # named as the text does
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:2] == ["GRU", "LSTM"]


def test_a_stack_takes_its_kinds_colour_and_a_run_label_its_own():
    fig = plot_curves({"mingru-2": records(9.0, 8.0), "lr 1e-3": records(9.2, 8.2)})
    colours = {line.get_label().split()[0]: line.get_color() for line in fig.axes[0].get_lines()}
    assert matplotlib.colors.same_color(colours["minGRU-2"], COLOURS["mingru"])
    assert "lr" in colours                                  # a name of no kind, kept as given


def test_curves_need_records():
    with pytest.raises(ValueError, match="non-empty"):
        plot_curves({})
    with pytest.raises(ValueError, match="records with keys"):
        plot_curves({"gru": [{"epoch": 1}]})
