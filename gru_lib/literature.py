"""Other published test NLLs on the paper's four music sets, in one place.

Table 2 is one paper's numbers; these are the plain recurrent nets (and one TCN) that other
papers report on the same Boulanger-Lewandowski files, in nats per time step (lower is
better). Chapter 8 prints them beside the paper's and ours, and the README's capacity table
(``runs/probe_table.py``) measures every probe against the best of them.

``SOURCES`` says where each paper's numbers were read: two were checked against the original
tables, one is still quoted from what later papers give for it.

Nothing here imports anything but the standard library.
"""
from __future__ import annotations

# Bai, Kolter & Koltun (2018), "An Empirical Evaluation of Generic Convolutional and Recurrent
# Networks for Sequence Modeling", Table 1: the two music sets they used; "tanh" is their
# generic RNN.
BAI2018 = {
    "jsb": {"tanh": 8.91, "gru": 8.43, "lstm": 8.45, "TCN": 8.10},
    "nottingham": {"tanh": 4.05, "gru": 3.46, "lstm": 3.29, "TCN": 3.07},
}

# Plain (tanh or sigmoid) RNNs, keyed by the label chapter 8 prints.
PLAIN_RNN = {
    # Hessian-free optimisation ("RNN (HF)").
    "Boulanger-Lewandowski et al. 2012": {
        "nottingham": 3.89, "jsb": 8.58, "musedata": 7.19, "piano-midi": 7.66},
    # Momentum SGD with gradient clipping and their vanishing-gradient regulariser
    # (column MSGD+CR of Table 1 in the ICML 2013 proceedings, the version we cite).
    "Pascanu et al. 2013": {"nottingham": 3.36, "musedata": 6.97, "piano-midi": 7.46},
}

# The same paper's arXiv v2 (1211.5063v2, February 2013), plain SGD with clipping and the
# regulariser (SGD+CR), a different run: the numbers later papers usually quote for it.
PASCANU2013_ARXIV_V2 = {"nottingham": 3.46, "musedata": 6.99, "piano-midi": 7.46}

SOURCES = {
    "Bai et al. 2018": "checked against Table 1 of the paper",
    "Pascanu et al. 2013": "checked against Table 1 of the ICML 2013 proceedings",
    "Boulanger-Lewandowski et al. 2012": "quoted from later papers, not checked",
}

_LABEL = {"tanh": "tanh-RNN", "gru": "GRU", "lstm": "LSTM"}


def best_other_plain_rnn(dataset: str) -> tuple[float, str]:
    """(test NLL, whose) of the best published plain recurrent net on ``dataset``.

    The floor issue 14 sets for our models: Bai et al.'s GRU and LSTM count as plain
    recurrent nets, their TCN does not.

        >>> best_other_plain_rnn("nottingham")
        (3.29, "Bai et al.'s LSTM")
    """
    named = [(numbers[dataset], f"{source.rsplit(' ', 1)[0]}'s RNN")
             for source, numbers in PLAIN_RNN.items() if dataset in numbers]
    named += [(nll, f"Bai et al.'s {_LABEL[kind]}")
              for kind, nll in BAI2018.get(dataset, {}).items() if kind in _LABEL]
    if not named:
        known = sorted({d for numbers in PLAIN_RNN.values() for d in numbers})
        raise ValueError(f"no published plain RNN on {dataset!r}; known sets: "
                         f"{', '.join(known)}")
    return min(named)
