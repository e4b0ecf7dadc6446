"""gru_lib: tanh-RNN, GRU and LSTM cells written out from the equations of Chung et al. (2014).

    >>> import torch, gru_lib
    >>> layer = gru_lib.Recurrent(gru_lib.make_cell("gru", 88, 46))
    >>> out, state, _ = layer(torch.zeros(100, 32, 88))       # (T, B, D) -> (T, B, H)

The packages, bottom to top (each imports only from those above it in this list):

    paper.py, literature.py   the paper's numbers, and other papers' on the same sets
    checks.py, device.py, atomic.py, download.py   shared plumbing
    nn/           cells, the recurrent layer and its backends, torch interop, budgets
    training/     batching, the Trainer, optimiser, checkpoints, the learning-rate search
    music/, speech/   the paper's two tasks: data, model, metric, sampling
    tasks.py      the seam: a dataset name -> its task; checkpoints -> their model
    experiments/  the reproduction, the ablations, the playground and its widgets, plots
    __main__.py   the command line (argparse only)
"""
from .device import pick_device
from .nn.cells import GRUCell, LSTMCell, RecurrentCell, TanhCell
from .nn.interop import from_torch, to_torch
from .nn.kinds import make_cell
from .nn.minimal import MinGRUCell, MinLSTMCell
from .nn.recurrent import Recurrent, SequenceOutput

__all__ = ["GRUCell", "LSTMCell", "MinGRUCell", "MinLSTMCell", "Recurrent", "RecurrentCell",
           "SequenceOutput", "TanhCell", "from_torch", "make_cell", "pick_device", "to_torch"]
__version__ = "0.1.0"
