"""The book's figure style: one colour per model, figures drawn for the text column.

A foundation module (no imports from the rest of gru_lib) so that every layer that draws --
music's piano rolls, speech's waveforms, the experiments' curves -- shares one style.
matplotlib is imported only when the style is applied.
"""
from __future__ import annotations

import re

# One colour per model, in every figure of the library and the book.
COLOURS = {"tanh": "tab:green", "gru": "tab:red", "lstm": "tab:blue",
           "mingru": "tab:orange", "minlstm": "tab:purple"}   # Feng et al. (2024)
# How the text writes each kind, in legends and tables as in prose: the paper's names and
# Feng et al.'s. Code and file names keep the lower-case kinds ("gru", "mingru-2").
NAMES = {"tanh": "tanh-RNN", "gru": "GRU", "lstm": "LSTM", "mingru": "minGRU",
         "minlstm": "minLSTM"}
# A model name written either way, with an optional "-L" for L stacked layers.
_MODEL = re.compile(r"(tanh-rnn|tanh|gru|lstm|mingru|minlstm)(?:-(\d+))?", re.IGNORECASE)
_KIND = {"tanh-rnn": "tanh", **{k: k for k in NAMES}}


def _parse(name) -> tuple[str, str] | None:
    """"minGRU-2" or "mingru-2" -> ("mingru", "2"); "gru" -> ("gru", ""); else None."""
    match = _MODEL.fullmatch(name) if isinstance(name, str) else None
    return (_KIND[match[1].lower()], match[2] or "") if match else None


def display_name(name: str) -> str:
    """A model's name as the book writes it: "gru" -> "GRU", "tanh" -> "tanh-RNN",
    "mingru-2" (two stacked layers) -> "minGRU-2". Any other name (a run's own label, say
    "lr 1e-3") comes back unchanged."""
    parsed = _parse(name)
    if parsed is None:
        return name
    kind, layers = parsed
    return NAMES[kind] + (f"-{layers}" if layers else "")


def kind_of(name) -> str | None:
    """The kind a model's or a run's name starts with, written either way: "GRU 46 #2",
    "gru", "minGRU-2" -> "gru", "gru", "mingru"; None if it names no kind."""
    words = name.split() if isinstance(name, str) else []
    parsed = _parse(words[0]) if words else None
    return parsed[0] if parsed else None


def colour(name, default: str | None = None) -> str | None:
    """The colour of the kind ``name`` starts with (see kind_of), else ``default``."""
    return COLOURS.get(kind_of(name), default)

# The book's text column at a 1280 px window is about 690 px wide. Figures are drawn for it:
# COLUMN_WIDTH inches at DPI dots per inch is 680 px, shown at full size, so a 9-point label
# is 12 px on screen. A wider figure is shrunk to the column and its text becomes unreadable.
DPI = 100
COLUMN_WIDTH = 6.8
BOOK_STYLE = {
    "figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": (COLUMN_WIDTH, 3.0),
    "font.size": 9.5, "axes.titlesize": 10, "axes.labelsize": 9.5, "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5, "legend.fontsize": 8.5, "legend.framealpha": 0.85,
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "figure.constrained_layout.use": True,
}


def use_book_style() -> None:
    """Set matplotlib's defaults to the book's (figures COLUMN_WIDTH wide at DPI, readable
    text, light grid). Call it after ``import matplotlib.pyplot`` in a notebook: Jupyter's
    inline backend sets its own figure size and dpi when pyplot is first imported."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(BOOK_STYLE)


def log_ticks(ax, which: str = "y") -> None:
    """Enough plain tick labels on a log axis of ``ax``: over less than a factor of 20 (a
    narrow range of NLL, which would show one or two labels) about six round values,
    otherwise 1, 2 and 5 times each power of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
    axis = ax.yaxis if which == "y" else ax.xaxis
    low, high = sorted(ax.get_ylim() if which == "y" else ax.get_xlim())
    if low > 0 and high / low < 20:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    else:
        axis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())
