"""Which torch device to run on (CUDA, then Apple's MPS, then the CPU), and how many CPU
threads torch uses: the window and the command line choose them here, in one place."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

# torch is imported inside the functions: `wait_quietly` must run before torch's first import
if TYPE_CHECKING:
    import torch


def available_devices() -> list[str]:
    """The devices this machine can run on, best first; always ends with "cpu"."""
    import torch

    names = []
    if torch.cuda.is_available():
        names.append("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        names.append("mps")
    return names + ["cpu"]


def pick_device(preference: str = "auto", strict: bool = False) -> torch.device:
    """The best device for "auto", else the one named. A named device that is missing is an
    error when `strict` (the command line asked for it), else the CPU (the app falls back)."""
    import torch

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


def threads_for_commands(batch_work: bool) -> int:
    """Torch threads for a command's work: every usable core for batch work (evaluate, compare,
    sample, train: hundreds of images per network pass), one thread for runs of small batches
    (denoise, export-gif).

    Measured on 2 cores with the bundled DDPM: `sample ddpm` (160 images a pass) takes 14 s on
    two threads against 24 s on one; `denoise --sampler ddpm --batch 4` takes 14 s on one thread
    and 17 s on two even with quiet waiting (below), 41 s with OpenMP's default spinning: an
    operation on 4 images is too small to split, and every split costs a wake-up."""
    return usable_cores() if batch_work else 1


def use_command_threads(batch_work: bool) -> int:
    """Sets the calling thread's torch threads to `threads_for_commands` and returns the count;
    an OMP_NUM_THREADS the user set wins (torch has applied it already). The setting belongs to
    the thread that calls this: call it on the thread that runs the work."""
    import torch

    if os.environ.get("OMP_NUM_THREADS", "").strip():
        return torch.get_num_threads()
    n = threads_for_commands(batch_work)
    torch.set_num_threads(n)
    return n


def wait_quietly() -> bool:
    """Makes OpenMP's idle threads sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE), unless
    the user chose a policy. It must run before torch is first imported, since OpenMP reads it
    when it loads; returns whether it took effect.

    Spinning threads compete for the cores with whatever else runs: with one other busy process
    on 2 cores, `sample ddpm` on two spinning threads spent 45-53 s of CPU against 24 s for the
    same work on one thread; waiting quietly, two threads spend 24-25 s, the same as one, and
    still use both cores when they are free."""
    if "torch" in sys.modules or os.environ.get("OMP_WAIT_POLICY", "").strip():
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Runs the calling thread's torch kernels on n threads for the block (the setting is per
    thread while a thread runs: the app's inference thread changes only its own)."""
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)
