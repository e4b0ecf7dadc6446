"""StopOnSignals: the first SIGINT/SIGTERM asks for a clean stop; a second Ctrl-C does what
Ctrl-C did before (the default raises). ctrl_c_once, the command line's handler: it raises once,
and never while a clean stop is under way."""
import os
import signal

import pytest

from gru_lib.training.callbacks import StopOnSignals, ctrl_c_once


class Stoppable:
    """The two things StopOnSignals uses: stop_reason and request_stop."""

    def __init__(self):
        self.stop_reason = None

    def request_stop(self, reason):
        self.stop_reason = reason


@pytest.fixture
def sigint_handler():
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)


def test_first_signal_asks_to_stop_and_the_handlers_come_back(sigint_handler):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    trainer = Stoppable()
    with StopOnSignals(trainer):
        os.kill(os.getpid(), signal.SIGTERM)
    assert trainer.stop_reason == "SIGTERM" and StopOnSignals.signalled
    assert {s: signal.getsignal(s) for s in before} == before


def test_second_ctrl_c_goes_to_the_previous_handler(sigint_handler):
    calls = []
    signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    trainer = Stoppable()
    with StopOnSignals(trainer):
        os.kill(os.getpid(), signal.SIGINT)
        assert trainer.stop_reason == "SIGINT" and calls == []
        os.kill(os.getpid(), signal.SIGINT)
        assert calls == [signal.SIGINT]


def test_second_ctrl_c_is_ignored_where_it_was_and_raises_by_default(sigint_handler):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with StopOnSignals(Stoppable()):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)              # ignored, as before
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with pytest.raises(KeyboardInterrupt):
        with StopOnSignals(Stoppable()):
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_once_raises_once_and_never_into_a_clean_stop(monkeypatch):
    monkeypatch.setattr(StopOnSignals, "signalled", False)
    monkeypatch.delattr(ctrl_c_once, "seen", raising=False)
    with pytest.raises(KeyboardInterrupt):
        ctrl_c_once(signal.SIGINT, None)
    assert ctrl_c_once(signal.SIGINT, None) is None                     # the second: ignored
    monkeypatch.delattr(ctrl_c_once, "seen")
    monkeypatch.setattr(StopOnSignals, "signalled", True)               # a stop under way
    assert ctrl_c_once(signal.SIGINT, None) is None
