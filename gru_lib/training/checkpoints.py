"""Files a training run writes: checkpoints (torch.save, loaded back with weights_only=True, so
a checkpoint can hold tensors and plain data only) and the per-epoch records as JSON and CSV.

Every file is written atomically (a temporary file, then a rename): a run killed mid-write
leaves the previous version, never half a file, so ``resume`` always finds a readable last.pt.
"""
from __future__ import annotations

import csv
import io
import json
import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from ..atomic import atomic_write
from ..checks import path_like


def save_checkpoint(obj: dict, path) -> None:
    """torch.save ``obj`` to ``path`` atomically (into memory first, then one write)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue())


def load_checkpoint(path, map_location="cpu") -> dict:
    """torch.load with weights_only=True: a checkpoint can hold tensors and plain data only.

    Raises ValueError naming the file and what it is when it is not a checkpoint torch can
    read that way: random bytes, a text file, a damaged torch file, or a pickle holding other
    objects (torch raises pickle.UnpicklingError or RuntimeError for those). A folder (a run's
    candidate folder, say) is one too, naming the checkpoint in it to give instead.
    """
    path = Path(path_like("checkpoint", path))
    if path.is_dir():
        raise ValueError(f"checkpoint: {str(path)!r} is a folder; {_checkpoint_in(path)}")
    if not path.is_file():
        raise ValueError(f"checkpoint: no such file {str(path)!r}")
    try:
        with warnings.catch_warnings():     # e.g. "Detected pickle protocol 4": the error says it
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(f"checkpoint: {str(path)!r} is not a gru_lib checkpoint: it is "
                         f"{_what_file(path)}; torch's safe loader (weights_only) refused "
                         f"it") from None
    except (RuntimeError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
            UnicodeDecodeError, zipfile.BadZipFile) as err:
        raise ValueError(f"checkpoint: {str(path)!r} is not a gru_lib checkpoint: it is "
                         f"{_what_file(path)} ({type(err).__name__}: "
                         f"{_first_line(err)})") from None
    if not isinstance(ckpt, dict):
        raise ValueError(f"checkpoint: {str(path)!r} is not a gru_lib checkpoint: it holds a "
                         f"{type(ckpt).__name__}, not a dict of weights and metadata")
    return ckpt


def _checkpoint_in(folder: Path) -> str:
    """What to give instead of ``folder``: its best.pt (or last.pt), else the first best.pt one
    or two folders down (a run's OUT/MODEL/lrN/best.pt from OUT/MODEL or OUT)."""
    found = next((p for p in (folder / "best.pt", folder / "last.pt") if p.is_file()), None)
    if found is not None:
        return f"give the checkpoint file in it, e.g. {str(found)!r}"
    for pattern in ("*/best.pt", "*/*/best.pt"):
        found = next(iter(sorted(folder.glob(pattern))), None)
        if found is not None:
            return f"give a checkpoint file under it, e.g. {str(found)!r}"
    return ("give a checkpoint file instead, a best.pt or last.pt written by reproduce (none "
            "lies in this folder or the two levels below it)")


def _first_line(err: BaseException, limit: int = 160) -> str:
    text = " ".join(str(err).split()) or "no message"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _what_file(path: Path) -> str:
    """A few words on what a file that torch cannot load is, from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(512)
    if not head:
        return "an empty file"
    if head.startswith(b"PK\x03\x04"):
        return ("a zip archive, damaged or holding objects other than tensors and plain data "
                "(a torch file from another program?)")
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return (f"a Python pickle (protocol {head[1]}) that is not a torch checkpoint of tensors "
                f"and plain data (from another program?)")
    try:
        head.decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "neither a torch checkpoint nor a pickle (unrecognised bytes)"


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

