"""The inference worker's contract: newest request per channel, exactly one result per request,
long jobs as step iterators served in turn with the interactive ones, cancellation between
steps, caches keyed by the file's version, errors as results, stopping. Jobs here are plain
functions, so each test controls exactly when the worker is busy."""
from __future__ import annotations

import os
import threading
import time
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from explorer.jobs.common import load_info_job  # noqa: E402
from explorer.model_info import ModelInfo  # noqa: E402
from explorer.job_context import Cancelled
from explorer.worker import InferenceWorker, LRUCache, Request, Result, Status  # noqa: E402
from models.images import to_uint8  # noqa: E402
from models.steps import Progress  # noqa: E402


@pytest.fixture
def worker(qtbot):
    w = InferenceWorker("cpu")
    results: list[Result] = []
    w.result_ready.connect(results.append)
    w.results = results
    w.start()
    yield w
    w.stop(5000)
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


def long_job(steps: int, seen: list[int], delay: float = 0.01):
    """A step iterator: one Progress per step."""
    def job(ctx):
        for i in range(steps):
            seen.append(i)
            time.sleep(delay)
            yield Progress(i + 1, steps, "working")
        return "done"
    return job


def test_only_newest_pending_request_per_channel_runs_and_every_request_gets_one_result(qtbot, worker):
    started, release = threading.Event(), threading.Event()
    busy = worker.submit(Request("busy", blocker(started, release)))
    assert started.wait(5)
    ran: list[int] = []
    ids = []
    for i in range(20):   # a drag while the worker is busy: only the last should run
        ids.append(worker.submit(Request("drag", lambda ctx, i=i: ran.append(i) or i)))
    other = worker.submit(Request("other", lambda ctx: "other"))
    release.set()
    results = wait_for(qtbot, worker, 22)
    qtbot.wait(50)
    assert ran == [19]
    assert len(worker.results) == 22
    assert Counter(r.request_id for r in results) == Counter([*ids, other, busy])
    by_id = {r.request_id: r for r in results}
    assert all(by_id[i].status is Status.SUPERSEDED for i in ids[:-1])
    assert by_id[ids[-1]].ok and by_id[ids[-1]].value == 19
    assert by_id[other].ok and by_id[other].value == "other"
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


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
    assert worker_results[0].status is Status.ERROR
    assert "shapes cannot be multiplied" in worker_results[0].error
    worker.submit(Request("main", lambda ctx: "fine"))
    results = wait_for(qtbot, worker, 2)
    assert results[1].ok and results[1].value == "fine"
    assert worker.isRunning()


def test_an_error_in_a_long_job_step_is_a_result(qtbot, worker):
    def job(ctx):
        yield Progress(1, 3)
        raise ValueError("step two failed")

    worker.submit(Request("long", job))
    (result,) = wait_for(qtbot, worker, 1)
    assert result.status is Status.ERROR and "step two failed" in result.error


def test_interactive_requests_are_served_between_the_steps_of_a_long_job(qtbot, worker):
    seen: list[int] = []
    long_id = worker.submit(Request("long", long_job(200, seen)))
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=5000)
    at_submit = len(seen)
    quick = worker.submit(Request("quick", lambda ctx: len(seen)))
    qtbot.waitUntil(lambda: any(r.request_id == quick for r in worker.results), timeout=5000)
    answer = next(r for r in worker.results if r.request_id == quick)
    # answered within a step or two of asking, long before the long job ends
    assert answer.ok and answer.value <= at_submit + 2
    assert not any(r.request_id == long_id for r in worker.results)
    worker.cancel("long")
    qtbot.waitUntil(lambda: any(r.request_id == long_id for r in worker.results), timeout=5000)


def test_two_long_jobs_take_turns(qtbot, worker):
    a_steps: list[int] = []
    b_steps: list[int] = []
    order: list[str] = []

    def job(name, seen, steps=8):
        def run(ctx):
            for i in range(steps):
                seen.append(i)
                order.append(name)
                time.sleep(0.005)
                yield Progress(i + 1, steps)
            return name
        return run

    worker.submit(Request("a", job("a", a_steps)))
    worker.submit(Request("b", job("b", b_steps)))
    wait_for(qtbot, worker, 2)
    assert order.count("a") == order.count("b") == 8
    # once both have started they alternate, step for step, until one is done
    both = order[order.index("b"):]
    assert both[:6] == ["b", "a"] * 3 or both[:6] == ["a", "b"] * 3


def test_cancel_stops_a_long_job_between_steps(qtbot, worker):
    seen: list[int] = []
    worker.submit(Request("long", long_job(500, seen)))
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=5000)
    worker.cancel("long")
    (result,) = wait_for(qtbot, worker, 1)
    assert result.status is Status.CANCELLED and not result.ok
    stopped_at = len(seen)
    qtbot.wait(60)
    assert len(seen) == stopped_at < 500


def test_a_cancelled_long_job_may_send_what_it_has_made(qtbot, worker):
    progress = []
    worker.progress_changed.connect(progress.append)

    def job(ctx):
        made = []
        try:
            for i in range(1000):
                made.append(i)
                time.sleep(0.002)
                yield Progress(i + 1, 1000) if i % 10 == 9 else None    # sends every tenth step
        except Cancelled:
            yield Progress(len(made), 1000, "flushed", tuple(made))
            raise

    worker.submit(Request("long", job))
    qtbot.waitUntil(lambda: len(progress) >= 2, timeout=5000)
    worker.cancel("long")
    (result,) = wait_for(qtbot, worker, 1)
    qtbot.waitUntil(lambda: progress and progress[-1].message == "flushed", timeout=2000)
    assert result.status is Status.CANCELLED
    assert progress[-1].partial == tuple(range(progress[-1].done))


def test_a_newer_request_supersedes_a_running_long_job(qtbot, worker):
    seen: list[int] = []
    first = worker.submit(Request("long", long_job(500, seen)))
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=5000)
    second = worker.submit(Request("long", lambda ctx: "newer"))
    results = wait_for(qtbot, worker, 2)
    assert results[0].request_id == first and results[0].status is Status.SUPERSEDED
    assert results[1].request_id == second and results[1].value == "newer"


def test_a_request_cancelled_while_queued_behind_another_channel_reports_cancelled(qtbot, worker):
    started, release = threading.Event(), threading.Event()
    worker.submit(Request("other", blocker(started, release)))
    assert started.wait(5)
    queued = worker.submit(Request("diffusion", long_job(10, [])))
    worker.cancel("diffusion")
    # answered at once, while the other channel's job still holds the thread
    result = next(r for r in wait_for(qtbot, worker, 1) if r.request_id == queued)
    assert result.status is Status.CANCELLED
    release.set()
    wait_for(qtbot, worker, 2)


def test_progress_is_reported_per_step(qtbot, worker):
    progress = []
    worker.progress_changed.connect(progress.append)
    rid = worker.submit(Request("long", long_job(5, [])))
    wait_for(qtbot, worker, 1)
    qtbot.waitUntil(lambda: len(progress) == 5)
    assert [p.done for p in progress] == [1, 2, 3, 4, 5]
    assert all(p.request_id == rid and p.total == 5 for p in progress)


def test_stop_cancels_pending_work_and_gives_up_waiting_after_its_timeout(qtbot):
    w = InferenceWorker("cpu")
    results: list[Result] = []
    w.result_ready.connect(results.append)
    w.start()
    started, release = threading.Event(), threading.Event()
    ran = []
    w.submit(Request("busy", blocker(started, release)))
    assert started.wait(5)
    later = w.submit(Request("later", lambda ctx: ran.append(1)))
    began = time.perf_counter()
    assert w.stop(200) is False            # a step that does not end: stop() does not hang
    assert time.perf_counter() - began < 1.0
    release.set()
    assert w.wait(5000)
    assert ran == []
    qtbot.waitUntil(lambda: any(r.request_id == later for r in results), timeout=2000)
    assert next(r for r in results if r.request_id == later).status is Status.CANCELLED


def test_models_are_loaded_once_and_described(qtbot, worker, tiny_models):
    source = str(tiny_models["cvae"])
    worker.submit(Request("load", load_info_job(source)))
    worker.submit(Request("again", lambda ctx: ctx.model(source) is ctx.model(source)))
    results = wait_for(qtbot, worker, 2)
    info = next(r.value for r in results if r.channel == "load")
    assert isinstance(info, ModelInfo)
    assert info.kind == "vae" and info.latent_shape == (4,) and info.image_shape == (1, 28, 28)
    assert info.can("conditional") and info.num_classes == 10 and info.can("encoder")
    assert not info.can("sampler") and not info.can("truncation")
    assert next(r.value for r in results if r.channel == "again") is True


def test_reopening_an_overwritten_checkpoint_gives_the_new_weights(qtbot, worker, tmp_path):
    import shutil

    from tests.conftest import make_tiny_checkpoint

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_tiny_checkpoint("vae", tmp_path / "a", seed=1)
    second = make_tiny_checkpoint("vae", tmp_path / "b", seed=2)
    path = tmp_path / "model.safetensors"
    shutil.copy(first, path)

    def weights(ctx):
        return next(iter(ctx.model(str(path)).net.parameters())).detach().clone()

    worker.submit(Request("w", weights))
    old = wait_for(qtbot, worker, 1)[0].value
    shutil.copy(second, path)
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))   # a new version, even on coarse clocks
    worker.submit(Request("w", weights))
    new = wait_for(qtbot, worker, 2)[1].value
    assert not np.array_equal(old.numpy(), new.numpy())


def test_worker_caches_are_bounded():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1           # "a" is now the most recently used
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2


def test_a_bad_checkpoint_comes_back_as_a_readable_error(qtbot, worker, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"this is not a checkpoint")
    worker.submit(Request("load", load_info_job(str(bad))))
    (result,) = wait_for(qtbot, worker, 1)
    assert not result.ok
    assert "broken.safetensors" in result.error
    assert "Traceback" not in result.error


def test_non_finite_output_is_an_error_result(qtbot, worker, tiny_models, tmp_path):
    import torch

    from explorer.jobs.latent import decode_job
    from models.checkpoint import load_checkpoint, save_checkpoint

    model = load_checkpoint(tiny_models["vae"])
    with torch.no_grad():
        for p in model.net.parameters():
            p.mul_(1e30)           # finite weights whose activations overflow to infinity
    path = tmp_path / "overflow.safetensors"
    save_checkpoint(path, model.net, model.metadata)
    worker.submit(Request("latent", decode_job(str(path), np.full(4, 3.0, np.float32))))
    (result,) = wait_for(qtbot, worker, 1)
    assert result.status is Status.ERROR
    assert "NaN or infinite" in result.error


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


def test_while_a_long_job_runs_other_requests_get_a_bounded_share_of_the_thread(qtbot, worker):
    steps: list[float] = []

    def long(ctx):
        for i in range(100_000):
            time.sleep(0.004)
            steps.append(time.perf_counter())
            yield None

    busy: list[float] = []

    def frame(ctx):
        began = time.perf_counter()
        time.sleep(0.002)
        busy.append(time.perf_counter() - began)
        return len(busy)

    worker.submit(Request("long", long))
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=5000)
    began = time.perf_counter()
    while time.perf_counter() - began < 0.6:      # a request always waiting, like a fast drag
        worker.submit(Request("drag", frame))
        qtbot.wait(1)
    elapsed = time.perf_counter() - began
    worker.cancel("long")
    assert len(busy) >= 5                          # served all along, not only at the end
    assert sum(busy) / elapsed <= 0.2             # without the bound they take nearly all of it
