"""Batched inference in bfloat16 (models/precision.py): when it is used, that it agrees with
float32, that it never stays on across a step of a step iterator, and that path lengths and the
interactive batch-1 paths keep float32."""
from __future__ import annotations

import pytest
import torch

from models import precision
from models.checkpoint import load_checkpoint
from models.metrics import WorkCount, image_renderer, path_length_steps
from models.steps import run_to_end

# Deterministic DDIM in bfloat16 against float32, images in [0, 1]: the mean difference stays
# under 1% of the range and 99% of the pixels within 0.1 of float32's. (The bundled DDPM's finished
# samples differ by 0.006 on average, 1.5 grey levels of 255; a tiny random network's by 0.002,
# with a few pixels of its untrained, saturated output flipping further.)
MEAN_TOLERANCE = 0.01
P99_TOLERANCE = 0.1

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def bfloat16_cpu(monkeypatch):
    """As on a CPU with bfloat16 instructions (elsewhere torch emulates them: same numbers, slower)."""
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: True)
    monkeypatch.delenv(precision.PRECISION_ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def ddpm(tiny_models):
    return load_checkpoint(tiny_models["ddpm"])


def test_bfloat16_is_for_large_batches_on_a_cpu_that_has_it(bfloat16_cpu, monkeypatch):
    assert precision.uses_bfloat16("cpu", precision.MIN_BATCH)
    assert not precision.uses_bfloat16("cpu", precision.MIN_BATCH - 1)    # interactive batches keep float32
    assert not precision.uses_bfloat16("cuda", 256)
    monkeypatch.setenv(precision.PRECISION_ENV_VAR, "float32")
    assert not precision.uses_bfloat16("cpu", 256)
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: False)
    monkeypatch.delenv(precision.PRECISION_ENV_VAR)
    assert not precision.uses_bfloat16("cpu", 256)


def test_the_switch_computes_in_bfloat16_inside_and_float32_after(bfloat16_cpu):
    a, b = torch.randn(32, 64), torch.randn(64, 8)
    with precision.batch_precision("cpu", 32):
        assert (a @ b).dtype == torch.bfloat16
    assert (a @ b).dtype == torch.float32
    with precision.batch_precision("cpu", 4):
        assert (a @ b).dtype == torch.float32


def _render(model, z, labels, *, float32: bool, check_between_steps: bool = False):
    render = image_renderer(model, WorkCount(len(z) * 4), ddim_steps=4, guidance=1.0, float32=float32)(z, labels)
    while True:
        try:
            next(render)
        except StopIteration as done:
            return done.value
        if check_between_steps:   # where the app's worker runs other views' requests
            assert not torch.is_autocast_enabled("cpu")


def test_bfloat16_and_float32_ddim_samples_of_a_seeded_ddpm_agree(bfloat16_cpu, ddpm):
    z = ddpm.sample_latent(precision.MIN_BATCH, seed=5)
    labels = torch.arange(precision.MIN_BATCH) % 10
    exact = _render(ddpm, z, labels, float32=True)
    fast = _render(ddpm, z, labels, float32=False, check_between_steps=True)
    assert fast.dtype == torch.float32 and fast.shape == exact.shape
    difference = (fast - exact).abs()
    assert difference.max() > 0                  # bfloat16 was used
    assert difference.mean() < MEAN_TOLERANCE
    assert difference.flatten().quantile(0.99) < P99_TOLERANCE


def test_path_lengths_stay_float32(bfloat16_cpu, ddpm, tiny_models, monkeypatch):
    judge = load_checkpoint(tiny_models["classifier"])

    def measured():
        return run_to_end(path_length_steps(ddpm, judge, 20, seed=1, spherical=True, ddim_steps=2, batch_size=40))

    with_bfloat16 = measured()
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: False)
    assert measured() == with_bfloat16
