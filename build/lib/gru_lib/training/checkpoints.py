"""TODO docstring"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
import torch
from ..download import write_atomically

def atomic_write(path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` (creating its folder) via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    write_atomically(path, lambda f: f.write(payload))


def save_checkpoint(obj: dict, path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue())


def load_checkpoint(path, map_location="cpu") -> dict:
    """torch.load with weights_only=True: a checkpoint can hold tensors and plain data only."""
    if not Path(path).is_file():
        raise ValueError(f"checkpoint: no such file {str(path)!r}")
    return torch.load(path, map_location=map_location, weights_only=True)


def write_records(records: list[dict], out_dir) -> None:
    """records.json and records.csv: one row per epoch (epoch 0 = before training)."""
    out_dir = Path(out_dir)
    atomic_write(out_dir / "records.json", json.dumps(records, indent=1))
    if records:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
        atomic_write(out_dir / "records.csv", buffer.getvalue())

