"""Torch threads are chosen in one place (models/devices.py) and applied once, on the thread that
runs a command's work: every core for batch work, one thread for runs of small batches; an
OMP_NUM_THREADS the user set wins; idle OpenMP threads sleep."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import torch

from explorer.cli import main
from models import devices


@pytest.fixture
def three_cores(monkeypatch):
    monkeypatch.setattr(devices, "usable_cores", lambda: 3)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_batch_work_gets_every_core_and_small_batches_one_thread(three_cores):
    assert devices.threads_for_commands(batch_work=True) == 3
    assert devices.threads_for_commands(batch_work=False) == 1
    assert devices.use_command_threads(batch_work=False) == 1
    assert torch.get_num_threads() == 1
    assert devices.use_command_threads(batch_work=True) == 3
    assert torch.get_num_threads() == 3


def test_the_users_omp_num_threads_wins(three_cores, monkeypatch):
    torch.set_num_threads(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert devices.use_command_threads(batch_work=False) == 2
    assert torch.get_num_threads() == 2


def _recording(seen: list, result):
    def record(*args, **kwargs):
        seen.append((torch.get_num_threads(), threading.current_thread().name))
        return result(*args, **kwargs) if callable(result) else result

    return record


def test_a_commands_work_runs_on_the_threads_chosen_for_it(three_cores, monkeypatch, tiny_models, tmp_path, capsys):
    import explorer.commands.sample as sample
    import explorer.jobs.diffusion as diffusion

    torch.set_num_threads(2)      # neither choice: what the command runs on comes from the command line
    seen: list = []
    monkeypatch.setattr(sample, "sample_grid", _recording(seen, np.zeros((4, 28, 28, 1), np.uint8)))
    assert main(["sample", str(tiny_models["vae"]), str(tmp_path / "grid.png"), "--count", "4"]) == 0
    assert seen == [(3, "command")]       # batch work, on the command's own thread

    def refuse(*args, **kwargs):
        raise diffusion.DiffusionError("stopped by the test")

    seen.clear()
    monkeypatch.setattr(diffusion, "run_frames", _recording(seen, refuse))
    assert main(["denoise", "--model", str(tiny_models["ddpm"]), str(tmp_path / "run.gif")]) == 2
    assert "stopped by the test" in capsys.readouterr().err
    assert seen == [(1, "command")]       # batches of 1 to 16 images


def test_idle_openmp_threads_sleep_unless_the_user_chose_a_policy(monkeypatch):
    assert "torch" in sys.modules
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert devices.wait_quietly() is False    # too late once torch is loaded: OpenMP read its settings
    assert "OMP_WAIT_POLICY" not in os.environ

    monkeypatch.delitem(sys.modules, "torch")   # as before torch's first import
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")
    assert devices.wait_quietly() is False
    assert os.environ["OMP_WAIT_POLICY"] == "active"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert devices.wait_quietly() is True
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_the_command_line_sets_the_wait_policy_before_torch_is_imported():
    script = textwrap.dedent("""
        import os
        from explorer.cli import main
        code = main(["models", "--json"])
        print("policy", os.environ.get("OMP_WAIT_POLICY"))
        raise SystemExit(code)
    """)
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "PASSIVE"     # wait_quietly takes effect only before torch loads
