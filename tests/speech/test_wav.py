"""Tests of gru_lib.speech.wav: bring your own WAV (any rate, any channels), write, plot, play."""
import warnings

import matplotlib
import numpy as np
import pytest
from scipy.io import wavfile

matplotlib.use("Agg")  # no display in CI
from gru_lib import speech  # noqa: E402
from tests.speech.helpers import sine  # noqa: E402

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


def test_read_wav_any_rate_and_channels_to_mono_8k(tmp_path):
    # stereo 44.1 kHz int16, one channel silent: mono = the average of the channels
    x = sine(44100)
    stereo = np.stack([x, np.zeros_like(x)], axis=1)
    wavfile.write(tmp_path / "stereo.wav", 44100, (stereo * 32767).astype(np.int16))
    mono = speech.read_wav(tmp_path / "stereo.wav")
    assert mono.dtype == np.float32 and mono.ndim == 1 and len(mono) == 4000
    spectrum = np.abs(np.fft.rfft(mono))
    assert abs(np.argmax(spectrum) * 8000 / len(mono) - 440) < 3            # still 440 Hz
    assert abs(np.abs(mono[200:-200]).max() - 0.25) < 0.01                 # (0.5 + 0) / 2
    # other sample formats, other rates
    wavfile.write(tmp_path / "f32.wav", 16000, sine(16000).astype(np.float32))
    wavfile.write(tmp_path / "u8.wav", 8000, (sine(8000) * 127 + 128).astype(np.uint8))
    wavfile.write(tmp_path / "i32.wav", 22050, (sine(22050) * 2 ** 31).astype(np.int32))
    for name, n in (("f32.wav", 4000), ("u8.wav", 4000), ("i32.wav", 4000)):
        y = speech.read_wav(tmp_path / name)
        assert len(y) == n and abs(np.abs(y[200:-200]).max() - 0.5) < 0.02, name


def test_wav_round_trip_and_bad_files(tmp_path, waves):
    wave = waves["test"]["9_nicolas_4.wav"].numpy()
    speech.write_wav(tmp_path / "out.wav", wave)
    assert np.array_equal(speech.read_wav(tmp_path / "out.wav"), wave)     # int16 exact
    # a file already there is never written over unless the caller says so
    with pytest.raises(ValueError, match="already exists.*overwrite=True"):
        speech.write_wav(tmp_path / "out.wav", -wave)
    with pytest.raises(ValueError, match="already exists.*overwrite=True"):
        speech.plot_wave(wave, path=tmp_path / "out.wav")
    assert np.array_equal(speech.read_wav(tmp_path / "out.wav"), wave)
    speech.write_wav(tmp_path / "out.wav", -wave, overwrite=True)
    assert np.array_equal(speech.read_wav(tmp_path / "out.wav"), -wave)
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(ValueError, match="not a readable WAV file"):
        speech.read_wav(tmp_path / "text.wav")
    wavfile.write(tmp_path / "empty.wav", 8000, np.zeros(0, dtype=np.int16))
    with pytest.raises(ValueError, match=r"holds no samples \(it is empty\)"):
        speech.read_wav(tmp_path / "empty.wav")
    wavfile.write(tmp_path / "short.wav", 44100, np.zeros(100, dtype=np.int16))   # 19 samples at 8 kHz
    with pytest.raises(ValueError, match=r"too short: 19 samples at 8000 Hz .* at least 30 samples"):
        speech.read_wav(tmp_path / "short.wav")
    with pytest.raises(FileNotFoundError, match="no such file"):
        speech.read_wav(tmp_path / "missing.wav")
    wavfile.write(tmp_path / "loud.wav", 8000, 3 * sine(8000).astype(np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.abs(speech.read_wav(tmp_path / "loud.wav")).max() == 1.0
    assert any("clipped" in str(w.message) for w in caught)


def test_plot_and_audio(tmp_path, waves):
    wave = waves["test"]["2_george_1.wav"]
    fig = speech.plot_wave(wave, prime=800, title="2_george_1", path=tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 2 and any("CC BY-SA 4.0" in t.get_text() for t in fig.texts)
    pytest.importorskip("IPython")
    player = speech.audio(wave)
    assert player.data[:4] == b"RIFF"


def test_truncated_wav_is_an_error_that_says_it_is_cut(tmp_path):
    path = tmp_path / "cut.wav"
    wavfile.write(path, 8000, (sine(8000) * 32767).astype(np.int16))   # 4000 frames, 44-byte header
    whole = path.read_bytes()
    assert len(whole) == 44 + 2 * 4000
    path.write_bytes(whole[:44 + 2 * 3000 + 1])                         # cut mid-sample
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                  # no warning, an error
        with pytest.raises(ValueError) as err:
            speech.read_wav(path)
    msg = str(err.value)
    assert str(path) in msg and "cut short (truncated)" in msg
    assert f"promises {len(whole)} bytes (4000 frames)" in msg
    assert f"the file has {44 + 6001} bytes (3000 frames)" in msg
    assert "Re-export" in msg
    path.write_bytes(whole)                                             # the whole file still reads
    assert len(speech.read_wav(path)) == 4000


def test_write_wav_refuses_what_a_wav_file_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="wave: contains NaN or infinite samples"):
        speech.write_wav(tmp_path / "nan.wav", np.array([0.0, np.nan, 0.1]))
    with pytest.raises(ValueError, match="rate: expected a sample rate in Hz, an int in 1..4294967295"):
        speech.write_wav(tmp_path / "fast.wav", np.zeros(10), rate=10 ** 10)   # was struct.error
    assert not list(tmp_path.iterdir())


def test_writers_into_a_missing_folder_name_it_before_any_work(tmp_path):
    for write in (lambda p: speech.write_wav(p, np.zeros(10)),
                  lambda p: speech.plot_wave(np.zeros(1000), path=p)):
        with pytest.raises(ValueError, match="its folder '.*/nowhere' does not exist"):
            write(tmp_path / "nowhere" / "x.out")
    assert not (tmp_path / "nowhere").exists()
