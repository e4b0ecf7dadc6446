"""How far back does a trained model look? Its NLL when its state restarts every k steps.

A recurrent model predicts x_t from everything before it, through its state h_{t−1}. Cut every
sequence into consecutive chunks of k steps and run each chunk from the initial state: now each
prediction sees at most the k − 1 steps before it in its own chunk (a chunk's first step sees
none). The NLL as a function of k is the model's *context curve*:

    >>> context_curve(gru, nottingham_test, contexts=(1, 4, 16, 64, None))  # full protocol GRU
    {1: 11.59, 4: 7.06, 16: 5.40, 64: 4.27, None: 3.53}      # None: whole pieces, the metric

It falls as k grows, and where it flattens the model stops using the past: the drop from k to
whole pieces is what the model gets out of the steps more than k back. Chapter 9 draws it for
the GRU and the minimal units, whose gates cannot see the state: on Nottingham they match the
GRU up to a few bars of context and gain far less from everything older.

The metric is the paper's (total nats / total steps, ``training.evaluation.evaluate``), on
padded batches of the chunks, so it does not depend on ``batch_size``; k at least as long as the
longest sequence is exactly the whole-sequence NLL. Any model with ``nll_sum(rows, lengths)``
over (T, B, row) batches works: the music and the speech models.

What the past is worth depends on the data as much as on the model. ``repeat_share`` measures
one thing the data offer: how often a step is exactly the step ``lag`` before it. Nottingham's
folk tunes repeat whole 8-bar sections (64 of its eighth-note steps), JSB's chorales hardly
repeat at all, and the curves of the models that can use it differ accordingly.
"""
from __future__ import annotations

from collections.abc import Sequence

from ..checks import positive_int
from ..training.batching import eval_batches
from ..training.evaluation import evaluate

__all__ = ["CONTEXTS", "context_curve", "nll_with_context", "repeat_share"]

# Powers of two from one step to 128 (16 bars of Nottingham's eighth notes), then whole pieces.
CONTEXTS = (1, 2, 4, 8, 16, 32, 64, 128, None)


def _check_sequences(sequences) -> list:
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Sequence) or not sequences:
        raise ValueError("sequences: expected a non-empty list of (T, row) tensors, e.g. "
                         "load_music(name, 'test')")
    for i, s in enumerate(sequences):
        if getattr(s, "ndim", None) != 2 or s.shape[0] == 0:
            raise ValueError(f"sequences[{i}]: expected a (T, row) tensor with T >= 1, got "
                             f"{type(s).__name__} of shape {tuple(getattr(s, 'shape', ()))}")
    return list(sequences)


def nll_with_context(model, sequences, context: int | None, batch_size: int = 64) -> float:
    """NLL per step (total / total) of ``model`` on ``sequences`` when its state restarts every
    ``context`` steps (None: never, i.e. the whole-sequence metric)."""
    sequences = _check_sequences(sequences)
    positive_int("context", context, allow_none=True)
    positive_int("batch_size", batch_size)
    chunks = sequences if context is None else \
        [chunk for s in sequences for chunk in s.split(context)]           # views, (≤k, row)
    return evaluate(model, eval_batches(chunks, batch_size))


def context_curve(model, sequences, contexts=CONTEXTS, batch_size: int = 64) -> dict:
    """{k: ``nll_with_context(model, sequences, k)``} for each k of ``contexts``."""
    sequences = _check_sequences(sequences)
    if isinstance(contexts, (str, bytes)) or not isinstance(contexts, Sequence) or not contexts:
        raise ValueError(f"contexts: expected a non-empty list of step counts (None for whole "
                         f"sequences), got {contexts!r}")
    return {k: nll_with_context(model, sequences, k, batch_size) for k in contexts}


def repeat_share(sequences, lag: int) -> float:
    """The share of steps t >= ``lag`` (over all ``sequences``) whose row equals row t − lag
    exactly: 1.0 for a sequence that repeats with period ``lag``."""
    sequences = _check_sequences(sequences)
    positive_int("lag", lag)
    same = total = 0
    for s in sequences:
        if len(s) > lag:
            equal = (s[lag:] == s[:-lag]).all(dim=1)                   # (T − lag,)
            same, total = same + int(equal.sum()), total + len(equal)
    if total == 0:
        raise ValueError(f"lag: every sequence is at most {lag} steps long, so no step has one "
                         f"{lag} steps before it; pass a smaller lag")
    return same / total
