"""Learning curves as in the paper's Figures 2-3: NLL against updates and against wall-clock
seconds, log y-axis, one colour per model: solid = training set (clean NLL, no weight noise),
dashed = validation, dotted = the running NLL of the epoch's updates (at noisy weights)."""
from __future__ import annotations

import io
import math
from pathlib import Path

# No matplotlib.use("Agg") here: forcing a backend at import would switch off inline figures
# in every notebook that imports gru_lib. Without a display, matplotlib falls back to Agg.
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from ..atomic import atomic_write

# The book's style lives in gru_lib/style.py (a foundation module every layer may import).
from ..style import (BOOK_STYLE, COLOURS, COLUMN_WIDTH, DPI, colour,  # noqa: F401
                     display_name, log_ticks, use_book_style)


def plot_curves(curves: dict, path=None, title: str | None = None, include_start: bool = False,
                noisy: bool = True, legend: bool = True):
    """Draw {model name: per-epoch records} (records as written by train and the playground:
    epoch, updates, seconds, train_nll, valid_nll, noisy_train_nll) in two panels: vs updates
    and vs seconds.

    Two training curves, kept apart because they measure different things: ``train_nll`` is
    the clean NLL of the training set at the end of each epoch (solid; absent where eval_train
    was off), ``noisy_train_nll`` the average loss of the epoch's updates, taken at noisy
    weights while the model changed (dotted, thinner; off with ``noisy=False``).
    include_start: also draw epoch 0 (the untrained model, ≈ K·log 2 nats), which squeezes
        the interesting part of a log axis; off by default, as in the paper's figures.
    legend: one legend below the panels (a model per colour, a kind of line per style); off
        for a caller that draws its own (playground.plot_runs).
    Writes a PNG to ``path`` (atomically) if given; returns the matplotlib Figure.
    """
    if not isinstance(curves, dict) or not curves:
        raise ValueError(f"curves must be a non-empty dict {{model: records}}, got {type(curves).__name__}")
    for name, records in curves.items():
        if not records or not all({"updates", "seconds", "valid_nll"} <= set(r) for r in records):
            raise ValueError(f"curves[{name!r}] must be a non-empty list of records with keys "
                             f"updates, seconds, valid_nll (and train_nll, noisy_train_nll)")
    lines = [("train_nll", "train (clean)", dict(lw=1.5)),
             ("valid_nll", "valid", dict(lw=1.5, ls="--"))]
    if noisy:
        lines.append(("noisy_train_nll", "train, running at noisy weights", dict(lw=1.0, ls=":")))
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.6), sharey=True, layout="constrained")
    plotted, clean = [], []          # every value drawn; the clean train and valid NLLs
    for ax, x_key, x_label in ((axes[0], "updates", "number of updates"),
                               (axes[1], "seconds", "wall-clock time (seconds)")):
        for i, (name, records) in enumerate(curves.items()):
            records = [r for r in records if include_start or r["updates"] > 0] or records
            line_colour = colour(name, f"C{i}")
            x = [r[x_key] for r in records]
            for key, label, style in lines:
                # None (not measured: eval_train off, or epoch 0's running NLL) becomes a gap.
                y = [math.nan if r.get(key) is None else r[key] for r in records]
                if all(math.isnan(v) for v in y):         # never measured: no line, no label
                    continue
                ax.plot(x, y, color=line_colour, label=f"{display_name(name)} {label}",
                        **style)
                plotted += [v for v in y if not math.isnan(v)]
                if key != "noisy_train_nll":
                    clean += [v for v in y if not math.isnan(v)]
        # log scale as in the paper -- unless an NLL is <= 0, as densities of audio can be
        ax.set_yscale("log" if all(v > 0 for v in plotted) else "linear")
        ax.set_xlabel(x_label)
        ax.grid(True, which="both", alpha=0.3)
    if clean:                  # the first epochs' running NLL may run far above: cut it off
        low, high = min(clean), max(clean)
        axes[0].set_ylim(low - 0.03 * (high - low), high + 0.05 * (high - low))
    if axes[0].get_yscale() == "log":
        log_ticks(axes[0])     # plain values (8, 9, 10 ...), not a lone "10^1"
    axes[1].tick_params(labelleft=True)        # the shared axis, labelled on both panels
    axes[0].set_ylabel("NLL (nats per step)")
    if legend:        # below the panels: one entry per model (its colour), one per line style
        handles = [Line2D([], [], color=colour(name, f"C{i}"), lw=2, label=display_name(name))
                   for i, name in enumerate(curves)]
        handles += [Line2D([], [], color="0.3", label=label, **style) for _, label, style in lines]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5),
                   fontsize=7.5)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def save_figure(fig, path=None, dpi: int = DPI):
    """Write ``fig`` as a PNG to ``path`` atomically (no half-written image), then close it.

    With ``path=None`` the figure is returned open, for a notebook to show."""
    if path is not None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        atomic_write(Path(path), buffer.getvalue())
        plt.close(fig)
    return fig
