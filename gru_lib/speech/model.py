"""The speech model: a recurrent layer reading raw samples, a mixture of Gaussians out.

    >>> model = make_speech_model("gru", seed=0)          # Table 1's GRU: 227 units
    >>> frames = torch.zeros(50, 4, 10)                   # (N, B, F): 4 clips of 50 frames
    >>> total, steps = model.nll_sum(frames)              # nats over the 48 x 4 predicted frames

Section 4.1's framing: each step reads 20 consecutive samples (two frames of F = 10) and
predicts the next 10 (``_context``); the output layer is a mixture of 20 diagonal Gaussians
(``mixture.py``). ``continue_wave`` samples a continuation of any waveform, ``wave_nll``
scores one.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from .. import checks, paper
from ..nn.budget import task_units
from ..nn.kinds import model_label
from ..nn.padding import zero_padding
from ..nn.stack import make_layers
from ..training.batching import step_mask
from . import mixture
from .data import FRAME, RATE, frame
from .wav import as_wave

COMPONENTS = paper.SPEECH_COMPONENTS   # Gaussians in the output mixture (20)
MIN_STD = 1e-3           # floor on the mixture's standard deviations (see the docstring)
INIT_STD = 0.06          # the std of the training waveforms (measured: 0.061); see SpeechModel


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

    It has the interface of ``music.PianoRollModel``, so the same training loop, search and
    evaluation drive it: ``forward``, ``nll_sum`` / ``nll`` over a padded batch of frames
    (N, B, F) with lengths (B,) in frames, ``meta`` / ``from_meta`` for checkpoints
    (``checkpoint_kind`` is their meta["model"]), ``rnn`` (weight noise goes on
    ``rnn.cell``), ``readout`` and ``row_size`` (the width of one row of the batch: F).
    ``backend`` and ``layers`` are the recurrent layers', as in PianoRollModel.

    >>> model = SpeechModel("gru", 227)
    >>> mix = model(torch.zeros(50, 4, 10))          # (N, B, F) -> Mixture over (N-2, B)
    """

    checkpoint_kind = "speech"

    def __init__(self, kind, hidden_size, frame_size=FRAME, components=COMPONENTS, min_std=MIN_STD,
                 init_scale=0.1, init_std=INIT_STD, backend="auto", layers=1, **cell_options):
        super().__init__()
        checks.positive_int("frame_size", frame_size)
        checks.positive_int("components", components)
        if not (isinstance(min_std, (int, float)) and min_std > 0):
            raise ValueError(f"min_std: expected a positive number, got {min_std!r}")
        if not (isinstance(init_std, (int, float)) and init_std > min_std):
            raise ValueError(f"init_std: expected a number > min_std = {min_std}, got {init_std!r}")
        self.kind, self.frame_size, self.components = kind, frame_size, components
        self.min_std, self.init_scale, self.init_std = float(min_std), float(init_scale), float(init_std)
        self.layers = checks.positive_int("layers", layers)
        self.cell_options = dict(cell_options)
        self.rnn = make_layers(kind, 2 * frame_size, hidden_size, layers, backend=backend,
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
    def row_size(self):
        """Width of one row of a batch: F samples per frame (what the trainer checks)."""
        return self.frame_size

    def meta(self):
        """What it takes to rebuild this model (stored in every checkpoint)."""
        return {"model": self.checkpoint_kind, "kind": self.kind, "hidden_size": self.hidden_size,
                "frame_size": self.frame_size, "components": self.components,
                "min_std": self.min_std, "init_scale": self.init_scale, "init_std": self.init_std,
                "layers": self.layers, "cell_options": dict(self.cell_options)}

    @classmethod
    def from_meta(cls, meta, backend: str = "auto"):
        """The model ``meta`` describes (weights not loaded), on ``backend``; no "layers"
        (older files): one."""
        if meta.get("model") != cls.checkpoint_kind:
            raise ValueError(f"meta: not a speech model's meta (model={meta.get('model')!r})")
        return cls(meta["kind"], meta["hidden_size"], frame_size=meta["frame_size"],
                   components=meta["components"], min_std=meta["min_std"],
                   init_scale=meta["init_scale"], init_std=meta["init_std"],
                   layers=meta.get("layers", 1), backend=backend, **meta["cell_options"])

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
        return self._mixture(zero_padding(frames, lengths), lengths)   # padding: zeros, selected

    def _mixture(self, frames, lengths):
        """forward on frames already checked and with their padding sealed."""
        x = _context(frames[:-1])                                   # (N-2, B, 2F)
        steps = None if lengths is None else lengths - 2            # (B,)
        h = self.rnn(x, steps).outputs                              # (N-2, B, H)
        T, B, H = h.shape                                           # one (T·B, H) matmul: see
        out = self.readout(h.reshape(T * B, H)).view(T, B, -1)      # PianoRollModel.forward
        return mixture.split(out, self.components, self.frame_size, self.min_std)

    def nll_sum(self, frames, lengths=None):
        """(total nats over the real steps, number of real steps) for one padded batch."""
        lengths = self._check(frames, lengths)
        frames = zero_padding(frames, lengths)                      # sealed once: input and targets
        mix = self._mixture(frames, lengths)
        per_step = mixture.nll(mix, frames[2:])                     # (N-2, B)
        T, B = per_step.shape
        steps = None if lengths is None else lengths.to(frames.device) - 2
        mask = step_mask(steps, T, B, device=frames.device)         # (N-2, B): 0 on padding
        return torch.where(mask.bool(), per_step, 0.0).sum(), int(mask.sum().item())

    def nll(self, frames, lengths=None):
        """Average NLL (nats) per real step of one batch: the training loss. NaN or inf
        samples are refused here, the public entry (``nll_sum``, the trainer's, runs under
        vmap, where such a check cannot)."""
        if isinstance(frames, Tensor) and frames.is_floating_point() \
                and not bool(torch.isfinite(frames).all()):
            raise ValueError("frames: contains NaN or infinite samples")
        total, steps = self.nll_sum(frames, lengths)
        return total / steps

    @torch.no_grad()
    def sample(self, steps, prime, generator=None, temperature=1.0):
        """Continue a waveform: ``steps`` new frames -> a tensor of steps·F new samples.

        prime: a waveform (n,) with n >= 2F (its last n % F samples are ignored); the model
        reads all of it, then each sampled frame is clipped to [-1, 1] (the range of the
        data) and read back as input. temperature scales the mixture's σ (see mixture.sample).
        """
        checks.positive_int("steps (frames to generate)", steps)
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


def make_speech_model(kind, hidden_size=None, seed=0, layers=1, **options):
    """A SpeechModel at the paper's size for ``kind`` (or ``hidden_size``), weights set by ``seed``.

    The paper's size: Table 1's units for its three kinds (one layer); for the minimal kinds
    and for stacks of ``layers``, the width at the same budget (``nn.budget.task_units``).

    The speech task's ``build_model`` (``gru_lib.speech.task``) calls this. ``options`` go to
    SpeechModel (frame_size, components, cell options, ...). ``fork_rng`` restores the global
    generator afterwards, so building a model does not move whatever runs next.
    """
    seed = checks.seed("seed", seed)       # torch's own overflow message names no argument
    if hidden_size is None:
        hidden_size = task_units("speech", model_label(kind, checks.positive_int("layers", layers)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SpeechModel(kind, hidden_size, layers=layers, **options)


def _check_speech_model(model) -> None:
    """TypeError unless ``model`` is a SpeechModel: a music model has no frames, and would
    fail on a missing attribute deep inside."""
    if not isinstance(model, SpeechModel):
        raise TypeError(f"model must be a SpeechModel (an fsdd checkpoint's, or "
                        f"make_speech_model's), got {type(model).__name__}")


@torch.no_grad()
def wave_nll(model, wave):
    """NLL of one waveform (n,) under ``model``, in nats per step (n // F - 2 steps)."""
    _check_speech_model(model)
    wave = as_wave(wave, "wave")
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
    _check_speech_model(model)
    prime = as_wave(prime, "prime")
    if not (isinstance(seconds, (int, float)) and 0 < seconds <= 600):
        raise ValueError(f"seconds: expected a duration in (0, 600], got {seconds!r}")
    steps = max(1, round(seconds * RATE / model.frame_size))
    usable = len(prime) // model.frame_size * model.frame_size
    new = model.sample(steps, prime[:usable], generator=generator, temperature=temperature)
    return np.concatenate([prime[:usable], new.numpy()]).astype(np.float32)

