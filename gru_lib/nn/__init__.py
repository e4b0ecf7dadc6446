"""The three recurrent units of the paper as torch modules, and the ways to run them.

    cells.py      ``TanhCell``, ``GRUCell``, ``LSTMCell``: one time step each, from the equations
    recurrent.py  ``Recurrent``: a cell over a padded batch of sequences, on one of three backends
    bptt.py       backend="bptt": the same cells with the backward pass through time by hand;
                  under torch.vmap, a population of P such layers runs as one loop of batched ops
    native.py     backend="native": a cell through its torch twin's fused kernel (nn.RNN/GRU/LSTM)
    interop.py    weights copied between cells and their torch twins
    budget.py     parameter counts, and units at an equal budget (Table 1)

Inside the package, bptt, native and budget import only cells; recurrent imports bptt and
native; interop imports recurrent. Nothing here imports training, the tasks or anything above
them (tests/test_layout.py checks both).
"""
