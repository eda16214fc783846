"""Training under torchrun: processes share each batch, DistributedDataParallel averages their
gradients, and the first process alone reports and writes the checkpoint."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models.checkpoint import load_checkpoint, read_metadata
from models.distributed import Processes
from tests.unit.test_train import SMALL_ARCH, synthetic_idx

ROOT = Path(__file__).resolve().parents[2]


def test_each_process_keeps_its_share_of_a_batch_and_seeds_its_own_draws():
    batch = torch.arange(10)
    shares = [Processes(world=3, rank=r).share(batch) for r in range(3)]
    assert sorted(torch.cat(shares).tolist()) == list(range(10))
    assert Processes().share(batch) is batch
    assert Processes().seed(5) == 5 and len({Processes(3, r).seed(5) for r in range(3)}) == 3


@pytest.mark.parametrize("env, message", [({"WORLD_SIZE": "2", "RANK": "2"}, "does not fit"),
                                          ({"WORLD_SIZE": "two"}, "whole numbers")])
def test_a_broken_torchrun_environment_is_one_clear_error(env, message, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=message):
        Processes.from_environment()


@pytest.mark.parametrize("kind", ["vae", pytest.param("dcgan", marks=pytest.mark.slow)])
def test_two_gloo_processes_under_torchrun_train_one_epoch_and_write_one_checkpoint(kind, tmp_path):
    folder = synthetic_idx(tmp_path, n=64)
    out = tmp_path / "models" / f"{kind}.safetensors"
    out.parent.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "explorer", "train", kind, "--data", str(folder), "--epochs", "1", "--batch-size", "16",
               "--latent-dim", "8", "--arch", json.dumps(SMALL_ARCH[kind]), "--out", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert [p.name for p in out.parent.iterdir()] == [out.name]       # one file, no state left behind
    assert run.stdout.count("wrote ") == 1                              # the first process reports
    meta = read_metadata(out)
    assert meta["training"]["recipe"]["processes"] == 2
    assert len(meta["training"]["step_losses"][{"vae": "loss", "dcgan": "d_loss"}[kind]]) == 4   # 64 / 16 steps
    model = load_checkpoint(out)
    images = model.decode(model.sample_latent(2, seed=0))
    assert images.shape == (2, 1, 28, 28) and torch.isfinite(images).all()


def test_a_kind_that_cannot_run_under_torchrun_says_so(monkeypatch, tmp_path):
    from models.data import load_dataset
    from models.train import DISTRIBUTED_KINDS, KINDS, TrainOptions, train

    others = [k for k in KINDS if k not in DISTRIBUTED_KINDS]
    if not others:
        pytest.skip("every kind runs under torchrun")
    monkeypatch.setattr(Processes, "join", lambda self, device: device)   # no process group needed to refuse
    for key, value in {"WORLD_SIZE": "2", "RANK": "0"}.items():
        monkeypatch.setenv(key, value)
    data = load_dataset(synthetic_idx(tmp_path, n=32), split="train")
    with pytest.raises(ValueError, match="does not run under torchrun"):
        train(TrainOptions(kind=others[0], epochs=1, device="cpu"), data, tmp_path / "x.safetensors")


def _train_as_rank(rank: int, world: int, folder: str, store: str, results: str) -> None:
    """One of `world` processes training a small VAE; saves what it ended with."""
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import torch.distributed as dist

    from models.data import load_dataset
    from models.train import TRAINERS, Trainer, TrainOptions

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    trainer = Trainer(TrainOptions(kind="vae", epochs=1, batch_size=16, latent_dim=4, device="cpu",
                                   arch=SMALL_ARCH["vae"]), load_dataset(folder, split="train"))
    net, _ = TRAINERS["vae"](trainer)
    torch.save(net.state_dict(), Path(results) / f"rank{rank}.pt")
    trainer.processes.leave()


def test_the_processes_average_their_gradients_so_they_end_with_the_same_weights(tmp_path):
    import torch.multiprocessing as mp

    (tmp_path / "data").mkdir()
    folder = synthetic_idx(tmp_path / "data", n=64)
    mp.spawn(_train_as_rank, args=(2, str(folder), str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    # each saw a different half of every batch: only averaged gradients keep them equal
    for name in first:
        assert torch.allclose(first[name], second[name], atol=1e-6), name
