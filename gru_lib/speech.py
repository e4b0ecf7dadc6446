"""Raw speech for the speech half of Chung et al. (2014), on an open corpus.

The paper's speech sets (Ubisoft A and B) are proprietary. We use the Free Spoken Digit
Dataset instead -- FSDD, Zohar Jackson et al., CC BY-SA 4.0,
https://github.com/Jakobovski/free-spoken-digit-dataset -- with the paper's framing. The
numbers are therefore NOT comparable with the paper's Ubisoft rows: a different corpus, a
different scale, a different amount of data.

Data (``load_speech``, ``load_frames``):

- 3,000 recordings ``{digit}_{speaker}_{take}.wav``: 6 speakers x 10 digits x 50 takes,
  8 kHz, mono, 16-bit. Pinned to commit 26eb9aa of the repository; a download (GitHub's
  tar.gz of that commit) or a local copy of ``recordings/`` is accepted only if the sha256
  of the 3,000 files, concatenated in sorted path order, is the registry's
  ``content_sha256``. (GitHub builds archives on demand, so the archive's own bytes are not
  pinned; its content is.)
- Split by take, so every speaker and digit is in every split:
  takes 0-4 -> "test" (the customary FSDD test set, 300 clips),
  takes 5-9 -> "valid" (300 clips, held out of the customary training takes),
  takes 10-49 -> "train" (2,400 clips).
- Normalisation, the same for every split and every file: x = int16 / 32768, so
  x ∈ [-1, 1). No per-clip gain, no mean removal: the model sees the levels as recorded.

Framing, as in the paper: at each step the model reads 20 consecutive samples and predicts
the next 10, then moves on by 10 (hop 10). We store a clip as frames of 10 samples,
(N, 10); step t reads frames t and t+1 (20 samples) and predicts frame t+2, so a clip of N
frames has N - 2 steps. The last len % 10 samples of a clip are dropped (< 1.25 ms).
Batches of frames are padded with lengths exactly like piano rolls (``music.batches``).

Model (``SpeechModel``): recurrent layer (20 inputs; the paper's sizes tanh 400, GRU 227,
LSTM 195, 168-169K recurrent parameters) -> linear -> a mixture of 20 diagonal Gaussians
over the next 10 samples (``gru_lib.mixture``). Metric: negative log-likelihood in nats
per step (the density of all 10 samples), averaged over every step of a split.

Scale: the NLL of a density depends on the units of x. Measuring x in units s times
larger shifts the NLL by 10·log(s) nats per step; with x in [-1, 1) and quiet speech, the
NLL is NEGATIVE (densities above 1). The floor σ ≥ 1e-3 on the standard deviations (about
33 steps of the 16-bit quantiser) bounds the best possible NLL at about -59.9 nats per
step, so stretches of digital silence cannot dominate the average.

Your own audio: ``read_wav`` takes any WAV (any rate, mono or stereo, 8/16/24/32-bit or
float) to mono 8 kHz float in [-1, 1] (``scipy.signal.resample_poly``); ``wave_nll``
evaluates a model on it; ``continue_wave`` primes a model with it and samples a
continuation; ``write_wav``, ``audio`` and ``plot_wave`` write, play and draw the result.
"""
from __future__ import annotations

import hashlib
import io
import math
import re
import tarfile
import warnings
from math import gcd
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from . import download, mixture
from .download import DownloadError
from .sequence import Recurrent

RATE = 8000              # FSDD's sample rate, and the rate every waveform here is at
FRAME = 10               # samples predicted per step = the hop (paper: 10)
READ = 2 * FRAME         # samples read per step (paper: 20): two frames
COMPONENTS = 20          # Gaussians in the output mixture (paper: 20)
SCALE = 32768.0          # int16 -> float: x = int16 / 32768, for every split
MIN_STD = 1e-3           # floor on the mixture's standard deviations (see the docstring)
INIT_STD = 0.06          # the std of the training waveforms (measured: 0.061); see SpeechModel
MIN_SAMPLES = READ + FRAME   # a waveform must have 3 frames: 20 to read, 10 to predict
SPLITS = ("train", "valid", "test")
TEST_TAKES = range(0, 5)     # the customary FSDD test takes
VALID_TAKES = range(5, 10)   # our validation takes, held out of the customary training takes
N_RECORDINGS = 3000
CREDIT = ("Audio: Free Spoken Digit Dataset (FSDD), Zohar Jackson et al., CC BY-SA 4.0, "
          "github.com/Jakobovski/free-spoken-digit-dataset")

# Table 2 of the paper, speech rows (train, test), REFERENCE.md §4. A different corpus:
# printed for reference only, never subtracted from our numbers.
PAPER_UBISOFT = {
    "Ubisoft A": {"tanh": (6.29, 6.44), "gru": (2.31, 3.59), "lstm": (1.44, 2.70)},
    "Ubisoft B": {"tanh": (7.61, 7.62), "gru": (0.38, 0.88), "lstm": (0.80, 1.26)},
}

_NAME = re.compile(r"^([0-9])_([a-z]+)_([0-9]+)\.wav$")
_CACHE_FORMAT = 1        # bump when the cached .npz layout changes


# -----------------------------------------------------------------------------
# names and splits


def parse_name(name):
    """'7_theo_12.wav' -> (digit 7, speaker 'theo', take 12). ValueError if not FSDD-shaped."""
    m = _NAME.match(name) if isinstance(name, str) else None
    if m is None:
        raise ValueError(f"name: expected an FSDD file name '{{digit}}_{{speaker}}_{{take}}.wav', "
                         f"got {name!r}")
    return int(m.group(1)), m.group(2), int(m.group(3))


def split_of(name):
    """The split of a recording, from its take: 0-4 test, 5-9 valid, 10-49 train."""
    take = parse_name(name)[2]
    return "test" if take in TEST_TAKES else "valid" if take in VALID_TAKES else "train"


def _check_split(split, allow_none=True):
    if split not in SPLITS and not (allow_none and split is None):
        raise ValueError(f"split: expected one of {list(SPLITS)}{' or None' if allow_none else ''}, "
                         f"got {split!r}")


# -----------------------------------------------------------------------------
# reading and verifying the recordings


def _entry():
    return download.dataset_info("fsdd")["sources"][0]


def content_sha256(files):
    """sha256 of the files' bytes concatenated in sorted path order ({name: bytes})."""
    h = hashlib.sha256()
    for name in sorted(files):       # all paths are recordings/<name>: sorting names is enough
        h.update(files[name])
    return h.hexdigest()


def _verify(files, where, entry):
    """Raise DownloadError unless ``files`` are exactly the pinned 3,000 recordings."""
    if len(files) != entry["count"]:
        raise DownloadError(f"{where}: expected {entry['count']} recordings/*.wav, found {len(files)}. "
                            f"{_by_hand(entry)}")
    got = content_sha256(files)
    if got != entry["content_sha256"]:
        raise DownloadError(f"{where}: the recordings are not the pinned FSDD (commit "
                            f"{entry['commit'][:7]}): sha256 of the 3,000 files in sorted path "
                            f"order is {got}, expected {entry['content_sha256']}. {_by_hand(entry)}")


def _by_hand(entry):
    return (f"Get the archive by hand from {entry['urls'][0]} and pass folder=<the folder that "
            f"holds it>, or pass folder=<a copy of the repository (or its recordings/ folder)>.")


def read_folder(folder):
    """{name: bytes} of the .wav files in ``folder``/recordings (or in ``folder`` itself)."""
    folder = Path(folder)
    rec = folder / "recordings" if (folder / "recordings").is_dir() else folder
    paths = sorted(rec.glob("*.wav"))
    if not paths:
        raise ValueError(f"folder: no .wav recordings in {str(rec)!r} (expected the FSDD "
                         f"repository, its recordings/ folder, or the archive "
                         f"{_entry()['filename']})")
    return {p.name: p.read_bytes() for p in paths}


def read_archive(path):
    """{name: bytes} of ``*/recordings/*.wav`` in a tar.gz, read in memory.

    Nothing is extracted to disk, so a hostile archive cannot write outside the cache
    (no '../' or absolute member paths to worry about); members that are not regular
    files are ignored.
    """
    path = Path(path)
    files = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 3 and parts[1] == "recordings" \
                        and parts[2].endswith(".wav"):
                    files[parts[2]] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as e:   # gzip errors are OSError/EOFError
        raise ValueError(f"{path}: not a readable tar.gz archive ({type(e).__name__}: {e})") from None
    if not files:
        raise ValueError(f"{path}: the archive holds no <top folder>/recordings/*.wav files")
    return files


def _decode(files):
    """{name: wav bytes} -> {name: int16 array (n,)}, checking every file is 8 kHz mono int16."""
    from scipy.io import wavfile

    out = {}
    for name in sorted(files):
        parse_name(name)
        try:
            rate, data = wavfile.read(io.BytesIO(files[name]))
        except Exception as e:
            raise ValueError(f"{name}: not a readable WAV file ({type(e).__name__}: {e})") from None
        if rate != RATE or data.dtype != np.int16 or data.ndim != 1 or len(data) < MIN_SAMPLES:
            raise ValueError(f"{name}: expected {RATE} Hz mono 16-bit with >= {MIN_SAMPLES} samples, got "
                             f"{rate} Hz, {data.dtype}, shape {data.shape}")
        out[name] = data
    return out


def _cache_path():
    return download.cache_dir() / f"fsdd-{_entry()['commit'][:7]}-v{_CACHE_FORMAT}.npz"


def _write_cache(path, recs, sha):
    """All recordings in one .npz (no pickle): names, concatenated samples, offsets."""
    names = sorted(recs)
    offsets = np.cumsum([0] + [len(recs[n]) for n in names]).astype(np.int64)
    samples = np.concatenate([recs[n] for n in names])
    download.write_atomically(path, lambda f: np.savez(f, names=np.array(names), samples=samples,
                                                        offsets=offsets, content_sha256=np.array(sha)))


def _read_cache(path):
    """The recordings from our .npz, or None if it is damaged or from another version."""
    try:
        with np.load(path, allow_pickle=False) as z:
            names, samples, offsets = z["names"], z["samples"], z["offsets"]
            sha = str(z["content_sha256"])
        ok = (sha == _entry()["content_sha256"] and len(names) == N_RECORDINGS
              and samples.dtype == np.int16 and len(offsets) == len(names) + 1
              and offsets[-1] == len(samples))
    except Exception:  # truncated or foreign file: rebuild it
        return None
    if not ok:
        return None
    return {str(n): samples[offsets[i]:offsets[i + 1]] for i, n in enumerate(names)}


def load_recordings(folder=None, progress=True):
    """All 3,000 recordings, verified: {name: int16 array (n,)}, sorted by name.

    folder: a local copy to use: the FSDD repository, its ``recordings/`` folder, or a
        folder holding the archive. Never modified, never cached.
    Otherwise the verified recordings are kept in the gru_lib cache as one .npz; the
    first call downloads the pinned archive (unless ``GRU_LIB_OFFLINE=1``), checks its
    content, and builds the .npz (the archive is kept beside it).

    Raises DownloadError if no copy can be found or a copy is not the pinned one.
    """
    entry = _entry()
    if folder is not None:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise ValueError(f"folder: {str(folder)!r} is not an existing folder")
        if (folder / "recordings").is_dir() or any(folder.glob("*.wav")):
            files = read_folder(folder)
            _verify(files, str(folder), entry)
            return _decode(files)
        if not (folder / entry["filename"]).is_file():
            raise ValueError(f"folder: {str(folder)!r} holds neither recordings/*.wav nor "
                             f"{entry['filename']}")
    else:
        cache = _cache_path()
        if cache.is_file():
            recs = _read_cache(cache)
            if recs is not None:
                return recs

    path = download.fetch(entry, folder=folder, progress=progress)
    try:
        files = read_archive(path)
        _verify(files, str(path), entry)
        recs = _decode(files)
    except (ValueError, DownloadError) as e:
        # The archive has no checksum of its own, so it is vetted only here: if we downloaded
        # it, drop it, so the next run fetches afresh instead of failing the same way forever.
        if path.parent == download.cache_dir():
            path.unlink()
        raise DownloadError(f"{e}" + ("" if isinstance(e, DownloadError) else " " + _by_hand(entry))) \
            from None
    if folder is None:
        _write_cache(_cache_path(), recs, entry["content_sha256"])
    return recs


# -----------------------------------------------------------------------------
# waveforms, frames, batches


def to_float(samples):
    """int16 samples -> float32 tensor in [-1, 1): x = int16 / 32768 (the one normalisation)."""
    return torch.from_numpy(np.asarray(samples, dtype=np.float32) / SCALE)


def load_speech(split="train", folder=None, progress=True):
    """Waveforms of a split as {name: float32 tensor (n,)} in [-1, 1).

    Ordered by take, then speaker, then digit: the first 60·k clips of a split are k whole
    takes (all 6 speakers x 10 digits), so a prefix is a balanced subset (the CLI's budgets
    cut splits that way).

    split: "train" (takes 10-49), "valid" (takes 5-9), "test" (takes 0-4), or None for
    {split: {name: wave}}. folder: see ``load_recordings``.
    """
    _check_split(split)
    recs = load_recordings(folder, progress=progress)
    out = {s: {} for s in SPLITS}
    for name in sorted(recs, key=_take_order):
        out[split_of(name)][name] = to_float(recs[name])
    return out if split is None else out[split]


def _take_order(name):
    digit, speaker, take = parse_name(name)
    return take, speaker, digit


def frame(wave, frame_size=FRAME):
    """A waveform (n,) -> frames (n // F, F); the last n % F samples are dropped."""
    wave = torch.as_tensor(np.asarray(wave) if not isinstance(wave, Tensor) else wave)
    if wave.dim() != 1:
        raise ValueError(f"wave: expected a 1-D waveform (n,), got shape {tuple(wave.shape)}")
    if isinstance(frame_size, bool) or not isinstance(frame_size, int) or frame_size < 1:
        raise ValueError(f"frame_size: expected a positive int, got {frame_size!r}")
    n = wave.shape[0] // frame_size
    return wave[:n * frame_size].reshape(n, frame_size).float()


def load_frames(split="train", folder=None, progress=True, frame_size=FRAME):
    """Clips of a split as a list of (N, F) float32 frame tensors (in ``load_speech``'s order).

    The list plugs into ``music.batches`` (padding + lengths) and into ``train.train``,
    exactly like a list of piano rolls. split None gives {split: list}.
    """
    _check_split(split)
    waves = load_speech(split, folder, progress)
    if split is None:
        return {s: [frame(w, frame_size) for w in waves[s].values()] for s in SPLITS}
    return [frame(w, frame_size) for w in waves.values()]


def batches(clips, batch_size, **kwargs):
    """Padded batches (frames (N_max, B, F), lengths (B,)) of frame tensors: ``music.batches``."""
    from .music import batches as roll_batches

    return roll_batches(clips, batch_size, **kwargs)


def step_count(clips):
    """Number of prediction steps in a list of (N, F) clips: Σ (N - 2)."""
    return sum(c.shape[0] - 2 for c in clips)


# -----------------------------------------------------------------------------
# the model


def _context(frames):
    """Frames (N, B, F) -> what each step reads, (N - 1, B, 2F): frames t and t+1 side by side.

    Input t predicts frame t + 2. (The last row, which reads the last two frames, predicts
    the frame after the clip: it is used only when sampling.)
    """
    return torch.cat([frames[:-1], frames[1:]], dim=-1)


def _inverse_softplus(y):
    return y + math.log(-math.expm1(-y))        # softplus(x) = y  <=>  x = y + log(1 - e^-y)


class SpeechModel(nn.Module):
    """Recurrent layer (reads 2F = 20 samples) -> linear -> mixture of C = 20 Gaussians
    over the next F = 10 samples.

    It has the interface of ``models.PianoRollModel``, so the same training loop, search and
    evaluation drive it: ``forward``, ``nll_sum`` / ``nll`` over a padded batch of frames
    (N, B, F) with lengths (B,) in frames, ``meta`` / ``from_meta`` for checkpoints, ``rnn``
    (weight noise goes on ``rnn.cell``), ``readout`` and ``keys`` (the width of one row of
    the batch, F, under the name the loop checks). ``backend`` is the recurrent layer's, as in
    PianoRollModel.

    >>> model = SpeechModel("gru", 227)
    >>> mix = model(torch.zeros(50, 4, 10))          # (N, B, F) -> Mixture over (N-2, B)
    """

    def __init__(self, kind, hidden_size, frame_size=FRAME, components=COMPONENTS, min_std=MIN_STD,
                 init_scale=0.1, init_std=INIT_STD, backend="auto", **cell_options):
        super().__init__()
        for name, value in (("frame_size", frame_size), ("components", components)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if not (isinstance(min_std, (int, float)) and min_std > 0):
            raise ValueError(f"min_std: expected a positive number, got {min_std!r}")
        if not (isinstance(init_std, (int, float)) and init_std > min_std):
            raise ValueError(f"init_std: expected a number > min_std = {min_std}, got {init_std!r}")
        self.kind, self.frame_size, self.components = kind, frame_size, components
        self.min_std, self.init_scale, self.init_std = float(min_std), float(init_scale), float(init_std)
        self.cell_options = dict(cell_options)
        self.rnn = Recurrent.make(kind, 2 * frame_size, hidden_size, backend=backend,
                                  init_scale=init_scale, **cell_options)
        self.readout = nn.Linear(hidden_size, mixture.n_outputs(components, frame_size))  # (420, H)
        # The output layer starts near the data's own distribution, whatever h is:
        # - mixing logits: weights uniform in ±0.1, as every layer in the authors' code;
        # - means and σ: weights uniform in ±0.1·0.06 (init_scale·init_std), biases 0 for the
        #   means and softplus⁻¹(0.06) for σ, so every component starts at σ ≈ 0.06, the
        #   waveforms' std, with means spread by about that much.
        # Why: x lives in [-1, 1) with std 0.06. With ±0.1 on those rows too, a 400-unit tanh
        # layer (its units start saturated at ±1) puts means near ±1 and some σ at the 1e-3
        # floor: z = (y - μ)/σ ~ 10^3, the first gradients overflow float32 and training ends
        # in NaN at every learning rate of the search. A bias at softplus(0) ≈ 0.69 instead of
        # 0.06 would cost ~25 nats per step that RMSProp at the search's small learning rates
        # needs thousands of updates to walk off.
        C, Fd = components, frame_size
        nn.init.uniform_(self.readout.weight, -init_scale * self.init_std, init_scale * self.init_std)
        nn.init.uniform_(self.readout.weight[:C], -init_scale, init_scale)
        nn.init.zeros_(self.readout.bias)
        with torch.no_grad():
            self.readout.bias[C + C * Fd:] = _inverse_softplus(self.init_std - self.min_std)

    @property
    def hidden_size(self):
        return self.rnn.hidden_size

    @property
    def keys(self):
        """Width of one row of a batch (F samples): the name the training loop checks."""
        return self.frame_size

    def meta(self):
        """What it takes to rebuild this model (stored in every checkpoint)."""
        return {"model": "speech", "kind": self.kind, "hidden_size": self.hidden_size,
                "frame_size": self.frame_size, "components": self.components,
                "min_std": self.min_std, "init_scale": self.init_scale, "init_std": self.init_std,
                "cell_options": dict(self.cell_options)}

    @classmethod
    def from_meta(cls, meta):
        if meta.get("model") != "speech":
            raise ValueError(f"meta: not a speech model's meta (model={meta.get('model')!r})")
        return cls(meta["kind"], meta["hidden_size"], frame_size=meta["frame_size"],
                   components=meta["components"], min_std=meta["min_std"],
                   init_scale=meta["init_scale"], init_std=meta["init_std"], **meta["cell_options"])

    def _check(self, frames, lengths):
        if not isinstance(frames, Tensor) or frames.dim() != 3 or frames.shape[2] != self.frame_size:
            got = tuple(frames.shape) if isinstance(frames, Tensor) else type(frames).__name__
            raise ValueError(f"frames: expected a (N, B, F={self.frame_size}) tensor, got {got}")
        if frames.shape[0] < 3:
            raise ValueError(f"frames: need at least 3 frames (2 to read, 1 to predict), got "
                             f"shape {tuple(frames.shape)}")
        if lengths is not None:
            lengths = torch.as_tensor(lengths)
            if lengths.numel() and int(lengths.min()) < 3:
                raise ValueError(f"lengths: every clip needs at least 3 frames, got {lengths.tolist()}")
        return lengths

    def forward(self, frames, lengths=None):
        """The predicted mixture for every step: frames (N, B, F) -> Mixture over (N - 2, B).

        Step t reads frames t, t+1 and predicts frame t+2. lengths (B,) count frames.
        """
        lengths = self._check(frames, lengths)
        x = _context(frames[:-1])                                   # (N-2, B, 2F)
        steps = None if lengths is None else lengths - 2            # (B,)
        h = self.rnn(x, steps).outputs                              # (N-2, B, H)
        return mixture.split(self.readout(h), self.components, self.frame_size, self.min_std)

    def nll_sum(self, frames, lengths=None):
        """(total nats over the real steps, number of real steps) for one padded batch."""
        from .models import step_mask

        mix = self(frames, lengths)
        per_step = mixture.nll(mix, frames[2:])                     # (N-2, B)
        T, B = per_step.shape
        steps = None if lengths is None else torch.as_tensor(lengths) - 2
        mask = step_mask(steps, T, B, device=frames.device)         # (N-2, B): 0 on padding
        return (per_step * mask).sum(), int(mask.sum().item())

    def nll(self, frames, lengths=None):
        """Average NLL (nats) per real step of one batch: the training loss."""
        total, steps = self.nll_sum(frames, lengths)
        return total / steps

    @torch.no_grad()
    def sample(self, steps, prime, generator=None, temperature=1.0):
        """Continue a waveform: ``steps`` new frames -> a tensor of steps·F new samples.

        prime: a waveform (n,) with n >= 2F (its last n % F samples are ignored); the model
        reads all of it, then each sampled frame is clipped to [-1, 1] (the range of the
        data) and read back as input. temperature scales the mixture's σ (see mixture.sample).
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps: expected a positive int (frames to generate), got {steps!r}")
        param = self.readout.weight
        prime = frame(torch.as_tensor(np.asarray(prime) if not isinstance(prime, Tensor) else prime)
                      .detach().cpu(), self.frame_size)
        if prime.shape[0] < 2:
            raise ValueError(f"prime: expected at least {2 * self.frame_size} samples (two frames "
                             f"to read), got {prime.shape[0] * self.frame_size} usable samples")
        was_training = self.training
        self.eval()
        frames = prime.to(param).unsqueeze(1)                       # (N0, 1, F)
        out = self.rnn(_context(frames))                            # reads the whole prime
        state, h, last = out.state, out.outputs[-1:], frames[-1:]   # (1, 1, H), (1, 1, F)
        new = []
        for _ in range(steps):
            mix = mixture.split(self.readout(h), self.components, self.frame_size, self.min_std)
            y = mixture.sample(mix, generator, temperature).clamp(-1.0, 1.0)   # (1, 1, F)
            new.append(y.reshape(-1))
            out = self.rnn(torch.cat([last, y], dim=-1), state=state)          # reads (1, 1, 2F)
            state, h, last = out.state, out.outputs, y
        self.train(was_training)
        return torch.cat(new).cpu()


def make_speech_model(kind, hidden_size=None, seed=0, **options):
    """A SpeechModel at the paper's size for ``kind`` (or ``hidden_size``), weights set by ``seed``."""
    from .budget import PAPER_UNITS

    if hidden_size is None:
        if kind not in PAPER_UNITS["speech"]:
            raise ValueError(f"kind: expected one of {sorted(PAPER_UNITS['speech'])}, got {kind!r}")
        hidden_size = PAPER_UNITS["speech"][kind]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SpeechModel(kind, hidden_size, **options)


@torch.no_grad()
def wave_nll(model, wave):
    """NLL of one waveform (n,) under ``model``, in nats per step (n // F - 2 steps)."""
    wave = _as_wave(wave, "wave")
    frames = frame(wave, model.frame_size).unsqueeze(1).to(model.readout.weight)   # (N, 1, F)
    was_training = model.training
    model.eval()
    value = float(model.nll(frames))
    model.train(was_training)
    return value


def continue_wave(model, prime, seconds=1.0, generator=None, temperature=1.0):
    """The prime followed by ``seconds`` of sampled continuation: a float32 numpy array.

    prime: a waveform at 8 kHz in [-1, 1] (e.g. ``load_speech("test")[name][:800]`` or
    ``read_wav(path)[:800]``).
    """
    prime = _as_wave(prime, "prime")
    if not (isinstance(seconds, (int, float)) and 0 < seconds <= 600):
        raise ValueError(f"seconds: expected a duration in (0, 600], got {seconds!r}")
    steps = max(1, round(seconds * RATE / model.frame_size))
    usable = len(prime) // model.frame_size * model.frame_size
    new = model.sample(steps, prime[:usable], generator=generator, temperature=temperature)
    return np.concatenate([prime[:usable], new.numpy()]).astype(np.float32)


def _as_wave(wave, arg):
    if isinstance(wave, Tensor):
        wave = wave.detach().cpu().numpy()
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1:
        raise ValueError(f"{arg}: expected a 1-D waveform (n,), got shape {wave.shape}")
    if len(wave) < MIN_SAMPLES:
        raise ValueError(f"{arg}: too short: {len(wave)} samples; at least {MIN_SAMPLES} "
                         f"({READ} to read, {FRAME} to predict) are needed")
    if not np.isfinite(wave).all():
        raise ValueError(f"{arg}: contains NaN or infinite samples")
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

    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1000:
        raise ValueError(f"rate: expected a sample rate in Hz (int >= 1000), got {rate!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no such file {str(path)!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)   # unknown chunks, e.g. LIST
            sr, data = wavfile.read(path)
    except Exception as e:    # scipy raises ValueError, EOFError, struct.error... for non-WAVs
        raise ValueError(f"{path}: not a readable WAV file ({type(e).__name__}: {e})") from None
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


def write_wav(path, wave, rate=RATE):
    """Write a float waveform in [-1, 1] as 16-bit mono PCM (clipped), atomically."""
    from scipy.io import wavfile

    wave = np.asarray(wave.detach().cpu().numpy() if isinstance(wave, Tensor) else wave, dtype=np.float64)
    if wave.ndim != 1 or len(wave) == 0:
        raise ValueError(f"wave: expected a non-empty 1-D waveform, got shape {wave.shape}")
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise ValueError(f"rate: expected a positive int (Hz), got {rate!r}")
    pcm = np.clip(np.round(wave * 32768.0), -32768, 32767).astype(np.int16)
    return download.write_atomically(path, lambda f: wavfile.write(f, rate, pcm))


def audio(wave, rate=RATE):
    """An ``IPython.display.Audio`` player for a waveform (about 16 KB per second at 8 kHz)."""
    try:
        from IPython.display import Audio
    except ImportError:
        raise ImportError("audio() needs IPython (pip install ipython); write_wav() writes "
                          "a file without it") from None
    wave = np.asarray(wave.detach().cpu().numpy() if isinstance(wave, Tensor) else wave)
    return Audio(np.clip(wave, -1, 1), rate=rate, normalize=False)


def plot_wave(wave, rate=RATE, prime=None, title=None, credit=CREDIT, path=None):
    """Waveform above spectrogram; a dashed line where the prime ends and sampling starts.

    prime: number of samples that came from a real clip (None: no line).
    credit: a line printed under the figure (FSDD's attribution by default; None for none).
    path: write a PNG there (atomically). Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    wave = np.asarray(wave.detach().cpu().numpy() if isinstance(wave, Tensor) else wave, dtype=np.float32)
    if wave.ndim != 1 or len(wave) < 256:
        raise ValueError(f"wave: expected a 1-D waveform of at least 256 samples, got shape {wave.shape}")
    t = np.arange(len(wave)) / rate
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    top.plot(t, wave, lw=0.5, color="k")
    top.set_ylabel("amplitude")
    peak = 1.05 * max(1e-3, float(np.abs(wave).max()))
    top.set_ylim(-peak, peak)
    # 32 ms windows (256 samples at 8 kHz) hopped by 8 ms: the usual speech resolution
    bottom.specgram(wave, NFFT=256, Fs=rate, noverlap=192, cmap="magma")
    bottom.set_ylabel("frequency (Hz)")
    bottom.set_xlabel("time (s)")
    if prime is not None:
        for ax in (top, bottom):
            ax.axvline(prime / rate, color="tab:cyan", ls="--", lw=1.2)
        top.text(prime / rate, top.get_ylim()[1], " sampled →", va="top", color="tab:cyan")
        top.text(prime / rate, top.get_ylim()[1], "prime ", va="top", ha="right", color="tab:cyan")
    if title:
        top.set_title(title)
    fig.tight_layout()
    if credit:
        fig.subplots_adjust(bottom=0.17)
        fig.text(0.01, 0.01, credit, fontsize=7, color="0.3")
    if path is not None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        download.write_atomically(path, lambda f: f.write(buffer.getvalue()))
        plt.close(fig)
    return fig
