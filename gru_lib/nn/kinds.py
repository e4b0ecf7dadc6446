"""Every kind of cell by name, and the names of models built from them.

    >>> make_cell("gru", 88, 46)                  # the paper's three: cells.py
    >>> make_cell("mingru", 88, 112)              # Feng et al.'s minimal two: minimal.py
    >>> model_name("minlstm-3")                   # -> ("minlstm", 3): three stacked layers

A model name is a kind, optionally followed by ``-L`` for a stack of L recurrent layers of
equal width ("gru" = "gru-1"). The paper's models are its three kinds, one layer each
(``paper.KINDS``); ``MINIMAL_KINDS`` are the extension's.
"""
from __future__ import annotations

import inspect

from .. import checks
from ..paper import KINDS
from .cells import GRUCell, LSTMCell, RecurrentCell, TanhCell
from .minimal import MINIMAL_CELLS

MINIMAL_KINDS = tuple(MINIMAL_CELLS)                      # ("mingru", "minlstm")
ALL_KINDS = KINDS + MINIMAL_KINDS
CELLS = {"tanh": TanhCell, "gru": GRUCell, "lstm": LSTMCell, **MINIMAL_CELLS}
MAX_LAYERS = 8                                            # a sanity bound on "kind-L"


def make_cell(kind: str, input_size: int, hidden_size: int, **options) -> RecurrentCell:
    """Build a cell by name: ``make_cell("gru", 88, 46, variant="torch")``.

    ``kind`` is one of ALL_KINDS; ``options`` are the cell's keyword arguments.
    """
    if not isinstance(kind, str) or kind not in CELLS:   # a str first: ["gru"] is unhashable
        raise ValueError(f"kind must be one of {', '.join(CELLS)}, got {kind!r}")
    cls = CELLS[kind]
    accepted = [p for p in inspect.signature(cls.__init__).parameters
                if p not in ("self", "input_size", "hidden_size")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for a {kind} cell; "
                         f"it accepts {', '.join(accepted) or 'none'}")
    return cls(input_size, hidden_size, **options)


def layer_count(layers, name: str = "layers") -> int:
    """``layers``, a number of stacked recurrent layers: an int in 1..MAX_LAYERS, the same bound
    as a model name's "-L" (so make_model(layers=100) is refused as "gru-100" is)."""
    if not checks.is_int(layers) or not 1 <= layers <= MAX_LAYERS:
        raise ValueError(f"{name} must be a positive integer, at most {MAX_LAYERS}, got {layers!r}")
    return int(layers)


def model_name(name: str) -> tuple[str, int]:
    """"kind" or "kind-L" -> (kind, layers): ``model_name("mingru-2") == ("mingru", 2)``."""
    need = (f"a model is a kind ({', '.join(ALL_KINDS)}), optionally with -L for L stacked "
            f"layers (1..{MAX_LAYERS}), e.g. 'mingru' or 'minlstm-3'")
    if not isinstance(name, str):
        raise ValueError(f"{need}; got {name!r}")
    kind, dash, layers = name.partition("-")
    layers = layers if dash else "1"
    if kind not in CELLS or not layers.isdigit() or not 1 <= int(layers) <= MAX_LAYERS:
        raise ValueError(f"{need}; got {name!r}")
    return kind, int(layers)


def model_label(kind: str, layers: int = 1) -> str:
    """The inverse of ``model_name``: ("gru", 1) -> "gru", ("mingru", 2) -> "mingru-2"."""
    return kind if layers == 1 else f"{kind}-{layers}"
