"""What callers add to a ``Trainer`` (trainer.py) without touching its loop: progress bars, and
stopping cleanly on Ctrl-C / SIGTERM. Both only use the Trainer's public hooks --
``add_callback`` and ``request_stop`` -- so they are also examples of how to write one.
"""
from __future__ import annotations

import signal
import threading

from tqdm.auto import tqdm

# Every hook gets the Trainer (``t`` below). This module does not import trainer.py, which
# imports it: the hooks only read the trainer's public attributes (config, state, model).


class ProgressBars:
    """tqdm bars: one for the run (epochs, with the validation NLL) and one per epoch (batches,
    with the running NLL), as callbacks. ``Trainer`` attaches one when ``config.progress`` is on."""

    def __init__(self):
        self.run_bar = self.epoch_bar = None

    def attach(self, trainer) -> ProgressBars:
        for event in ("on_run_start", "on_update", "on_epoch_end", "on_run_end"):
            trainer.add_callback(event, getattr(self, event))
        return self

    def on_run_start(self, t) -> None:
        self.run_bar = tqdm(total=t.config.max_epochs, initial=t.state.epoch, unit="epoch",
                            desc=f"{t.model.meta().get('kind', '')} lr={t.config.lr:.2g}", leave=False)

    def on_update(self, t) -> None:
        if self.epoch_bar is None:
            self.epoch_bar = tqdm(total=t.batches_per_epoch, initial=t.state.batch - 1, unit="batch",
                                  desc=f"epoch {t.state.epoch + 1}", leave=False)
        self.epoch_bar.update(1)
        self.epoch_bar.set_postfix(nll=f"{t.state.running_nll:.3f}")

    def on_epoch_end(self, t) -> None:
        self._close_epoch_bar()
        if self.run_bar is not None:
            self.run_bar.update(1)
            self.run_bar.set_postfix(valid=f"{t.state.records[-1]['valid_nll']:.3f}",
                                     best=f"{t.state.best_valid:.3f}")

    def on_run_end(self, t) -> None:
        self._close_epoch_bar()
        if self.run_bar is not None:
            self.run_bar.close()
            self.run_bar = None

    def _close_epoch_bar(self) -> None:
        if self.epoch_bar is not None:
            self.epoch_bar.close()
            self.epoch_bar = None


class PopulationProgressBars:
    """One tqdm bar for a PopulationTrainer's run: epochs, with how many members still train
    and the best validation NLL any member has reached. ``PopulationTrainer`` attaches one
    when ``config.progress`` is on."""

    def __init__(self):
        self.run_bar = None

    def attach(self, trainer) -> PopulationProgressBars:
        for event in ("on_run_start", "on_epoch_end", "on_run_end"):
            trainer.add_callback(event, getattr(self, event))
        return self

    def on_run_start(self, t) -> None:
        epoch = max(m.state.epoch for m in t.members)
        self.run_bar = tqdm(total=t.config.max_epochs, initial=epoch, unit="epoch",
                            desc=f"{t.base.meta().get('kind', '')} x{len(t.members)} lrs", leave=False)
        self._postfix(t)

    def on_epoch_end(self, t) -> None:
        if self.run_bar is not None:
            self.run_bar.update(1)
            self._postfix(t)

    def _postfix(self, t) -> None:
        best = min((m.state.best_valid for m in t.members if m.failure is None), default=float("nan"))
        self.run_bar.set_postfix(live=f"{t.size}/{len(t.members)}", best=f"{best:.3f}")

    def on_run_end(self, t) -> None:
        if self.run_bar is not None:
            self.run_bar.close()
            self.run_bar = None


class StopOnSignals:
    """While active, SIGINT/SIGTERM only ask the trainer to stop: it saves a checkpoint and ends
    after the current update. A second Ctrl-C does what Ctrl-C did before this was entered (by
    default: KeyboardInterrupt at once). Any object with ``stop_reason`` and ``request_stop``
    will do: a Trainer or a PopulationTrainer.

    ``StopOnSignals.signalled`` says whether any of them has received a signal in this process;
    ``ctrl_c_once`` (a program's handler) reads it."""

    signalled = False

    def __init__(self, trainer):
        self.trainer, self._previous = trainer, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():   # signals reach only it
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.trainer.stop_reason is not None and signum == signal.SIGINT:
            previous = self._previous.get(signum)
            if callable(previous):
                return previous(signum, frame)
            if previous == signal.SIG_IGN:
                return None
            raise KeyboardInterrupt
        StopOnSignals.signalled = True
        self.trainer.request_stop(signal.Signals(signum).name)

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def ctrl_c_once(signum, frame):
    """A program's SIGINT handler (the command line's): the first Ctrl-C raises
    KeyboardInterrupt, as by default; the ones after it, and any that come while a StopOnSignals
    stop is under way (the trainer saves its checkpoints and ends in moments), are ignored. A
    KeyboardInterrupt raised into that clean-up could land anywhere, even in a garbage-collector
    callback, where Python prints it as a traceback and goes on."""
    if StopOnSignals.signalled or getattr(ctrl_c_once, "seen", False):
        return
    ctrl_c_once.seen = True
    raise KeyboardInterrupt
