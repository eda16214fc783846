"""Long computations as step iterators.

A long computation (a sampling run, principal directions, a latent map, a GAN inversion, a
measurement) is written as a generator: it yields a `Progress` (or None) between two steps of
work and returns its result. Whoever drives it decides what happens between steps: the app's
inference worker serves other views' requests there and stops a cancelled job by closing the
generator; the command line runs it straight to the end with `run_to_end`, printing progress.

    def encode_all(model, images) -> Steps[Tensor]:
        codes = []
        for i, batch in enumerate(images.split(500)):
            codes.append(model.encoder.encode(batch))
            yield Progress(i + 1, len(images) // 500 + 1, "encoding")
        return torch.cat(codes)

Code that only wants the result of another step iterator uses ``yield from``.
"""
from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """How far a long computation is, with an optional partial result to show already."""

    done: int
    total: int
    message: str = ""
    partial: Any = None


Steps = Generator["Progress | None", None, T]


def run_to_end(steps: Steps[T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Drives a step iterator to its end and returns its result, passing each Progress on."""
    while True:
        try:
            report = next(steps)
        except StopIteration as done:
            return done.value
        if report is not None and on_progress is not None:
            on_progress(report)
