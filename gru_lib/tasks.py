"""The task seam: a dataset name -> its task, a checkpoint -> its model.

The paper has two tasks, polyphonic music and raw speech. They differ in their data, their
model's output layer, how many steps a sequence predicts and how one samples from a model;
they share everything else (the recurrent layer, the training protocol, the learning-rate
search, the metric). Generic code, the trainer, the search, the reproduction,
``experiments.checkpoint_tools`` and the command line, asks this module for the task and calls
its methods; it never compares a dataset name itself. Adding a third task means writing one
object with the interface of ``Task`` and adding it to ``TASKS``.

    >>> task = task_for("jsb")                                  # the music task
    >>> splits = task.load_splits("jsb")                        # {split: [(T, 88) tensors]}
    >>> model = task.build_model("gru", splits["train"][0].shape[1], seed=0)
    >>> model, checkpoint = load_model("runs/jsb/gru/lr0/best.pt")
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor, nn

from .checks import one_of
from .device import pick_device
from .music.task import MUSIC
from .speech.task import SPEECH
from .training.checkpoints import load_checkpoint


class Task(Protocol):
    """What a task provides. ``music.task.MUSIC`` and ``speech.task.SPEECH`` are the two.

    A Protocol, not a base class: a task satisfies it by having these attributes and methods,
    so music/ and speech/ need not import this module (which imports them).
    """

    name: str                      # "music" or "speech": the key of paper.UNITS / paper.PARAMS
    datasets: tuple                # the data set names it serves, e.g. ("fsdd",)
    model_class: type              # the nn.Module it builds (PianoRollModel, SpeechModel)
    checkpoint_kind: str           # = model_class.checkpoint_kind, stored as meta["model"]
    metric: str                    # the metric's name ("NLL") ...
    unit: str                      # ... and its unit ("nats per time step")
    sequences: str                 # what one sequence is called in messages: "pieces", "clips"
    sample_options: dict           # ``sample``'s own keyword options: {name: command-line flag}
    foreign_option_hints: dict     # {another task's option: why it does not apply here}
    default_out: str               # the file ``sample`` writes when none is named
    budgets: dict                  # {budget name: fields of experiments.reproduce.Budget this
    #                                task sets differently}; absent names use the generic ones
    paper_reference: dict | None   # paper numbers shown beside ours but not comparable to them
    credit: str | None             # an attribution the data's licence asks for, or None

    def load_splits(self, dataset: str, data=None, key_range: str = "88") -> dict[str, list[Tensor]]:
        """{split: list of (T, width) float tensors}, one per sequence; ``data`` the folder
        holding the files (None: the cache); key_range where the task has one."""

    def build_model(self, kind: str, width: int, seed: int = 0, units: int | None = None,
                    **cell_options) -> nn.Module:
        """A model of ``kind`` reading rows of ``width``, with Table 1's units (or ``units``);
        its initial weights depend only on ``seed``. It has ``row_size == width``.
        ``cell_options`` go to the recurrent cells (e.g. recurrent_init="orthogonal")."""

    def steps(self, sequences: list) -> int:
        """How many steps of ``sequences`` the metric averages over."""

    def describe(self, splits: dict) -> str:
        """A few words for logs: what the sequences are and how wide, e.g. "pieces, K=88 keys"."""

    def key_range_of(self, model: nn.Module) -> str | None:
        """The key_range ``model``'s data must be loaded with (None where the task has none)."""

    def sample(self, model: nn.Module, out, *, seed: int, prime=None, **options) -> list[Path]:
        """Generate from ``model`` (after ``prime``, a file to continue, if given), write the
        result next to ``out`` and return the paths written. ``options`` are the task's own
        (music: steps, tempo, fs, wav; speech: seconds, prime_seconds, clip, temperature,
        data), each at the task's default when left out; the command line passes only those
        the user gave, and ``check_sample_options`` refuses the other task's."""


TASKS: tuple[Task, ...] = (MUSIC, SPEECH)
DATASETS = tuple(name for task in TASKS for name in task.datasets)   # every name, once
_BY_DATASET = {name: task for task in TASKS for name in task.datasets}
_BY_KIND = {task.checkpoint_kind: task for task in TASKS}
# The model classes by checkpoint kind: how load_model turns meta["model"] into a class.
MODEL_CLASSES = {kind: task.model_class for kind, task in _BY_KIND.items()}
# Checkpoints written before meta named its model were all piano-roll models.
LEGACY_KIND = MUSIC.checkpoint_kind


def task_for(dataset: str) -> Task:
    """The task that serves ``dataset`` (one of DATASETS)."""
    return _BY_DATASET[one_of("dataset", dataset, DATASETS)]


def check_sample_options(options: dict, task: Task | None = None) -> dict:
    """``options`` for a task's ``sample``, checked by name: a name no task has is a ValueError
    listing the valid ones (a typo such as tmpo=200 would otherwise be lost), and with ``task``
    an option of the other task's is one too, saying why it does not apply (a speech sample's
    --steps or --no-wav would otherwise be silently ignored)."""
    valid = [name for each in TASKS for name in each.sample_options]
    unknown = sorted(str(name) for name in options if name not in valid)
    if unknown:
        raise ValueError(f"unknown sampling option(s) {', '.join(unknown)}; valid options: "
                         f"{', '.join(valid)}")
    foreign = [name for name in options if task is not None and name not in task.sample_options]
    if foreign:
        name = foreign[0]
        owner = next(each for each in TASKS if name in each.sample_options)
        why = task.foreign_option_hints.get(name, f"it does not apply to a {task.name} sample")
        raise ValueError(f"{name} ({owner.sample_options[name]}) is for {owner.name} "
                         f"checkpoints, and this is a {task.name} checkpoint; {why}: leave it "
                         f"out (got {options[name]!r})")
    return options


def task_of(model: nn.Module) -> Task:
    """The task whose model ``model`` is (by its ``checkpoint_kind``)."""
    kind = getattr(model, "checkpoint_kind", None)
    if kind not in _BY_KIND:
        raise ValueError(f"model: a {type(model).__name__} belongs to no task (checkpoint kinds: "
                         f"{', '.join(_BY_KIND)})")
    return _BY_KIND[kind]


def load_model(path, device="cpu", backend: str = "auto") -> tuple[nn.Module, dict]:
    """Rebuild a model from best.pt or last.pt: returns (model, checkpoint dict).

    backend: the recurrent layers' (nn.recurrent.Recurrent): "auto" (default) or any that fits
    the cell, e.g. "python" to score a wide minimal unit on the loop, which is faster than the
    scan on a CPU at the speech size. The numbers are the same on any.

    meta["model"] names the model class (MODEL_CLASSES); a checkpoint without it is a
    piano-roll model from before the name was stored.
    """
    target = pick_device(device)              # a device that does not exist fails first
    ckpt = load_checkpoint(path)
    if "meta" not in ckpt or "model" not in ckpt or not isinstance(ckpt["meta"], dict) \
            or not isinstance(ckpt["model"], dict):
        raise ValueError(f"checkpoint {str(path)!r} is not a gru_lib model checkpoint "
                         f"(keys: {sorted(map(str, ckpt))})")
    kind = ckpt["meta"].get("model", LEGACY_KIND)
    # a str first: a crafted meta["model"] = [1] would make the lookup below raise "unhashable"
    if not isinstance(kind, str) or kind not in MODEL_CLASSES:
        raise ValueError(f"checkpoint {str(path)!r} holds an unknown model {kind!r} "
                         f"(known: {', '.join(MODEL_CLASSES)})")
    try:
        model = MODEL_CLASSES[kind].from_meta(ckpt["meta"], backend=backend)
    except (KeyError, TypeError) as err:
        raise ValueError(f"checkpoint {str(path)!r}: its description of the {kind} model is "
                         f"incomplete or malformed ({type(err).__name__}: {err})") from None
    _check_weights(path, model, ckpt["model"])
    model.load_state_dict(ckpt["model"])
    return model.to(target), ckpt


def trained_on(path, checkpoint: dict, model: nn.Module) -> str | None:
    """The data set a loaded checkpoint says ``model`` (its model) was trained on
    (trainer.best_payload's "trained_on"), or None for one written before checkpoints recorded
    it. A record that names no data set we know, or one that does not fit the model (a speech
    set for a music model, a key range other than the model's width), is a ValueError: the
    file was altered or damaged, and its record is not to be trusted."""
    record = checkpoint.get("trained_on")
    if record is None:
        return None
    dataset = record.get("dataset") if isinstance(record, dict) else None
    task = task_of(model)
    if not isinstance(dataset, str) or dataset not in DATASETS:
        problem = f"names no data set gru_lib knows ({', '.join(DATASETS)})"
    elif task_for(dataset) is not task:
        problem = f"names a {task_for(dataset).name} data set, but it holds a {task.name} model"
    elif record.get("key_range") not in (None, task.key_range_of(model)):
        problem = (f"gives the key range {record.get('key_range')!r}, but its model reads rows "
                   f"of {model.row_size} ({task.key_range_of(model)!r})")
    else:
        return dataset
    raise ValueError(f"checkpoint {str(path)!r}: its record of the data it was trained on "
                     f"({record!r}) {problem}: the file was altered or damaged; to score it "
                     f"anyway, name the data set and pass other_dataset=True (--dataset NAME "
                     f"--other-dataset)")


def _check_weights(path, model: nn.Module, weights: dict) -> None:
    """ValueError unless ``weights`` are exactly ``model``'s tensors, shaped as it describes
    them, and finite (a NaN or inf weight would score "nan nats per step")."""
    expected = model.state_dict()
    missing = [name for name in expected if name not in weights]
    unexpected = [str(name) for name in weights if name not in expected]
    # A crafted file may hold a list (or anything) where a tensor belongs: say so, rather than
    # fail on its missing .shape while describing the mismatch.
    not_tensors = [f"{name} ({type(weights[name]).__name__})" for name in expected
                   if name in weights and not isinstance(weights[name], Tensor)]
    wrong = [f"{name} {tuple(weights[name].shape)} (the model's is {tuple(shape.shape)})"
             for name, shape in expected.items()
             if isinstance(weights.get(name), Tensor) and weights[name].shape != shape.shape]
    if missing or unexpected or wrong or not_tensors:
        problems = ([f"not a tensor: {', '.join(not_tensors)}"] if not_tensors else []) \
            + ([f"shape mismatch: {', '.join(wrong)}"] if wrong else []) \
            + ([f"missing: {', '.join(missing)}"] if missing else []) \
            + ([f"unexpected: {', '.join(unexpected)}"] if unexpected else [])
        raise ValueError(f"checkpoint {str(path)!r}: its weights do not fit the model its meta "
                         f"describes ({'; '.join(problems)})")
    bad = [name for name, w in weights.items()
           if w.is_floating_point() and not bool(torch.isfinite(w).all())]
    if bad:
        raise ValueError(f"checkpoint {str(path)!r} holds non-finite weights (NaN or inf) in "
                         f"{', '.join(bad)}: the run that wrote it diverged; use another "
                         f"checkpoint (a best.pt is saved only at a finite validation NLL)")
