"""The command line: ``python -m gru_lib reproduce | evaluate | sample``.

Argparse only: each command parses its options, calls one library function
(``experiments.reproduce.reproduce``, ``experiments.checkpoint_tools.evaluate_checkpoint`` /
``sample_checkpoint``) and prints what it returns. A ValueError (bad input: a missing file,
a wrong dataset for a checkpoint, an unreadable checkpoint, ...) or a DownloadError (no copy of
the data: its message says to give one with --data) becomes a one-line message ("error: ...")
and exit status 2; Ctrl-C is one line and exit status 130, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from importlib.metadata import distributions
from pathlib import Path

import torch

from .checks import OneLineParser
from .download import DownloadError
from .experiments.checkpoint_tools import evaluate_checkpoint, sample_checkpoint
from .experiments.reproduce import BUDGETS, reproduce
from .music.keys import KEY_RANGES
from .nn.cells import MAX_PARAMETERS, RECURRENT_INITS
from .nn.kinds import ALL_KINDS, model_name
from .nn.recurrent import BACKENDS
from .paper import KINDS, SPLITS
from .tasks import DATASETS, TASKS, task_for
from .training.callbacks import ctrl_c_once
from .training.search import parse_lrs
from .training.trainer import TrainingInterrupted, parse_setting

# The sampling options of every task (music: steps, tempo, fs, wav; speech: seconds, ...).
SAMPLE_OPTIONS = tuple(name for task in TASKS for name in task.sample_options)
# The most any count option takes (--threads, --chunk, --steps, ...): a C int, what torch takes
# for a thread count ("Overflow when unpacking long" past it), and far beyond any sensible one.
MAX_COUNT = 2 ** 31 - 1

# -- argument types: turn a string into a checked value or an argparse error ----------------------

def _choice(kind: str, valid):
    def parse(text: str) -> str:
        if text not in valid:
            raise argparse.ArgumentTypeError(f"unknown {kind} {text!r}; valid {kind}s: {', '.join(valid)}")
        return text
    return parse


def _model_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = []
    for n in names:
        try:
            model_name(n)
        except ValueError:
            unknown.append(n)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown model(s) {', '.join(unknown) or repr(text)}; "
                                         f"valid models: {', '.join(ALL_KINDS)}, each optionally "
                                         f"-L for L stacked layers, e.g. mingru-2 "
                                         f"(comma-separated)")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"model listed twice in {text!r}")
    return names


def _whole_number(low: int, high: int, expected: str, bound: str):
    """An argument type: an integer in low..high, else an argparse error saying ``expected``
    (and, above ``high``, ``bound``); int() of a huge string is fine, torch's is not."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        if value > high:
            raise argparse.ArgumentTypeError(f"expected {bound}, got {text!r}")
        return value
    return parse


_positive_int = _whole_number(1, MAX_COUNT, "a positive integer",
                              f"a positive integer, at most {MAX_COUNT} (2**31 - 1)")
_non_negative_int = _whole_number(0, MAX_COUNT, "a whole number of steps, 0 or more",
                                  f"a whole number of steps, at most {MAX_COUNT} (2**31 - 1)")
# --params: at most what a model here may have
_parameter_count = _whole_number(1, MAX_PARAMETERS, "a positive integer",
                                 f"a number of recurrent parameters, at most "
                                 f"{MAX_PARAMETERS:.0e} (the most a model here may have)")


def _finite_number(text: str) -> float:
    """A finite float (--forget-bias 1): "nan" and "inf" parse as floats, and are refused."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, e.g. 1.0, got {text!r}")
    return value


def _learning_rates(text: str) -> list[float]:
    """--lrs 2.8e-4,5.9e-4, checked by the library (training.search.parse_lrs)."""
    try:
        return parse_lrs(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _setting(text: str) -> tuple:
    """FIELD=VALUE for --set, checked by the library (training.trainer.parse_setting)."""
    try:
        return parse_setting(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


# -- the commands: call the library, print its result ----------------------------------------------

def cmd_reproduce(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    try:
        reproduce(args.dataset, args.models, args.budget, args.out, device=args.device,
                  data=args.data, key_range=args.key_range, seed=args.seed,
                  candidates=args.candidates, storage=args.storage, resume=args.resume,
                  progress=not args.no_progress, workers=args.workers,
                  overrides=dict(args.set or []), recurrent_init=args.recurrent_init,
                  lrs=args.lrs, params=args.params, chunk=args.chunk,
                  forget_bias=args.forget_bias)
    except (TrainingInterrupted, KeyboardInterrupt) as err:     # one line, no traceback
        # the library's own hint names the API (resume=True); here the option is --resume
        text = str(err).replace("; run again with resume to continue", "")
        print(f"interrupted: {text or 'Ctrl-C received'}; run the same command with --resume "
              f"to continue", file=sys.stderr)
        return 130
    print(f"wrote {Path(args.out) / 'results.json'} and {Path(args.out) / 'curves.png'} "
          f"in {time.perf_counter() - start:.0f} s")
    return 0


def cmd_evaluate(args) -> int:
    report = evaluate_checkpoint(args.checkpoint, args.dataset, args.split, data=args.data,
                                 key_range=args.key_range, batch_size=args.batch_size,
                                 device=args.device, backend=args.backend, context=args.context,
                                 other_dataset=args.other_dataset)
    more = ""                                        # the other readings, where there are
    later = report.get("from_step_1")
    if later:                                        # music: step 0 counted, then not
        more += (f"; from step 1 on (the authors' code never predicts step 0): "
                 f"{later['nll']:.4f}, by piece {later['piece_mean_nll']:.4f}")
    if args.context is not None:
        more += (f"; with the state restarted every {args.context} steps: "
                 f"{report['context_nll']:.4f}")
    other = "" if report.get("trained_on") in (None, report["dataset"]) else \
        f" (a model trained on {report['trained_on']})"
    print(json.dumps(report) if args.json else
          f"{report['dataset']} {report['split']}{other}: {report['nll']:.4f} {report['unit']} "
          f"({report['steps']} steps); mean over the {report['pieces']} "
          f"{task_for(report['dataset']).sequences} of each one's "
          f"NLL per step: {report['piece_mean_nll']:.4f}{more}")
    return 0


def cmd_sample(args) -> int:
    # Only the options the user gave (each defaults to None here): the task's sampler has its
    # own defaults, and refuses the other task's options instead of silently ignoring them.
    given = {name: value for name, value in vars(args).items()
             if name in SAMPLE_OPTIONS and value is not None}
    written = sample_checkpoint(args.checkpoint, args.out, seed=args.seed, prime=args.prime,
                                **given)
    print("wrote " + " and ".join(str(path) for path in written))
    return 0


# -- the parser --------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(          # errors: one line, not the usage block
        prog="python -m gru_lib",
        description="Reproduce Chung et al. (2014): tanh-RNN vs GRU vs LSTM on polyphonic music "
                    "and raw speech.")
    # The version pip installed (pyproject.toml's): the package root, which also holds it, is
    # a layer above this module.
    installed = next((d.version for d in distributions(name="gru_lib")), "(not installed)")
    parser.add_argument("--version", action="version",
                        version=f"gru_lib {installed} (torch {torch.__version__})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser(
        "reproduce", help="train the models with the paper's protocol and compare with Table 2",
        description="Train tanh-RNN, GRU and LSTM at the paper's sizes (music 100/46/36 units, speech 400/227/195) with "
                    "RMSProp, weight noise 0.075, gradient norm clipped to 1, early stopping, and "
                    "the learning rate chosen on validation among log-uniform candidates in "
                    "[e^-12, e^-6]. Writes OUT/results.json, OUT/curves.png, a checkpoint per "
                    "candidate (OUT/MODEL/lrN/best.pt) and prints the table beside the paper's.")
    r.add_argument("--dataset", type=_choice("dataset", DATASETS), default="chorales",
                   help=f"one of {', '.join(DATASETS)} (default: chorales, built offline from "
                        f"music21; jsb ... piano-midi are the paper's music sets; fsdd is raw "
                        f"speech, the Free Spoken Digit Dataset (CC BY-SA 4.0), our open "
                        f"substitute for the paper's private Ubisoft sets, at the speech sizes "
                        f"400/227/195 units)")
    r.add_argument("--models", type=_model_list, default=list(KINDS),
                   help="comma-separated models (default: the paper's tanh,gru,lstm): "
                        "tanh, gru, lstm at Table 1's sizes; mingru, minlstm, the minimal "
                        "units of Feng et al. 2024 (gates from x_t only, a parallel scan), at "
                        "the same parameter budget; any of them as KIND-L for L stacked "
                        "layers at that same total budget, e.g. mingru-2,minlstm-3 (Table 2 "
                        "has no numbers for these: the table shows '-')")
    r.add_argument("--budget", type=_choice("budget", tuple(BUDGETS)), default="standard",
                   help="quick: a CI smoke test (seconds, a few cropped pieces); standard "
                        "(default): a few CPU minutes per dataset (4 candidates, batches of 16, "
                        "training pieces cut into chunks of ≤ 100 steps; the 4 candidates train "
                        "as one population for ≤ 4 × 30 s = 120 s of wall time, what the "
                        "one-after-the-other search gave them, so not bit-repeatable across "
                        "machines; fsdd: the first 600 training clips, batches of 16, ≤ 4 × 60 s); "
                        "paper: the full protocol (10 candidates trained as one population, "
                        "batch size 1, up to 500 epochs, patience 20, no clock) -- hours to days "
                        "on a CPU. Every budget trains a model's candidates at once, as one "
                        "population")
    r.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, "
                                                    "cuda:N or mps (default: auto)")
    r.add_argument("--out", default="runs/reproduce",
                   help="output folder: new, empty, or a run to continue with --resume "
                        "(default: runs/reproduce)")
    r.add_argument("--data", default=None,
                   help="your copy of the data: a folder holding the data file under its usual "
                        "name (e.g. JSB_Chorales.mat, jsb-chorales-quarter.pkl), or the file "
                        "itself under any name (a .mat file or a pickle; fsdd: the FSDD folder, "
                        "its recordings/, or the archive). Nothing is downloaded when it is "
                        "given (default: $GRU_LIB_DATA or the gru_lib cache, downloading what "
                        "is missing)")
    r.add_argument("--key-range", type=_choice("key range", KEY_RANGES), default="88",
                   help="88: piano keys MIDI 21-108 (default); paper: the authors' widths "
                        "(93-108 columns)")
    r.add_argument("--seed", type=int, default=0, help="seeds model init, batch order, weight "
                                                       "noise and the candidate draws (default 0)")
    r.add_argument("--candidates", type=_positive_int, default=None,
                   help="number of learning-rate candidates (default: the budget's; paper: 10)")
    r.add_argument("--lrs", type=_learning_rates, default=None, metavar="LR,LR,...",
                   help="the candidates' learning rates, chosen instead of drawn, e.g. "
                        "2.8e-4,5.9e-4 (a recipe study re-running the rates that won; replaces "
                        "--candidates; recorded in results.json as 'lrs')")
    r.add_argument("--params", type=_parameter_count, default=None, metavar="N",
                   help="train every model at N recurrent parameters instead of the paper's "
                        "sizes (Table 1: ≈ 20K for music, ≈ 169K for speech), e.g. --params "
                        "60000 for a capacity study; recorded in results.json as "
                        "'params_budget'")
    r.add_argument("--chunk", type=_non_negative_int, default=None, metavar="STEPS",
                   help="cut the training pieces into chunks of at most STEPS steps (the state "
                        "restarts at each) instead of the budget's (standard: 100; paper: whole "
                        "pieces); 0 keeps them whole. A recipe study, recorded in results.json "
                        "as 'chunk'")
    r.add_argument("--storage", default=None,
                   help="Optuna storage URL for the search (default: sqlite:///OUT/search.db). "
                        "Give a PostgreSQL/MySQL URL and run the same command on several machines "
                        "to share the candidates")
    r.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in OUT (finished candidates are kept, "
                        "interrupted ones continue from their checkpoints); also how to add a "
                        "second worker on the same machine")
    r.add_argument("--workers", type=_positive_int, default=1,
                   help="processes on this machine (default 1): N-1 more join the search on the "
                        "same study, each training the next model whose candidates are waiting, "
                        "so the three models train in parallel; each uses --threads threads "
                        "(give --threads 1 with --workers 3 on 3 cores)")
    r.add_argument("--threads", type=_positive_int, default=None,
                   help="torch CPU threads (default: torch's choice; 1 is often fastest for "
                        "these small models)")
    r.add_argument("--set", type=_setting, action="append", metavar="FIELD=VALUE",
                   help="change one training setting of the budget, e.g. --set weight_noise=0 "
                        "--set lr_decay_to=0.01 --set max_epochs=20 (repeatable; the fields of "
                        "gru_lib.training.TrainConfig except lr, which --lrs and --candidates "
                        "set; recorded in results.json as 'overrides')")
    r.add_argument("--recurrent-init", type=_choice("recurrent init", RECURRENT_INITS),
                   default="uniform",
                   help="how the recurrent weights U start: uniform in ±0.1 like W (default, the "
                        "authors' irange) or orthogonal, one orthogonal block per gate (the "
                        "authors' pylearn2 layers); not for the minimal units, which have no U. "
                        "Give the same value with --resume")
    r.add_argument("--forget-bias", type=_finite_number, default=0.0,
                   help="the LSTM forget gate's initial bias (default 0, the paper's; 1 is "
                        "Jozefowicz et al.'s, so the cell keeps its memory from the first "
                        "update); only with --models lstm. Give the same value with --resume")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.set_defaults(func=cmd_reproduce)

    e = sub.add_parser("evaluate", help="NLL of a checkpoint on a split",
                       description="Print the average NLL (nats per time step, summed over keys) "
                                   "of a checkpoint on one split of a dataset.")
    e.add_argument("--checkpoint", required=True, help="a best.pt or last.pt written by reproduce")
    e.add_argument("--dataset", type=_choice("dataset", DATASETS), default=None,
                   help=f"one of {', '.join(DATASETS)} (default: the one the checkpoint was "
                        f"trained on, which it records; needed for a checkpoint written "
                        f"before that record was kept)")
    e.add_argument("--other-dataset", action="store_true",
                   help="score the checkpoint on a --dataset other than the one it was trained "
                        "on (refused without it, as a likely mistake)")
    e.add_argument("--split", type=_choice("split", SPLITS), default="test",
                   help="train, valid or test (default: test)")
    e.add_argument("--data", default=None,
                   help="your copy of the data: a folder or the file itself (see reproduce "
                        "--help); nothing is downloaded when it is given")
    e.add_argument("--key-range", type=_choice("key range", KEY_RANGES), default=None,
                   help="88 or paper (default: inferred from the model's width)")
    e.add_argument("--batch-size", type=_positive_int, default=64,
                   help="pieces per batch (the result does not depend on it; default 64)")
    e.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    e.add_argument("--backend", type=_choice("backend", BACKENDS), default="auto",
                   help="the recurrent layers' backend: auto (default), python (the loop: "
                        "faster than the scan for a wide minimal unit on a CPU), native, bptt "
                        "or scan; the numbers are the same on any that fits the cell")
    e.add_argument("--context", type=_positive_int, default=None, metavar="K",
                   help="also score the split with the model's state restarted every K steps, "
                        "so that no prediction sees more than K-1 steps back: how much of the "
                        "NLL comes from the longer past (chapter 9's context curve)")
    e.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("sample", help="generate music or speech from a trained model",
                       description="Music: draw a piano roll from a checkpoint (each step's keys "
                                   "are independent coins from the model's sigmoids), write MIDI "
                                   "and WAV. Speech (an fsdd checkpoint): read the start of a WAV "
                                   "(--prime) or of an FSDD test clip (--clip), sample a "
                                   "continuation from the mixture, write OUT.wav (8 kHz) and "
                                   "OUT.png (waveform and spectrogram).")
    s.add_argument("--checkpoint", required=True, help="a best.pt or last.pt written by reproduce")
    s.add_argument("--steps", type=_positive_int, default=None,
                   help="music: new time steps (default 64, at most 100000)")
    s.add_argument("--out", default=None,
                   help="MIDI file to write, ending in .mid or .midi (default sample.mid; speech: "
                        "a .wav, default sample.wav); the WAV (speech: the PNG) goes next to "
                        "it; its folder is created if missing; an existing file is never "
                        "written over")
    s.add_argument("--prime", default=None, help="music: a MIDI file to continue (optional); "
                                                 "speech: a WAV file (any rate, mono or stereo)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--tempo", type=float, default=None,
                   help="music: beats (steps) per minute (default 100)")
    s.add_argument("--fs", type=_positive_int, default=None,
                   help="music: the WAV's sample rate (default 16000)")
    s.add_argument("--no-wav", action="store_false", dest="wav", default=None,
                   help="music: write only the MIDI file")
    s.add_argument("--seconds", type=float, default=None, help="speech: seconds to sample (default 1)")
    s.add_argument("--prime-seconds", type=float, default=None,
                   help="speech: seconds of the prime the model reads first (default 0.25)")
    s.add_argument("--clip", default=None,
                   help="speech without --prime: the FSDD test clip to start from (default 0_george_0.wav)")
    s.add_argument("--temperature", type=float, default=None,
                   help="speech: scale of the mixture's standard deviations when sampling (default 1)")
    s.add_argument("--data", default=None,
                   help="speech: your copy of FSDD, a folder (the repository or its "
                        "recordings/) or the archive itself (default: the cache)")
    s.set_defaults(func=cmd_sample)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    program = argv is None               # the program itself, not main([...]) called from Python
    if program:
        signal.signal(signal.SIGINT, ctrl_c_once)
    try:
        return args.func(args)
    except (ValueError, DownloadError, OSError) as err:  # bad input, no data, a path: one line
        # OSError is the safety net for a file the library could not write or read (a folder
        # such as /proc): its own messages name the path; never a traceback at the command line
        print("error: " + " ".join(str(err).split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:                    # Ctrl-C in evaluate or sample
        print("interrupted: Ctrl-C received; nothing was written", file=sys.stderr)
        return 130
    finally:
        # Reported and done. Python's shutdown puts SIG_DFL back (it keeps SIG_IGN), and a
        # Ctrl-C during it would kill the process and turn the exit status into -SIGINT.
        if program:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())

