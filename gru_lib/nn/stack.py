"""Recurrent layers stacked: layer l reads the outputs of layer l − 1.

    >>> rnn = make_layers("mingru", 88, 64, layers=2)     # (T, B, 88) -> (T, B, 64)
    >>> out, state, _ = rnn(torch.zeros(100, 8, 88))      # state: one state tuple per layer

The paper's models have one recurrent layer; a stack is how the minimal units of Feng et al.
(2024), whose single layer is much weaker than a GRU's, are usually run. Every layer has the
same width H; the first reads D inputs, the others H. ``make_layers(..., layers=1)`` returns a
plain ``Recurrent``, so a one-layer model keeps its parameter names (``rnn.cell.*``) and its
numbers.

Padding: each layer zeroes its outputs after each length, and the next layer seals its input
again (Recurrent does), so a padded step reaches no layer's state.
"""
from __future__ import annotations

from torch import Tensor, nn

from .. import checks
from .kinds import layer_count
from .recurrent import Recurrent, SequenceOutput


class StackedRecurrent(nn.Module):
    """L ``Recurrent`` layers in a row, with Recurrent's interface.

    ``forward(x, lengths=None, state=None, return_gates=False)`` returns a SequenceOutput
    whose ``outputs`` are the last layer's (T, B, H), whose ``state`` is a tuple of L layer
    states (each what that layer's Recurrent returns), and whose ``gates`` (if asked for) are
    {f"{l}.{name}": (T, B, H)}, layer l counted from 0. ``state`` in: None or such a tuple.
    """

    def __init__(self, layers: list):
        super().__init__()
        layers = list(layers)
        if len(layers) < 2:
            raise ValueError(f"a stack needs at least 2 Recurrent layers, got {len(layers)}; use "
                             f"the Recurrent layer itself for one")
        for i, layer in enumerate(layers):
            checks.instance(f"layers[{i}]", layer, Recurrent, "Recurrent layer")
        for i, (below, above) in enumerate(zip(layers, layers[1:]), 1):
            if above.cell.input_size != below.hidden_size:
                raise ValueError(f"layers[{i}] reads {above.cell.input_size} inputs but layers"
                                 f"[{i - 1}] gives {below.hidden_size}: make them equal")
        self.layers = nn.ModuleList(layers)

    @property
    def hidden_size(self) -> int:
        return self.layers[-1].hidden_size

    @property
    def cells(self) -> list:
        """Every layer's cell, bottom first."""
        return [layer.cell for layer in self.layers]

    def forward(self, x: Tensor, lengths=None, state=None, return_gates: bool = False
                ) -> SequenceOutput:
        L = len(self.layers)
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != L):
            raise ValueError(f"state for a stack of {L} layers must be a tuple of {L} layer "
                             f"states (what this stack returned as .state), or None")
        states, gates = [], {} if return_gates else None
        for i, layer in enumerate(self.layers):
            out = layer(x, lengths, None if state is None else state[i], return_gates)
            x = out.outputs                                  # (T, B, H): the next layer's input
            states.append(out.state)
            if return_gates:
                gates.update({f"{i}.{name}": g for name, g in out.gates.items()})
        return SequenceOutput(x, tuple(states), gates)


def make_layers(kind: str, input_size: int, hidden_size: int, layers: int = 1,
                backend: str = "python", **options) -> Recurrent | StackedRecurrent:
    """``layers`` recurrent layers of ``kind``, each ``hidden_size`` wide; the first reads
    ``input_size``. One layer is a plain Recurrent (the paper's models, unchanged)."""
    layers = layer_count(layers)
    made = [Recurrent.make(kind, input_size if i == 0 else hidden_size, hidden_size,
                           backend=backend, **options) for i in range(layers)]
    return made[0] if layers == 1 else StackedRecurrent(made)


def recurrent_weights(rnn: Recurrent | StackedRecurrent) -> list:
    """W and (where the cell has one) U of every layer: what weight noise "on the recurrent
    layer" covers (training.trainer's noise_on="recurrent")."""
    cells = rnn.cells if isinstance(rnn, StackedRecurrent) else [rnn.cell]
    return [p for cell in cells for p in (cell.weight_ih, getattr(cell, "weight_hh", None))
            if p is not None]
