"""The latent map of a GAN that kept its discriminator carries D's realness of every cell, judged
for the class the cells were drawn as; a model without a discriminator has none."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.jobs.compare import MAP_BATCH, LatentMap, MapRows, PlaneSpec, render_map
from models.checkpoint import load_checkpoint
from models.maps import dims_plane, grid_latents
from models.steps import run_to_end
from tests.unit.test_discriminator import gan_file

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class OneModel:
    """What render_map uses of the worker's JobContext for a "dims" plane without a classifier."""

    def __init__(self, model):
        self._model = model

    def model(self, source):
        return self._model


def render(model, k: int, label: int | None = None) -> tuple[LatentMap, list[MapRows]]:
    rows: list[MapRows] = []
    steps = render_map(OneModel(model), "m", PlaneSpec("dims", (0, 1), 2.0), k, label)
    result = run_to_end(steps, lambda p: rows.append(p.partial) if isinstance(p.partial, MapRows) else None)
    return result, rows


def expected_realness(model, k: int, label: int | None) -> np.ndarray:
    z = grid_latents(dims_plane(model.latent_dim, 0, 1, extent=2.0), k, model.latent_shape)
    z = z.reshape(k * k, *model.latent_shape)
    labels = None if label is None else torch.full((k * k,), label, dtype=torch.long)
    return model.discriminator.realness(model.decode(z, labels), labels).numpy().reshape(k, k)


@pytest.mark.parametrize("name, label", [("dcgan", None), ("cgan", 3)])
def test_a_gan_s_map_carries_its_discriminator_s_realness_of_each_cell(tmp_path, name, label):
    model = load_checkpoint(gan_file(tmp_path, name)[0])
    k = 20                          # two blocks of rows: the streamed rows must add up to the map
    latent_map, rows = render(model, k, label)
    assert latent_map.realness is not None and latent_map.realness.shape == (k, k)
    assert latent_map.realness.dtype == np.float32
    assert ((latent_map.realness >= 0) & (latent_map.realness <= 1)).all()
    expected = expected_realness(model, k, label)
    assert np.allclose(latent_map.realness, expected, atol=1e-5)
    assert latent_map.realness.std() > 0           # a score per cell, not one for the whole map
    assert len(rows) == -(-k // (MAP_BATCH // k)) > 1
    assert np.array_equal(np.concatenate([r.realness for r in rows]), latent_map.realness)
    if label is not None:           # judged as the class drawn, not as class 0
        assert not np.allclose(latent_map.realness, expected_realness(model, k, 0), atol=1e-5)


def test_models_without_a_discriminator_have_no_realness(tmp_path, tiny_models):
    for source in (tiny_models["vae"], gan_file(tmp_path, "dcgan", keep=False)[0]):
        model = load_checkpoint(source)
        assert model.discriminator is None
        latent_map, rows = render(model, 6)
        assert latent_map.realness is None and all(r.realness is None for r in rows)
        assert latent_map.images.shape[:2] == (6, 6)
