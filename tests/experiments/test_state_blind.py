"""The two measurements of what the minimal units lose (gru_lib/experiments/state_blind.py)."""
import numpy as np
import pytest
import torch

import torch.nn.functional as F
from torch import nn

from gru_lib.experiments.state_blind import gate_spread, running_parity
from gru_lib.nn.stack import make_layers
from gru_lib.music.model import make_model


def random_rolls(n=6, T=40, K=88, seed=0):
    g = torch.Generator().manual_seed(seed)
    # Few distinct chords, so many steps share an input x_t.
    chords = (torch.rand(4, K, generator=g) < 0.05).float()
    return [chords[torch.randint(0, 4, (T,), generator=g)] for _ in range(n)]


def test_gates_of_the_input_alone_do_not_move_within_an_input():
    rolls = random_rolls()
    for kind in ("mingru", "minlstm"):
        spread = gate_spread(make_model(kind, keys=88, hidden_size=12, seed=0), rolls)
        assert set(spread) == ({"update"} if kind == "mingru" else {"forget", "input"})
        for s in spread.values():
            assert s["repeated_inputs"] > 0 and s["steps"] == 6 * 40
            assert s["within_input"] < 1e-7 < s["overall"]


def test_gates_that_read_the_state_move_within_an_input():
    rolls = random_rolls()
    for kind in ("gru", "lstm"):
        spread = gate_spread(make_model(kind, keys=88, hidden_size=12, seed=0, init_scale=1.0),
                             rolls)
        for s in spread.values():
            assert s["within_input"] > 1e-3


def test_a_stack_names_its_layers_and_only_the_first_is_state_blind():
    spread = gate_spread(make_model("mingru", keys=88, hidden_size=12, seed=0, layers=2),
                         random_rolls())
    assert set(spread) == {"0.update", "1.update"}
    assert spread["0.update"]["within_input"] < 1e-7 < 1e-4 < spread["1.update"]["within_input"]


def test_gate_spread_rejects_rolls_of_the_wrong_width():
    model = make_model("gru", keys=88, hidden_size=4)
    with pytest.raises(ValueError, match=r"\(T, K=88\) tensors"):
        gate_spread(model, [torch.zeros(5, 12)])
    with pytest.raises(ValueError, match="non-empty list"):
        gate_spread(model, [])


def test_running_parity_is_the_cumulative_xor():
    bits, parity = running_parity(3, 7, torch.Generator().manual_seed(1))
    assert bits.shape == parity.shape == (7, 3, 1)
    expected = np.bitwise_xor.accumulate(bits.numpy().astype(int), axis=0)
    assert np.array_equal(parity.numpy(), expected)


def parity_accuracy(kind, units=16, steps=8, updates=300, seed=0):
    """(T,) accuracy at each step after ``updates`` Adam steps (chapter 9's experiment)."""
    torch.manual_seed(seed)
    rnn, readout = make_layers(kind, 1, units, backend="auto"), nn.Linear(units, 1)
    opt = torch.optim.Adam([*rnn.parameters(), *readout.parameters()], lr=1e-2)
    data = torch.Generator().manual_seed(seed)
    for _ in range(updates):
        bits, parity = running_parity(64, steps, data)
        loss = F.binary_cross_entropy_with_logits(readout(rnn(bits).outputs), parity)
        opt.zero_grad()
        loss.backward()
        opt.step()
    bits, parity = running_parity(1000, steps, torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        guess = readout(rnn(bits).outputs) > 0
    return (guess.float() == parity).float().mean(dim=(1, 2)).numpy()


def test_a_gru_learns_running_parity_and_a_minimal_unit_cannot():
    gru, mingru = parity_accuracy("gru"), parity_accuracy("mingru")
    assert gru.shape == mingru.shape == (8,)
    assert gru.min() > 0.95                       # every step, the last included
    assert mingru[0] > 0.95                       # y_1 = x_1: no memory needed
    assert abs(mingru[2:].mean() - 0.5) < 0.1     # a stored bit it cannot flip: chance
