"""Small helpers shared by the nn tests."""
import torch

from gru_lib import Recurrent


def layer(kind, options, D=5, H=4, seed=0):
    torch.manual_seed(seed)
    layer = Recurrent.make(kind, D, H, **options).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.uniform_(-0.5, 0.5)
    return layer
