"""The bench section of the decode budgets, on tiny models in a folder of their own."""
from __future__ import annotations

import math
import shutil

from explorer.bench import SECTIONS, BenchOptions
from explorer.bench.decode import decode_budgets


def test_each_generator_gets_one_timed_figure_against_its_budget(tiny_models, tmp_path):
    assert "explorer.bench.decode:decode_budgets" in SECTIONS
    for name in ("vae", "cgan", "ddpm"):
        shutil.copy(tiny_models[name], tmp_path / f"{name}.safetensors")
    section = decode_budgets(BenchOptions(device="cpu", models=tmp_path), runs=3)
    figures = {f["name"].split(":")[0]: f for f in section["figures"]}
    assert list(figures) == ["vae", "cgan", "ddpm"]
    assert figures["vae"]["target"] == "< 5 ms" and figures["ddpm"]["target"] == "< 15 ms"
    assert "UNet step" in figures["ddpm"]["name"] and "decode" in figures["cgan"]["name"]
    assert all(math.isfinite(f["value"]) and f["value"] > 0 and f["ok"] == (f["value"] < float(f["target"][2:-3]))
               for f in figures.values())
    assert "vae-2d" in section["notes"][-1]       # the missing ones are named


def test_the_section_is_skipped_without_any_generator(tmp_path):
    assert "train-bundled" in decode_budgets(BenchOptions(device="cpu", models=tmp_path), runs=3)["skipped"]
