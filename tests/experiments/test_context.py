"""The context curve (gru_lib/experiments/context.py): the NLL with the state restarted every k
steps, checked against the same quantity computed by hand."""
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gru_lib.experiments.context import CONTEXTS, context_curve, nll_with_context, repeat_share
from gru_lib.music.data import load_music
from gru_lib.music.model import make_model
from gru_lib.tasks import load_model
from gru_lib.training.evaluation import evaluate
from gru_lib.training.batching import batches, eval_batches

RESULTS = Path(__file__).resolve().parents[2] / "data" / "results"


@pytest.fixture(scope="module")
def jsb_test(data_dir):
    return load_music("jsb", "test", folder=data_dir, progress=False)


def by_hand(model, sequences, k):
    """Every chunk of k steps run alone from the initial state, its nats summed: total / total."""
    total, steps = 0.0, 0
    with torch.no_grad():
        for s in sequences:
            for start in range(0, len(s), k):
                chunk = s[start:start + k].unsqueeze(1)                  # (≤k, 1, K)
                nats, n = model.nll_sum(chunk)
                total, steps = total + float(nats), steps + n
    return total / steps


@pytest.mark.parametrize("kind", ["gru", "mingru"])
def test_each_chunk_starts_from_the_initial_state(kind, jsb_test):
    model = make_model(kind, keys=88, hidden_size=16, seed=1, init_scale=0.5).double()
    pieces = [p.double() for p in jsb_test[:12]]
    for k in (3, 16):
        assert nll_with_context(model, pieces, k, batch_size=5) == \
            pytest.approx(by_hand(model, pieces, k), rel=1e-12)


def test_one_step_of_context_is_the_initial_prediction_everywhere(jsb_test):
    """With k = 1 every step is predicted from h0 and a zero input: one set of logits, l0."""
    model = make_model("lstm", keys=88, hidden_size=16, seed=2, init_scale=0.5).double()
    pieces = [p.double() for p in jsb_test[:10]]
    with torch.no_grad():
        l0 = model(torch.zeros(1, 1, 88, dtype=torch.float64))[0, 0]           # (K,)
    rows = torch.cat(pieces)                                                   # (N, K)
    expected = (F.softplus(l0).sum() - rows @ l0).mean().item()
    assert nll_with_context(model, pieces, 1) == pytest.approx(expected, rel=1e-12)


def test_a_context_past_the_longest_piece_is_the_metric_and_the_batch_does_not_matter(jsb_test):
    model = make_model("gru", keys=88, hidden_size=16, seed=3)
    whole = evaluate(model, eval_batches(list(jsb_test), 64))            # the same batches
    longest = max(len(p) for p in jsb_test)
    assert nll_with_context(model, jsb_test, None) == pytest.approx(whole, rel=1e-9)
    assert nll_with_context(model, jsb_test, longest) == pytest.approx(whole, rel=1e-9)
    fixed = evaluate(model, batches(list(jsb_test), 64, shuffle=False))   # other padding
    assert nll_with_context(model, jsb_test, None) == pytest.approx(fixed, rel=1e-6)
    assert nll_with_context(model, jsb_test, 8, batch_size=1) == \
        pytest.approx(nll_with_context(model, jsb_test, 8, batch_size=64), rel=1e-6)


def test_a_trained_gru_uses_more_context_the_more_it_gets(jsb_test):
    """The committed JSB winner: each doubling of the context up to 64 steps lowers its NLL,
    and whole pieces give the test NLL its results.json reports."""
    summary = json.loads((RESULTS / "jsb" / "paper" / "results.json").read_text())
    winner = summary["models"]["gru"]
    model, _ = load_model(RESULTS / "jsb" / "paper" / winner["checkpoint"])
    curve = context_curve(model, jsb_test)
    assert list(curve) == list(CONTEXTS)
    # Up to 64 steps (16 bars of JSB's quarter notes) each doubling helps. Past that the curve
    # is flat, not necessarily monotone: only the one test piece longer than 128 steps sees a
    # restart at 128, and it happens to score a hair better for it (8.4750 against 8.4759).
    upto_64 = [curve[k] for k in (1, 2, 4, 8, 16, 32, 64)]
    assert all(a > b for a, b in zip(upto_64, upto_64[1:]))
    assert abs(curve[128] - curve[None]) < 0.01 < curve[64] - curve[None]
    assert curve[None] == pytest.approx(winner["test_nll"], abs=1e-4)


def test_repeat_share_counts_the_steps_equal_to_the_one_lag_before():
    rows = torch.eye(4)                                            # four distinct rows
    periodic = rows[[0, 1, 2, 3] * 3]                              # period 4, 12 steps
    assert repeat_share([periodic], 4) == 1.0
    assert repeat_share([periodic], 2) == 0.0
    # 8 steps of period 4 (4 of them 4 steps after their twin), then 3 steps with no twin;
    # the 2-step piece has no step 4 steps back and does not count.
    broken = torch.cat([periodic[:8], rows[[3, 2, 1]]])
    assert repeat_share([broken, periodic[:2]], 4) == pytest.approx(4 / 7)


def test_nottingham_repeats_its_sections_and_jsb_does_not(data_dir):
    """What chapter 9 reads off the data: 64 steps (8 bars of eighth notes) back, Nottingham's
    test pieces repeat far more often than JSB's, and more often than 16 steps back."""
    nottingham = load_music("nottingham", "test", folder=data_dir, progress=False)
    jsb = load_music("jsb", "test", folder=data_dir, progress=False)
    assert repeat_share(nottingham, 64) > 3 * repeat_share(nottingham, 16)
    assert repeat_share(nottingham, 64) > 5 * repeat_share(jsb, 64)


@pytest.mark.parametrize("call, message", [
    (lambda m, s: nll_with_context(m, s, 0), "context"),
    (lambda m, s: nll_with_context(m, s, 2.5), "context"),
    (lambda m, s: nll_with_context(m, s, 4, batch_size=0), "batch_size"),
    (lambda m, s: nll_with_context(m, [], 4), "non-empty list"),
    (lambda m, s: nll_with_context(m, s[0], 4), "list of"),
    (lambda m, s: nll_with_context(m, [s[0][0]], 4), r"sequences\[0\]"),
    (lambda m, s: nll_with_context(m, [s[0][:0]], 4), r"T >= 1"),
    (lambda m, s: context_curve(m, s, contexts=4), "contexts"),
    (lambda m, s: context_curve(m, s, contexts=()), "contexts"),
    (lambda m, s: repeat_share(s, 0), "lag"),
    (lambda m, s: repeat_share([x[:5] for x in s], 5), "smaller lag"),
])
def test_bad_input_is_named(call, message, jsb_test):
    model = make_model("gru", keys=88, hidden_size=4)
    with pytest.raises(ValueError, match=message):
        call(model, jsb_test[:3])
