"""Short seeded training runs of every model, written to ``training_reference.json``.

The file beside this script was produced BEFORE the library was reorganised into packages
(issue 13), by the code of that time; ``tests/training/test_same_numbers.py`` trains the same
runs with today's code and compares every record. A refactor that changes a number fails it.

    python tests/reference/make_training_reference.py ../shared/data    # rewrites the JSON

Only rewrite the JSON on purpose (a deliberate change of the numbers), and say why in the commit.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "training_reference.json"

# Music: 8 JSB training pieces and 4 validation pieces, cropped to 40 steps, 88 keys.
# Speech: 6 FSDD training clips and 3 validation clips, cropped to 60 frames, small models.
MUSIC_CASES = [("tanh", 100, {}), ("gru", 46, {}), ("gru", 46, {"variant": "torch"}),
               ("lstm", 36, {}), ("lstm", 36, {"peepholes": False})]
SPEECH_CASES = [("tanh", 24, {}), ("gru", 16, {}), ("lstm", 12, {})]
CONFIG = dict(batch_size=3, max_epochs=3, patience=None, progress=False, device="cpu", seed=3,
              lr=2e-3, lr_decay_to=0.5)


def music_splits(data: Path) -> dict:
    from gru_lib.music import load_music
    rolls = load_music("jsb", None, key_range="88", folder=data / "music", progress=False)
    return {"train": [r[:40] for r in rolls["train"][:8]], "valid": [r[:40] for r in rolls["valid"][:4]]}


def speech_splits(data: Path) -> dict:
    from gru_lib.speech import load_frames
    frames = load_frames(None, folder=data / "speech" / "fsdd", progress=False)
    return {"train": [f[:60] for f in frames["train"][:6]], "valid": [f[:60] for f in frames["valid"][:3]]}


def run_cases(data: Path, make_music_model, make_speech_model, train, config_cls) -> dict:
    """{case name: list of per-epoch records}; the builders are passed in, so the same code runs
    against any layout of the library."""
    torch.set_num_threads(1)
    out = {}
    music = music_splits(data)
    for kind, units, options in MUSIC_CASES:
        model = make_music_model(kind, 88, units, seed=1, **options)
        result = train(model, music["train"], music["valid"], config_cls(**CONFIG))
        out[_name("music", kind, options)] = _clean(result.records)
    speech = speech_splits(data)
    for kind, units, options in SPEECH_CASES:
        model = make_speech_model(kind, units, seed=1, **options)
        result = train(model, speech["train"], speech["valid"], config_cls(**CONFIG))
        out[_name("speech", kind, options)] = _clean(result.records)
    return out


PLAYGROUND = dict(kind="lstm", units=12, epochs=2, batch_size=4, max_pieces=8, seed=2, lr=3e-3)


def playground_case(data: Path, ModelSpec, RunConfig, TrainingSession) -> dict:
    """The playground's session on 8 JSB pieces: its per-epoch validation NLL, its running
    (noisy) training NLL (None at epoch 0) and its per-update gradient norms and losses."""
    torch.set_num_threads(1)
    c = dict(PLAYGROUND)
    spec = ModelSpec(kind=c.pop("kind"), units=c.pop("units"))
    session = TrainingSession(RunConfig(model=spec, dataset="jsb", folder=str(data / "music"), **c))
    session.run()
    return {"valid_nll": [r["valid_nll"] for r in session.records],
            "noisy_train_nll": [r["noisy_train_nll"] for r in session.records],
            "grad_norms": session.grad_norms, "losses": session.losses}


def _name(task, kind, options) -> str:
    return "-".join([task, kind] + [f"{k}={v}" for k, v in sorted(options.items())])


def _clean(records) -> list:
    """The numbers that must not change: everything but the wall-clock seconds."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


if __name__ == "__main__":
    from gru_lib.speech import make_speech_model
    from gru_lib.train import TrainConfig, make_model, train
    data = Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parents[1] / ".." / "shared" / "data")
    from gru_lib.playground import ModelSpec, RunConfig, TrainingSession
    records = run_cases(data, make_model, make_speech_model, train, TrainConfig)
    records["playground"] = playground_case(data, ModelSpec, RunConfig, TrainingSession)
    REFERENCE.write_text(json.dumps(records, indent=1) + "\n")
    print(f"wrote {REFERENCE.relative_to(HERE.parents[1])}: {len(records)} runs")
