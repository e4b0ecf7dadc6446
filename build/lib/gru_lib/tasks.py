"""TODO docstring: the task registry."""
from __future__ import annotations

from .device import pick_device
from .music.model import PianoRollModel
from .speech.model import SpeechModel
from .training.checkpoints import load_checkpoint


def load_model(path, device="cpu") -> tuple[PianoRollModel, dict]:
    """Rebuild a model from best.pt or last.pt: returns (model, checkpoint dict)."""
    ckpt = load_checkpoint(path)
    if "meta" not in ckpt or "model" not in ckpt:
        raise ValueError(f"checkpoint {str(path)!r} is not a gru_lib model checkpoint "
                         f"(keys: {sorted(ckpt)})")
    cls = SpeechModel if ckpt["meta"].get("model") == "speech" else PianoRollModel
    model = cls.from_meta(ckpt["meta"])
    model.load_state_dict(ckpt["model"])
    return model.to(pick_device(device)), ckpt
