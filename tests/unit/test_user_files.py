"""Files that are not regular files, or too big, are refused before anything is read: no hang.

A read from a FIFO with no writer blocks forever, and safetensors blocks holding the interpreter's
lock, so no thread of the test could even notice. The calls on special files therefore run in one
child process with a time limit: a call that blocks makes the child time out, and the cases it
never reported fail as hangs.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from models.checkpoint import CheckpointError, open_model, read_metadata
from models.limits import MAX_MODEL_FILE_BYTES, MAX_SIDECAR_BYTES

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")

SIDECAR = {"latent_shape": [4], "image_shape": [1, 28, 28], "output_range": "tanh", "scripted": True}

# each case: (name, what the child calls, its arguments)
_CHILD = """
import json, sys
from models.checkpoint import CheckpointError, import_scripted, open_model, read_metadata
from explorer.cli import main
calls = {"open_model": open_model, "read_metadata": read_metadata, "import_scripted": import_scripted,
         "inspect": lambda path: main(["inspect", path])}
for name, call, args in json.loads(sys.argv[1]):
    try:
        result = {"returned": repr(calls[call](*args))}
    except CheckpointError as exc:
        result = {"error": str(exc)}
    except BaseException as exc:
        result = {"other": f"{type(exc).__name__}: {exc}"}
    print(json.dumps({"case": name, **result}), flush=True)
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, dict]:
    """What each call on a special file gave, run in a child that is killed if it blocks."""
    import torch

    d = tmp_path_factory.mktemp("special")
    cases = []
    for name in ("x.safetensors", "x.pt", "x.pth", "x.pt2"):
        os.mkfifo(d / name)
        if name != "x.safetensors":
            (d / f"{name}.json").write_text(json.dumps(SIDECAR))
        cases.append((f"fifo {name}", "open_model", [str(d / name)]))
    os.mkfifo(d / "m.safetensors")
    cases.append(("read_metadata fifo", "read_metadata", [str(d / "m.safetensors")]))
    cases.append(("inspect fifo", "inspect", [str(d / "m.safetensors")]))
    torch.save({"w": torch.zeros(1)}, d / "g.pt")
    os.mkfifo(d / "side.json")
    cases.append(("explicit fifo sidecar", "import_scripted", [str(d / "g.pt"), str(d / "side.json")]))
    torch.save({"w": torch.zeros(1)}, d / "h.pt")
    os.mkfifo(d / "h.pt.json")
    cases.append(("fifo sidecar beside", "open_model", [str(d / "h.pt")]))
    if Path("/dev/zero").exists():
        (d / "zero.safetensors").symlink_to("/dev/zero")
        cases.append(("device", "open_model", [str(d / "zero.safetensors")]))
    (d / "dir.pt2").mkdir()
    (d / "dir.pt2.json").write_text(json.dumps(SIDECAR))
    cases.append(("directory", "open_model", [str(d / "dir.pt2")]))
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(d / "s.pt"))
        (d / "s.pt.json").write_text(json.dumps({"architecture": "conv-vae", "config": {}}))
        cases.append(("socket", "open_model", [str(d / "s.pt")]))
    except OSError:
        pass    # a socket path too long for this system: that case is skipped
    try:
        child = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(cases)], capture_output=True,
                               text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
        out = child.stdout
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    finally:
        server.close()
    return {row["case"]: row for row in map(json.loads, out.splitlines())}


def _refused(outcomes: dict[str, dict], case: str) -> str:
    if case not in outcomes:
        pytest.fail(f"{case}: the call blocked (the child was killed after its time limit)")
    assert "error" in outcomes[case], outcomes[case]
    return outcomes[case]["error"]


@pytest.mark.parametrize("name", ["x.safetensors", "x.pt", "x.pth", "x.pt2"])
def test_a_fifo_named_like_a_model_is_refused_without_blocking(outcomes, name):
    message = _refused(outcomes, f"fifo {name}")
    assert "named pipe (FIFO)" in message and name in message


def test_read_metadata_and_inspect_refuse_a_fifo(outcomes):
    assert "named pipe" in _refused(outcomes, "read_metadata fifo")
    if "inspect fifo" not in outcomes:
        pytest.fail("inspect blocked on a FIFO")
    assert outcomes["inspect fifo"] == {"case": "inspect fifo", "returned": "2"}


def test_a_fifo_sidecar_is_refused_without_blocking(outcomes):
    message = _refused(outcomes, "explicit fifo sidecar")
    assert "sidecar" in message and "named pipe" in message
    assert "named pipe" in _refused(outcomes, "fifo sidecar beside")


def test_a_device_named_like_a_checkpoint_is_refused(outcomes):
    if "device" not in outcomes and not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    assert "character device" in _refused(outcomes, "device")


def test_a_socket_named_like_a_model_is_refused(outcomes):
    if "socket" not in outcomes:
        pytest.skip("no UNIX socket could be made here")
    assert "a socket" in _refused(outcomes, "socket")


def test_a_directory_named_like_a_model_is_refused(outcomes):
    assert "is a directory" in _refused(outcomes, "directory")


def test_an_oversized_sidecar_is_refused_before_it_is_read(tmp_path):
    import torch

    torch.save({"w": torch.zeros(1)}, tmp_path / "w.pt")
    with open(tmp_path / "w.pt.json", "w") as f:
        f.write('{"architecture": "conv-vae", "pad": "')
        f.write("x" * (MAX_SIDECAR_BYTES + 10))
        f.write('"}')
    with pytest.raises(CheckpointError, match="more than the 1.0 MiB a sidecar may be"):
        open_model(tmp_path / "w.pt")


def test_an_oversized_model_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as f:        # sparse: costs no disk
        f.truncate(MAX_MODEL_FILE_BYTES + 1)
    with pytest.raises(CheckpointError, match=r"more than the 2\.0 GiB a model file may be"):
        open_model(path)
    with pytest.raises(CheckpointError, match="more than the 2.0 GiB"):
        read_metadata(path)
