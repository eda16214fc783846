"""The diffusion view's jobs without Qt: frames against a bare sampling loop, reproducibility,
cancellation, the forward process, the kept-step store and the GIF export."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from PIL import Image

from models.cuda_graph import CUDAGraphedNet, cuda_graphed
from explorer.jobs.diffusion import (EPS_RANGE, DiffusionError, DiffusionSettings, ForwardStart, GridLayout,
                                     ImageSource, StepFrame, export_gif_job, forward_preview_job, frame_positions,
                                     gif_frames, run_batches, run_frames, run_job)
from explorer.views.step_store import StepStore, selection_size
from explorer.job_context import Cancelled
from models.checkpoint import load_checkpoint
from models.capabilities import noise_seed
from models.generative import build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class FakeContext:
    """What a job sees of the worker (the model, whether it is cancelled), and a driver that runs
    a job as the worker does: a long job step by step, collecting the streamed StepFrames, and
    cancelled (Cancelled thrown at its step) once `cancel_after` frames have come."""

    def __init__(self, model, cancel_after: int | None = None):
        self._model = model
        self.partials: list[StepFrame] = []
        self.cancel_after = cancel_after
        self.cancelled = False
        self.others_waiting = False

    def model(self, source):
        return self._model

    def dataset(self, split="test", image_shape=(1, 28, 28), data=None):
        from models.data import load_dataset

        return load_dataset(data, split=split, image_shape=image_shape)

    def run(self, job):
        value = job(self)
        if not inspect.isgenerator(value):
            return value
        try:
            report = next(value)
            while True:
                self._take(report)
                if self.cancel_after is not None and len(self.partials) >= self.cancel_after and not self.cancelled:
                    self.cancelled = True
                    report = value.throw(Cancelled())
                else:
                    report = next(value)
        except StopIteration as finished:
            return finished.value

    def _take(self, report):
        if report is not None and report.partial is not None:
            partial = report.partial
            assert isinstance(partial, tuple) and partial[-1].position + 1 == report.done
            self.partials.extend(partial)


@pytest.fixture(scope="module")
def ddpm(tiny_models):
    return load_checkpoint(tiny_models["ddpm"])


@pytest.fixture(scope="module")
def short_ddpm():
    """A tiny unconditional DDPM whose schedule has only 12 timesteps, so DDPM runs are short."""
    torch.manual_seed(1)
    return build_model("unet-ddpm", {"image_shape": [1, 8, 8], "base_channels": 8, "channel_mults": [1],
                                     "time_embed_dim": 16}, {"schedule": {"num_timesteps": 12}})


def u8(x: torch.Tensor, scale: float = 1.0) -> np.ndarray:
    """[-1, 1] (or [-scale, scale]) tensors (n, C, H, W) -> (n, H, W, C) uint8, as the view shows them."""
    return ((x / scale).clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)).permute(0, 2, 3, 1).numpy()


def bare_steps(model, s: DiffusionSettings):
    x = model.sample_latent(s.batch, s.seed)
    labels = None if s.class_index is None else torch.full((s.batch,), s.class_index)
    return list(model.sampler.steps(x, labels, s.guidance, s.sampler, s.num_steps, s.eta, s.seed))


def tiles(frame: StepFrame, kind: int) -> np.ndarray:
    return np.stack([frame.layout.tile(frame.images[kind], i) for i in range(frame.layout.count)])


# -- frames against a bare loop -----------------------------------------------------------------

def test_frames_match_a_bare_sampling_loop(ddpm):
    s = DiffusionSettings(sampler="ddim", num_steps=6, batch=5, seed=4, class_index=3, guidance=1.5)
    frames = list(run_frames(ddpm, s))
    steps = bare_steps(ddpm, s)
    assert [f.position for f in frames] == list(range(6))
    assert [f.t for f in frames] == [st.t for st in steps]
    assert frames[0].images.shape == (3, *GridLayout.for_batch(5, (1, 28, 28)).shape)
    for frame, step in zip(frames, steps):
        np.testing.assert_array_equal(tiles(frame, 0), u8(step.x_t))
        np.testing.assert_array_equal(tiles(frame, 1), u8(step.x0_pred))
        np.testing.assert_array_equal(tiles(frame, 2), u8(step.eps, EPS_RANGE))
        assert frame.x_std == pytest.approx(float(step.x_t.std()), rel=1e-5)
    assert math.isnan(frames[0].x0_change)
    change = float((steps[3].x0_pred - steps[2].x0_pred).square().mean().sqrt())
    assert frames[3].x0_change == pytest.approx(change, rel=1e-5)


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_x0_at_the_last_step_equals_the_final_sample(ddpm, short_ddpm, sampler):
    model = ddpm if sampler == "ddim" else short_ddpm
    s = DiffusionSettings(sampler=sampler, num_steps=5, batch=2, seed=2)
    ctx = FakeContext(model)
    summary = ctx.run(run_job("m", s))
    last = ctx.partials[-1]
    assert len(ctx.partials) == summary.steps_done == summary.total == (5 if sampler == "ddim" else 12)
    np.testing.assert_array_equal(last.images[1], last.images[0])
    np.testing.assert_array_equal(summary.final, tiles(last, 0))
    np.testing.assert_array_equal(summary.final, u8(bare_steps(model, s)[-1].x_t))
    # earlier steps are still noisy: x_t and x0 differ there
    assert not np.array_equal(ctx.partials[0].images[0], ctx.partials[0].images[1])


def test_ddim_eta_zero_is_reproducible(ddpm):
    s = DiffusionSettings(sampler="ddim", num_steps=4, eta=0.0, batch=2, seed=11, class_index=1)
    a, b = list(run_frames(ddpm, s)), list(run_frames(ddpm, s))
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa.images, fb.images)
        assert fa.x_std == fb.x_std
    other = list(run_frames(ddpm, DiffusionSettings(sampler="ddim", num_steps=4, batch=2, seed=12, class_index=1)))
    assert not np.array_equal(a[-1].images, other[-1].images)


def test_noisy_samplers_are_reproducible_from_the_seed(short_ddpm):
    s = DiffusionSettings(sampler="ddpm", batch=2, seed=5)
    a, b = list(run_frames(short_ddpm, s)), list(run_frames(short_ddpm, s))
    np.testing.assert_array_equal(a[-1].images, b[-1].images)
    # the per-step noise does not replay the starting noise (a separate stream)
    x_T = short_ddpm.sample_latent(2, 5)
    first_noise = torch.randn(x_T.shape, generator=torch.Generator().manual_seed(noise_seed(5)))
    assert not torch.equal(first_noise, x_T)


# -- cancellation -------------------------------------------------------------------------------

def test_cancel_stops_within_one_step(ddpm):
    calls = []
    handle = ddpm.net.register_forward_hook(lambda *_: calls.append(1))
    try:
        ctx = FakeContext(ddpm, cancel_after=3)
        with pytest.raises(Cancelled):
            ctx.run(run_job("m", DiffusionSettings(sampler="ddim", num_steps=20, batch=1)))
    finally:
        handle.remove()
    # fast steps may reach the view in bundles: the cancel comes at the first bundle of >= 3
    assert 3 <= len(ctx.partials) < 20
    assert len(calls) == len(ctx.partials)      # no network call after the cancelled step
    assert ddpm.net.__class__.__name__ == "UNet"


def test_steps_come_in_consecutive_batches_and_a_cancel_flushes_at_once(ddpm, monkeypatch):
    import explorer.jobs.diffusion as jobs

    monkeypatch.setattr(jobs, "PACK_INTERVAL_S", 60.0)      # batches end only when full
    s = DiffusionSettings(sampler="ddim", num_steps=20, batch=2, seed=6)
    batches = list(run_batches(ddpm, s))
    assert [len(b) for b in batches] == [jobs.PACK_CAPACITY, 20 - jobs.PACK_CAPACITY]
    frames = [f for b in batches for f in b]
    assert [f.position for f in frames] == list(range(20))
    # batching changes nothing in what is kept: the same frames as one at a time
    monkeypatch.setattr(jobs, "PACK_CAPACITY", 1)
    for a, b in zip(frames, run_frames(ddpm, s), strict=True):
        np.testing.assert_array_equal(a.images, b.images)
        assert a.x_std == pytest.approx(b.x_std) and a.x0_change == pytest.approx(b.x0_change, nan_ok=True)

    calls = []
    handle = ddpm.net.register_forward_hook(lambda *_: calls.append(1))
    try:
        monkeypatch.setattr(jobs, "PACK_CAPACITY", 16)
        got = list(run_batches(ddpm, s, cancelled=lambda: len(calls) >= 5))
    finally:
        handle.remove()
    assert [len(b) for b in got] == [5] and len(calls) == 5


# -- the forward process ------------------------------------------------------------------------

def test_forward_preview_snaps_t_and_the_run_starts_there(ddpm, tmp_path):
    picture = ((np.arange(28 * 28).reshape(28, 28) * 7) % 256).astype(np.uint8)
    path = tmp_path / "picture.png"
    Image.fromarray(picture, "L").resize((56, 56)).save(path)
    s = DiffusionSettings(sampler="ddim", num_steps=10, batch=2, seed=3)
    start = ForwardStart(ImageSource("file", path=str(path)), t=400)
    preview = FakeContext(ddpm).run(forward_preview_job("m", start, s))
    timesteps = ddpm.sampler.make("ddim", 10).timesteps
    assert preview.t in timesteps and preview.start_index == timesteps.index(preview.t)
    assert abs(preview.t - 400) <= (timesteps[0] - timesteps[1]) / 2
    assert preview.original.shape == (28, 28, 1)
    x0 = torch.from_numpy(preview.original).permute(2, 0, 1)[None].double() / 127.5 - 1
    noise = ddpm.sample_latent(1, 3).double()
    expected = ddpm.sampler.schedule.add_noise(x0, preview.t, noise).float()
    np.testing.assert_array_equal(preview.noised, u8(expected)[0])
    assert preview.alpha_bar == pytest.approx(float(ddpm.sampler.schedule.alpha_bars[preview.t]))

    ctx = FakeContext(ddpm)
    summary = ctx.run(run_job("m", s, start))
    assert summary.start_t == preview.t
    assert len(ctx.partials) == 10 - preview.start_index
    assert ctx.partials[0].t == preview.t and ctx.partials[0].index == preview.start_index
    np.testing.assert_array_equal(ctx.partials[-1].images[0], ctx.partials[-1].images[1])


def test_forward_from_an_array_and_bad_sources(ddpm, tmp_path):
    s = DiffusionSettings(num_steps=5)
    image = np.full((28, 28, 1), 200, np.uint8)
    preview = FakeContext(ddpm).run(forward_preview_job("m", ForwardStart(ImageSource("array", array=image), 0), s))
    np.testing.assert_array_equal(preview.original, image)
    with pytest.raises(DiffusionError, match="uint8"):
        FakeContext(ddpm).run(forward_preview_job("m", ForwardStart(ImageSource("array", array=image[..., 0]), 10), s))
    with pytest.raises(DiffusionError, match="between 0 and 999"):
        FakeContext(ddpm).run(forward_preview_job("m", ForwardStart(ImageSource("array", array=image), 1000), s))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    from models.data import DataError

    with pytest.raises(DataError, match="cannot read the image"):
        FakeContext(ddpm).run(forward_preview_job("m", ForwardStart(ImageSource("file", path=str(broken)), 10), s))


# -- validation ---------------------------------------------------------------------------------

def test_bad_settings_are_refused_with_a_reason(ddpm, short_ddpm, tiny_models):
    with pytest.raises(DiffusionError, match="unconditional"):
        list(run_frames(short_ddpm, DiffusionSettings(sampler="ddpm", class_index=0)))
    with pytest.raises(DiffusionError, match="1 to 16"):
        list(run_frames(ddpm, DiffusionSettings(batch=17)))
    with pytest.raises(DiffusionError, match="class 10 does not exist"):
        list(run_frames(ddpm, DiffusionSettings(class_index=10)))
    with pytest.raises(DiffusionError, match="between 1 and 1000"):
        list(run_frames(ddpm, DiffusionSettings(num_steps=0)))
    with pytest.raises(DiffusionError, match="not step by step"):
        FakeContext(load_checkpoint(tiny_models["vae"])).run(run_job("vae", DiffusionSettings()))


# -- grids, store and GIF -----------------------------------------------------------------------

def test_grid_layout():
    layout = GridLayout.for_batch(5, (1, 4, 6), gap=1)
    assert (layout.rows, layout.cols) == (2, 3)
    assert layout.shape == (2 * 5 - 1, 3 * 7 - 1, 1)
    grid = np.zeros(layout.shape, np.uint8)
    grid[5:9, 7:13] = 9      # sample 4 = row 1, column 1
    assert (layout.tile(grid, 4) == 9).all() and (layout.tile(grid, 3) == 0).all()
    with pytest.raises(IndexError):
        layout.tile(grid, 5)
    assert GridLayout.for_batch(1, (3, 8, 8)).shape == (8, 8, 3)


def test_frame_positions():
    assert frame_positions(10, 4) == [0, 4, 8, 9]
    assert frame_positions(10, 3) == [0, 3, 6, 9]
    assert frame_positions(1, 5) == [0]
    assert frame_positions(0, 5) == []
    assert selection_size(1000, 10) == 101


def test_store_keeps_steps_and_survives_a_partial_run(ddpm):
    frames = list(run_frames(ddpm, DiffusionSettings(num_steps=6, batch=3, seed=1)))
    store = StepStore()
    store.start(6, "test")
    for frame in frames[:4]:      # a run cancelled after 4 steps
        store.add(frame)
    store.finish()
    assert len(store) == 4 and not store.complete and store.finished
    for p in range(4):
        np.testing.assert_array_equal(store.grids(p), frames[p].images)
        assert store.t(p) == frames[p].t
    np.testing.assert_array_equal(store.sample(3, 2, "x0"), frames[3].layout.tile(frames[3].images[1], 2))
    with pytest.raises(IndexError):
        store.image(4)
    images, positions, ts = store.export_selection(3)
    assert positions == [0, 3] and ts == [frames[0].t, frames[3].t]
    np.testing.assert_array_equal(images[1], frames[3].images)
    # out of order: a gap keeps the later step unreachable until the gap is filled
    store.start(6)
    store.add(frames[0])
    store.add(frames[2])
    assert len(store) == 1
    store.add(frames[1])
    assert len(store) == 3 and store.position_of_t(frames[2].t) == 2


def test_export_gif_job_writes_the_expected_frames(ddpm, tmp_path):
    frames = list(run_frames(ddpm, DiffusionSettings(num_steps=8, batch=2, seed=8)))
    store = StepStore()
    for frame in frames:
        store.add(frame)
    images, positions, ts = store.export_selection(3)
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "run.gif"
    written = FakeContext(ddpm).run(export_gif_job(str(path), images, positions, ts, store.total, "all", 12))
    assert written == str(path)
    with Image.open(path) as im:
        assert positions == [0, 3, 6, 7]
        assert im.n_frames == 4
        im.seek(0)
        first = np.asarray(im.convert("L"))
        im.seek(3)
        last = np.asarray(im.convert("L"))
    # the caption strip under the grids differs between steps (the step number is drawn)
    assert not np.array_equal(first[-12:], last[-12:])
    assert sorted(p.name for p in folder.iterdir()) == ["run.gif"]     # no temporary file left
    with pytest.raises(DiffusionError):
        gif_frames(images[:0], [], [], 8)


# -- CUDA graphs (the CPU side of the guard) ----------------------------------------------------

def test_cuda_graph_wrapper_is_transparent_on_cpu(ddpm):
    net = ddpm.net
    wrapper = CUDAGraphedNet(net)
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([5, 500, 999])
    labels = torch.tensor([0, 4, 10])          # 10 = the null class
    with torch.no_grad():
        assert torch.equal(wrapper(x, t, labels), net(x, t, labels))
        # the capture-safe form of the labels (one-hot weights) gives the same noise prediction
        weights = wrapper._label_weights(labels, 3, x.device)
        assert weights.shape == (3, 11)
        assert torch.allclose(net(x, t, weights), net(x, t, labels), atol=1e-6, rtol=0)
    with cuda_graphed(ddpm) as graphed:
        assert graphed is False and ddpm.net is net
    assert ddpm.net is net
