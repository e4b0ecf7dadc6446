"""Training throughput on JSB and memory on MuseData's longest piece, per model.

    python benchmarks/bench_training.py --data ../shared/data/music
    python benchmarks/bench_training.py --data ../shared/data/music --device cuda --json out.json

Throughput: time steps per second of real (unpadded) data through one training update
(forward, backward, clipping, RMSProp; no weight noise, which costs the same for all
models), at the paper's sizes (tanh 100 / GRU 46 / LSTM 36), median over repeated epochs
of JSB's training set. Memory: what autograd keeps for backpropagation through time over
the longest MuseData test piece (4,273 steps), and on CUDA the allocator's peak. Each model
runs with both backends of its recurrent layer: "python" (autograd through the readable
loop) and "bptt" (the hand-written backward of gru_lib/nn/bptt.py, what the models use).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gru_lib import music, pick_device  # noqa: E402
from gru_lib.atomic import atomic_write  # noqa: E402
from gru_lib.paper import KINDS, UNITS  # noqa: E402
from gru_lib.training.batching import batches  # noqa: E402
from gru_lib.training.trainer import TrainConfig, Trainer  # noqa: E402

BACKENDS = ("python", "bptt")


def throughput(kind, backend, rolls, batch_size, epochs, device):
    model = music.make_model(kind, 88, UNITS["music"][kind], backend=backend).to(device)
    # The library's own update (RMSProp, clipping at norm 1), without weight noise.
    trainer = Trainer(model, rolls, rolls, TrainConfig(lr=1e-3, weight_noise=0.0, clip_norm=1.0,
                                                        device=str(device), progress=False))
    per_epoch = []
    for epoch in range(epochs):
        steps, start = 0, time.perf_counter()
        for x, lengths in batches(rolls, batch_size, seed=epoch):
            steps += trainer.update(x.to(device), lengths.to(device)).steps
        if device.type == "cuda":
            torch.cuda.synchronize()
        per_epoch.append(steps / (time.perf_counter() - start))
    return statistics.median(per_epoch[1:] or per_epoch)     # the first epoch warms up


def saved_memory(kind, backend, piece, device):
    """MB of tensors autograd saves for the backward pass over one piece, plus the CUDA peak.

    Counting the saved tensors (each storage once) measures exactly what backpropagation
    through time keeps alive, independent of the allocator and of whatever else the process
    holds; on CUDA the allocator's peak is reported too.
    """
    model = music.make_model(kind, 88, UNITS["music"][kind], backend=backend).to(device)
    x = piece.unsqueeze(1).to(device)                         # (T, 1, 88)
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        total, n = model.nll_sum(x, None)
    (total / n).backward()
    cuda_peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None
    return {"steps": int(x.shape[0]), "saved_mb": sum(storages.values()) / 2**20, "cuda_peak_mb": cuda_peak}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="folder holding the .mat files (default: the gru_lib cache)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    device = pick_device(args.device)
    jsb = music.load_music("jsb", "train", folder=args.data, progress=False)
    longest = max(music.load_music("musedata", "test", folder=args.data, progress=False), key=len)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads; "
          f"JSB train ({len(jsb)} pieces), batch {args.batch_size}, median of epochs 2..{args.epochs}\n")
    print(f"| model | units | backend | train steps/s (JSB) | saved for backward, {len(longest)}-step "
          f"MuseData piece |" + (" CUDA peak |" if device.type == "cuda" else ""))
    print("|---|---|---|---|---|" + ("---|" if device.type == "cuda" else ""))
    rows = []
    for kind in KINDS:
        for backend in BACKENDS:
            speed = throughput(kind, backend, jsb, args.batch_size, args.epochs, device)
            memory = saved_memory(kind, backend, longest, device)
            rows.append(dict(model=kind, units=UNITS["music"][kind], backend=backend,
                             steps_per_s=speed, **memory))
            cuda = f" {memory['cuda_peak_mb']:.1f} MB |" if memory["cuda_peak_mb"] is not None else ""
            print(f"| {kind} | {rows[-1]['units']} | {backend} | {speed:,.0f} | {memory['saved_mb']:.1f} MB |"
                  f"{cuda}", flush=True)
    if args.json:
        atomic_write(args.json, json.dumps({"device": str(device), "torch": torch.__version__, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
