"""Raw speech, the paper's second task, on an open corpus (FSDD) with the paper's framing.

    data.py      the Free Spoken Digit Dataset: verified, split by take, framed (N, 10)
    wav.py       any WAV file in and out, playback, waveform and spectrogram plots
    mixture.py   the output layer: a mixture of 20 diagonal Gaussians over the next 10 samples
    model.py     ``SpeechModel``, ``make_speech_model`` and sampling a continuation of a waveform
    task.py      ``SPEECH``, the speech task behind the seam generic code uses (gru_lib.tasks)
"""
from . import mixture
from .data import (
                   CREDIT,
                   FRAME,
                   RATE,
                   READ,
                   frame,
                   load_frames,
                   load_recordings,
                   load_speech,
                   parse_name,
                   split_of,
                   step_count,
                   to_float,
)
from .model import (
                   COMPONENTS,
                   MIN_STD,
                   SpeechModel,
                   continue_wave,
                   make_speech_model,
                   wave_nll,
)
from .task import SPEECH, SpeechTask
from .wav import audio, plot_wave, read_wav, write_wav

__all__ = ["COMPONENTS", "CREDIT", "FRAME", "MIN_STD", "RATE", "READ", "SPEECH", "SpeechModel",
           "SpeechTask", "audio", "continue_wave", "frame", "load_frames", "load_recordings",
           "load_speech", "make_speech_model", "mixture", "parse_name", "plot_wave", "read_wav",
           "split_of", "step_count", "to_float", "wave_nll", "write_wav"]
