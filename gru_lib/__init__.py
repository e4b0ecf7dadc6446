"""gru_lib: tanh-RNN, GRU and LSTM cells written out from the equations of Chung et al. (2014).

    >>> import torch, gru_lib
    >>> layer = gru_lib.Recurrent(gru_lib.make_cell("gru", 88, 46))
    >>> out, state, _ = layer(torch.zeros(100, 32, 88))       # (T, B, D) -> (T, B, H)
"""
from .cells import GRUCell, LSTMCell, RecurrentCell, TanhCell, make_cell
from .device import pick_device
from .sequence import Recurrent, SequenceOutput

__version__ = "0.1.0"
