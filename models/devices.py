"""Which torch device to run on: CUDA, then Apple's MPS, then the CPU."""
from __future__ import annotations

import torch


def available_devices() -> list[str]:
    """The devices this machine can run on, best first; always ends with "cpu"."""
    names = []
    if torch.cuda.is_available():
        names.append("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        names.append("mps")
    return names + ["cpu"]


def pick_device(preference: str = "auto", strict: bool = False) -> torch.device:
    """The best device for "auto", else the one named. A named device that is missing is an
    error when `strict` (the command line asked for it), else the CPU (the app falls back)."""
    available = available_devices()
    if preference == "auto":
        return torch.device(available[0])
    if preference not in available:
        if strict:
            raise RuntimeError(f"--device {preference} was asked for, but PyTorch cannot use it on this "
                               f"machine; use --device cpu (available: {', '.join(available)})")
        return torch.device("cpu")
    return torch.device(preference)
