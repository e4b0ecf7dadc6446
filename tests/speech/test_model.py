"""Tests of gru_lib.speech.model: the paper's speech models on real FSDD clips: sizes, the
batched NLL, training a little, sampling."""
import numpy as np
import pytest
import torch
from scipy.io import wavfile

from gru_lib import paper, speech
from gru_lib.training.batching import batches
from tests.speech.helpers import sine, small_clips

pytestmark = pytest.mark.usefixtures("private_cache")   # never the user's cache (conftest.py)


def test_paper_sizes_and_exact_recurrent_parameter_counts():
    for kind, params in paper.PARAMS["speech"].items():
        model = speech.make_speech_model(kind)
        assert model.hidden_size == paper.UNITS["speech"][kind]
        assert sum(p.numel() for p in model.rnn.parameters()) == params   # 168,400 / 168,888 / 169,065
        assert model.readout.out_features == 20 + 2 * 20 * 10             # π, μ, σ of 20 Gaussians
        assert model.rnn.cell.input_size == 20


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


def test_own_wav_evaluate_and_prime(tmp_path, waves):
    wavfile.write(tmp_path / "mine.wav", 16000, (sine(16000, 0.2, 300) * 20000).astype(np.int16))
    mine = speech.read_wav(tmp_path / "mine.wav")
    model = speech.make_speech_model("gru", 12, seed=0)
    assert np.isfinite(speech.wave_nll(model, mine))
    out = speech.continue_wave(model, mine, seconds=0.02, generator=torch.Generator().manual_seed(0))
    assert len(out) == 1600 + 160


@pytest.mark.parametrize("kind,layers,units", [("mingru", 1, 4024), ("minlstm", 2, 227)])
def test_minimal_and_stacked_speech_models_at_the_budget(kind, layers, units):
    from gru_lib.speech.model import SpeechModel, make_speech_model
    model = make_speech_model(kind, layers=layers)
    assert model.hidden_size == units and model.layers == layers
    small = SpeechModel(kind, 6, layers=layers).double()
    frames = torch.randn(9, 2, 10, dtype=torch.float64) * 0.05
    assert torch.isfinite(small.nll(frames, torch.tensor([9, 5])))
    assert SpeechModel.from_meta(small.meta()).meta() == small.meta()


def test_waves_must_be_float_samples_in_full_scale():
    """int16 samples were taken as floats: an NLL of 1.5e10 and a continuation 32768 times
    too loud, without a word."""
    model = speech.make_speech_model("gru", 8, seed=0)
    pcm = (sine(800) * 20000).astype(np.int16)
    for call in (lambda w: speech.wave_nll(model, w),
                 lambda w: speech.continue_wave(model, w, seconds=0.01)):
        with pytest.raises(ValueError, match="expected float samples in \\[-1, 1\\], got int16.*32768"):
            call(pcm)
        with pytest.raises(ValueError, match="got a peak of 3"):
            call(np.full(800, 3.0))
    assert np.isfinite(speech.wave_nll(model, pcm / 32768))


def test_speech_functions_refuse_a_music_model():
    from gru_lib.music.model import make_model
    music_model = make_model("gru", 88, 46)
    for call in (lambda: speech.wave_nll(music_model, np.zeros(800, np.float32)),
                 lambda: speech.continue_wave(music_model, np.zeros(800, np.float32))):
        with pytest.raises(TypeError, match="model must be a SpeechModel.*got PianoRollModel"):
            call()


def test_speech_nll_refuses_nan_samples():
    model = speech.make_speech_model("gru", 8, seed=0)
    with pytest.raises(ValueError, match="frames: contains NaN or infinite samples"):
        model.nll(torch.full((5, 2, 10), float("nan")))
    with pytest.raises(ValueError, match="seed must be an integer"):
        speech.make_speech_model("gru", 8, seed=2 ** 70)
