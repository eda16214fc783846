"""`latent-explorer directions` end to end on tiny models and a tiny IDX data set."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import resources
from explorer.cli import main
from models.data import write_idx

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _directions(capsys, tiny_models, idx_data, model: str, *extra) -> tuple[int, str, str]:
    return _run(capsys, "directions", tiny_models[model], "--classifier", tiny_models["classifier"], "--data",
                idx_data, "--device", "cpu", "--starts", "12", *extra)


def test_sefa_directions_of_a_gan_are_reported_as_json_reproducibly(capsys, tiny_models, idx_data):
    code, out, err = _directions(capsys, tiny_models, idx_data, "dcgan", "--method", "sefa", "--count", "3", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["directions"]["method"] == "SeFa" and result["directions"]["scale_name"] == "eigenvalue"
    assert result["directions"]["names"] == ["SeFa 1", "SeFa 2", "SeFa 3"]
    rows = result["report"]["rows"]
    assert [r["name"] for r in rows] == ["SeFa 1", "SeFa 2", "SeFa 3"]
    assert all(math.isfinite(r[k]) for r in rows for k in ("top_class_moves", "leakage", "pixel_change",
                                                           "leaves_data"))
    assert result["model"]["digest"].startswith("sha256:") and result["report"]["starts"] == 12
    again = _directions(capsys, tiny_models, idx_data, "dcgan", "--method", "sefa", "--count", "3", "--json")[1]
    assert json.loads(again) == result


def test_the_table_names_every_column_and_the_rows_sort_by_one(capsys, tiny_models, idx_data):
    code, out, err = _directions(capsys, tiny_models, idx_data, "cgan", "--count", "4", "--class", "Bag")
    assert code == 0, err
    assert "cgan: 4 directions, GANSpace; drawn as Bag" in out
    for title in ("σ of the projection", "top class moves", "towards", "away from", "leakage", "pixels", "off data",
                  "what the columns mean"):
        assert title in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("# "))
    assert [line.split()[:2] for line in lines[header + 1:lines.index("", header)]] == \
        [["1", "PC1"], ["2", "PC2"], ["3", "PC3"], ["4", "PC4"]]
    code, out, err = _directions(capsys, tiny_models, idx_data, "cgan", "--count", "4", "--sort", "pixel_change",
                                 "--json")
    pixels = [row["pixel_change"] for row in json.loads(out)["report"]["rows"]]
    assert pixels == sorted(pixels, reverse=True) and len(set(pixels)) == 4


def test_directions_saved_by_one_run_are_measured_by_another(capsys, tiny_models, idx_data, tmp_path):
    saved = tmp_path / "vae-directions.json"
    code, _, err = _directions(capsys, tiny_models, idx_data, "vae", "--no-report", "--save", saved)
    assert code == 0 and saved.is_file() and "saved to" in err
    direct = json.loads(_directions(capsys, tiny_models, idx_data, "vae", "--json")[1])
    loaded = json.loads(_directions(capsys, tiny_models, idx_data, "vae", "--load", saved, "--json")[1])
    assert loaded["directions"]["method"] == direct["directions"]["method"] == "PCA of the encoded test set"
    assert loaded["report"] == direct["report"]
    code, out, err = _directions(capsys, tiny_models, idx_data, "dcgan", "--load", saved)
    assert code == 2 and out == "" and "latent of shape" in err


@pytest.mark.skipif(not {"gan-mlp", "classifier"} <= set(resources.bundled_checkpoints()),
                    reason="needs the bundled gan-mlp and classifier")
def test_a_class_boundary_towards_a_named_class_kept_from_another(capsys):
    """On trained models: an untrained classifier's labels hardly depend on anything."""
    code, out, err = _run(capsys, "directions", "gan-mlp", "--method", "boundaries", "--towards", "Sneaker",
                          "--keep", "Sandal", "--samples", "1500", "--starts", "50", "--device", "cpu", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["directions"]["names"] == ["towards Sneaker, not away from Sandal"]
    assert result["directions"]["scale_name"] == "margin (σ)"
    (row,) = result["report"]["rows"]
    assert row["towards"] == "Sneaker" and row["towards_gain"] > 0.1


def test_an_attribute_vector_between_two_classes_of_the_encoded_test_set(capsys, tiny_models, idx_data):
    code, out, err = _directions(capsys, tiny_models, idx_data, "vae", "--method", "attributes", "--towards", "7",
                                 "--from", "5", "--no-report")
    assert code == 2 and "only 3.0 samples' worth" in err         # three test images of each class
    big = idx_data.parent / "bigger"
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 300)):
        write_idx(big / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(big / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    code, out, err = _directions(capsys, tiny_models, big, "vae", "--method", "attributes", "--towards", "7",
                                 "--from", "5", "--no-report")
    assert code == 0, err
    assert "Sandal → Sneaker" in out and "length" in out and "300 encoded test images, by their labels" in out


@pytest.mark.parametrize("extra, message", [
    (("--method", "sefa", "--towards", "Sneaker"), "--method boundaries or attributes"),
    (("--method", "attributes", "--keep", "Bag"), "--keep is for --method boundaries"),
    (("--class", "3"), "needs a conditional model"),
    (("--method", "boundaries", "--towards", "Spaceship"), "unknown class 'Spaceship'"),
    (("--layers", "0:5", "--method", "sefa"), "not within the 1 layer"),
])
def test_wrong_choices_get_one_message_and_exit_2(capsys, tiny_models, idx_data, extra, message):
    code, out, err = _directions(capsys, tiny_models, idx_data, "dcgan", *extra)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_sefa_of_a_ddpm_says_why_not(capsys, tiny_models, idx_data):
    code, out, err = _directions(capsys, tiny_models, idx_data, "ddpm", "--method", "sefa")
    assert code == 2 and "many-step sampler" in err
