"""Keeping freed memory in the process instead of handing it back to the kernel at every free.

glibc serves a request above its mmap threshold (128 KiB at first, rising to at most 32 MiB)
with fresh pages of its own and unmaps them when the block is freed, and a thread's arena does
the same with anything above its 64 MiB heaps whatever the threshold. Batched inference frees
and reallocates tensors of tens of megabytes at every layer of every step (a DDPM at batch 250
with guidance runs the UNet on 500 images: 100 MB activations), so each step paid page faults
to map and zero fresh pages: on 2 CPU cores, half of `evaluate`'s time went to the kernel.

`keep_freed_memory()` tells glibc, once, at start-up and before any other thread allocates:

- blocks up to 1 GiB come from the heap, not from mmap (M_MMAP_THRESHOLD);
- up to 1 GiB of free heap stays mapped for the next allocation (M_TRIM_THRESHOLD);
- every thread allocates from the one main heap (M_ARENA_MAX 1): the app's inference thread
  and the command line's work thread allocate their tensors, and a thread's own arena would
  still mmap anything over 64 MiB.

Measured with the bundled DDPM on 2 cores (`sample ddpm`): the kernel's time fell from 2.5-3.4 s
to 0.3-0.5 s; setting only the two thresholds left 1.2-3.1 s, because the work runs on a thread
of its own. The memory kept is what the process's peak needed, so its resident size stays at
about its peak instead of falling back between batches. Elsewhere (another C library, no
mallopt) nothing changes and the process starts as usual.
"""
from __future__ import annotations

import ctypes
import sys
from typing import Any

# mallopt parameters, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

KEEP_BYTES = 1 << 30      # blocks up to this size come from the heap; this much free heap is kept

SETTINGS: tuple[tuple[int, int], ...] = (
    (M_ARENA_MAX, 1),
    (M_MMAP_THRESHOLD, KEEP_BYTES),
    (M_TRIM_THRESHOLD, KEEP_BYTES),
)

_applied: bool | None = None     # None until the first call; then whether glibc took the settings


def _glibc() -> Any | None:
    """The C library when it is glibc with mallopt, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        # glibc's own symbol: another C library's mallopt (musl's does nothing) is not used
        libc.gnu_get_libc_version
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return libc


def keep_freed_memory() -> bool:
    """Applies SETTINGS through glibc's mallopt the first time it is called; later calls only
    return the first call's answer. True when glibc took every setting; False where the C
    library is not glibc, mallopt is missing or refused a value (the process runs as before)."""
    global _applied
    if _applied is None:
        libc = _glibc()
        _applied = libc is not None and all(libc.mallopt(param, value) == 1 for param, value in SETTINGS)
    return _applied
