"""Use a trained checkpoint: score it on a split, or sample from it.

    >>> evaluate_checkpoint("runs/jsb/gru/lr0/best.pt", split="test")   # the set it learned
    {'checkpoint': ..., 'dataset': 'jsb', 'split': 'test', 'nll': 8.61, 'steps': 9617, ...}
    >>> sample_checkpoint("runs/jsb/gru/lr0/best.pt", "song.mid", steps=64)
    [PosixPath('song.mid'), PosixPath('song.wav')]

These are what ``python -m gru_lib evaluate`` and ``sample`` run. The checkpoint says which
model it holds (meta["model"], see ``gru_lib.tasks.load_model``) and so which task it
belongs to, and the data set it was trained on ("trained_on", see ``gru_lib.tasks.trained_on``;
checkpoints written before that record need the data set named); the task loads the data,
counts the steps and writes the samples. Nothing here depends on which task that is.
"""
from __future__ import annotations

import math
from pathlib import Path

from ..atomic import refuse_a_file_in_the_path
from ..checks import instance, one_of, path_like, positive_int
from ..checks import seed as seed_check
from ..music.data import OtherDatasetsFile
from ..paper import SPLITS
from ..tasks import DATASETS, check_sample_options, load_model, task_for, task_of, trained_on
from ..training.batching import eval_batches
from ..training.evaluation import evaluate, evaluate_per_piece, per_step_readings
from .context import nll_with_context
from .reproduce import load_splits

__all__ = ["evaluate_checkpoint", "sample_checkpoint"]

# The longest --context: far beyond any piece (Piano-midi.de's longest has a few thousand
# steps), and small enough for every integer torch takes.
MAX_CONTEXT = 2**31 - 1


def evaluate_checkpoint(checkpoint, dataset: str | None = None, split: str = "test", data=None,
                        key_range: str | None = None, batch_size: int = 64,
                        device: str = "auto", backend: str = "auto",
                        context: int | None = None, other_dataset: bool = False) -> dict:
    """The paper's metric for ``checkpoint`` on one split of ``dataset``.

    dataset: None scores it on the data set it was trained on, which the checkpoint records
    (one written before that record was kept needs it named). A data set other than that one
    is refused as a likely mistake (a table scored with the wrong checkpoint) unless
    ``other_dataset`` (e.g. a JSB Chorales model on Nottingham on purpose); the report's
    "trained_on" says which it was trained on (None: not recorded). A record that does not
    fit the model (an altered file) is refused too, unless ``dataset`` is named with
    ``other_dataset``.
    key_range: None infers it from the model's width (music). batch_size and backend (the
    recurrent layers', e.g. "python" for a wide minimal unit on a CPU) change only the speed:
    the metric is total nats / total steps, whatever the batching.

    Returns {"checkpoint", "dataset", "trained_on", "split", "nll", "piece_mean_nll", "pieces", "steps",
    "metric", "unit"}: ``nll`` the average NLL over all ``steps`` predicted steps (total /
    total), ``piece_mean_nll`` the mean over the ``pieces`` of each one's NLL per step.
    Music reports also "from_step_1": {"nll", "piece_mean_nll"}, both averages without step 0
    (the authors' code scores seq[1:], so never predicts it; ``per_step_readings``).
    context: also report "context" and "context_nll", the same metric with the model's state
    restarted every ``context`` steps (experiments/context.py): what is left of ``nll`` when
    the model may not look further back than that.
    """
    if dataset is not None:
        task_for(dataset)                     # an unknown name fails before the file is read
    one_of("split", split, SPLITS)
    positive_int("batch_size", batch_size)
    positive_int("context", context, allow_none=True)
    instance("other_dataset", other_dataset, bool, "bool (True or False)")   # "no" is truthy
    if context is not None and context > MAX_CONTEXT:
        # torch takes a step count as a 64-bit integer ("Overflow when unpacking long long")
        raise ValueError(f"context: {context} steps is more than any piece has; give at most "
                         f"{MAX_CONTEXT} (a context longer than every piece gives the plain NLL)")
    model, ckpt = load_model(checkpoint, device=device, backend=backend)   # the device first
    try:
        learned = trained_on(checkpoint, ckpt, model)
    except ValueError:
        if not (other_dataset and dataset is not None):
            raise
        learned = None                    # a damaged record, overridden by name: not reported
    dataset = _dataset_to_score(checkpoint, dataset, learned, other_dataset)
    task = task_for(dataset)
    if task_of(model) is not task:
        fits = task_of(model).datasets
        raise ValueError(f"checkpoint: {str(checkpoint)!r} holds a {task_of(model).name} model, "
                         f"but {dataset} is a {task.name} data set; a {task_of(model).name} "
                         f"model fits {'the data set' if len(fits) == 1 else 'the data sets'} "
                         f"{', '.join(fits)}")
    if key_range is not None and task.key_range_of(model) is None:   # as reproduce refuses it
        raise ValueError(f"key_range: {dataset} is {task.name}, which has no key range; leave "
                         f"it out (--key-range is for the music data sets)")
    key_range = key_range or task.key_range_of(model)
    try:
        sequences = load_splits(dataset, key_range=key_range, data=data)[split]
    except OtherDatasetsFile as wrong:
        if dataset != learned or wrong.found == learned:   # "--dataset FOUND" is the whole fix
            raise
        raise ValueError(f"{wrong.problem}, the set this model was trained on; give {dataset}'s "
                         f"file, or score the model on {wrong.found} on purpose (--dataset "
                         f"{wrong.found} --other-dataset)") from None
    if sequences[0].shape[1] != model.row_size:
        raise ValueError(f"checkpoint: the model reads rows of {model.row_size} but {dataset} "
                         f"with key range {key_range} has rows of {sequences[0].shape[1]}")
    # A piano-roll model predicts every row, step 0 from silence; the authors' code scores
    # seq[1:] only, so music gets both averages without step 0 as well. Its one pass gives
    # every reading, the headline total / total included; speech has no step-0 reading.
    readings = (per_step_readings(model, sequences, batch_size) if task.name == "music"
                else None)
    nll = readings["total"] if readings else evaluate(model, eval_batches(sequences, batch_size))
    if not math.isfinite(nll):
        # a NaN or inf is no score (and json.dumps would print NaN, which is not JSON)
        raise ValueError(f"checkpoint: {str(checkpoint)!r} gives a non-finite NLL ({nll}) on "
                         f"{dataset} {split}: its weights have diverged; evaluate another "
                         f"checkpoint (e.g. the candidate's best.pt, or another candidate's)")
    report = {"checkpoint": str(checkpoint), "dataset": dataset, "trained_on": learned,
              "split": split, "nll": nll,
              "piece_mean_nll": readings["piece_mean"] if readings
              else evaluate_per_piece(model, sequences, batch_size), "pieces": len(sequences),
              "steps": task.steps(sequences), "metric": task.metric, "unit": task.unit}
    if readings:
        report["from_step_1"] = {"nll": readings["total_from_step_1"],
                                 "piece_mean_nll": readings["piece_mean_from_step_1"]}
    if context is not None:
        report.update(context=context,
                      context_nll=nll_with_context(model, sequences, context, batch_size))
    bad = [k for k in ("piece_mean_nll", "context_nll") if k in report
           and not math.isfinite(report[k])]
    if bad:                              # the same as a non-finite nll above: no score
        raise ValueError(f"checkpoint: {str(checkpoint)!r} gives a non-finite {bad[0]} "
                         f"({report[bad[0]]}) on {dataset} {split}: its weights have diverged; "
                         f"evaluate another checkpoint")
    return report


def _dataset_to_score(checkpoint, dataset: str | None, learned: str | None,
                      other_dataset: bool) -> str:
    """The data set evaluate_checkpoint scores: the one asked for, else the one the checkpoint
    learned; another than it learned only when ``other_dataset``."""
    if dataset is None:
        if learned is None:
            raise ValueError(f"dataset: {str(checkpoint)!r} does not record the data set it was "
                             f"trained on (it was written before checkpoints kept that); name it "
                             f"(--dataset), one of {', '.join(DATASETS)}")
        return learned
    if learned is not None and dataset != learned and not other_dataset:
        raise ValueError(f"dataset: {str(checkpoint)!r} was trained on {learned}, not "
                         f"{dataset}; leave the data set out (--dataset) to score it on "
                         f"{learned}, or pass other_dataset=True (--other-dataset) to score it "
                         f"on {dataset} on purpose")
    return dataset


def sample_checkpoint(checkpoint, out=None, *, seed: int = 0, prime=None, **options) -> list:
    """Generate from ``checkpoint`` with its task's sampler and return the paths written.

    Music: ``steps`` new steps (default 64; after the MIDI file ``prime``), written as MIDI
    to ``out`` and WAV beside it (options steps, tempo, fs, wav). Speech: a continuation of the WAV file
    ``prime`` or of an FSDD test clip, written as OUT.wav and OUT.png (options seconds,
    prime_seconds, clip, temperature, data). Sampling runs on the CPU: one step at a time,
    it gains nothing from an accelerator.

    ``out`` None: the task's ``default_out`` (sample.mid, sample.wav). Options left out take
    the task's defaults. They are checked by name (an unknown one is a ValueError listing the
    valid ones, and so is the other task's, e.g. steps for a speech checkpoint), and every
    value before anything is sampled or written. A missing ``prime`` file is a ValueError (the
    task's sampler checks it); the folder of ``out`` is created if it does not exist (as ``reproduce`` creates its output folder), but
    ``out`` must not be a folder, and no file it would write may exist yet (ValueError:
    nothing is ever written over).
    """
    check_sample_options(options)         # a misspelt option is an error, not ignored
    seed_check("seed", seed)
    path_like("out", out, allow_none=True)
    model, _ = load_model(checkpoint, device="cpu")
    task = task_of(model)
    check_sample_options(options, task)   # the other task's option would be ignored
    out = Path(task.default_out if out is None else out)     # None: the task's own default
    if out.is_dir():
        raise ValueError(f"out: {str(out)!r} is a folder; give the name of the file to write, "
                         f"e.g. {str(out / task.default_out)!r}")
    refuse_a_file_in_the_path(out)
    return task.sample(model, out, seed=seed, prime=prime, **options)
