"""Jobs of the diffusion view: a DDPM / DDIM run streamed step by step, the forward (noising)
process, and the run as a GIF.

A run yields one `StepFrame` per sampler step: x_t, the predicted clean image x0 and the predicted
noise, each already tiled into a uint8 grid, plus two statistics. The steps are collected on the
model's device and converted a batch at a time (one or two steps on a CPU, up to sixteen on a
GPU) in a dozen whole-batch ops, and only the small uint8 grids cross to the CPU, so keeping
every step costs little beside the step itself. On CUDA the copy is asynchronous and a batch is
handed on once the next one is computed; the network call itself is replayed from a CUDA graph.

Torch is imported inside the functions that need it: the view imports the plain data types here
(settings, frames, the grid layout, GIF frame composition) without pulling torch into the UI.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.model_info import ModelInfo

if TYPE_CHECKING:
    from torch import Tensor

    from explorer.job_context import JobContext
    from models.data import ImageDataset
    from models.generative import GenerativeModel
    from models.steps import Steps

CHANNEL = "diffusion"
PREVIEW_CHANNEL = "diffusion-forward"
EXPORT_CHANNEL = "diffusion-export"

SAMPLERS = ("ddpm", "ddim")
KINDS = ("x_t", "x0", "eps")                       # the order of the three grids in a frame
KIND_TITLES = {"x_t": "x_t (sample)", "x0": "predicted x0", "eps": "predicted noise"}
SHOW_CHOICES = ("x_t", "x0", "eps", "all")
MAX_BATCH = 16
# Predicted noise is ~N(0, 1): [-3, 3] holds all but a few pixels in a thousand.
EPS_RANGE = 3.0
GRID_GAP = 1
BACKGROUND = 40                                     # gutter grey between tiles and around captions
SEND_INTERVAL_S = 0.008                            # streamed steps are bundled up to this long
GIF_MIN_WIDTH = 256
GIF_MAX_SCALE = 8


class DiffusionError(ValueError):
    """A run that cannot be done as asked; the message says why and what to change."""


# -- plain data --------------------------------------------------------------------------------

@dataclass(frozen=True)
class DiffusionSettings:
    sampler: str = "ddim"             # "ddpm": every timestep; "ddim": num_steps of them
    num_steps: int = 50               # DDIM only
    eta: float = 0.0                  # DDIM only: 0 deterministic, 1 as noisy as DDPM
    seed: int = 0
    batch: int = 1
    class_index: int | None = None    # None: unconditional (the null class of a conditional model)
    guidance: float = 1.0             # classifier-free guidance scale w, with a class (the DDPM default)
    cuda_graphs: bool = True

    def describe(self) -> str:
        parts = ["DDPM" if self.sampler == "ddpm" else f"DDIM {self.num_steps} steps, eta {self.eta:g}",
                 f"seed {self.seed}", f"batch {self.batch}"]
        if self.class_index is not None:
            parts.append(f"class {self.class_index}, guidance {self.guidance:g}")
        return " · ".join(parts)


@dataclass(frozen=True)
class GridLayout:
    """How a batch of images is tiled into one picture: rows x cols tiles, `gap` pixels apart."""

    count: int
    rows: int
    cols: int
    height: int
    width: int
    channels: int
    gap: int = GRID_GAP

    @classmethod
    def for_batch(cls, count: int, image_shape: Sequence[int], gap: int = GRID_GAP) -> GridLayout:
        c, h, w = (int(s) for s in image_shape)
        cols = max(1, math.ceil(math.sqrt(count)))
        rows = max(1, math.ceil(count / cols))
        return cls(int(count), rows, cols, h, w, c, gap)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the whole grid."""
        return (self.rows * (self.height + self.gap) - self.gap,
                self.cols * (self.width + self.gap) - self.gap, self.channels)

    def tile(self, grid: np.ndarray, i: int) -> np.ndarray:
        """Image i of the batch, (h, w, C), cut out of a grid."""
        if not 0 <= i < self.count:
            raise IndexError(f"sample {i} is not in a batch of {self.count}")
        r, c = divmod(i, self.cols)
        y, x = r * (self.height + self.gap), c * (self.width + self.gap)
        return grid[y:y + self.height, x:x + self.width]


@dataclass(frozen=True)
class StepFrame:
    """One sampler step as the view keeps it."""

    position: int          # 0 .. total-1 within this run
    index: int             # the sampler's step index (differs from position after a forward start)
    t: int                 # the timestep the network was evaluated at
    total: int             # steps this run will make
    images: np.ndarray     # (3, H, W, C) uint8 grids in KINDS order
    x_std: float           # std of x_t over the batch
    x0_change: float       # RMS change of predicted x0 since the previous step (nan at the first)
    layout: GridLayout


@dataclass(frozen=True)
class RunSummary:
    steps_done: int
    total: int
    final: np.ndarray      # (n, h, w, C) uint8: the samples after the last step
    elapsed_s: float
    device: str
    cuda_graphs: bool
    start_t: int | None    # the noise level a forward-process run started from


@dataclass(frozen=True)
class ScheduleInfo:
    """The model's noise schedule for plotting: float64 (T,) arrays."""

    kind: str
    betas: np.ndarray
    alpha_bars: np.ndarray
    snr: np.ndarray

    @property
    def num_timesteps(self) -> int:
        return int(self.betas.shape[0])


@dataclass(frozen=True)
class DiffusionModel:
    info: ModelInfo
    schedule: ScheduleInfo


@dataclass(frozen=True)
class ImageSource:
    """The clean image a forward-process run starts from."""

    kind: str                          # "dataset" | "file" | "array"
    index: int = 0                     # dataset item (test split)
    path: str = ""                     # image file
    array: np.ndarray | None = field(default=None, compare=False)   # (h, w, C) uint8

    def describe(self) -> str:
        if self.kind == "dataset":
            return f"dataset item {self.index}"
        if self.kind == "file":
            return Path(self.path).name
        return "current sample"


@dataclass(frozen=True)
class ForwardStart:
    source: ImageSource
    t: int                             # requested noise level; snapped to the sampler's timesteps


@dataclass(frozen=True)
class ForwardPreview:
    original: np.ndarray               # (h, w, C) uint8
    noised: np.ndarray                 # (h, w, C) uint8: the first sample's start of the run
    t: int                             # the timestep actually used
    start_index: int
    total_steps: int                   # steps the sampler has in all
    label: int | None                  # the dataset item's class, where known
    alpha_bar: float
    snr: float


# -- small helpers the view and the command line share ----------------------------------------

def frame_positions(total: int, every: int) -> list[int]:
    """The steps a GIF shows: every k-th from the first, and always the last."""
    if total <= 0:
        return []
    every = max(1, int(every))
    positions = list(range(0, total, every))
    if positions[-1] != total - 1:
        positions.append(total - 1)
    return positions


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):   # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def gif_scale(images: np.ndarray, show: str) -> int:
    """The whole-number enlargement that makes a frame of `show` at least GIF_MIN_WIDTH wide."""
    # "all" puts three grids side by side: each may be narrower than a lone one
    min_width = GIF_MIN_WIDTH if show != "all" else GIF_MIN_WIDTH * 2 // 3
    return max(1, min(GIF_MAX_SCALE, math.ceil(min_width / max(1, images.shape[-2]))))


def compose_gif_frame(images: np.ndarray, show: str, caption: str, scale: int | None = None) -> np.ndarray:
    """One GIF frame (H', W', C) uint8 from a step's grids (3, H, W, C): the chosen grid(s)
    enlarged, with the caption beneath (and, for "all", the three titles above)."""
    from PIL import Image, ImageDraw

    if show not in SHOW_CHOICES:
        raise DiffusionError(f"unknown view {show!r}; choose one of {', '.join(SHOW_CHOICES)}")
    grids = [images[KINDS.index(show)]] if show != "all" else list(images)
    h, w, c = grids[0].shape
    scale = scale or gif_scale(images, show)
    gap = 4 * scale
    font = _font(max(10, min(16, 6 + 2 * scale)))
    text_h = int(font.getbbox("Ag0")[3]) + 6
    header = text_h if show == "all" else 0
    mode = "L" if c == 1 else "RGB"
    size = (len(grids) * w * scale + (len(grids) - 1) * gap, header + h * scale + text_h)
    canvas = Image.new(mode, size, BACKGROUND if c == 1 else (BACKGROUND,) * 3)
    draw = ImageDraw.Draw(canvas)
    white = 255 if c == 1 else (255, 255, 255)
    for i, grid in enumerate(grids):
        x = i * (w * scale + gap)
        tile = Image.fromarray(np.ascontiguousarray(grid[..., 0] if c == 1 else grid), mode)
        canvas.paste(tile.resize((w * scale, h * scale), Image.Resampling.NEAREST), (x, header))
        if header:
            title = KIND_TITLES[KINDS[i]]
            draw.text((x + max(0.0, (w * scale - draw.textlength(title, font=font)) / 2), 2), title,
                      fill=white, font=font)
    draw.text((4, header + h * scale + 3), caption, fill=white, font=font)
    array = np.asarray(canvas, dtype=np.uint8)
    return array[..., None] if c == 1 else array


def step_caption(position: int, total: int, t: int) -> str:
    return f"step {position + 1}/{total}   t = {t}"


def gif_frames(images: np.ndarray, positions: Sequence[int], ts: Sequence[int], total: int,
               show: str = "x_t", check: Callable[[], None] | None = None) -> np.ndarray:
    """GIF frames for the steps at `positions` of a run: `images` holds those steps' grids
    (len(positions), 3, H, W, C) and `ts` their timesteps. `check()` may raise to stop."""
    if len(images) == 0:
        raise DiffusionError("there are no steps to export; run the sampler first")
    scale = gif_scale(images[0], show)
    frames = []
    for grids, position, t in zip(images, positions, ts):
        if check is not None:
            check()
        frames.append(compose_gif_frame(grids, show, step_caption(position, total, t), scale))
    return np.stack(frames)


# -- image sources for the forward process ----------------------------------------------------

def load_source_image(source: ImageSource, image_shape: Sequence[int],
                      test_split: ImageDataset | None = None) -> tuple[np.ndarray, int | None]:
    """The clean image (h, w, C) uint8 in the model's shape, and its class where known. A dataset
    item comes from `test_split` (the test split in the model's shape)."""
    from models.data import read_image

    c, h, w = (int(s) for s in image_shape)
    if source.kind == "dataset":
        if test_split is None:
            raise DiffusionError("a dataset item needs the test split")
        if not 0 <= source.index < len(test_split):
            raise DiffusionError(f"dataset item {source.index} does not exist: the test split has "
                                 f"items 0 to {len(test_split) - 1}")
        label = int(test_split.labels[source.index])
        return (np.ascontiguousarray(test_split.images[source.index].transpose(1, 2, 0)),
                (label if label >= 0 else None))
    if source.kind == "file":
        return np.ascontiguousarray(read_image(source.path, (c, h, w)).transpose(1, 2, 0)), None
    if source.kind == "array":
        array = source.array
        if array is None or array.dtype != np.uint8 or array.shape != (h, w, c):
            got = None if array is None else f"{array.dtype} {array.shape}"
            raise DiffusionError(f"the image must be uint8 {(h, w, c)} for this model, got {got}; run "
                                 f"a sample first")
        return np.ascontiguousarray(array), None
    raise DiffusionError(f"unknown image source {source.kind!r}")


# -- the run -----------------------------------------------------------------------------------

def as_ddpm(model: GenerativeModel, source: str = "") -> GenerativeModel:
    """`model`, or DiffusionError when it is not an iterative model (it has no sampler)."""
    if model.sampler is None:
        name = source or model.name
        raise DiffusionError(f"{name} is a {model.kind.title}: it makes its image in one pass, not step by "
                             f"step; choose a DDPM checkpoint")
    return model


def check_settings(model: GenerativeModel, settings: DiffusionSettings) -> None:
    T = model.sampler.schedule.num_timesteps
    if settings.sampler not in SAMPLERS:
        raise DiffusionError(f"unknown sampler {settings.sampler!r}; use 'ddpm' or 'ddim'")
    if settings.sampler == "ddim" and not 1 <= settings.num_steps <= T:
        raise DiffusionError(f"DDIM steps must be between 1 and {T}, got {settings.num_steps}")
    if settings.eta < 0:
        raise DiffusionError(f"eta must be 0 or more, got {settings.eta:g}")
    if not 1 <= settings.batch <= MAX_BATCH:
        raise DiffusionError(f"the batch must hold 1 to {MAX_BATCH} samples, got {settings.batch}")
    if settings.guidance < 0:
        raise DiffusionError(f"the guidance scale must be 0 or more, got {settings.guidance:g}")
    if settings.class_index is not None:
        if model.conditional is None:
            raise DiffusionError(f"{model.name} is unconditional: it takes no class")
        if not 0 <= settings.class_index < model.conditional.num_classes:
            raise DiffusionError(f"class {settings.class_index} does not exist: {model.name} has classes "
                                 f"0 to {model.conditional.num_classes - 1}")


def nearest_step(timesteps: Sequence[int], t: int) -> int:
    """The index of the sampler timestep closest to t (the first of two equally close)."""
    return min(range(len(timesteps)), key=lambda i: (abs(timesteps[i] - int(t)), i))


def _forward_start(model: GenerativeModel, start: ForwardStart, timesteps: Sequence[int], n: int,
                   seed: int, test_split: ImageDataset | None) -> tuple[Tensor, Tensor, int, int | None]:
    """(clean images, noised images, start index, label): the image noised to the nearest
    sampler timestep, once per sample, each copy with its own noise."""
    import torch

    T = model.sampler.schedule.num_timesteps
    if not 0 <= int(start.t) < T:
        raise DiffusionError(f"the noise level t must be between 0 and {T - 1}, got {start.t}")
    image, label = load_source_image(start.source, model.image_shape, test_split)
    x0 = torch.from_numpy(image).permute(2, 0, 1).float().div(127.5).sub(1.0)   # (C, h, w) in [-1, 1]
    x0 = x0.unsqueeze(0).expand(n, *x0.shape).contiguous()
    index = nearest_step(timesteps, start.t)
    noise = model.sample_latent(n, seed)
    noised = model.sampler.schedule.add_noise(x0.double(), timesteps[index], noise.double()).float()
    return x0, noised, index, label


class _FramePacker:
    """Collects a run's newest steps on the model's device and turns them, a batch at a time,
    into uint8 grids and statistics: a dozen whole-batch ops per batch instead of per step."""

    def __init__(self, layout: GridLayout, device: Any, capacity: int) -> None:
        import torch

        self.layout = layout
        L = layout
        self.capacity = capacity
        self._steps = torch.empty((capacity, 3, L.count, L.channels, L.height, L.width), device=device)
        self.count = 0
        self._canvas = torch.full((capacity, 3, L.channels, L.rows * (L.height + L.gap), L.cols * (L.width + L.gap)),
                                  BACKGROUND, dtype=torch.uint8, device=device)
        self._tiles = self._canvas.view(capacity, 3, L.channels, L.rows, L.height + L.gap, L.cols,
                                        L.width + L.gap)[..., :L.height, :, :L.width]
        gh, gw, _ = L.shape
        self._grids = self._canvas[..., :gh, :gw].permute(0, 1, 3, 4, 2)     # (capacity, 3, H, W, C) view
        self._missing = L.rows * L.cols - L.count
        self._prev_x0: Tensor | None = None

    def add(self, x_t: Tensor, x0: Tensor, eps: Tensor) -> None:
        import torch

        torch.stack((x_t.float(), x0.float(), eps.float()), out=self._steps[self.count])
        self.count += 1

    def pack(self) -> tuple[Tensor, Tensor]:
        """The collected steps as ((k, 3, H, W, C) uint8 grids, (k, 2) [std of x_t, RMS change of
        x0]); starts a new batch."""
        import torch

        L, k = self.layout, self.count
        steps = self._steps[:k]                                            # (k, 3, n, C, h, w)
        x_std = steps[:, 0].reshape(k, -1).std(dim=1)
        x0 = steps[:, 1]
        first = torch.full_like(x0[:1], math.nan) if self._prev_x0 is None else self._prev_x0
        before = torch.cat((first, x0[:-1]))
        change = (x0 - before).square().reshape(k, -1).mean(dim=1).sqrt()
        self._prev_x0 = x0[-1:].clone()
        steps[:, 2].mul_(1.0 / EPS_RANGE)
        pixels = steps.clamp_(-1.0, 1.0).add_(1.0).mul_(127.5).round_().to(torch.uint8)
        if self._missing:
            blank = pixels.new_full((k, 3, self._missing, L.channels, L.height, L.width), BACKGROUND)
            pixels = torch.cat((pixels, blank), dim=2)
        self._tiles[:k].copy_(pixels.view(k, 3, L.rows, L.cols, L.channels, L.height, L.width)
                              .permute(0, 1, 4, 2, 5, 3, 6))
        self.count = 0
        return self._grids[:k].contiguous(), torch.stack((x_std, change), dim=1)


class _Transfer:
    """A packed batch on its way to the CPU: asynchronous on CUDA (finished one batch later)."""

    def __init__(self, grids: Tensor, stats: Tensor) -> None:
        import torch

        self.event = None
        if grids.device.type == "cuda":
            # Non-blocking device-to-host copies land in pinned memory; the event says when.
            self.grids = grids.to("cpu", non_blocking=True)
            self.stats = stats.to("cpu", non_blocking=True)
            self.event = torch.cuda.Event()
            self.event.record()
        else:
            self.grids = grids.cpu()
            self.stats = stats.cpu()

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        if self.event is not None:
            self.event.synchronize()
            # Copy out of the pinned block so it goes back to the allocator's cache at once.
            return self.grids.numpy().copy(), self.stats.numpy().astype(np.float64)
        return self.grids.numpy(), self.stats.numpy().astype(np.float64)


# Steps are packed together until this many are collected or the first of them is this old.
PACK_CAPACITY = 16
PACK_INTERVAL_S = 0.008


def run_batches(model: GenerativeModel, settings: DiffusionSettings, start: ForwardStart | None = None,
                info: dict[str, Any] | None = None, cancelled: Callable[[], bool] | None = None,
                pause: Callable[[], bool] | None = None,
                test_split: ImageDataset | None = None) -> Iterator[tuple[StepFrame, ...]]:
    """A run as batches of consecutive StepFrames, lazily: stop between batches to cancel.

    Slow steps (a CPU's) come one or two at a time, fast ones (a GPU's) up to PACK_CAPACITY at
    once. While `pause()` is true (someone else waits for the thread) a batch ends after the step
    in hand. Once `cancelled()` is true, the steps made so far come out at once and the run stops
    asking for more. `info`, when given, receives "start_t" and "cuda_graphs" as soon as the run
    has begun. A forward-process start from a dataset item reads it from `test_split`."""
    import torch

    from models.cuda_graph import cuda_graphed

    as_ddpm(model)
    check_settings(model, settings)
    sampling = model.sampler
    n = settings.batch
    timesteps = sampling.make(settings.sampler, settings.num_steps, settings.eta).timesteps
    start_index = 0
    if start is None:
        x = model.sample_latent(n, settings.seed)
    else:
        _, x, start_index, _ = _forward_start(model, start, timesteps, n, settings.seed, test_split)
    total = len(timesteps) - start_index
    labels = None
    if settings.class_index is not None:
        labels = torch.full((n,), int(settings.class_index), dtype=torch.long)
    layout = GridLayout.for_batch(n, model.image_shape)
    with torch.inference_mode():
        packer = _FramePacker(layout, model.device, min(PACK_CAPACITY, total))
    with cuda_graphed(model, settings.cuda_graphs) as graphed:
        if info is not None:
            info.update(start_t=timesteps[start_index] if start is not None else None, cuda_graphs=graphed)
        steps = sampling.steps(x, labels, settings.guidance, settings.sampler, settings.num_steps,
                               settings.eta, settings.seed, start_index)
        collected: list[tuple[int, int, int]] = []          # (position, index, t) in the packer
        in_flight: tuple[_Transfer, list[tuple[int, int, int]]] | None = None
        began = 0.0
        with closing(steps):
            for position, step in enumerate(steps):
                with torch.inference_mode():
                    packer.add(step.x_t, step.x0_pred, step.eps)
                collected.append((position, step.index, step.t))
                if len(collected) == 1:
                    began = time.perf_counter()
                stop = cancelled is not None and cancelled()
                if not (stop or len(collected) == packer.capacity or position + 1 == total
                        or time.perf_counter() - began >= PACK_INTERVAL_S or (pause is not None and pause())):
                    continue
                with torch.inference_mode():
                    transfer = _Transfer(*packer.pack())
                if in_flight is not None:
                    yield _frames(*in_flight, total, layout)
                    in_flight = None
                if transfer.event is None or stop:
                    yield _frames(transfer, collected, total, layout)
                else:
                    # on CUDA the copy finishes while the next batch is computed
                    in_flight = (transfer, collected)
                collected = []
                if stop:
                    return
        if in_flight is not None:
            yield _frames(*in_flight, total, layout)


def run_frames(model: GenerativeModel, settings: DiffusionSettings, start: ForwardStart | None = None,
               info: dict[str, Any] | None = None, test_split: ImageDataset | None = None) -> Iterator[StepFrame]:
    """A run as StepFrames, one per sampler step (see run_batches)."""
    for batch in run_batches(model, settings, start, info, test_split=test_split):
        yield from batch


def _frames(transfer: _Transfer, steps: list[tuple[int, int, int]], total: int,
            layout: GridLayout) -> tuple[StepFrame, ...]:
    grids, stats = transfer.finish()
    return tuple(StepFrame(position, index, t, total, grids[i], float(stats[i, 0]), float(stats[i, 1]), layout)
                 for i, (position, index, t) in enumerate(steps))


def final_samples(frame: StepFrame) -> np.ndarray:
    """The samples (n, h, w, C) uint8 of a run's step: its x_t grid cut into tiles."""
    L = frame.layout
    return np.stack([L.tile(frame.images[0], i) for i in range(L.count)])


# -- job factories -----------------------------------------------------------------------------

def describe_job(source: str) -> Callable[[JobContext], DiffusionModel]:
    """The model's description and its noise schedule (for the plots)."""

    def job(ctx: JobContext) -> DiffusionModel:
        model = as_ddpm(ctx.model(source), source)
        s = model.sampler.schedule
        schedule = ScheduleInfo(s.config.kind, s.betas.numpy().copy(), s.alpha_bars.numpy().copy(),
                                s.snr.numpy().copy())
        return DiffusionModel(ModelInfo.from_model(source, model), schedule)

    return job


def _test_split_for(ctx: JobContext, model: GenerativeModel, start: ForwardStart | None) -> ImageDataset | None:
    if start is None or start.source.kind != "dataset":
        return None
    return ctx.dataset(model, "test")


def run_job(source: str, settings: DiffusionSettings,
            start: ForwardStart | None = None) -> Callable[[JobContext], Steps[RunSummary]]:
    """Sample (or, with `start`, denoise a noised image) as a long job: each Progress carries a
    tuple of consecutive StepFrames as its partial. Cancelled between two steps, it still sends
    the steps it has made (on a GPU, the batch still on its way to the host) before it stops."""
    from explorer.job_context import Cancelled
    from models.steps import Progress

    def steps(ctx: JobContext) -> Steps[RunSummary]:
        model = as_ddpm(ctx.model(source), source)
        began = time.perf_counter()
        info: dict[str, Any] = {}
        last: StepFrame | None = None
        batches = run_batches(model, settings, start, info, cancelled=lambda: ctx.cancelled,
                              pause=lambda: ctx.others_waiting, test_split=_test_split_for(ctx, model, start))

        def progress(frames: tuple[StepFrame, ...]) -> Progress:
            f = frames[-1]
            return Progress(f.position + 1, f.total, step_caption(f.position, f.total, f.t), frames)

        with closing(batches):
            for frames in batches:
                last = frames[-1]
                try:
                    yield progress(frames)
                except Cancelled:
                    for rest in batches:          # cancelled() is now true: what is made comes out
                        yield progress(rest)
                    raise
        if last is None:
            raise DiffusionError("the run made no steps")
        return RunSummary(last.position + 1, last.total, final_samples(last), time.perf_counter() - began,
                          str(model.device), bool(info.get("cuda_graphs")), info.get("start_t"))

    return steps


def forward_preview_job(source: str, start: ForwardStart,
                        settings: DiffusionSettings) -> Callable[[JobContext], ForwardPreview]:
    """The clean image and the first sample's noised version at the sampler timestep nearest to
    start.t: exactly where `run_job(source, settings, start)` will begin."""
    def job(ctx: JobContext) -> ForwardPreview:
        import torch

        from models.images import to_uint8

        model = as_ddpm(ctx.model(source), source)
        check_settings(model, settings)
        timesteps = model.sampler.make(settings.sampler, settings.num_steps, settings.eta).timesteps
        x0, noised, index, label = _forward_start(model, start, timesteps, 1, settings.seed,
                                                  _test_split_for(ctx, model, start))
        t = timesteps[index]
        s = model.sampler.schedule
        clean, noisy = to_uint8((torch.cat([x0[:1], noised[:1]]) + 1) / 2)
        return ForwardPreview(clean, noisy, t, index, len(timesteps), label, float(s.alpha_bars[t]), float(s.snr[t]))

    return job


def export_gif_job(path: str, images: np.ndarray, positions: Sequence[int], ts: Sequence[int], total: int,
                   show: str = "x_t", fps: float = 10.0) -> Callable[[JobContext], Steps[str]]:
    """Write the chosen steps of a kept run as a GIF (atomically, overwriting), as a long job:
    a step per frame composed, then the file."""
    from explorer.export import write_gif
    from models.steps import Progress

    def steps(ctx: JobContext) -> Steps[str]:
        frames = []
        scale = gif_scale(images[0], show) if len(images) else 1
        for i, (grids, position, t) in enumerate(zip(images, positions, ts)):
            frames.append(compose_gif_frame(grids, show, step_caption(position, total, t), scale))
            yield Progress(i + 1, len(images) + 1, "composing the GIF")
        if not frames:
            raise DiffusionError("there are no steps to export; run the sampler first")
        yield Progress(len(images), len(images) + 1, "writing the GIF")
        return str(write_gif(path, np.stack(frames), fps=fps, overwrite=True))

    return steps
