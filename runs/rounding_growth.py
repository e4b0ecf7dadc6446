"""How far rounding alone moves a training run. One candidate is trained twice from the same
weights, the same seed and the same pieces: alone (Trainer), and as the first member of a
population of three learning rates (PopulationTrainer), which computes the same updates with
batched arithmetic and so rounds differently. Both are run in float64 and in float32.
Writes data/results/rounding_growth.json, which chapter 8 (*One seed or another*) reads.

    python runs/rounding_growth.py --data ../shared/data/music

The candidate is Nottingham's 60K tanh-RNN at recipe/tanh-60k's rates, with the paper's
recipe (batch size 1, weight noise, clipping), on the first PIECES training pieces, scored
after every epoch on the first PIECES validation pieces (a measurement of how two runs drift
apart, not of how good either is).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gru_lib.atomic import atomic_write  # noqa: E402
from gru_lib.music.data import load_music  # noqa: E402
from gru_lib.music.model import make_model  # noqa: E402
from gru_lib.training.population import PopulationTrainer  # noqa: E402
from gru_lib.training.trainer import TrainConfig, Trainer  # noqa: E402

OUT = ROOT / "data" / "results" / "rounding_growth.json"
COMMAND = "python runs/rounding_growth.py --data ../shared/data/music"
RATES = [6.084484904156886e-05, 7.282538889586806e-05, 0.00018457622379546004]  # recipe/tanh-60k
UNITS = 204                                  # recipe/tanh-60k's tanh-RNN: 59,772 parameters


def drift(dtype, train, valid, epochs):
    """Member 0 of the population against the same candidate alone: per epoch, both
    validation NLLs; at the end, the largest difference between their weights."""
    def model():
        return make_model("tanh", 88, UNITS, seed=0, backend="python").to(dtype)

    config = TrainConfig(max_epochs=epochs, patience=None, progress=False, device="cpu")
    members = [model() for _ in RATES]
    together = PopulationTrainer(members, train, valid,
                                 [config.replace(lr=lr) for lr in RATES]).fit()[0]
    alone_model = model()
    alone = Trainer(alone_model, train, valid, config.replace(lr=RATES[0])).fit()
    weights = max((a - b).abs().max().item() for a, b in
                  zip(members[0].state_dict().values(), alone_model.state_dict().values()))
    return {"epochs": [{"epoch": a["epoch"], "updates": a["updates"],
                        "valid_population": a["valid_nll"], "valid_alone": b["valid_nll"],
                        "difference": abs(a["valid_nll"] - b["valid_nll"])}
                       for a, b in zip(together.records, alone.records)],
            "max_weight_difference": weights}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="a folder holding nottingham.mat "
                        "(default: download it, checked by sha256)")
    parser.add_argument("--pieces", type=int, default=30, help="training and validation "
                        "pieces used (default 30)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs (default 4)")
    args = parser.parse_args()
    if args.pieces < 1 or args.epochs < 1:
        parser.error("--pieces and --epochs must be 1 or more")
    torch.set_num_threads(1)
    splits = load_music("nottingham", None, folder=args.data, progress=False)
    report = {"command": COMMAND, "dataset": "nottingham", "model": "tanh", "units": UNITS,
              "lr": RATES[0], "population_rates": RATES, "pieces": args.pieces,
              "epochs": args.epochs}
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        train = [x.to(dtype) for x in splits["train"][:args.pieces]]
        valid = [x.to(dtype) for x in splits["valid"][:args.pieces]]
        report[name] = drift(dtype, train, valid, args.epochs)
        last = report[name]["epochs"][-1]
        print(f"{name}: after {last['updates']} updates the validation NLLs differ by "
              f"{last['difference']:.3g}; weights by up to "
              f"{report[name]['max_weight_difference']:.3g}")
    atomic_write(OUT, json.dumps(report, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
