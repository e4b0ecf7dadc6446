"""Your own audio, in and out: any WAV file to the models' 8 kHz mono floats, and back.

``read_wav`` takes any WAV (any rate, mono or stereo, 8/16/24/32-bit or float) to mono
8 kHz float32 in [-1, 1], resampling with ``scipy.signal.resample_poly``, so a model
trained on FSDD can be evaluated on (``speech.model.wave_nll``) or primed with
(``speech.model.continue_wave``) a recording of your own. ``write_wav``, ``audio`` and
``plot_wave`` write, play and draw a waveform, sampled or real; ``as_wave`` is the one check
of a waveform a user hands in, long enough for one step (20 samples read, 10 predicted).
scipy, matplotlib and IPython are imported only by the functions that need them.
"""
from __future__ import annotations

import io
import re
import warnings
from math import gcd
from pathlib import Path

import numpy as np
from torch import Tensor

from .. import checks
from ..atomic import writable_new_file, write_atomically
from ..style import COLUMN_WIDTH
from .data import CREDIT, FRAME, MIN_SAMPLES, RATE, READ


def as_wave(wave, arg):
    """Check a user's waveform: 1-D, finite, at least one step long. Returns float32 numpy (n,)."""
    if isinstance(wave, Tensor):
        wave = wave.detach().cpu().numpy()
    wave = np.asarray(wave)
    if wave.dtype.kind not in "f":
        # int16 samples read as floats would be 32768 times too loud, and the NLL of such a
        # wave a meaningless 1e10 rather than an error
        raise ValueError(f"{arg}: expected float samples in [-1, 1], got {wave.dtype} samples; "
                         f"read the file with read_wav, or scale 16-bit PCM by 1/32768 "
                         f"(wave / 32768)")
    wave = wave.astype(np.float32)
    if wave.ndim != 1:
        raise ValueError(f"{arg}: expected a 1-D waveform (n,), got shape {wave.shape}")
    if len(wave) < MIN_SAMPLES:
        raise ValueError(f"{arg}: too short: {len(wave)} samples; at least {MIN_SAMPLES} "
                         f"({READ} to read, {FRAME} to predict) are needed")
    if not np.isfinite(wave).all():
        raise ValueError(f"{arg}: contains NaN or infinite samples")
    peak = float(np.abs(wave).max())
    if peak > 1.0:
        raise ValueError(f"{arg}: expected float samples in [-1, 1], got a peak of {peak:g}; "
                         f"read the file with read_wav, or scale 16-bit PCM by 1/32768 "
                         f"(wave / 32768)")
    return wave


# -----------------------------------------------------------------------------
# WAV in and out


def read_wav(path, rate=RATE):
    """Any WAV file -> mono float32 numpy array in [-1, 1] at ``rate`` Hz (default 8 kHz).

    Integer PCM is scaled by its full range (uint8: (x - 128) / 128; int16: / 2^15;
    24/32-bit: / 2^31); float files are taken as they are. Stereo (or more) channels are
    averaged. Other rates are resampled with ``scipy.signal.resample_poly`` (a polyphase
    filter: exact rational ratio, with anti-aliasing).

    Raises FileNotFoundError if there is no file, ValueError if it is not a readable WAV,
    holds no samples, or is shorter than 30 samples at 8 kHz (3.75 ms: 20 to read and 10
    to predict).
    """
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    if not checks.is_int(rate) or rate < 1000:
        raise ValueError(f"rate: expected a sample rate in Hz (int >= 1000), got {rate!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no such file {str(path)!r}")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", wavfile.WavFileWarning)   # unknown chunks, e.g. LIST
            sr, data = wavfile.read(path)
    except Exception as e:    # scipy raises ValueError, EOFError, struct.error... for non-WAVs
        raise ValueError(f"{path}: not a readable WAV file ({type(e).__name__}: {e})") from None
    for w in caught:          # scipy only warns of a cut file and returns what is there
        cut = re.search(r"EOF prematurely; finished at (\d+) bytes, expected (\d+) bytes", str(w.message))
        if cut:
            got, promised = int(cut.group(1)), int(cut.group(2))
            frame = data.dtype.itemsize * (data.shape[1] if data.ndim == 2 else 1)
            frames = data.shape[0] + -(-(promised - got) // frame)
            raise ValueError(f"{path}: the WAV file is cut short (truncated): its header promises "
                             f"{promised} bytes ({frames} frames) but the file has {got} bytes "
                             f"({data.shape[0]} frames). Re-export or copy the file again from its "
                             f"source; to use the part that is there, re-save it with any audio "
                             f"editor so the header matches.")
        if not issubclass(w.category, wavfile.WavFileWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if data.size == 0:
        raise ValueError(f"{path}: the WAV file holds no samples (it is empty)")
    if data.dtype == np.uint8:
        x = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype == np.int16:
        x = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:                      # 24-bit files arrive left-aligned in int32
        x = (data / 2.0 ** 31).astype(np.float32)
    elif data.dtype.kind == "f":
        x = data.astype(np.float32)
        if not np.isfinite(x).all():
            raise ValueError(f"{path}: the WAV file holds NaN or infinite samples")
    else:
        raise ValueError(f"{path}: unsupported sample type {data.dtype}")
    if x.ndim == 2:
        x = x.mean(axis=1)                            # (n, channels) -> (n,)
    if sr != rate:
        g = gcd(int(sr), rate)
        x = resample_poly(x, rate // g, int(sr) // g).astype(np.float32)
    if len(x) < MIN_SAMPLES:
        raise ValueError(f"{path}: too short: {len(x)} samples at {rate} Hz "
                         f"({1000 * len(x) / rate:.2f} ms); at least {MIN_SAMPLES} samples "
                         f"({1000 * MIN_SAMPLES / rate:.2f} ms) are needed: {READ} to read, "
                         f"{FRAME} to predict")
    peak = float(np.abs(x).max())
    if peak > 1.0:
        # float files may exceed full scale, and resampling can overshoot a little
        warnings.warn(f"{path}: peak {peak:.3f} exceeds 1; clipped to [-1, 1]")
        x = np.clip(x, -1.0, 1.0)
    return x


MAX_WAV_RATE = 2 ** 32 - 1    # a WAV header stores the rate in 4 bytes


def write_wav(path, wave, rate=RATE, overwrite: bool = False):
    """Write a float waveform in [-1, 1] as 16-bit mono PCM (clipped), atomically. An existing
    file at ``path`` is an error unless ``overwrite=True``."""
    from scipy.io import wavfile

    path = writable_new_file(path, overwrite)
    wave = np.asarray(wave.detach().cpu().numpy() if isinstance(wave, Tensor) else wave, dtype=np.float64)
    if wave.ndim != 1 or len(wave) == 0:
        raise ValueError(f"wave: expected a non-empty 1-D waveform, got shape {wave.shape}")
    if not np.isfinite(wave).all():        # NaN would be written as arbitrary PCM values
        raise ValueError("wave: contains NaN or infinite samples; a WAV file cannot hold them")
    if not checks.is_int(rate) or not 1 <= rate <= MAX_WAV_RATE:
        raise ValueError(f"rate: expected a sample rate in Hz, an int in 1..{MAX_WAV_RATE} (what "
                         f"a WAV header holds), got {rate!r}")
    pcm = np.clip(np.round(wave * 32768.0), -32768, 32767).astype(np.int16)
    return write_atomically(path, lambda f: wavfile.write(f, rate, pcm))


def audio(wave, rate=RATE):
    """An ``IPython.display.Audio`` player for a waveform (about 16 KB per second at 8 kHz)."""
    try:
        from IPython.display import Audio
    except ImportError:
        raise ImportError("audio() needs IPython (pip install ipython); write_wav() writes "
                          "a file without it") from None
    wave = np.asarray(wave.detach().cpu().numpy() if isinstance(wave, Tensor) else wave)
    return Audio(np.clip(wave, -1, 1), rate=rate, normalize=False)


def plot_wave(wave, rate=RATE, prime=None, title=None, credit=CREDIT, path=None,
              overwrite: bool = False):
    """Waveform above spectrogram; a dashed line where the prime ends and sampling starts.

    prime: number of samples that came from a real clip (None: no line).
    credit: a line printed under the figure (FSDD's attribution by default; None for none).
    path: write a PNG there (atomically; an existing file only with ``overwrite=True``).
    Returns the matplotlib Figure.
    """
    if path is not None:                       # before drawing: an open figure would leak
        path = writable_new_file(path, overwrite)
    import matplotlib.pyplot as plt

    wave = np.asarray(wave.detach().cpu().numpy() if isinstance(wave, Tensor) else wave, dtype=np.float32)
    if wave.ndim != 1 or len(wave) < 256:
        raise ValueError(f"wave: expected a 1-D waveform of at least 256 samples, got shape {wave.shape}")
    t = np.arange(len(wave)) / rate
    # The book's text column wide (style.COLUMN_WIDTH), so at 100 dpi the figure
    # is shown at its own size. The credit line is a supxlabel, which the
    # constrained layout leaves room for.
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(COLUMN_WIDTH, 4.4), sharex=True,
                                      layout="constrained")
    top.plot(t, wave, lw=0.5, color="k")
    top.set_ylabel("amplitude")
    peak = 1.05 * max(1e-3, float(np.abs(wave).max()))
    top.set_ylim(-peak, peak)
    # 32 ms windows (256 samples at 8 kHz) hopped by 8 ms: the usual speech
    # resolution
    bottom.specgram(wave, NFFT=256, Fs=rate, noverlap=192, cmap="magma")
    bottom.set_ylabel("frequency (Hz)")
    bottom.set_xlabel("time (s)")
    if prime is not None:
        for ax in (top, bottom):
            ax.axvline(prime / rate, color="tab:cyan", ls="--", lw=1.2)
        top.text(prime / rate, top.get_ylim()[1], " sampled →", va="top",
                 color="tab:cyan")
        top.text(prime / rate, top.get_ylim()[1], "prime ", va="top",
                 ha="right", color="tab:cyan")
    if title:
        top.set_title(title)
    if credit:
        fig.supxlabel(credit, x=0.01, ha="left", fontsize=7, color="0.3")
    if path is not None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        write_atomically(path, lambda f: f.write(buffer.getvalue()))
        plt.close(fig)
    return fig

