"""Pick where to compute: ``pick_device("auto")`` is CUDA if present, then Apple MPS, then CPU."""
from __future__ import annotations

import os

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
        parsed = torch.device(device)
    except RuntimeError:
        raise ValueError(f"{what}: {device!r} is not a device name; use {DEVICE_NAMES}") from None
    _check_type(what, device, parsed)


# The device types gru_lib trains and scores on. torch parses many more names ("meta", "xpu",
# "hpu", ...): "meta" holds no data at all, and the others fail deep inside torch when this
# build has no such backend, so they are refused here, by name, before anything is written.
DEVICE_TYPES = ("cpu", "cuda", "mps")


def _check_type(what: str, name: str, device: torch.device) -> None:
    if device.type not in DEVICE_TYPES:
        raise ValueError(f"{what}: {name!r} is a torch device type gru_lib does not run on; use "
                         f"{DEVICE_NAMES}")


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
    _check_type("device", device, resolved)
    if resolved.type == "cuda" and resolved.index is not None and torch.cuda.is_available() \
            and resolved.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA "
                         f"GPU(s), numbered from 0; use 'cuda' or 'cuda:0'")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but this torch sees no CUDA GPU; "
                         f"use 'auto' or 'cpu' instead (--device at the command line, device= in Python)")
    if resolved.type == "mps" and not (getattr(torch.backends, "mps", None) is not None
                                       and torch.backends.mps.is_available()):
        raise ValueError(f"device {device!r} was asked for but MPS is not available here; "
                         f"use 'auto' or 'cpu' instead (--device at the command line, device= "
                         f"in Python)")
    return resolved


def device_memory(device: torch.device) -> int | None:
    """Bytes of memory ``device`` has in all (a CUDA GPU's own; the machine's RAM for the CPU
    and for Apple MPS, which shares it), or None where this platform does not say."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device.index or 0).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):      # e.g. Windows has no sysconf
        return None
