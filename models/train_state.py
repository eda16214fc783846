"""A training run's state at the end of an epoch, so the run can continue in a later sitting.

`train` writes it next to its output (`OUT.state`) after every epoch, atomically, and removes it
once the checkpoint is written; `train ... --resume OUT.state` continues from it and ends with
the same weights as a run that never stopped (on the CPU, for a fixed seed). It holds the state
dicts of what the training loop registered (networks, optimizers, learning-rate schedules,
weight averages, random generators), the global random state, the epochs and steps done, the
loss curves and the time spent so far, and the options the run was started with: a resume with
other options is refused, since it would not be the same run.

The file is torch's zip format read with `weights_only=True`: tensors, numbers, strings, lists
and dicts only, so a state file cannot run code.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from models.atomic import atomic_write_bytes
from models.errors import CheckpointError
from models.user_files import read_regular_file

FORMAT = 1
MAX_STATE_BYTES = 8 << 30      # a state is a few times the networks' size
STATE_SUFFIX = ".state"

# options that make a run what it is; a resume must match them (device, name, half may change)
RUN_OPTIONS = ("kind", "epochs", "batch_size", "lr", "latent_dim", "seed", "arch", "data", "bfloat16", "flip",
               "diff_augment", "ema_decay", "gan_loss", "min_snr_gamma")


def state_path_for(out: str | Path) -> Path:
    """Where a run writing `out` keeps its state between epochs."""
    out = Path(out)
    return out.with_name(out.name + STATE_SUFFIX)


def state_of(obj: Any) -> Any:
    """The saveable state of a registered object: a generator's RNG state, else its state_dict."""
    if isinstance(obj, torch.Generator):
        return obj.get_state()
    return obj.state_dict()


def restore(obj: Any, state: Any) -> None:
    if isinstance(obj, torch.Generator):
        obj.set_state(state)
    else:
        obj.load_state_dict(state)


def write_state(path: Path, document: dict[str, Any]) -> None:
    """Writes a state document atomically: a reader finds the previous epoch's state or this one."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **document}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def read_state(path: str | Path) -> dict[str, Any]:
    """A state document written by `write_state`; ValueError with what is wrong otherwise."""
    path = Path(path)
    try:
        data = read_regular_file(path, "training state", MAX_STATE_BYTES)
    except CheckpointError as e:
        raise ValueError(str(e)) from None
    try:
        document = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure of torch's reader means the file is not ours
        raise ValueError(f"{path} is not a training state written by train ({type(e).__name__}); "
                         f"start the run again without --resume") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a training state of this version; start the run again without --resume")
    return document


def check_same_run(saved: dict[str, Any], options: dict[str, Any], images: int, path: Path) -> None:
    """Refuses a resume whose options or dataset size differ from the saved run's."""
    differ = [f"{k} {saved['options'].get(k)!r} → {options.get(k)!r}" for k in RUN_OPTIONS
              if saved["options"].get(k) != options.get(k)]
    if saved.get("images") != images:
        differ.append(f"training images {saved.get('images')} → {images}")
    if differ:
        raise ValueError(f"{path} is the state of another run ({'; '.join(differ)}); resume with the options "
                         f"it was started with, or start again without --resume")
