"""A checkpoint's metadata as plain text for people (`latent-explorer inspect`).

Every piece of text from a file passes through `plain_text`, so a name or an architecture that
holds terminal escape sequences, other control characters or bidirectional overrides prints as
visible escapes (\\x1b, \\u202e) instead of acting on the terminal. Torch-free.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.metadata import CheckpointMetadata, parse_metadata

_MAX_LINE = 300
_MAX_INLINE_ITEMS = 8


_MAX_TABLE_ROWS = 32


def plain_text(text: Any) -> str:
    """str(text) with every non-printable character (controls, escapes, format characters such
    as bidirectional overrides, lone surrogates) written as a visible backslash escape."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in text)


def describe(metadata: CheckpointMetadata | Mapping[str, Any]) -> str:
    """A human-readable multi-line summary of a checkpoint's metadata, in plain text."""
    m = parse_metadata(metadata)
    lines = [("name", m.name or "(unnamed)"),
             ("kind", f"{m.kind or '?'} (architecture {m.architecture or '?'})")]
    if m.image_shape is not None:
        lines.append(("image", f"{'x'.join(str(s) for s in m.image_shape)} (C x H x W)"))
    if m.latent_shape is not None:
        # an upscaler's "latent" is its low-resolution input image, a translator's an image of domain A
        lines.append(("input" if m.architecture in ("srgan", "cyclegan") else "latent", str(tuple(m.latent_shape))))
    domains = m.extras.get("domains")
    if m.architecture == "cyclegan" and isinstance(domains, Mapping):
        names = [str(d.get("name", "?")) if isinstance(d, Mapping) else "?" for d in (domains.get("a"), domains.get("b"))]
        lines.append(("translates", f"{names[0]} <-> {names[1]} (A <-> B)"))
    names = m.class_names
    lines.append(("classes", f"{len(names)}: {', '.join(names)}" if names else "none (unconditional)"))
    if m.config:
        lines.append(("config", _inline(m.config)))
    if m.schedule is not None:
        s = m.schedule
        lines.append(("schedule", f"{s.kind}, T = {s.num_timesteps}, beta {s.beta_start:g} to {s.beta_end:g}"))
    if m.dataset is not None:
        d = m.dataset
        about = [f"{d.split} split" if d.split else "", f"{d.size:,} images" if d.size is not None else "",
                 f"from {d.source}" if d.source else "", _inline(d.extras) if d.extras else ""]
        details = ", ".join(a for a in about if a)
        lines.append(("dataset", (d.name or "(unnamed)") + (f" ({details})" if details else "")))
    if m.dtype:
        lines.append(("stored as", m.dtype))
    lines.append(("digest", f"{m.digest[:23]}... (checked at load)" if m.digest else
                  "none (saved before digests were recorded; not checked)"))
    text = [_line(key, value) for key, value in lines]
    if m.training is not None:
        text.append("training:")
        text.extend(f"  {line}" for line in _training_lines(m.training))
    if m.metrics:
        text.append("metrics:")
        for key, value in m.metrics.items():
            if _is_table(value):
                text.append(f"  {plain_text(key)}:")
                text.extend(f"    {row}" for row in _table(value))
            else:
                text.append(f"  {_line(key, _inline(value), 12)}")
    if m.extras:
        text.append("other:")
        text.extend(f"  {_line(key, _inline(value), 12)}" for key, value in m.extras.items())
    text.append(_line("format", m.format))
    return "\n".join(text)


def _training_lines(t: Any) -> list[str]:
    lines = []
    if t.recipe:
        lines.append(_line("recipe", _inline(t.recipe), 12))
    for key in ("seed", "epochs", "hardware"):
        value = getattr(t, key)
        if value not in (None, ""):
            lines.append(_line(key, value, 12))
    if t.time_s is not None:
        lines.append(_line("time", duration(t.time_s), 12))
    for name, curve in t.loss_curve.items():
        if curve:
            lines.append(_line(name, f"{curve[0]:.4g} -> {curve[-1]:.4g} over {len(curve)} epochs "
                                     f"(best {min(curve):.4g})", 12))
    if t.step_losses:
        points = ", ".join(f"{name} ({len(curve)} points)" for name, curve in t.step_losses.items())
        lines.append(_line("step losses", points, 12))
    run = [f"{key} {getattr(t, key)}" for key in ("device", "torch", "threads", "cpu_count")
           if getattr(t, key) not in (None, "")]
    if run:
        lines.append(_line("run", ", ".join(run), 12))
    lines.extend(_line(key, _inline(value), 12) for key, value in t.extras.items())
    return lines


def _is_table(value: Any) -> bool:
    """A list of flat records (a sweep: one dict of figures per setting)."""
    return (isinstance(value, (list, tuple)) and 0 < len(value) <= _MAX_TABLE_ROWS
            and all(isinstance(row, Mapping) and row for row in value)
            and all(not isinstance(v, (Mapping, list, tuple)) for row in value for v in row.values()))


def _table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Rows of figures as aligned plain-text lines, a header first."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[plain_text(k) for k in keys]] + [[plain_text(_inline(row.get(k, ""))) for k in keys] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(keys))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]


def _line(key: str, value: Any, width: int = 14) -> str:
    line = f"{plain_text(key) + ':':<{width - 1}} {plain_text(value)}"
    return line if len(line) <= _MAX_LINE else line[:_MAX_LINE] + "..."


def _inline(value: Any, nested: bool = False) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        text = ", ".join(f"{k}={_inline(v, True)}" for k, v in value.items())
        return "{" + text + "}" if nested else text
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_INLINE_ITEMS:
            return f"[{', '.join(_inline(v, True) for v in value[:3])}, ... {len(value)} items]"
        return "[" + ", ".join(_inline(v, True) for v in value) + "]"
    return str(value)


def duration(seconds: float) -> str:
    """3.5 s, 2m 05s or 1h 02m."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"
