"""Directions on disk: our JSON file tied to its model, and GANSpace's .npz component files."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from models.checkpoint import open_model
from models.direction_files import (DirectionsFileError, load_directions, model_identity,
                                    read_ganspace_components, save_directions)
from models.directions import GANSPACE_FILE, Directions
from models.sefa import sefa_of


@pytest.fixture(scope="module")
def gan(tiny_models):
    return open_model(tiny_models["dcgan"])


def some_directions(d: int) -> Directions:
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((3, d))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return Directions(rng.standard_normal(d).astype(np.float32), rows.astype(np.float32),
                      np.array([0.5, 1.25, 3.0], np.float32), "class boundaries", "from 5000 samples",
                      ("towards Sneaker", "towards Bag", "towards Ankle boot"), np.array([0.7, 0.1, 2.0], np.float32),
                      "margin (σ)", None)


def test_saved_directions_load_back_exactly(gan, tmp_path):
    folder = tmp_path / "saved"
    for directions in (some_directions(gan.latent_dim), sefa_of(gan, 4)):
        path = folder / "directions.json"
        save_directions(path, directions, gan)
        loaded = load_directions(path, gan)
        for name in ("mean", "directions", "std", "scale"):
            np.testing.assert_array_equal(getattr(loaded, name), getattr(directions, name))
        assert (loaded.method, loaded.message, loaded.names, loaded.scale_name, loaded.layers) == \
            (directions.method, directions.message, directions.names, directions.scale_name, directions.layers)
    assert [p.name for p in folder.iterdir()] == ["directions.json"]      # no temporary file left


def test_directions_of_another_model_are_refused(gan, tiny_models, tmp_path):
    path = tmp_path / "directions.json"
    save_directions(path, sefa_of(gan, 2), gan)
    doc = json.loads(path.read_text())
    assert doc["model"] == model_identity(gan) and doc["model"]["digest"].startswith("sha256:")
    other = open_model(tiny_models["cgan"])          # the same latent size, other weights
    with pytest.raises(DirectionsFileError, match="not of cgan .*weights differ"):
        load_directions(path, other)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(version=2), "version 2"),
    (lambda d: d.update(format="something else"), "not a directions file"),
    (lambda d: d["directions"][0].__setitem__(0, "x"), "numbers only"),
    (lambda d: d["directions"][1].pop(), "list of 8 numbers"),
    (lambda d: d.update(std=[0.0, 1.0]), "above 0"),
    (lambda d: d["directions"].__setitem__(0, [0.0] * 8), "all zeros"),
    (lambda d: d.update(names=[]), "names must be a list"),
    (lambda d: d.update(layers=[2, 1]), "layers must be"),
    (lambda d: d["model"].update(latent_shape=[9]), "shape"),
])
def test_a_damaged_directions_file_is_one_clear_error(gan, tmp_path, change, message):
    path = tmp_path / "directions.json"
    save_directions(path, sefa_of(gan, 2), gan)
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(DirectionsFileError, match=message):
        load_directions(path, gan)


def test_hostile_json_is_refused_before_it_is_used(gan, tmp_path):
    path = tmp_path / "directions.json"
    path.write_text('{"format": "latent-explorer directions", "version": 1, "std": [NaN]}')
    with pytest.raises(DirectionsFileError, match="NaN"):
        load_directions(path, gan)
    path.write_text("[" * 100 + "]" * 100)
    with pytest.raises(DirectionsFileError, match="levels deep"):
        load_directions(path, gan)
    with pytest.raises(DirectionsFileError, match="directory"):
        load_directions(tmp_path, gan)


def ganspace_file(path, d: int, k: int = 4, **extra) -> np.ndarray:
    """A component file as GANSpace's decomposition writes it: latents of shape (1, d)."""
    rng = np.random.default_rng(1)
    comp = rng.standard_normal((k, 1, d)).astype(np.float32)
    arrays = {"act_comp": rng.standard_normal((k, 32)).astype(np.float32), "lat_comp": comp,
              "lat_mean": np.full((1, d), 0.25, np.float32), "lat_stdev": np.ones(k, np.float32),
              "act_stdev": np.array([4.0, 3.0, 2.0, 1.0][:k], np.float32), "var_ratio": np.ones(k, np.float32)}
    arrays.update(extra)
    np.savez_compressed(path, **arrays)
    return comp.reshape(k, d)


def test_a_ganspace_component_file_is_read_as_directions(gan, tmp_path):
    path = tmp_path / "cgan-z_ipca_c4_n300000.npz"
    comp = ganspace_file(path, gan.latent_dim)
    found = load_directions(path, gan)
    assert found.method == GANSPACE_FILE and len(found) == 4
    np.testing.assert_allclose(found.directions, comp / np.linalg.norm(comp, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(found.mean, np.full(gan.latent_dim, 0.25, np.float32))
    np.testing.assert_array_equal(found.std, np.ones(4))
    assert found.scale_name == "σ of the activations" and found.scale.tolist() == [4.0, 3.0, 2.0, 1.0]


def test_a_ganspace_file_of_another_latent_is_refused(gan, tmp_path):
    path = tmp_path / "other.npz"
    ganspace_file(path, gan.latent_dim + 1)
    with pytest.raises(DirectionsFileError, match="computed for another model"):
        read_ganspace_components(path, gan)


def test_a_ganspace_file_holding_pickled_objects_is_refused_unread(gan, tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, lat_comp=np.array([{"not": "numbers"}], dtype=object))
    with pytest.raises(DirectionsFileError, match="not numbers|cannot be read"):
        read_ganspace_components(path, gan)


def test_a_ganspace_entry_claiming_more_than_it_holds_is_refused(gan, tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ones((2, gan.latent_dim), np.float32))
    header_only = buffer.getvalue()[:128].replace(b"(2, ", b"(9999999, ")       # a huge shape, no data
    path = tmp_path / "lying.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lat_comp.npy", header_only)
    with pytest.raises(DirectionsFileError, match="claims more values|cannot be read"):
        read_ganspace_components(path, gan)
    path.write_bytes(b"not a zip file")
    with pytest.raises(DirectionsFileError, match="not an .npz archive"):
        read_ganspace_components(path, gan)
