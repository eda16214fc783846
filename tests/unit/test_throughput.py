"""The bench's batch throughput section (explorer/bench/throughput.py) on tiny models: every
figure is there and finite, rates positive, kernel-time shares between 0 and 100 %."""
from __future__ import annotations

import math
import shutil

import pytest

from explorer.bench import BenchOptions
from explorer.bench import throughput as section
from models import devices


@pytest.fixture
def models_folder(tiny_models, tmp_path):
    for name in ("vae", "dcgan", "ddpm"):
        shutil.copy(tiny_models[name], tmp_path / f"{name}.safetensors")
    return tmp_path


def test_the_throughput_section_prints_finite_figures(models_folder, monkeypatch, capsys):
    monkeypatch.setattr(section, "MIN_TIMED_S", 0.0)
    monkeypatch.setattr(devices, "threads_for_commands", lambda batch_work: 1)   # tiny nets, shared cores
    report = section.throughput(BenchOptions(models=models_folder), batch=4, ddim_steps=2,
                                train_steps={"ddpm": 1, "dcgan": 1}, train_batch=8)
    figures = {f["name"]: f for f in report["figures"]}
    rates = ["sample vae at batch 4", "sample dcgan at batch 4", "sample ddpm at batch 4, DDIM 50",
             "sample ddpm: sampler steps", "train ddpm", "train ddpm --bfloat16", "train dcgan",
             "train dcgan --bfloat16"]
    for name in rates:
        assert math.isfinite(figures[name]["value"]) and figures[name]["value"] > 0, name
    shares = [name for name in figures if name.endswith("kernel-time share")]
    assert len(shares) == 7
    assert all(0 <= figures[name]["value"] <= 100 and figures[name]["ok"] is not None for name in shares)
    # DDIM 50 images/s are the timed steps per second over 50
    assert figures["sample ddpm at batch 4, DDIM 50"]["value"] == pytest.approx(
        figures["sample ddpm: sampler steps"]["value"] / 50, rel=0.05)

    from explorer.bench import print_report

    print_report([report], {"python": "3", "cpus": 2})
    out = capsys.readouterr().out
    assert "batch throughput" in out and "images/s" in out and "nan" not in out


def test_a_missing_model_is_a_note_not_a_failure(models_folder, monkeypatch):
    (models_folder / "ddpm.safetensors").unlink()
    monkeypatch.setattr(section, "MIN_TIMED_S", 0.0)
    monkeypatch.setattr(section, "_train_figures", lambda *args: [])
    report = section.throughput(BenchOptions(models=models_folder), batch=2)
    assert not any("ddpm" in f["name"] for f in report["figures"])
    assert any("no ddpm model" in note for note in report["notes"])
