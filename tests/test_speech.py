"""Tests of gru_lib.speech on the real Free Spoken Digit Dataset.

The shared copy (../shared/data/speech/fsdd; FSDD, Zohar Jackson et al., CC BY-SA 4.0) is
read directly, and also served over loopback HTTP as the real GitHub archive layout
(``free-spoken-digit-dataset-<commit>/recordings/*.wav`` in a tar.gz built here), so the
download path is checked against the registry's content checksum, including failures.
"""

import copy
import http.server
import io
import tarfile
import threading
import warnings

import matplotlib
import numpy as np
import pytest
import torch
from scipy.io import wavfile

matplotlib.use("Agg")  # no display in CI

from gru_lib import download, paper, speech  # noqa: E402
from gru_lib.download import DownloadError  # noqa: E402
from gru_lib.training.batching import batches  # noqa: E402

from conftest import SHARED_FSDD as FSDD  # noqa: E402

COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"


pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These small recurrent steps run fastest on one thread (and far faster than on two
    when the CPU is shared); restore torch's setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def waves(fsdd_dir):
    return speech.load_speech(None, folder=fsdd_dir, progress=False)


# -----------------------------------------------------------------------------
# registry, data, splits, normalisation


def test_registry_entry_is_pinned_and_credits_the_licence():
    info = download.dataset_info("fsdd")
    assert "CC BY-SA 4.0" in info["licence"] and "Zohar Jackson" in info["licence"]
    src = info["sources"][0]
    assert src["commit"] == COMMIT and src["count"] == 3000 and src["format"] == "tar.gz"
    assert src["urls"] == [f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{COMMIT}.tar.gz"]
    assert src["filename"] == f"free-spoken-digit-dataset-{COMMIT}.tar.gz"
    assert src["content_sha256"] == "ddb17656a0bca4c5ddace082be188ca630516dc2ef1110afe3c4e9cc71173de4"
    assert download.lookup("fsdd") == src
    assert "CC BY-SA 4.0" in speech.CREDIT and "Zohar Jackson" in speech.CREDIT


def test_shared_copy_loads_with_the_documented_statistics(waves):
    counts = {s: len(waves[s]) for s in speech.data.SPLITS}
    assert counts == {"train": 2400, "valid": 300, "test": 300}
    every = [w for s in speech.data.SPLITS for w in waves[s].values()]
    assert sum(len(w) for w in every) == 10_498_424                     # README: samples in all
    lengths = [len(w) / speech.RATE for w in every]
    assert round(min(lengths), 2) == 0.14 and round(max(lengths), 2) == 2.28
    assert all(w.dtype == torch.float32 and float(w.abs().max()) <= 1.0 for w in every)
    # split by take; every speaker and digit in every split
    for split, takes in (("test", range(0, 5)), ("valid", range(5, 10)), ("train", range(10, 50))):
        parsed = [speech.parse_name(n) for n in waves[split]]
        assert {t for _, _, t in parsed} == set(takes)
        assert {d for d, _, _ in parsed} == set(range(10))
        assert {s for _, s, _ in parsed} == {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}


def test_prefixes_of_a_split_are_whole_takes(waves):
    first = [speech.parse_name(n) for n in list(waves["train"])[:120]]
    assert [t for _, _, t in first] == [10] * 60 + [11] * 60           # takes 10 and 11 ...
    assert len({(d, s) for d, s, _ in first}) == 60                      # ... of every digit and speaker
    frames = speech.load_frames("valid", folder=FSDD, progress=False)
    assert [f.shape[0] for f in frames] == [len(w) // 10 for w in waves["valid"].values()]


def test_one_normalisation_int16_over_32768(waves, fsdd_dir):
    for split, name in (("train", "3_theo_20.wav"), ("test", "3_theo_2.wav")):
        rate, raw = wavfile.read(fsdd_dir / "recordings" / name)
        assert rate == 8000 and raw.dtype == np.int16
        assert torch.equal(waves[split][name], torch.from_numpy(raw.astype(np.float32) / 32768))


def test_names_and_splits():
    assert speech.parse_name("7_yweweler_49.wav") == (7, "yweweler", 49)
    assert [speech.split_of(f"1_theo_{t}.wav") for t in (0, 4, 5, 9, 10, 49)] == \
        ["test", "test", "valid", "valid", "train", "train"]
    with pytest.raises(ValueError, match=r"name: expected an FSDD file name.*'hello.wav'"):
        speech.parse_name("hello.wav")
    with pytest.raises(ValueError, match=r"split: expected one of \['train', 'valid', 'test'\]"):
        speech.load_speech("validation")


# -----------------------------------------------------------------------------
# verification and the loopback download path


@pytest.fixture(scope="module")
def archive_dir(fsdd_dir, tmp_path_factory):
    """The real archive layout, built from the shared copy: top/recordings/*.wav in a tar.gz."""
    folder = tmp_path_factory.mktemp("archive")
    top = f"free-spoken-digit-dataset-{COMMIT}"
    with tarfile.open(folder / f"{top}.tar.gz", "w:gz", compresslevel=1) as tar:
        tar.add(fsdd_dir / "recordings", arcname=f"{top}/recordings")
        readme = b"FSDD\n"
        info = tarfile.TarInfo(f"{top}/README.md")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    return folder


def _bad_archive(folder, fsdd_dir, *, drop=None, alter=None):
    """An archive like the real one but with one recording dropped or one byte changed."""
    top = f"free-spoken-digit-dataset-{COMMIT}"
    path = folder / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for p in sorted((fsdd_dir / "recordings").glob("*.wav")):
            if p.name == drop:
                continue
            data = bytearray(p.read_bytes())
            if p.name == alter:
                data[-1] ^= 1
            info = tarfile.TarInfo(f"{top}/recordings/{p.name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(bytes(data)))
    return path


class Server:
    """Serve a folder on 127.0.0.1 and point the fsdd registry address at its archive."""

    def __init__(self, folder, monkeypatch):
        quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), lambda *a, **k: quiet(*a, directory=str(folder), **k))
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        reg = copy.deepcopy(download._load_registry())
        src = reg["datasets"]["fsdd"]["sources"][0]
        src["urls"] = [f"http://127.0.0.1:{self.httpd.server_address[1]}/{src['filename']}"]
        monkeypatch.setattr(download, "_load_registry", lambda: reg)
        monkeypatch.delenv("GRU_LIB_OFFLINE")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_loopback_download_verifies_and_caches(archive_dir, waves, tmp_path, monkeypatch):
    server = Server(archive_dir, monkeypatch)
    try:
        recs = speech.load_recordings(progress=False)
    finally:
        server.close()
    assert len(recs) == 3000
    name = "5_lucas_33.wav"
    assert torch.equal(speech.to_float(recs[name]), waves["train"][name])
    cache = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert cache == [f"free-spoken-digit-dataset-{COMMIT}.tar.gz", "fsdd-26eb9aa-v1.npz"]
    # the next call needs no network (the server is gone, and offline is set again)
    monkeypatch.setenv("GRU_LIB_OFFLINE", "1")
    again = speech.load_speech("test", progress=False)
    assert len(again) == 300 and torch.equal(again["0_george_0.wav"], waves["test"]["0_george_0.wav"])
    # a damaged cache file is rebuilt from the archive beside it, not trusted
    (tmp_path / "cache" / "fsdd-26eb9aa-v1.npz").write_bytes(b"not an npz")
    assert len(speech.load_recordings(progress=False)) == 3000


@pytest.mark.parametrize("damage,message", [
    (dict(alter="4_nicolas_17.wav"), r"not the pinned FSDD \(commit 26eb9aa\): sha256 .* expected ddb17656"),
    (dict(drop="4_nicolas_17.wav"), r"expected 3000 recordings/\*\.wav, found 2999"),
])
def test_loopback_wrong_content_is_refused_and_not_kept(fsdd_dir, tmp_path, monkeypatch, damage, message):
    folder = tmp_path / "served"
    folder.mkdir()
    _bad_archive(folder, fsdd_dir, **damage)
    server = Server(folder, monkeypatch)
    try:
        with pytest.raises(DownloadError, match=message):
            speech.load_recordings(progress=False)
    finally:
        server.close()
    assert list((tmp_path / "cache").iterdir()) == []       # nothing wrong left for the next run


def test_garbage_archive_and_offline_errors(tmp_path, monkeypatch):
    with pytest.raises(DownloadError, match=r"not in the cache\. GRU_LIB_OFFLINE=1 forbids downloads"):
        speech.load_recordings(progress=False)
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / f"free-spoken-digit-dataset-{COMMIT}.tar.gz").write_bytes(b"<html>rate limited</html>")
    server = Server(folder, monkeypatch)
    try:
        with pytest.raises(DownloadError, match="not a readable tar.gz archive"):
            speech.load_recordings(progress=False)
    finally:
        server.close()
    assert list((tmp_path / "cache").iterdir()) == []


def test_local_folder_forms_and_a_wrong_local_copy(archive_dir, fsdd_dir, tmp_path):
    assert len(speech.load_recordings(folder=archive_dir, progress=False)) == 3000   # holds the archive
    assert len(speech.load_recordings(folder=fsdd_dir / "recordings", progress=False)) == 3000
    copy_dir = tmp_path / "fsdd" / "recordings"
    copy_dir.mkdir(parents=True)
    for p in (fsdd_dir / "recordings").glob("*.wav"):
        (copy_dir / p.name).symlink_to(p.resolve())
    (copy_dir / "0_theo_0.wav").unlink()
    (copy_dir / "0_theo_0.wav").write_bytes((fsdd_dir / "recordings" / "0_theo_1.wav").read_bytes())
    with pytest.raises(DownloadError, match="not the pinned FSDD"):
        speech.load_recordings(folder=tmp_path / "fsdd", progress=False)
    with pytest.raises(ValueError, match="holds neither recordings"):
        speech.load_recordings(folder=tmp_path, progress=False)
    with pytest.raises(ValueError, match="not an existing folder"):
        speech.load_recordings(folder=tmp_path / "nope", progress=False)


# -----------------------------------------------------------------------------
# framing and the model


def test_framing_reads_20_predicts_the_next_10():
    wave = torch.arange(95, dtype=torch.float32)
    frames = speech.frame(wave)                                  # 9 frames; the last 5 samples dropped
    assert frames.shape == (9, 10) and frames[-1, -1] == 89
    x = speech.model._context(frames[:-1].unsqueeze(1))               # what the model reads: (7, 1, 20)
    targets = frames[2:]                                         # what it predicts: (7, 10)
    for t in range(7):
        assert x[t, 0].tolist() == list(range(10 * t, 10 * t + 20))          # 20 consecutive samples
        assert targets[t].tolist() == list(range(10 * t + 20, 10 * t + 30))  # the next 10 (hop 10)
    with pytest.raises(ValueError, match=r"wave: expected a 1-D waveform"):
        speech.frame(torch.zeros(2, 50))


def test_paper_sizes_and_exact_recurrent_parameter_counts():
    for kind, params in paper.PARAMS["speech"].items():
        model = speech.make_speech_model(kind)
        assert model.hidden_size == paper.UNITS["speech"][kind]
        assert sum(p.numel() for p in model.rnn.parameters()) == params   # 168,400 / 168,888 / 169,065
        assert model.readout.out_features == 20 + 2 * 20 * 10             # π, μ, σ of 20 Gaussians
        assert model.rnn.cell.input_size == 20


def small_clips(waves, n=5, frames=40):
    return [speech.frame(w)[:frames] for w in list(waves["valid"].values())[:n]]


def test_batched_nll_equals_the_sum_over_clips(waves):
    model = speech.make_speech_model("lstm", 16, seed=1)
    clips = [speech.frame(w)[:n] for w, n in zip(list(waves["valid"].values())[:4], (30, 7, 19, 3))]
    x, lengths = next(batches(clips, 4, shuffle=False))
    total, steps = model.nll_sum(x, lengths)
    assert steps == speech.step_count(clips) == 28 + 5 + 17 + 1
    singles = [model.nll_sum(c.unsqueeze(1)) for c in clips]
    torch.testing.assert_close(total, sum(t for t, _ in singles), rtol=1e-5, atol=1e-3)
    assert steps == sum(s for _, s in singles)
    # causal: step t sees only frames <= t+1
    x2 = x.clone()
    x2[10] += 0.5
    a, b = model(x[:, :1]), model(x2[:, :1])
    assert torch.equal(a.means[:9], b.means[:9]) and not torch.equal(a.means[9], b.means[9])
    with pytest.raises(ValueError, match="at least 3 frames"):
        model(torch.zeros(2, 1, 10))
    with pytest.raises(ValueError, match=r"frames: expected a \(N, B, F=10\) tensor"):
        model(torch.zeros(5, 1, 20))


def test_initial_sigma_matches_the_data_scale_and_meta_round_trip(waves):
    model = speech.make_speech_model("gru", 8, seed=0)
    mix = model(speech.frame(next(iter(waves["valid"].values()))).unsqueeze(1))
    assert torch.allclose(mix.stds, torch.tensor(speech.model.INIT_STD), atol=0.02)
    assert model.meta()["model"] == "speech"
    clone = speech.SpeechModel.from_meta(model.meta())
    clone.load_state_dict(model.state_dict())
    x = small_clips(waves, 1)[0].unsqueeze(1)
    assert torch.equal(clone.nll(x), model.nll(x))
    with pytest.raises(ValueError, match="not a speech model"):
        speech.SpeechModel.from_meta({"kind": "gru"})


def test_a_few_updates_lower_the_nll(waves):
    clips = small_clips(waves, 8, 40)
    x, lengths = next(batches(clips, 8, shuffle=False))
    model = speech.make_speech_model("gru", 16, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        before = float(model.nll(x, lengths))
    for _ in range(20):
        opt.zero_grad()
        model.nll(x, lengths).backward()
        opt.step()
    with torch.no_grad():
        assert float(model.nll(x, lengths)) < before - 1.0


def test_sampling_continues_a_real_clip(waves):
    model = speech.make_speech_model("tanh", 16, seed=0)
    prime = waves["test"]["3_jackson_0.wav"][:805]
    out = speech.continue_wave(model, prime, seconds=0.05, generator=torch.Generator().manual_seed(1))
    assert out.shape == (800 + 400,) and out.dtype == np.float32
    assert np.array_equal(out[:800], prime[:800].numpy())       # the prime, then the sample
    assert np.abs(out).max() <= 1.0
    again = speech.continue_wave(model, prime, seconds=0.05, generator=torch.Generator().manual_seed(1))
    assert np.array_equal(out, again)
    with pytest.raises(ValueError, match=r"prime: too short: 25 samples"):
        speech.continue_wave(model, prime[:25])
    with pytest.raises(ValueError, match="steps \\(frames to generate\\) must be a positive integer"):
        model.sample(0, prime)


# -----------------------------------------------------------------------------
# bring your own WAV


def _sine(rate, seconds=0.5, freq=440.0):
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)


def test_read_wav_any_rate_and_channels_to_mono_8k(tmp_path):
    # stereo 44.1 kHz int16, one channel silent: mono = the average of the channels
    x = _sine(44100)
    stereo = np.stack([x, np.zeros_like(x)], axis=1)
    wavfile.write(tmp_path / "stereo.wav", 44100, (stereo * 32767).astype(np.int16))
    mono = speech.read_wav(tmp_path / "stereo.wav")
    assert mono.dtype == np.float32 and mono.ndim == 1 and len(mono) == 4000
    spectrum = np.abs(np.fft.rfft(mono))
    assert abs(np.argmax(spectrum) * 8000 / len(mono) - 440) < 3            # still 440 Hz
    assert abs(np.abs(mono[200:-200]).max() - 0.25) < 0.01                 # (0.5 + 0) / 2
    # other sample formats, other rates
    wavfile.write(tmp_path / "f32.wav", 16000, _sine(16000).astype(np.float32))
    wavfile.write(tmp_path / "u8.wav", 8000, (_sine(8000) * 127 + 128).astype(np.uint8))
    wavfile.write(tmp_path / "i32.wav", 22050, (_sine(22050) * 2 ** 31).astype(np.int32))
    for name, n in (("f32.wav", 4000), ("u8.wav", 4000), ("i32.wav", 4000)):
        y = speech.read_wav(tmp_path / name)
        assert len(y) == n and abs(np.abs(y[200:-200]).max() - 0.5) < 0.02, name


def test_wav_round_trip_and_bad_files(tmp_path, waves):
    wave = waves["test"]["9_nicolas_4.wav"].numpy()
    speech.write_wav(tmp_path / "out.wav", wave)
    assert np.array_equal(speech.read_wav(tmp_path / "out.wav"), wave)     # int16 exact
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
    wavfile.write(tmp_path / "loud.wav", 8000, 3 * _sine(8000).astype(np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.abs(speech.read_wav(tmp_path / "loud.wav")).max() == 1.0
    assert any("clipped" in str(w.message) for w in caught)


def test_own_wav_evaluate_and_prime(tmp_path, waves):
    wavfile.write(tmp_path / "mine.wav", 16000, (_sine(16000, 0.2, 300) * 20000).astype(np.int16))
    mine = speech.read_wav(tmp_path / "mine.wav")
    model = speech.make_speech_model("gru", 12, seed=0)
    assert np.isfinite(speech.wave_nll(model, mine))
    out = speech.continue_wave(model, mine, seconds=0.02, generator=torch.Generator().manual_seed(0))
    assert len(out) == 1600 + 160


def test_plot_and_audio(tmp_path, waves):
    wave = waves["test"]["2_george_1.wav"]
    fig = speech.plot_wave(wave, prime=800, title="2_george_1", path=tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 2 and any("CC BY-SA 4.0" in t.get_text() for t in fig.texts)
    pytest.importorskip("IPython")
    player = speech.audio(wave)
    assert player.data[:4] == b"RIFF"


# -----------------------------------------------------------------------------
# the command line: reproduce / evaluate / sample on FSDD


def test_cli_reproduce_evaluate_and_sample_on_fsdd(fsdd_dir, tmp_path, capsys):
    from gru_lib.__main__ import main

    out = tmp_path / "run"
    assert main(["reproduce", "--dataset", "fsdd", "--budget", "quick", "--models", "tanh,gru",
                 "--out", str(out), "--data", str(fsdd_dir), "--no-progress", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Ubisoft A (a different, private corpus; for reference only)" in printed
    assert "CC BY-SA 4.0" in printed
    results = __import__("json").loads((out / "results.json").read_text())
    assert results["paper"] is None and results["paper_reference"]["Ubisoft B"]["gru"] == [0.38, 0.88]
    for kind in ("tanh", "gru"):
        r = results["models"][kind]
        assert r["units"] == paper.UNITS["speech"][kind]
        assert r["params"] == paper.PARAMS["speech"][kind]
        assert np.isfinite(r["test_nll"])
    best = out / results["models"]["gru"]["checkpoint"]
    assert main(["evaluate", "--checkpoint", str(best), "--dataset", "fsdd", "--split", "valid",
                 "--data", str(fsdd_dir), "--json"]) == 0
    report = __import__("json").loads(capsys.readouterr().out)
    assert report["steps"] == speech.step_count(speech.load_frames("valid", folder=fsdd_dir))
    # sample from a real test clip, and from a user's stereo 16 kHz WAV
    assert main(["sample", "--checkpoint", str(best), "--data", str(fsdd_dir), "--seconds", "0.1",
                 "--out", str(tmp_path / "s.wav")]) == 0
    rate, data = wavfile.read(tmp_path / "s.wav")
    assert rate == 8000 and data.dtype == np.int16 and len(data) == 2000 + 800
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    stereo = np.stack([_sine(16000), _sine(16000, freq=220)], axis=1)
    wavfile.write(tmp_path / "mine.wav", 16000, (stereo * 20000).astype(np.int16))
    assert main(["sample", "--checkpoint", str(best), "--prime", str(tmp_path / "mine.wav"),
                 "--prime-seconds", "0.1", "--seconds", "0.05", "--out", str(tmp_path / "m")]) == 0
    assert len(wavfile.read(tmp_path / "m.wav")[1]) == 800 + 400
    (tmp_path / "bad.wav").write_bytes(b"RIFF....")
    assert main(["sample", "--checkpoint", str(best), "--prime", str(tmp_path / "bad.wav")]) == 2
    assert "not a readable WAV file" in capsys.readouterr().err


def test_training_step_survives_exploding_and_nan_gradients(waves):
    """A 400-unit tanh-RNN under weight noise produces gradients of ~1e25 (their squared norm
    overflows float32) and sometimes NaN: the update must rescale the first to norm 1 and
    skip the second, never write NaN into the weights."""
    from gru_lib.training.trainer import TrainConfig, Trainer

    clips = small_clips(waves, 2, 10)
    x, lengths = next(batches(clips, 2, shuffle=False))
    model = speech.make_speech_model("tanh", 6, seed=0)
    trainer = Trainer(model, clips, clips,
                      TrainConfig(lr=1e-3, weight_noise=0.0, device="cpu", progress=False))
    for scale, moves in ((1e25, True), (float("nan"), False)):
        before = [p.detach().clone() for p in model.parameters()]
        real = model.nll_sum
        model.nll_sum = lambda f, n, real=real, scale=scale: (lambda t, s: (t * scale, s))(*real(f, n))
        trainer.update(x, lengths)
        del model.nll_sum
        assert all(torch.isfinite(p).all() for p in model.parameters())
        changed = any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
        assert changed == moves
