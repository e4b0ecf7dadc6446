"""The music model of the paper: a recurrent layer reading piano rolls, K sigmoids out.

    >>> model = make_model("gru", keys=88, hidden_size=46, seed=0)   # Table 1's GRU
    >>> rolls = torch.zeros(100, 8, 88)                              # (T, B, K)
    >>> total, steps = model.nll_sum(rolls)                          # nats, real steps

Step t of a piece is predicted from steps < t (``shift_right``), each of its K keys as an
independent coin (a sigmoid), and the metric is the paper's: negative log-probability in
nats per time step, summed over the keys (``nll_sum``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import checks
from ..checks import positive_int
from ..nn.padding import zero_padding
from ..nn.stack import make_layers
from ..training.batching import step_mask


def shift_right(rolls: Tensor) -> Tensor:
    """Inputs for next-step prediction: (T, B, K) -> (T, B, K), zeros at t=0, rolls[t-1] after.

    With padded batches, the padded steps shift along harmlessly: step t only ever sees
    steps < t of its own piece, and steps past a piece's length are masked in the loss.
    """
    return torch.cat([torch.zeros_like(rolls[:1]), rolls[:-1]], dim=0)


def nll_steps(logits: Tensor, rolls: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(nats of every step (T, B), mask of the real steps (T, B)): zero nats at padding.

    logits, rolls: (T, B, K); lengths: (B,) or None (no padding). Column b summed is piece
    b's nats, row 0 its first step's, so one padded batch gives every per-piece reading.
    """
    if logits.shape != rolls.shape:
        raise ValueError(f"logits and rolls must have the same shape (T, B, K); got "
                         f"{tuple(logits.shape)} and {tuple(rolls.shape)}")
    T, B, _ = rolls.shape
    lengths = None if lengths is None else torch.as_tensor(lengths, device=rolls.device)
    # Padded steps are zeroed BEFORE the loss (selected, not multiplied by a mask), so a NaN
    # there cannot reach the sum or, through the backward pass, the gradients.
    logits, rolls = zero_padding(logits, lengths), zero_padding(rolls, lengths)
    # -[x log σ(a) + (1-x) log(1-σ(a))] = softplus(a) - x·a, stable for any logit a; summed
    # over the keys, the x·a term is one dot product per step. Written so (not with
    # binary_cross_entropy_with_logits) because it is three passes over (T, B, K) instead of
    # about ten, which is what a population of models pays for (training/population.py).
    per_step = F.softplus(logits).sum(dim=2) - (rolls * logits).sum(dim=2)         # (T, B)
    mask = step_mask(lengths, T, B, device=rolls.device)                            # (T, B)
    return torch.where(mask.bool(), per_step, 0.0), mask


def nll_sum(logits: Tensor, rolls: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, int]:
    """Total NLL in nats over the real steps, and how many real steps there are.

    logits, rolls: (T, B, K); lengths: (B,) or None (no padding). Summing here and dividing
    once per split is what makes the average "over every time step of the split", whatever
    the batch size and however the pieces were padded.
    """
    per_step, mask = nll_steps(logits, rolls, lengths)                              # (T, B)
    return per_step.sum(), int(mask.sum().item())


class PianoRollModel(nn.Module):
    """Recurrent layer -> linear -> K independent sigmoids (the sigmoid lives in the loss).

    ``backend`` is the recurrent layer's (see Recurrent): "auto" (default) takes the
    hand-written backward where the cell has one, and the parallel scan for the minimal
    cells ("mingru", "minlstm"). ``layers`` > 1 stacks that many recurrent layers of
    ``hidden_size`` units (nn/stack.py); the paper's model has one. ``cell_options`` go to
    the cells.

    >>> model = PianoRollModel("gru", keys=88, hidden_size=46)
    >>> logits = model(torch.zeros(100, 8, 88))            # (T, B, K) -> (T, B, K)

    ``checkpoint_kind`` is written into ``meta()["model"]``: ``gru_lib.tasks.load_model``
    reads it to know which class rebuilds a checkpoint.
    """

    checkpoint_kind = "piano-roll"
    # Dropout on the recurrent layer's outputs while training (TrainConfig.dropout, which the
    # Trainer sets here). A regulariser of training, like weight noise: it does not change the
    # function a checkpoint holds (evaluation never drops), so meta() does not record it.
    dropout: float = 0.0

    def __init__(self, kind: str, keys: int, hidden_size: int, init_scale: float = 0.1,
                 backend: str = "auto", layers: int = 1, **cell_options):
        super().__init__()
        keys = positive_int("keys", keys)                         # the roll's width K
        self.kind, self.keys, self.init_scale = kind, keys, float(init_scale)
        self.layers = positive_int("layers", layers)
        self.cell_options = dict(cell_options)
        # backend "auto": the hand-written backward (gru_lib/bptt.py) where the cell has one.
        # One layer is a Recurrent (parameters rnn.cell.*), more a StackedRecurrent.
        self.rnn = make_layers(kind, keys, hidden_size, layers, backend=backend,
                               init_scale=init_scale, **cell_options)
        self.readout = nn.Linear(hidden_size, keys)                # W_o: (K, H), b_o: (K,)
        # Uniform in ±0.1 like the cells, as the authors' code does for every layer
        # (irange: 0.1 in librnn's exp/music/jsb/*.yaml); biases start at 0.
        nn.init.uniform_(self.readout.weight, -init_scale, init_scale)
        nn.init.zeros_(self.readout.bias)

    @property
    def hidden_size(self) -> int:
        return self.rnn.hidden_size

    @property
    def row_size(self) -> int:
        """Width of one row of a batch: the K keys of a roll (what the trainer checks)."""
        return self.keys

    def meta(self) -> dict:
        """What it takes to rebuild this model (stored in every checkpoint)."""
        return {"model": self.checkpoint_kind, "kind": self.kind, "keys": self.keys,
                "hidden_size": self.hidden_size, "init_scale": self.init_scale,
                "layers": self.layers, "cell_options": dict(self.cell_options)}

    @classmethod
    def from_meta(cls, meta: dict, backend: str = "auto") -> PianoRollModel:
        """The model ``meta`` describes (weights not loaded), on ``backend`` (the same function
        on any: a checkpoint does not store one). Checkpoints written before meta named its
        model have no "model" entry: they are all piano-roll models; those written before
        stacks have no "layers": they have one."""
        if meta.get("model", cls.checkpoint_kind) != cls.checkpoint_kind:
            raise ValueError(f"meta: not a piano-roll model's meta (model={meta.get('model')!r})")
        return cls(meta["kind"], meta["keys"], meta["hidden_size"],
                   init_scale=meta.get("init_scale", 0.1), layers=meta.get("layers", 1),
                   backend=backend, **meta.get("cell_options", {}))

    def forward(self, rolls: Tensor, lengths: Tensor | None = None,
                keep: Tensor | None = None) -> Tensor:
        """Logits for every step of ``rolls`` (T, B, K), each predicted from the steps before.
        keep (T, B, H): a dropout mask for the recurrent layer's outputs, 1/(1-p) where a unit
        is kept, 0 where dropped (the Trainer draws it from its seeded generator); without one,
        ``dropout`` in train() mode draws from torch's global generator."""
        out = self.rnn(shift_right(rolls), lengths).outputs       # (T, B, H)
        if keep is not None:                                       # TrainConfig.dropout
            out = out * keep
        elif self.dropout and self.training:
            out = F.dropout(out, self.dropout, training=True)
        # One (T·B, H) matmul: the same op torch runs for a 3-D input, but written out, because
        # under vmap (a population, training/population.py) a 3-D input turns the weight's
        # gradient into one outer product per time step, a (P, T, K, H) temporary.
        T, B, H = out.shape
        return self.readout(out.reshape(T * B, H)).view(T, B, -1)  # (T, B, K)

    @staticmethod
    def check_rows(roll: Tensor, where: str = "roll") -> None:
        """ValueError unless ``roll`` holds only 0 and 1: the loss is a Bernoulli likelihood
        per key, which other values would quietly turn into a number that is not one."""
        bad = (roll != 0) & (roll != 1)               # NaN too: it equals nothing
        if bool(bad.any()):
            at = tuple(int(i) for i in bad.nonzero()[0])
            place = f"step {at[0]}, key {at[1]}" if len(at) == 2 else \
                f"step {at[0]}, piece {at[1]}, key {at[2]}" if len(at) == 3 else f"index {at}"
            raise ValueError(f"{where}: a piano roll holds only 0 and 1, got {float(roll[at])} "
                             f"at {place} (threshold it first, e.g. (x > 0).float())")

    def nll_sum(self, rolls: Tensor, lengths: Tensor | None = None,
                keep: Tensor | None = None) -> tuple[Tensor, int]:
        """(total nats, number of real steps) for one padded batch; ``keep``: as forward's."""
        return nll_sum(self(rolls, lengths, keep), rolls, lengths)

    def nll_steps(self, rolls: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Nats of every step of one padded batch, (T, B), zero at padding (evaluation's
        per-piece readings: training/evaluation.py)."""
        return nll_steps(self(rolls, lengths), rolls, lengths)[0]

    def nll(self, rolls: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Average NLL per real step of one batch: the training loss. ``rolls`` must hold only
        0 and 1 (checked here, the public entry; ``nll_sum`` is the trainer's, which checks
        its data once, up front, and runs under vmap where such a check cannot)."""
        if not isinstance(rolls, Tensor):
            raise TypeError(f"rolls must be a (T, B, K) tensor, got {type(rolls).__name__}")
        self.check_rows(rolls, "rolls")
        total, steps = self.nll_sum(rolls, lengths)
        return total / steps

    @torch.no_grad()
    def sample(self, steps: int, prime: Tensor | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        """Draw a roll of ``steps`` new steps (optionally continuing ``prime``, (T0, K)).

        Returns (steps, K): each step's keys are drawn as independent coins from the model's
        sigmoids, then fed back in as the next input.
        """
        steps = positive_int("steps", steps)
        param = self.readout.weight
        seed = torch.zeros(1, 1, self.keys, device=param.device, dtype=param.dtype)  # x_0
        if prime is not None:
            if not isinstance(prime, Tensor) or prime.dim() != 2 or prime.shape[1] != self.keys:
                raise ValueError(f"prime must be a (T0, K={self.keys}) roll tensor, got "
                                 f"{getattr(prime, 'shape', type(prime).__name__)}")
            self.check_rows(prime, "prime")          # 0.5 or NaN would be fed in as a key
            seed = torch.cat([seed, prime.to(param).unsqueeze(1)])  # (1 + T0, 1, K)
        out = self.rnn(seed)                                       # read silence, then the prime
        state = out.state
        probs = torch.sigmoid(self.readout(out.outputs[-1:]))      # (1, 1, K): the next step
        rolls = []
        for _ in range(steps):
            x = torch.bernoulli(probs, generator=generator)       # (1, 1, K)
            rolls.append(x[0, 0])
            out = self.rnn(x, state=state)
            state = out.state
            probs = torch.sigmoid(self.readout(out.outputs[-1:]))
        return torch.stack(rolls)

# -- the builder -------------------------------------------------------------------------------

def make_model(kind: str, keys: int, hidden_size: int, seed: int = 0, layers: int = 1,
               **cell_options) -> PianoRollModel:
    """A PianoRollModel whose initial weights depend only on ``seed`` (repeatable on CPU).
    ``kind``: one of nn.kinds.ALL_KINDS; ``layers``: recurrent layers of ``hidden_size`` units.

    The music task's ``build_model`` (``gru_lib.music.task``) calls this at Table 1's sizes.
    ``fork_rng`` restores the global generator afterwards, so building a model does not move
    the random numbers of whatever runs next.
    """
    seed = checks.seed("seed", seed)       # torch's own overflow message names no argument
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return PianoRollModel(kind, keys, hidden_size, layers=layers, **cell_options)
