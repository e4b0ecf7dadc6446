"""Pick where to compute: ``pick_device("auto")`` is CUDA if present, then Apple MPS, then CPU."""
from __future__ import annotations

import torch


DEVICE_NAMES = "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"


def check_device_name(what: str, device) -> None:
    """ValueError unless ``device`` is "auto" or a name torch can parse ("cpu", "cuda:1", ...);
    whether that device exists here is ``pick_device``'s question, asked when it is used."""
    if isinstance(device, torch.device) or device == "auto":
        return
    if not isinstance(device, str):
        raise ValueError(f"{what} must be {DEVICE_NAMES}, got {device!r}")
    try:
        torch.device(device)
    except RuntimeError:
        raise ValueError(f"{what}: {device!r} is not a device name; use {DEVICE_NAMES}") from None


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve "auto" (CUDA, then MPS, then CPU) or check that a named device exists."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device {device!r} is not a device name; use 'auto', 'cpu', 'cuda', "
                         f"'cuda:N' or 'mps'") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but this torch sees no CUDA GPU; "
                         f"use 'auto' or 'cpu' instead (--device at the command line, device= in Python)")
    if resolved.type == "mps" and not (getattr(torch.backends, "mps", None) is not None
                                       and torch.backends.mps.is_available()):
        raise ValueError(f"device {device!r} was asked for but MPS is not available here; "
                         f"use 'auto' or 'cpu' instead (--device at the command line, device= "
                         f"in Python)")
    return resolved
