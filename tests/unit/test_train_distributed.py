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
SR_ARCH = {"channels": 8, "blocks": 1, "d_channels": 8}
CYCLEGAN_ARCH = {"base_channels": 4, "res_blocks": 1, "d_channels": 4}
DOMAIN_A, DOMAIN_B = "Trouser,Pullover,Dress", "Coat,Sandal,Shirt"     # classes of the synthetic images


def test_each_process_keeps_its_share_of_a_batch_and_seeds_its_own_draws():
    batch = torch.arange(10)
    shares = [Processes(world=3, rank=r).share(batch) for r in range(3)]
    assert sorted(torch.cat(shares).tolist()) == list(range(10))
    assert Processes().share(batch) is batch
    assert Processes().seed(5) == 5 and len({Processes(3, r).seed(5) for r in range(3)}) == 3
    with pytest.raises(ValueError, match="--batch-size of at least 3"):
        Processes(world=3, rank=2).share(torch.arange(2))      # the last process would get nothing


@pytest.mark.parametrize("env, message", [({"WORLD_SIZE": "2", "RANK": "2"}, "does not fit"),
                                          ({"WORLD_SIZE": "two"}, "whole numbers")])
def test_a_broken_torchrun_environment_is_one_clear_error(env, message, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=message):
        Processes.from_environment()


# per kind: the extra command-line options of a tiny run, the loss whose steps are counted, and
# how many steps one epoch of 64 images in batches of 16 makes (the SRGAN trains two phases)
RUNS = {
    "vae": (["--latent-dim", "8", "--arch", json.dumps(SMALL_ARCH["vae"])], "loss", 4),
    "dcgan": (["--latent-dim", "8", "--arch", json.dumps(SMALL_ARCH["dcgan"])], "d_loss", 4),
    "lapgan": (["--latent-dim", "8", "--arch", json.dumps(SMALL_ARCH["lapgan"])], "d_loss", 4),
    "srgan": (["--arch", json.dumps(SR_ARCH)], "pixel_mse", 8),
    "cyclegan": (["--domain-a", DOMAIN_A, "--domain-b", DOMAIN_B, "--epoch-size", "64",
                  "--arch", json.dumps(CYCLEGAN_ARCH)], "cycle", 4),
}


def _makes_images(model) -> torch.Tensor:
    """What a loaded model makes of a little input: samples, upscales or translations."""
    if model.upscaler is not None:
        return model.upscaler.upscale(torch.rand(2, 1, 7, 7))
    if model.translator is not None:
        return model.translator.a_to_b(torch.rand(2, 1, 28, 28))
    return model.decode(model.sample_latent(2, seed=0))


@pytest.mark.parametrize("kind", ["vae", "cyclegan", *(pytest.param(k, marks=pytest.mark.slow)
                                                       for k in ("dcgan", "lapgan", "srgan"))])
def test_two_gloo_processes_under_torchrun_train_one_epoch_and_write_one_checkpoint(kind, tmp_path):
    folder = synthetic_idx(tmp_path, n=64)
    out = tmp_path / "models" / f"{kind}.safetensors"
    out.parent.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    options, loss, steps = RUNS[kind]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "explorer", "train", kind, "--data", str(folder), "--epochs", "1", "--batch-size", "16",
               *options, "--out", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert [p.name for p in out.parent.iterdir()] == [out.name]       # one file, no state left behind
    assert run.stdout.count("wrote ") == 1                              # the first process reports
    meta = read_metadata(out)
    assert meta["training"]["recipe"]["processes"] == 2
    assert len(meta["training"]["step_losses"][loss]) == steps          # the steps of one process
    images = _makes_images(load_checkpoint(out))
    assert images.shape[:2] == (2, 1) and images.shape[2:] == (28, 28) and torch.isfinite(images).all()


RANK_OPTIONS = {
    "vae": {"latent_dim": 4, "arch": SMALL_ARCH["vae"]},
    "lapgan": {"latent_dim": 8, "arch": SMALL_ARCH["lapgan"]},
    "srgan": {"arch": SR_ARCH},
    "cyclegan": {"domain_a": DOMAIN_A, "domain_b": DOMAIN_B, "epoch_size": 32, "arch": CYCLEGAN_ARCH},
}


def _train(kind: str, folder: str) -> tuple[dict[str, torch.Tensor], dict[str, list[float]]]:
    """A small model of `kind` trained for one epoch: the parameters of what it saves and of the
    other networks its training state holds (a LAPGAN's discriminators), and its step losses. A
    BatchNorm's running statistics follow each process's own last batch, so they are left out."""
    from models.data import load_dataset
    from models.train import TRAINERS, Trainer, TrainOptions

    trainer = Trainer(TrainOptions(kind=kind, epochs=1, batch_size=16, device="cpu", **RANK_OPTIONS[kind]),
                      load_dataset(folder, split="train"))
    net, _ = TRAINERS[kind](trainer)
    networks = {"saved": net, **{k: m for k, m in trainer.tracked.items() if isinstance(m, torch.nn.Module)}}
    return ({f"{k}.{name}": p.detach().clone() for k, m in networks.items() for name, p in m.named_parameters()},
            trainer.step_curve)


def _train_as_rank(rank: int, world: int, folder: str, store: str, results: str) -> None:
    """One of `world` processes training every kind of RANK_OPTIONS in turn, in one process group
    (starting processes costs more than these trainings); saves what each ended with."""
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    for kind in RANK_OPTIONS:
        torch.save(_train(kind, folder), Path(results) / f"{kind}-rank{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.usefixtures("one_torch_thread")
def test_the_processes_share_each_batch_and_average_their_gradients(tmp_path):
    import torch.multiprocessing as mp

    (tmp_path / "data").mkdir()
    folder = str(synthetic_idx(tmp_path / "data", n=64))
    mp.spawn(_train_as_rank, args=(2, folder, str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    for kind in RANK_OPTIONS:
        (first, first_losses), (second, second_losses) = (
            torch.load(tmp_path / f"{kind}-rank{r}.pt", weights_only=True) for r in range(2))
        # each took its own half of every batch (the SRGAN and the CycleGAN draw no noise: only
        # other images give other losses) ...
        loss = next(iter(first_losses))
        assert len(first_losses[loss]) == len(second_losses[loss])
        assert first_losses[loss][0] != second_losses[loss][0], kind
        # ... and only the averaged gradients of every network keep their weights equal
        assert first.keys() == second.keys()
        for name in first:
            assert torch.equal(first[name], second[name]), f"{kind}: {name}"
    # where nothing is random and the image pool is still filling, the means of the two halves'
    # losses are the losses of one process taking whole batches, step by step: the discriminators,
    # which the files do not hold, were averaged too
    for kind in ("srgan", "cyclegan"):
        halves = [torch.load(tmp_path / f"{kind}-rank{r}.pt", weights_only=True)[1] for r in range(2)]
        _, alone = _train(kind, folder)
        for loss, values in alone.items():
            mean = [(a + b) / 2 for a, b in zip(halves[0][loss], halves[1][loss])]
            assert mean == pytest.approx(values, rel=1e-5), f"{kind}: {loss}"
