"""The one error every model-file problem becomes. Torch-free, so readers of metadata (the model
library, `inspect`, `models`) can raise and catch it without importing torch."""
from __future__ import annotations


class CheckpointError(Exception):
    """A model file cannot be used; the message says what is wrong and what to do.

    The message is always one line: a line break in it (from a file name, a key in a file or a
    library's error) is written as \\n, so the message reads the same in a status bar, a
    banner and a terminal."""

    def __init__(self, message: str):
        super().__init__(str(message).replace("\r", "\\r").replace("\n", "\\n"))


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line for a message: its last non-empty line, which is where
    TorchScript and torch put the actual error after a traceback of their own."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."
