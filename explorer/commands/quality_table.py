"""The README's quality table of the generators, as Markdown, from the figures `evaluate --write`
stored in each checkpoint's metrics: `latent-explorer models --quality-table`."""
from __future__ import annotations

from typing import Any

from models.describe import plain_text

COLUMNS = ("model", "classifier-FID", "× floor", "KID (floor)", "precision (floor)", "recall (floor)",
           "smallest class share", "conditional accuracy", "samples", "sampler", "judge")


def _percent(value: Any) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, (int, float)) else "–"


def _with_floor(value: Any, floor: Any, fmt) -> str:
    if not isinstance(value, (int, float)):
        return "–"
    return fmt(value) + (f" ({fmt(floor)})" if isinstance(floor, (int, float)) else "")


def quality_row(name: str, metrics: dict[str, Any]) -> str:
    """One generator's row; "–" where a figure was not measured (a KID from before it was added,
    a conditional accuracy of an unconditional model)."""
    fid, floor = metrics.get("fid"), metrics.get("fid_floor")
    smallest = _percent(metrics.get("coverage_min_share"))
    if metrics.get("coverage_min_class"):
        smallest += f" ({plain_text(metrics['coverage_min_class'])})"
    cells = [
        plain_text(name),
        f"{fid:.1f}" if isinstance(fid, (int, float)) else "–",
        f"{fid / floor:.0f}×" if isinstance(fid, (int, float)) and isinstance(floor, (int, float)) and floor > 0 else "–",
        _with_floor(metrics.get("kid"), metrics.get("kid_floor"), lambda v: f"{v:.1f}"),
        _with_floor(metrics.get("precision"), metrics.get("precision_floor"), _percent),
        _with_floor(metrics.get("recall"), metrics.get("recall_floor"), _percent),
        smallest,
        _percent(metrics.get("conditional_accuracy")),
        f"{metrics['samples']:,}" if isinstance(metrics.get("samples"), int) else "–",
        plain_text(str(metrics.get("sampler", "–"))),
        plain_text(str(metrics.get("classifier", "–"))),
    ]
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def quality_table(entries: list[dict[str, Any]]) -> str:
    """The table of every entry (a `models` listing's) whose stored figures include a
    classifier-FID of its samples, in the listing's order."""
    rows = [quality_row(e["name"], e["metrics"]) for e in entries
            if isinstance((e.get("metrics") or {}).get("fid"), (int, float))]
    head = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    return "\n".join(head + rows)
