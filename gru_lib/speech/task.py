"""The speech task behind the seam (``gru_lib.tasks.Task``): what generic code needs to know.

    >>> from gru_lib.speech.task import SPEECH
    >>> model = SPEECH.build_model("lstm", width=10, seed=0)   # Table 1: 195 LSTM units
    >>> splits = SPEECH.load_splits("fsdd")                    # {split: list of (N, 10) frames}
    >>> SPEECH.steps(splits["test"])                           # N - 2 predicted frames per clip

The paper's speech sets (Ubisoft A and B) are private; FSDD, the Free Spoken Digit Dataset
(CC BY-SA 4.0), stands in for them with the paper's framing and sizes. Generic code reaches
speech only through this object (``gru_lib.tasks.task_for("fsdd")`` returns it).
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import checks, paper
from ..atomic import check_creatable, make_folder, refuse_to_overwrite
from ..checks import number_in, one_of
from ..nn.kinds import model_name
from .data import (CREDIT, FRAME, MIN_SAMPLES, RATE, READ, load_frames, load_speech,
                   step_count)
from .model import SpeechModel, continue_wave, make_speech_model
from .wav import plot_wave, read_wav, write_wav

# The data sets this task serves: FSDD alone (see speech/data.py).
DATASETS = ("fsdd",)


class SpeechTask:
    """Raw speech (section 4.1): 20 samples in, a mixture of 20 Gaussians over the next 10 out.

    Attributes and methods: see ``gru_lib.tasks.Task``, whose documentation they follow.
    """

    name = "speech"                        # the key of paper.UNITS and paper.PARAMS
    datasets = DATASETS
    model_class = SpeechModel
    checkpoint_kind = SpeechModel.checkpoint_kind
    metric = "NLL"
    unit = "nats per time step"            # one step = the next 10 samples
    sequences = "clips"
    # ``sample``'s keyword options and the command line's flag for each
    sample_options = {"seconds": "--seconds", "prime_seconds": "--prime-seconds", "clip": "--clip",
                      "temperature": "--temperature", "data": "--data"}
    # what to tell someone who gives a speech checkpoint the music sampler's options
    foreign_option_hints = {"steps": "a speech sample's length is set in seconds with --seconds "
                                     "(seconds= in Python)",
                            "wav": "a speech sample is a WAV"}
    default_out = "sample.wav"             # where ``sample`` writes when not told
    # FSDD costs ~40 µs per clip and step on one CPU thread, so an epoch of the 2,400
    # training clips (0.84 M steps) takes about a minute (measured, shared 2-core machine):
    # the standard budget trains on the first 600 (takes 10-19: every speaker and digit, see
    # load_speech), keeps the whole validation and test splits, and gives each candidate a
    # minute: the 4 candidates train as one population for ≤ 4 × 60 s = 240 s of wall time, what
    # the sequential search gave them. Clips are short (≤ 2 s), so they are not chunked. Other
    # budgets: the generic ones.
    budgets = {
        "standard": dict(subset=(600, 300, 300), crop=None, chunk=None, candidates=4,
                         stratified=True,
                         config=dict(batch_size=16, max_epochs=40, patience=5),
                         seconds_per_candidate=60.0),
    }
    # Table 2's speech rows are on another corpus: printed beside ours, never subtracted.
    paper_reference = paper.TABLE2_UBISOFT
    credit = CREDIT                        # CC BY-SA asks for the attribution with every result

    def load_splits(self, dataset: str, data=None, key_range: str | None = None) -> dict:
        """{split: list of (N, F = 10) frames}. ``data``: the folder holding FSDD.
        key_range is a music notion and is ignored."""
        one_of("dataset", dataset, self.datasets)
        return load_frames(None, folder=data, progress=False)

    def build_model(self, kind: str, width: int = FRAME, seed: int = 0, units: int | None = None,
                    **cell_options):
        """A SpeechModel over frames of ``width`` samples with Table 1's units for ``kind``
        (a model name, as for the music task: "gru", "mingru", "minlstm-3", ...)."""
        cell, layers = model_name(kind)
        return make_speech_model(cell, units, seed=seed, layers=layers, frame_size=width,
                                 **cell_options)

    def steps(self, sequences) -> int:
        """Predicted steps in a list of clips: N - 2 per clip (the first two frames are read)."""
        return step_count(sequences)

    def describe(self, splits: dict) -> str:
        """How the reproduction's log names the sequences and their width."""
        width = splits["train"][0].shape[1]
        return f"clips, read {2 * width} samples, predict {width}"

    def key_range_of(self, model) -> None:
        """Speech has no key range."""
        return None

    def sample(self, model, out, *, seed: int = 0, prime=None, seconds: float = 1.0,
               prime_seconds: float = 0.25, clip: str = "0_george_0.wav", temperature: float = 1.0,
               data=None) -> list:
        """Read the first ``prime_seconds`` of the WAV file ``prime`` (any rate, mono or
        stereo) or of the FSDD test clip ``clip``, sample ``seconds`` of continuation, and
        write OUT.wav (8 kHz) and OUT.png (waveform and spectrogram). Returns the two paths.

        The length is set in seconds (the music sampler's steps, tempo, fs and wav are refused
        before this is called: gru_lib.tasks.check_sample_options); at least one frame
        (``model.frame_size`` samples, 1.25 ms at 8 kHz). A bad option is a ValueError naming
        it and its command-line flag.
        """
        # Every option is checked before any data is read or any file written.
        seed = checks.seed("seed", seed)
        number_in("prime_seconds (--prime-seconds)", prime_seconds, 0, 600, low_open=True)
        number_in("seconds (--seconds)", seconds, 0, 600, low_open=True)
        checks.positive_number("temperature (--temperature)", temperature)
        if round(prime_seconds * RATE) < MIN_SAMPLES:
            raise ValueError(f"prime_seconds (--prime-seconds): {prime_seconds:g} s is "
                             f"{round(prime_seconds * RATE)} samples at {RATE} Hz, but the model "
                             f"reads at least {MIN_SAMPLES} ({READ} to read, {FRAME} to predict): "
                             f"give at least {MIN_SAMPLES / RATE:g} s")
        frame_size = getattr(model, "frame_size", FRAME)
        if seconds * RATE < frame_size:      # 1e-9 s used to give one whole frame all the same
            raise ValueError(f"seconds (--seconds): {seconds:g} s is less than one frame, the "
                             f"least the model samples ({frame_size} samples at {RATE} Hz); "
                             f"give at least {frame_size / RATE:g} s")
        if not isinstance(clip, str):
            raise ValueError(f"clip (--clip): expected the name of an FSDD test clip, a str "
                             f"such as '0_george_0.wav', got {type(clip).__name__} "
                             f"{checks.shown(clip)}")
        checks.path_like("out", out)
        checks.existing_file("prime", prime, "a WAV file to continue", allow_none=True)
        checks.path_like("data", data, allow_none=True)
        out = Path(out)
        if out.suffix == "":                  # "run/s" -> "run/s.wav"
            out = out.with_suffix(".wav")
        if out.suffix.lower() != ".wav":      # "x.mid" would hold a WAV, beside x.png
            raise ValueError(f"out: a speech sample is a WAV file, so its name ends in .wav "
                             f"(the PNG goes beside it); got {str(out)!r}")
        refuse_to_overwrite([out, out.with_suffix(".png")])
        check_creatable(out)
        if prime is not None:
            try:
                wave, credit, source = read_wav(prime), None, Path(prime).name
            except ValueError as err:      # "not a readable WAV file", "too short", ...
                raise ValueError(f"prime: {err}") from None
        else:
            waves = load_speech("test", folder=data, progress=False)
            if clip not in waves:
                raise ValueError(f"clip: {clip!r} is not an FSDD test clip (takes 0-4, e.g. "
                                 f"'0_george_0.wav')")
            wave, credit, source = waves[clip].numpy(), CREDIT, clip
        wanted = round(prime_seconds * RATE)
        if wanted > len(wave):
            raise ValueError(f"prime_seconds: {prime_seconds:g} s of prime asked for "
                             f"(--prime-seconds), but {source} is only {len(wave) / RATE:.3f} s "
                             f"long; ask for at most that, or give a longer prime")
        prime_wave = wave[:wanted]
        full = continue_wave(model, prime_wave, seconds=seconds,
                             generator=torch.Generator().manual_seed(seed), temperature=temperature)
        used = len(prime_wave) // model.frame_size * model.frame_size   # whole frames only
        make_folder(out.parent)                             # like reproduce's --out folder
        write_wav(out, full)
        plot_wave(full, prime=used, credit=credit, path=out.with_suffix(".png"),
                  title=f"{model.kind}: {used / RATE:.2f} s of {source}, then sampled")
        return [out, out.with_suffix(".png")]


SPEECH = SpeechTask()
