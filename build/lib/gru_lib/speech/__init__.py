"""Raw speech, the paper's second task, on an open corpus (FSDD) with the paper's framing.

    data.py      the Free Spoken Digit Dataset: verified, split by take, framed (N, 10)
    wav.py       any WAV file in and out, playback, waveform and spectrogram plots
    mixture.py   the output layer: a mixture of 20 diagonal Gaussians over the next 10 samples
    model.py     ``SpeechModel`` and sampling a continuation of a waveform
    task.py      the speech task behind the seam generic code uses (gru_lib.tasks)
"""
from . import mixture
from .data import (CREDIT, FRAME, RATE, READ, frame, load_frames, load_recordings, load_speech,
                   parse_name, split_of, step_count, to_float)
from .model import SpeechModel, continue_wave, make_speech_model, wave_nll
from .wav import audio, plot_wave, read_wav, write_wav

__all__ = ["CREDIT", "FRAME", "RATE", "READ", "SpeechModel", "audio", "continue_wave", "frame",
           "load_frames", "load_recordings", "load_speech", "make_speech_model", "mixture",
           "parse_name", "plot_wave", "read_wav", "split_of", "step_count", "to_float", "wave_nll",
           "write_wav"]
