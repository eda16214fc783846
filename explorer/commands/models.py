"""`latent-explorer models [--json | --quality-table]`: the bundled models and the recently opened files, with their
metadata. Headless: reads checkpoint headers only, never weights, never Qt."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from explorer.commands import print_json


def describe_file(name: str, path: Path, bundled: bool) -> dict[str, Any]:
    """One model's entry: its metadata summary, or the reason it cannot be read."""
    from models.checkpoint import CheckpointError, load_metadata
    from models.generative import declared_capabilities

    entry: dict[str, Any] = {"name": name, "path": str(path), "bundled": bundled}
    if not os.path.lexists(path):
        entry["error"] = f"{path} no longer exists"
        return entry
    if path.suffix.lower() != ".safetensors":
        entry["kind"] = "imported"
        entry["note"] = "a state dict or scripted generator; opened with its sidecar"
        return entry
    try:
        meta = load_metadata(path)
        size = path.stat().st_size
    except CheckpointError as e:
        entry["error"] = str(e)
        return entry
    except OSError as e:
        entry["error"] = f"cannot read {path}: {e.strerror or e}"
        return entry
    doc = meta.to_json()
    entry.update(
        name=meta.name or name,
        kind=meta.kind,
        architecture=meta.architecture,
        latent_shape=list(meta.latent_shape) if meta.latent_shape else None,
        image_shape=list(meta.image_shape) if meta.image_shape else None,
        conditional=bool(meta.config.get("num_classes")) and meta.kind != "classifier",
        capabilities=sorted(declared_capabilities(meta.architecture, dict(meta.config))),
        class_names=list(meta.class_names),
        dataset=doc.get("dataset"),
        training={k: v for k, v in doc.get("training", {}).items() if k not in ("loss_curve", "step_losses")},
        metrics=meta.metrics,
        size_bytes=size,
    )
    return entry


def list_models() -> dict[str, list[dict[str, Any]]]:
    import resources
    from explorer.settings import recent_files

    bundled = [describe_file(name, path, True) for name, path in resources.bundled_checkpoints().items()]
    recent = [describe_file(Path(p).stem, Path(p), False) for p in recent_files()]
    return {"bundled": bundled, "recent": recent}


# The figures a row shows (the rest are in `inspect`): what the model is judged by first.
HEADLINE = (("test_accuracy", "accuracy"), ("fid", "classifier-FID"), ("conditional_accuracy", "cond. accuracy"),
            ("srresnet_psnr_db", "SRResNet PSNR"), ("srgan_fid", "SRGAN classifier-FID"),
            ("a_to_b_success", "A→B success"), ("b_to_a_success", "B→A success"),
            ("a_to_b_cycle_l1", "A→B cycle L1"), ("b_to_a_cycle_l1", "B→A cycle L1"),
            ("sketch_psnr_db", "sketch PSNR"))


NAME_WIDTH_MAX = 28      # names longer than this push their own row out, not every row


def _shape(value: Any) -> str:
    return "x".join(str(s) for s in value) if isinstance(value, list) else "?"


def _line(entry: dict[str, Any], width: int = 14) -> str:
    """One entry as a line of plain text, its name padded to `width`: names and messages from a
    file are shown escaped."""
    from models.describe import plain_text

    name = plain_text(entry["name"])
    if "error" in entry:
        return f"  {name:<{width}} cannot be read: {plain_text(entry['error'])}"
    if entry.get("kind") == "imported":
        return f"  {name:<{width}} imported generator  {plain_text(entry['path'])}"
    # an image-to-image model's "latent" is the image it takes
    takes = "input " if {"upscaler", "translator"} & set(entry.get("capabilities") or ()) else "latent"
    parts = [f"{plain_text(entry['kind']):<10}", f"{plain_text(entry.get('architecture') or '?'):<13}",
             f"{takes} {_shape(entry.get('latent_shape')):<9}", f"image {_shape(entry.get('image_shape')):<8}"]
    if entry.get("conditional"):
        parts.append(f"{len(entry['class_names'])} classes")
    metrics = entry.get("metrics") or {}
    shown = [f"{title} {metrics[key]:.4g}" for key, title in HEADLINE
             if isinstance(metrics.get(key), (int, float)) and not isinstance(metrics.get(key), bool)]
    if shown:
        parts.append(plain_text(", ".join(shown)))
    return f"  {name:<{width}} " + "  ".join(parts)


def run(args: argparse.Namespace) -> int:
    from models.describe import plain_text

    listing = list_models()
    if args.quality_table:
        from explorer.commands.quality_table import quality_table

        print(quality_table(listing["bundled"] + listing["recent"]))
        return 0
    if args.json:
        print_json(listing)
        return 0
    entries = listing["bundled"] + listing["recent"]
    width = min(NAME_WIDTH_MAX, max([14] + [len(plain_text(e["name"])) for e in entries]))
    print("Bundled models:")
    if listing["bundled"]:
        for entry in listing["bundled"]:
            print(_line(entry, width))
    else:
        print("  none installed (train one with `latent-explorer train`)")
    print("Recent files:")
    if listing["recent"]:
        for entry in listing["recent"]:
            print(_line(entry, width))
            if "error" not in entry:
                print(f"  {'':<{width}} {plain_text(entry['path'])}")
    else:
        print("  none")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the bundled and recently opened models with their metadata")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.add_argument("--quality-table", action="store_true",
                   help="print the generators' stored quality figures (`evaluate --write`) as a Markdown table")
    p.set_defaults(func=run)
