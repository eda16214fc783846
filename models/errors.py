"""The one error every model-file problem becomes. Torch-free, so readers of metadata (the model
library, `inspect`, `models`) can raise and catch it without importing torch."""
from __future__ import annotations


class CheckpointError(Exception):
    """A model file cannot be used; the message says what is wrong and what to do."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line for a message: its last non-empty line, which is where
    TorchScript and torch put the actual error after a traceback of their own."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."
