"""The GPU path: CUDA-graph replay of the UNet, a run streamed from a CUDA device, and the worker
owning the GPU. Skipped where torch sees no CUDA device (CI has none)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.cuda_graph import CUDAGraphedNet, cuda_graphed
from explorer.jobs.diffusion import DiffusionSettings, run_frames, run_job
from explorer.worker import InferenceWorker, Request
from models.checkpoint import load_checkpoint

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.fixture
def ddpm_cuda(tiny_models):
    return load_checkpoint(tiny_models["ddpm"], device="cuda")


def test_graph_replay_matches_the_eager_network(ddpm_cuda):
    net = ddpm_cuda.net
    wrapper = CUDAGraphedNet(net)
    with torch.inference_mode():
        for n, labels in ((1, None), (4, torch.tensor([0, 3, 9, 10])), (1, torch.tensor([7]))):
            for _ in range(2):          # the first call captures, the second replays
                x = torch.randn(n, 1, 28, 28, device="cuda")
                t = torch.randint(0, 1000, (n,), device="cuda")
                eager = net(x, t, None if labels is None else labels.cuda())
                replayed = wrapper(x, t, labels)
                torch.testing.assert_close(replayed, eager, atol=1e-4, rtol=1e-4)
    assert wrapper.graph_count == 3


def test_a_replayed_output_is_not_overwritten_by_the_next_replay(ddpm_cuda):
    wrapper = CUDAGraphedNet(ddpm_cuda.net)
    x = torch.randn(1, 1, 28, 28, device="cuda")
    t = torch.tensor([500], device="cuda")
    with torch.inference_mode():
        first = wrapper(x, t)
        kept = first.clone()
        wrapper(torch.randn_like(x), t)
    assert torch.equal(first, kept)


def test_moving_the_network_drops_its_graphs(ddpm_cuda):
    wrapper = CUDAGraphedNet(ddpm_cuda.net)
    x, t = torch.randn(1, 1, 28, 28, device="cuda"), torch.tensor([10], device="cuda")
    with torch.inference_mode():
        wrapper(x, t)
        assert wrapper.graph_count == 1
        ddpm_cuda.net.to("cpu").to("cuda")
        torch.testing.assert_close(wrapper(x, t), ddpm_cuda.net(x, t, None), atol=1e-4, rtol=1e-4)
    assert wrapper.graph_count == 1     # the stale graph went, a new one was captured


def test_a_cuda_run_is_graphed_and_ends_on_its_x0(ddpm_cuda):
    info: dict = {}
    settings = DiffusionSettings(sampler="ddim", num_steps=20, batch=4, seed=3, class_index=2, guidance=1.0)
    frames = list(run_frames(ddpm_cuda, settings, info=info))
    assert info["cuda_graphs"] is True
    assert [f.position for f in frames] == list(range(20))
    last = frames[-1]
    assert np.array_equal(last.images[0], last.images[1])   # x_t at t=0 is x0's prediction
    with cuda_graphed(ddpm_cuda) as graphed:
        assert graphed and isinstance(ddpm_cuda.net, CUDAGraphedNet)
    assert not isinstance(ddpm_cuda.net, CUDAGraphedNet)


def test_a_graphed_run_matches_an_eager_run(ddpm_cuda):
    settings = DiffusionSettings(sampler="ddpm", batch=2, seed=5)
    graphed = list(run_frames(ddpm_cuda, settings))
    eager = list(run_frames(ddpm_cuda, DiffusionSettings(sampler="ddpm", batch=2, seed=5, cuda_graphs=False)))
    assert len(graphed) == len(eager) == 1000
    for a, b in zip(graphed[::97], eager[::97]):
        # float sums may differ in order between graph and eager kernels: a pixel level at most
        assert np.abs(a.images.astype(int) - b.images.astype(int)).max() <= 1


def test_cuda_and_cpu_runs_agree(tiny_models, ddpm_cuda):
    ddpm_cpu = load_checkpoint(tiny_models["ddpm"], device="cpu")
    settings = DiffusionSettings(sampler="ddim", num_steps=25, eta=0.0, batch=3, seed=8)
    cuda = list(run_frames(ddpm_cuda, settings))[-1].images
    cpu = list(run_frames(ddpm_cpu, settings))[-1].images
    assert np.abs(cuda.astype(int) - cpu.astype(int)).max() <= 2


def test_the_worker_runs_a_diffusion_job_on_the_gpu(qtbot, tiny_models):
    worker = InferenceWorker("cuda")
    results = []
    partial_steps = []
    worker.result_ready.connect(results.append)
    worker.progress_changed.connect(lambda p: partial_steps.extend(p.partial or ()))
    worker.start()
    try:
        assert worker.device == "cuda"
        source = str(tiny_models["ddpm"])
        worker.submit(Request("diffusion", run_job(source, DiffusionSettings(sampler="ddpm", batch=1))))
        qtbot.waitUntil(lambda: bool(results), timeout=120_000)
    finally:
        worker.stop()
    (result,) = results
    assert result.ok and result.device == "cuda", result.error
    summary = result.value
    assert summary.device.startswith("cuda") and summary.cuda_graphs
    assert summary.steps_done == 1000
    qtbot.waitUntil(lambda: len(partial_steps) == 1000, timeout=10_000)
    assert [f.position for f in partial_steps] == list(range(1000))
