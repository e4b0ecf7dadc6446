"""Small helpers shared by the speech tests."""
import numpy as np

from gru_lib import speech


def small_clips(waves, n=5, frames=40):
    return [speech.frame(w)[:frames] for w in list(waves["valid"].values())[:n]]


def sine(rate, seconds=0.5, freq=440.0):
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)
