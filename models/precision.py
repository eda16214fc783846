"""The number format of batched inference: bfloat16 where the CPU computes it natively.

`batch_precision(device, batch)` is the one switch for batch paths: a block under it runs
its convolutions and matrix products in bfloat16 (torch.autocast) when the batch has at least
MIN_BATCH images and the device is a CPU with bfloat16 instructions (AVX512-BF16 or AMX), and
in float32 otherwise. Interactive batch-1 paths keep float32: there the fixed cost of an
operation, not its arithmetic, is the time.

Measured on 2 cores of an AMD EPYC with AVX512-BF16, the bundled models, one thread:

- the DDPM's UNet at batch 500 (250 samples with guidance): 2.58 s of CPU per step in float32,
  1.17 s in bfloat16; channels-last layout: 2.13 s in float32 but 1.39 s in bfloat16, so the
  layout stays as it is;
- one decoder pass at batch 250: DCGAN 34 -> 22 ms, VAE 26 -> 17 ms, MLP GAN 10 -> 6 ms;
- the figures stay within noise, float32 / bfloat16: FID of 2000 DCGAN samples 46.67 / 46.65
  (seed 0) and 48.09 / 48.04 (seed 1: seeds differ by 1.4); cgan 30.42 / 30.45, conditional
  accuracy 91.35% / 91.30%; 500 DDPM samples (DDIM 50, guidance 1) 26.43 / 26.09, conditional
  accuracy 92.8% / 92.2% (its standard error at 500 samples: 1.2 points), confident share
  71.4% / 71.6%, and 389 / 219 s of CPU. Finished images differ by 0.2 (GANs, VAE) to 1.5
  (DDPM) grey levels of 255 on average;
- a 32 x 32 latent map with its class overlay (1024 decodes and classifications), should the
  compare view's maps use it: VAE 0.24 -> 0.12 s, DCGAN 0.29 -> 0.14 s of CPU, pixels within 0.01.

What stays float32 whatever the batch: the measuring classifier (its features define FID; it
costs a few milliseconds a batch) and perceptual path length, whose finite differences at a
latent step of 1e-4 are far below bfloat16's resolution.

LATENT_EXPLORER_PRECISION=float32 in the environment turns bfloat16 off (to compare the two).
"""
from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator

import torch

MIN_BATCH = 16
PRECISION_ENV_VAR = "LATENT_EXPLORER_PRECISION"


@functools.cache
def cpu_has_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (without it oneDNN emulates bfloat16, slower
    than float32)."""
    try:
        capability = torch._C._cpu._get_cpu_capability()   # the flags torch dispatches its kernels on
    except (AttributeError, RuntimeError):
        return False
    return bool(capability.get("avx512_bf16") or capability.get("amx_bf16"))


def uses_bfloat16(device: torch.device | str, batch: int) -> bool:
    """Whether `batch_precision(device, batch)` computes in bfloat16."""
    if os.environ.get(PRECISION_ENV_VAR, "").strip().lower() == "float32":
        return False
    return torch.device(device).type == "cpu" and batch >= MIN_BATCH and cpu_has_bfloat16()


@contextlib.contextmanager
def batch_precision(device: torch.device | str, batch: int) -> Iterator[None]:
    """bfloat16 autocast for the block when `uses_bfloat16(device, batch)`, else nothing.

    Autocast is the calling thread's state: inside a step iterator, enter it around one step's
    work, never across a yield (the app's worker runs other requests between two steps)."""
    if not uses_bfloat16(device, batch):
        yield
        return
    with torch.autocast("cpu", dtype=torch.bfloat16):
        yield
