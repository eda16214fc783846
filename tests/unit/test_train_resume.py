"""Resumable training: a run stopped after an epoch and resumed from its state file ends with
the same weights as a run that never stopped (CPU, fixed seed)."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from models.checkpoint import load_checkpoint, read_metadata
from models.data import load_dataset
from models.train import TrainOptions, train
from models.train_state import read_state, state_path_for
from tests.unit.test_train import SMALL_ARCH, synthetic_idx


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_dataset(synthetic_idx(tmp_path_factory.mktemp("idx"), n=48), split="train")


class Stop(Exception):
    pass


def stop_in_epoch(epoch: int):
    def progress(p):
        if p.epoch == epoch:
            raise Stop
    return progress


def options(kind: str, **kw) -> TrainOptions:
    extra = {"latent_dim": 8} if kind not in ("ddpm", "classifier") else {}
    return TrainOptions(kind=kind, epochs=2, batch_size=16, seed=3, device="cpu", arch=SMALL_ARCH[kind], **extra, **kw)


def weights(path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).net.state_dict()


@pytest.mark.parametrize("kind, extra", [("vae", {}), ("dcgan", {"ema_decay": 0.9, "diff_augment": True}),
                                         ("ddpm", {}), pytest.param("classifier", {}, marks=pytest.mark.slow)],
                         ids=["vae", "dcgan-ema-diffaugment", "ddpm", "classifier"])
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(kind, extra, data, tmp_path):
    whole = tmp_path / "whole.safetensors"
    train(options(kind, **extra), data, whole)
    assert not state_path_for(whole).exists()          # a finished run leaves no state behind

    part = tmp_path / "part.safetensors"
    # the classifier counts its two stages' epochs together: stop in the second stage
    with pytest.raises(Stop):
        train(options(kind, **extra), data, part, progress=stop_in_epoch(3 if kind == "classifier" else 2))
    state = state_path_for(part)
    assert not part.exists() and state.exists()
    assert read_state(state)["epochs_done"] == (2 if kind == "classifier" else 1)
    train(options(kind, resume=str(state), **extra), data, part)

    a, b = weights(whole), weights(part)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    curves = read_metadata(whole)["training"]["loss_curve"], read_metadata(part)["training"]["loss_curve"]
    assert curves[0] == curves[1]
    assert not state.exists()


def test_a_resume_with_other_options_or_data_is_refused(data, tmp_path):
    out = tmp_path / "vae.safetensors"
    with pytest.raises(Stop):
        train(options("vae"), data, out, progress=stop_in_epoch(2))
    state = str(state_path_for(out))
    with pytest.raises(ValueError, match=r"another run \(seed 3 → 4\)"):
        train(dataclasses.replace(options("vae"), seed=4, resume=state), data, out)
    with pytest.raises(ValueError, match="training images 48 → 32"):
        train(options("vae", resume=state), dataclasses.replace(data, images=data.images[:32], labels=data.labels[:32]),
              out)


def test_a_file_that_is_not_a_state_is_one_clear_error(data, tmp_path):
    bogus = tmp_path / "x.state"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a training state"):
        train(options("vae", resume=str(bogus)), data, tmp_path / "out.safetensors")


def test_ctrl_c_in_train_says_how_to_resume_and_resume_finishes_the_run(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from explorer.cli import main

    (tmp_path / "idx").mkdir()
    folder = synthetic_idx(tmp_path / "idx", n=640)      # 40 steps an epoch: time to stop it after the first
    out = tmp_path / "vae.safetensors"
    state = state_path_for(out)
    command = ["train", "vae", "--data", str(folder), "--epochs", "4", "--batch-size", "16", "--latent-dim", "4",
               "--arch", json.dumps(SMALL_ARCH["vae"]), "--out", str(out)]
    # SIGINT as a terminal delivers it, even where the suite runs in the background of a shell
    # without job control (its children inherit SIGINT ignored)
    launcher = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                "sys.argv = ['latent-explorer', *sys.argv[1:]]; runpy.run_module('explorer', run_name='__main__')")
    child = subprocess.Popen([sys.executable, "-c", launcher, *command], stderr=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[2])
    deadline = time.monotonic() + 120
    while not state.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err[-2000:]
    assert f"--resume {state}" in err and not out.exists()

    assert main([*command, "--resume", str(state)]) == 0
    assert out.exists() and not state.exists()
    assert read_metadata(out)["training"]["epochs"] == 4
    assert len(read_metadata(out)["training"]["loss_curve"]["loss"]) == 4
