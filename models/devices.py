"""Which torch device to run on: CUDA, then Apple's MPS, then the CPU."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

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


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_beside_a_ui() -> int:
    """Torch threads for the app's inference thread: one core fewer than there are (at least one).
    A run streamed to a live view shares the machine with the UI thread: with every core busy in
    a parallel region, each repaint would deschedule one of the region's threads and the others
    would wait for it at the next barrier."""
    return max(1, usable_cores() - 1)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Runs the calling thread's torch kernels on n threads for the block (the setting is per
    thread while a thread runs: the app's inference thread changes only its own)."""
    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)
