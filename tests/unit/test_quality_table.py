"""`models --quality-table`: the README's quality table from the figures stored by `evaluate --write`."""
from __future__ import annotations

from explorer.cli import main
from explorer.commands.quality_table import COLUMNS, quality_row, quality_table

FIGURES = {"fid": 12.34, "fid_floor": 0.617, "kid": 3.21, "kid_floor": -0.04, "precision": 0.71, "recall": 0.455,
           "precision_floor": 0.86, "recall_floor": 0.85, "coverage_min_share": 0.0421, "coverage_min_class": "Sandal",
           "conditional_accuracy": 0.9312, "samples": 10000, "sampler": "one decoder pass per sample",
           "classifier": "classifier"}


def cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip("|").split("|")]


def test_a_row_shows_each_figure_beside_its_floor():
    row = cells(quality_row("cgan", FIGURES))
    assert len(row) == len(COLUMNS)
    assert row == ["cgan", "12.3", "20×", "3.2 (-0.0)", "71.0% (86.0%)", "45.5% (85.0%)", "4.2% (Sandal)", "93.1%",
                   "10,000", "one decoder pass per sample", "classifier"]


def test_figures_that_were_not_measured_are_dashes_and_file_text_cannot_break_the_table():
    older = {"fid": 47.7, "fid_floor": 0.63, "coverage_min_share": 0.075, "samples": 10000,
             "classifier": "a|b"}
    row = cells(quality_row("dcgan", older))
    assert row[3:6] == ["–", "–", "–"] and row[7] == "–" and row[6] == "7.5%"
    assert len(row) == len(COLUMNS) and row[-1] == "a/b"


def test_only_evaluated_generators_get_a_row():
    table = quality_table([{"name": "vae", "metrics": FIGURES}, {"name": "classifier", "metrics": {"test_accuracy": 0.9}},
                           {"name": "broken", "error": "cannot be read"}, {"name": "new", "metrics": None}])
    lines = table.splitlines()
    assert len(lines) == 3 and cells(lines[2])[0] == "vae"


def test_the_command_prints_the_bundled_generators(capsys):
    assert main(["models", "--quality-table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert cells(lines[0]) == list(COLUMNS)
    names = [cells(line)[0] for line in lines[2:]]
    assert "dcgan" in names and "ddpm" in names and "classifier" not in names
