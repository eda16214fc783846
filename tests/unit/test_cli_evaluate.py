"""`latent-explorer evaluate` and `compare` end to end on tiny models and a tiny IDX data set."""
from __future__ import annotations

import json
import math
import shutil

import pytest

from explorer.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _evaluate_json(capsys, tiny_models, idx_data, model: str, *extra: str) -> dict:
    code, out, err = _run(capsys, "evaluate", tiny_models[model], "--classifier", tiny_models["classifier"],
                          "--data", idx_data, "--device", "cpu", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def _finite(*values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def test_evaluate_vae_gives_finite_figures_reproducible_from_the_seed(capsys, tiny_models, idx_data):
    args = ("--samples", "12", "--seed", "3", "--batch-size", "5")
    first = _evaluate_json(capsys, tiny_models, idx_data, "vae", *args)
    again = _evaluate_json(capsys, tiny_models, idx_data, "vae", *args)
    assert first == again
    assert _finite(first["fid"], first["fid_floor"], first["coverage_entropy"], first["confident_share"])
    assert first["fid"] >= 0 and first["fid_floor"] >= 0 and first["floor_samples"] == 12
    assert sum(first["coverage"]["counts"]) == 12
    assert 0.0 <= first["classifier"]["test_accuracy"] <= 1.0 and first["classifier"]["test_images"] == 30
    vae = first["vae"]
    assert len(vae["kl_per_dim"]) == 4 and _finite(*vae["kl_per_dim"]) and min(vae["kl_per_dim"]) >= 0
    assert 0 <= vae["active_units"] <= 4 and vae["images"] == 30
    assert first["conditional_accuracy"] is None  # unconditional

    other = _evaluate_json(capsys, tiny_models, idx_data, "vae", "--samples", "12", "--seed", "4")
    assert other["fid"] != first["fid"]  # the seed does reach the samples


def test_evaluate_conditional_ddpm_sweeps_guidance_with_ddim(capsys, tiny_models, idx_data):
    report = _evaluate_json(capsys, tiny_models, idx_data, "ddpm", "--samples", "4", "--ddim-steps", "2",
                            "--guidance", "0,4")
    assert [g["scale"] for g in report["guidance"]] == [0.0, 4.0, 1.0]  # the default scale is added
    assert all(_finite(g["fid"], g["conditional_accuracy"]) for g in report["guidance"])
    headline = next(g for g in report["guidance"] if g["scale"] == report["guidance_scale"])
    assert headline["fid"] == report["fid"]
    assert report["sampler"].startswith("DDIM, 2 steps") and report["ddim_steps"] == 2
    assert any("DDIM" in note for note in report["notes"])

    code, out, _ = _run(capsys, "evaluate", tiny_models["ddpm"], "--classifier", tiny_models["classifier"],
                        "--data", idx_data, "--device", "cpu", "--samples", "4", "--ddim-steps", "2",
                        "--guidance", "2")
    assert code == 0
    assert "DDIM, 2 steps" in out and "classifier-FID" in out and "guidance sweep" in out


def test_evaluate_conditional_gan_reports_conditional_accuracy_as_text(capsys, tiny_models, idx_data):
    code, out, err = _run(capsys, "evaluate", tiny_models["cgan"], "--classifier", tiny_models["classifier"],
                          "--data", idx_data, "--device", "cpu", "--samples", "10")
    assert code == 0, err
    for title in ("classifier-FID", "FID floor", "smallest class share", "class entropy",
                  "conditional accuracy", "classifier test accuracy", "what the figures mean"):
        assert title in out


def test_evaluate_without_the_test_set_says_so_and_exits_2(capsys, tiny_models, tmp_path):
    code, out, err = _run(capsys, "evaluate", tiny_models["vae"], "--classifier", tiny_models["classifier"],
                          "--data", tmp_path / "nowhere", "--samples", "4")
    assert code == 2 and out == ""
    assert "test set" in err and "Traceback" not in err


def test_evaluate_refuses_a_generator_as_the_classifier(capsys, tiny_models, idx_data):
    code, _, err = _run(capsys, "evaluate", tiny_models["vae"], "--classifier", tiny_models["dcgan"],
                        "--data", idx_data, "--samples", "4")
    assert code == 2 and "not a classifier" in err


def test_evaluate_write_stores_the_figures_in_the_checkpoint(capsys, tiny_models, idx_data, tmp_path):
    from safetensors.torch import load_file

    from models.checkpoint import read_metadata

    path = tmp_path / "cvae.safetensors"
    shutil.copy(tiny_models["cvae"], path)
    before = load_file(str(path))
    report = _evaluate_json(capsys, {**tiny_models, "cvae": path}, idx_data, "cvae", "--samples", "10", "--write")
    meta = read_metadata(path)
    assert meta["metrics"]["fid"] == report["fid"]
    assert meta["metrics"]["conditional_accuracy"] == report["conditional_accuracy"]
    assert meta["metrics"]["active_units"] == report["vae"]["active_units"]
    assert meta["metrics"]["samples"] == 10 and meta["name"] == "cvae"
    after = load_file(str(path))
    assert before.keys() == after.keys() and all((before[k] == after[k]).all() for k in before)


def test_evaluate_write_keeps_a_gans_discriminator(capsys, tiny_models, idx_data, tmp_path):
    import torch
    from safetensors.torch import load_file

    from models.checkpoint import load_checkpoint, read_metadata, save_checkpoint
    from models.generative import build_discriminator

    meta = read_metadata(tiny_models["dcgan"])
    for key in ("digest", "dtype", "format"):
        meta.pop(key, None)
    torch.manual_seed(1)
    path = tmp_path / "dcgan.safetensors"
    save_checkpoint(path, load_checkpoint(tiny_models["dcgan"]).net, meta,
                    discriminator=build_discriminator("dcgan", dict(meta["config"])))
    before = load_file(str(path))
    assert any(k.startswith("discriminator.") for k in before)
    _evaluate_json(capsys, {**tiny_models, "dcgan": path}, idx_data, "dcgan", "--samples", "10", "--write")
    after = load_file(str(path))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert load_checkpoint(path).discriminator is not None and read_metadata(path)["metrics"]["samples"] == 10


def test_compare_gives_the_same_finite_table_for_the_same_seed(capsys, tiny_models, idx_data):
    args = ("compare", tiny_models["vae"], tiny_models["cgan"], "--classifier", tiny_models["classifier"],
            "--data", idx_data, "--device", "cpu", "--samples", "8", "--seed", "1", "--batch-size", "16", "--json")
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    first = json.loads(out)
    code, out, _ = _run(capsys, *args)
    assert json.loads(out) == first
    vae, gan = first["models"]
    assert vae["model"]["kind"] == "vae" and gan["model"]["kind"] == "gan"
    for row in first["rows"]:
        assert row in first["explanations"]
    for key in ("ppl_lerp", "ppl_slerp", "class_changes_per_length", "class_changes_per_path",
                "confident_share", "coverage_min_share", "coverage_entropy"):
        assert _finite(vae[key], gan[key]) and vae[key] >= 0 and gan[key] >= 0
    assert _finite(vae["kl_total"]) and 0 <= vae["active_units"] <= 4
    assert gan["kl_total"] is None and gan["active_units"] is None

    code, text, _ = _run(capsys, *args[:-1])
    assert code == 0
    assert "path length (lerp)" in text and "A: vae (vae)" in text and "B: cgan (gan)" in text


def test_compare_without_data_skips_only_the_vae_posterior(capsys, tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "absent"))
    code, out, err = _run(capsys, "compare", tiny_models["vae"], tiny_models["dcgan"], "--classifier",
                          tiny_models["classifier"], "--device", "cpu", "--samples", "4", "--json")
    assert code == 0, err
    vae = json.loads(out)["models"][0]
    assert vae["kl_total"] is None and any("KL" in note for note in vae["notes"])
    assert _finite(vae["ppl_lerp"])

    code, _, err = _run(capsys, "compare", tiny_models["vae"], tiny_models["dcgan"], "--classifier",
                        tiny_models["classifier"], "--data", tmp_path / "absent", "--samples", "4")
    assert code == 2 and "Traceback" not in err


def test_evaluate_a_classifier_measures_and_stores_its_test_accuracy(capsys, tiny_models, idx_data, tmp_path):
    import torch

    from models.checkpoint import load_checkpoint, read_metadata
    from models.data import load_dataset

    path = tmp_path / "classifier.safetensors"
    shutil.copy(tiny_models["classifier"], path)
    report = _evaluate_json(capsys, {**tiny_models, "classifier": path}, idx_data, "classifier", "--write")
    test = load_dataset(idx_data, split="test")
    predicted = load_checkpoint(path).classifier.predict(test.tensor()).argmax(1)
    expected = (predicted == torch.from_numpy(test.labels)).float().mean().item()
    assert report["test_images"] == 30
    assert report["test_accuracy"] == pytest.approx(expected)
    assert len(report["per_class_accuracy"]) == 10
    assert read_metadata(path)["metrics"]["test_accuracy"] == report["test_accuracy"]
