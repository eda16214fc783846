"""The inference worker's contract: newest request per channel, ids, errors as results,
cancellation, stopping. Jobs here are plain functions, so each test controls exactly when the
worker is busy."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from explorer.model_info import ModelInfo
from explorer.jobs.common import load_info_job, to_uint8  # noqa: E402
from explorer.worker import InferenceWorker, Request, Result  # noqa: E402


@pytest.fixture
def worker(qtbot):
    w = InferenceWorker("cpu")
    results: list[Result] = []
    w.result_ready.connect(results.append)
    w.results = results
    w.start()
    yield w
    w.stop()
    assert w.isFinished()


def wait_for(qtbot, worker, n: int, timeout: int = 5000) -> list[Result]:
    qtbot.waitUntil(lambda: len(worker.results) >= n, timeout=timeout)
    return worker.results


def blocker(started: threading.Event, release: threading.Event):
    def job(ctx):
        started.set()
        assert release.wait(5)
        return "blocker"
    return job


def test_only_newest_pending_request_per_channel_runs(qtbot, worker):
    started, release = threading.Event(), threading.Event()
    worker.submit(Request("busy", blocker(started, release)))
    assert started.wait(5)
    ran: list[int] = []
    ids = []
    for i in range(20):   # a drag while the worker is busy: only the last should run
        ids.append(worker.submit(Request("drag", lambda ctx, i=i: ran.append(i) or i)))
    other = worker.submit(Request("other", lambda ctx: "other"))
    release.set()
    results = wait_for(qtbot, worker, 3)
    qtbot.wait(50)
    assert ran == [19]
    by_channel = {r.channel: r for r in worker.results}
    assert len(worker.results) == 3
    assert by_channel["drag"].request_id == ids[-1] and by_channel["drag"].value == 19
    assert by_channel["other"].request_id == other
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(r.ok for r in results)


def test_results_carry_id_timing_and_device(qtbot, worker):
    rid = worker.submit(Request("main", lambda ctx: time.sleep(0.02) or 42, label="sleepy"))
    (result,) = wait_for(qtbot, worker, 1)
    assert result.request_id == rid and result.value == 42 and result.label == "sleepy"
    assert result.elapsed_s >= 0.015
    assert result.device == "cpu"


def test_an_error_is_a_result_and_the_next_request_works(qtbot, worker):
    def broken(ctx):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    worker.submit(Request("main", broken))
    worker_results = wait_for(qtbot, worker, 1)
    assert not worker_results[0].ok
    assert "shapes cannot be multiplied" in worker_results[0].error
    worker.submit(Request("main", lambda ctx: "fine"))
    results = wait_for(qtbot, worker, 2)
    assert results[1].ok and results[1].value == "fine"
    assert worker.isRunning()


def long_job(steps: int, seen: list[int]):
    def job(ctx):
        for i in range(steps):
            ctx.check()
            seen.append(i)
            ctx.progress(i + 1, steps)
            time.sleep(0.01)
        return "done"
    return job


def test_cancel_stops_a_running_job_between_steps(qtbot, worker):
    seen: list[int] = []
    worker.submit(Request("long", long_job(500, seen)))
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=5000)
    worker.cancel("long")
    (result,) = wait_for(qtbot, worker, 1)
    assert result.cancelled and not result.ok
    assert len(seen) < 500


def test_a_newer_request_supersedes_a_running_one(qtbot, worker):
    seen: list[int] = []
    first = worker.submit(Request("long", long_job(500, seen)))
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=5000)
    second = worker.submit(Request("long", lambda ctx: "newer"))
    results = wait_for(qtbot, worker, 2)
    assert results[0].request_id == first and results[0].cancelled
    assert results[1].request_id == second and results[1].value == "newer"


def test_progress_is_reported_per_step(qtbot, worker):
    progress = []
    worker.progress_changed.connect(progress.append)
    rid = worker.submit(Request("long", long_job(5, [])))
    wait_for(qtbot, worker, 1)
    qtbot.waitUntil(lambda: len(progress) == 5)
    assert [p.done for p in progress] == [1, 2, 3, 4, 5]
    assert all(p.request_id == rid and p.total == 5 for p in progress)


def test_stop_ends_the_thread_without_running_pending_work(qtbot):
    w = InferenceWorker("cpu")
    w.start()
    started, release = threading.Event(), threading.Event()
    ran = []
    w.submit(Request("busy", blocker(started, release)))
    assert started.wait(5)
    w.submit(Request("later", lambda ctx: ran.append(1)))
    threading.Timer(0.05, release.set).start()
    w.stop()
    assert w.isFinished()
    assert ran == []


def test_models_are_loaded_once_and_described(qtbot, worker, tiny_models):
    source = str(tiny_models["cvae"])
    worker.submit(Request("load", load_info_job(source)))
    worker.submit(Request("again", lambda ctx: ctx.model(source) is ctx.model(source)))
    results = wait_for(qtbot, worker, 2)
    info = next(r.value for r in results if r.channel == "load")
    assert isinstance(info, ModelInfo)
    assert info.kind == "vae" and info.latent_shape == (4,) and info.image_shape == (1, 28, 28)
    assert info.is_conditional and info.num_classes == 10 and info.can_encode
    assert next(r.value for r in results if r.channel == "again") is True


def test_a_bad_checkpoint_comes_back_as_a_readable_error(qtbot, worker, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"this is not a checkpoint")
    worker.submit(Request("load", load_info_job(str(bad))))
    (result,) = wait_for(qtbot, worker, 1)
    assert not result.ok
    assert "broken.safetensors" in result.error
    assert "Traceback" not in result.error


def test_to_uint8_maps_unit_floats_to_pixels():
    import torch

    images = torch.tensor([0.0, 0.5, 1.0, 1.7, -0.2]).reshape(1, 1, 1, 5)
    pixels = to_uint8(images)
    assert pixels.dtype == np.uint8 and pixels.shape == (1, 1, 5, 1)
    assert pixels.reshape(-1).tolist() == [0, 128, 255, 255, 0]


def test_cuda_out_of_memory_falls_back_to_the_cpu_with_a_message(qtbot, worker):
    changes = []
    worker.device_changed.connect(lambda device, message: changes.append((device, message)))
    worker.device = "cuda"      # as if a GPU were in use; the job below fails the way CUDA does
    attempts = []

    def job(ctx):
        attempts.append(ctx.device)
        if ctx.device == "cuda":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return ctx.device

    worker.submit(Request("main", job))
    (result,) = wait_for(qtbot, worker, 1)
    qtbot.waitUntil(lambda: len(changes) == 1)
    assert attempts == ["cuda", "cpu"]
    assert result.ok and result.value == "cpu" and result.device == "cpu"
    assert "switched to the CPU" in result.note
    assert changes[0][0] == "cpu" and "out of memory" in changes[0][1]
