"""The bench section of the direction methods, on the bundled models (slow: about 15 s)."""
from __future__ import annotations

import math

import pytest

import resources
from explorer.bench import SECTIONS, BenchOptions
from explorer.bench.directions import direction_methods


@pytest.mark.slow
@pytest.mark.skipif(not {"cgan", "classifier"} <= set(resources.bundled_checkpoints()),
                    reason="needs the bundled cgan and classifier")
def test_the_direction_methods_section_times_sefa_a_boundary_and_the_report():
    assert "explorer.bench.directions:direction_methods" in SECTIONS
    section = direction_methods(BenchOptions(device="cpu"))
    assert "skipped" not in section, section.get("skipped")
    names = [f["name"] for f in section["figures"]]
    assert names[0].startswith("SeFa") and "class boundary" in names[1] and "report of 10" in names[2]
    assert all(math.isfinite(f["value"]) and f["value"] > 0 and f["ok"] in (True, False) for f in section["figures"])


def test_the_section_is_skipped_without_the_models(tmp_path):
    section = direction_methods(BenchOptions(device="cpu", models=tmp_path))
    assert "needs the bundled cgan and classifier" in section["skipped"]
