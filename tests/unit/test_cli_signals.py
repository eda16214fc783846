"""Ctrl+C and SIGTERM stop a command and leave no file behind, not even a hidden temporary one.

Each test runs `latent-explorer` in a child process whose GIF writer (or generator) is made to
block at a known point, marked by a file the child writes; the test then sends the signal. A
child that ignores the signal would block for good, so `wait` has a generous bound that only a
broken build reaches.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEVER_S = 60          # longer than any test: a child still running then ignored the signal

# Blocks the GIF writer at its third frame, once the temporary file holds the first two.
BLOCK_IN_WRITER = """
    from PIL import GifImagePlugin
    real, frames = GifImagePlugin.getdata, []
    def getdata(*args, **kwargs):
        frames.append(1)
        if len(frames) == 3:
            marker.write_text("writing")
            time.sleep(NEVER)
        return real(*args, **kwargs)
    GifImagePlugin.getdata = getdata
"""

# Makes the generator's forward pass one C call that never returns and ignores signals, as a
# long torch call does: the GIL is released and the call goes on whatever Python is told.
ENDLESS_GENERATOR = """
    import ctypes
    import models.generative
    libc, mutex = ctypes.CDLL(None), ctypes.create_string_buffer(64)   # a zeroed pthread mutex
    def decode(*args, **kwargs):
        marker.write_text("decoding")
        libc.pthread_mutex_lock(mutex)
        libc.pthread_mutex_lock(mutex)       # waits for itself: never returns
    models.generative.GenerativeModel.decode = decode
"""


def start(tmp_path: Path, patch: str, argv: list[str]) -> tuple[subprocess.Popen, Path]:
    marker = tmp_path / "marker"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(f"""
        import signal, sys, time
        from pathlib import Path
        # Ctrl+C as a terminal delivers it, even where the suite was started in the background
        # by a shell without job control, which makes its children inherit SIGINT ignored
        signal.signal(signal.SIGINT, signal.default_int_handler)
        marker, NEVER = Path({str(marker)!r}), {NEVER_S}
    """) + textwrap.dedent(patch) + textwrap.dedent(f"""
        from explorer.cli import main
        sys.exit(main({argv!r}))
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # start_new_session: a signal meant for the test run (Ctrl+C in its terminal) does not reach the child
    child = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=env, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    return child, marker


def wait_for(marker: Path, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + NEVER_S
    while not marker.exists():
        if child.poll() is not None:
            pytest.fail(f"the child ended before the marker: {child.stderr.read()}")
        assert time.monotonic() < deadline, "the child never got to the marker"
        time.sleep(0.05)


def finish(child: subprocess.Popen) -> tuple[int, str]:
    try:
        rc = child.wait(NEVER_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        pytest.fail("the child did not stop on the signal")
    return rc, child.stderr.read()


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def export_argv(model: Path, target: Path) -> list[str]:
    return ["export-gif", "--model", str(model), "--from", "1", "--to", "2", "--frames", "8", str(target)]


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_an_export_leaves_no_file(tiny_models, tmp_path, out, signum, code):
    child, marker = start(tmp_path, BLOCK_IN_WRITER, export_argv(tiny_models["vae"], out / "x.gif"))
    wait_for(marker, child)
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")]     # the temporary file exists
    child.send_signal(signum)
    rc, err = finish(child)
    assert rc == code, err
    assert "Traceback" not in err and ("terminated" if signum == signal.SIGTERM else "interrupted") in err
    assert list(out.iterdir()) == []


def test_sigterm_closes_the_window_as_quit_does(tmp_path):
    """The app saves its settings and stops its worker (a running export is cancelled, its
    temporary file removed) instead of dying on the spot."""
    config = tmp_path / "config"
    first_frame = tmp_path / "first-frame"
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", LATENT_EXPLORER_CONFIG=str(config),
               LATENT_EXPLORER_FIRST_FRAME_FILE=str(first_frame))
    child = subprocess.Popen([sys.executable, "-m", "explorer", "--device", "cpu"], cwd=ROOT, env=env,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for(first_frame, child)
    child.send_signal(signal.SIGTERM)
    rc, err = finish(child)
    assert rc == 143, err
    assert "Traceback" not in err and "QThread" not in err
    assert "geometry" in (config / "settings.ini").read_text()     # closed as File > Quit closes it


def test_ctrl_c_stops_a_command_inside_a_long_generator_call(tiny_models, tmp_path, out):
    child, marker = start(tmp_path, ENDLESS_GENERATOR, export_argv(tiny_models["vae"], out / "x.gif"))
    wait_for(marker, child)
    child.send_signal(signal.SIGINT)
    rc, err = finish(child)
    assert rc == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(out.iterdir()) == []
