"""What the measuring commands, `latent-explorer evaluate` and `latent-explorer compare`, share:
their common options, opening the generator and the classifier, number formatting, and turning
a failed measurement into a message and an exit code.
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from explorer.commands import CommandError, fail
from explorer.commands.arguments import MAX_BATCH_SIZE, MAX_STEPS, seed, whole

if TYPE_CHECKING:
    from models.generative import GenerativeModel

MAX_SAMPLES = 1_000_000


def add_common_arguments(p: argparse.ArgumentParser, samples: int) -> None:
    p.add_argument("--samples", type=whole(2, MAX_SAMPLES), default=samples, metavar="N",
                   help=f"samples (and random path pairs) to draw, 2 to {MAX_SAMPLES} (default: {samples})")
    p.add_argument("--seed", type=seed, default=0, help="seed of every random draw (default: 0)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--classifier", metavar="PATH",
                   help="classifier checkpoint that measures the images (default: the bundled 'classifier')")
    p.add_argument("--ddim-steps", type=whole(1, MAX_STEPS), default=50, metavar="K",
                   help="DDIM steps when sampling a DDPM (default: 50)")
    p.add_argument("--batch-size", type=whole(1, MAX_BATCH_SIZE), default=250,
                   help="images per network pass (default: 250)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where the networks run (default: cuda, then mps, then cpu)")


def pick_device(name: str) -> str:
    from models.devices import pick_device as pick

    try:
        return str(pick(name, strict=True))
    except RuntimeError as e:
        raise CommandError(str(e)) from None


def open_generator(source: str, device: str) -> GenerativeModel:
    from models.checkpoint import CheckpointError, open_model

    try:
        return open_model(source, device)
    except CheckpointError as e:
        raise CommandError(str(e)) from None


def open_classifier(path: str | None, device: str) -> GenerativeModel:
    """The judge: a model with the classifier capability (the bundled classifier by default)."""
    import resources
    from models.checkpoint import CheckpointError, open_model

    if path is None:
        try:
            path = str(resources.checkpoint_path("classifier"))
        except KeyError:
            raise CommandError("no bundled classifier is installed; train one with `latent-explorer train "
                               "classifier --out classifier.safetensors` and pass --classifier "
                               "classifier.safetensors") from None
    try:
        model = open_model(path, device)
    except CheckpointError as e:
        raise CommandError(str(e)) from None
    if model.classifier is None:
        raise CommandError(f"{path} is a {model.kind.title}, not a classifier; pass a classifier checkpoint "
                           f"with --classifier")
    return model


def number(value: Any, kind: str = "g") -> str:
    """A figure for the text tables: percentages for shares, 4 significant digits otherwise."""
    if value is None:
        return "n/a"
    if kind == "%":
        return f"{100 * value:.1f} %"
    if kind == "int":
        return str(int(value))
    return f"{value:.4g}"


ROW_FORMATS = {"classifier_accuracy": "%", "coverage_min_share": "%", "conditional_accuracy": "%",
               "confident_share": "%", "active_units": "int"}


def runtime_message(e: RuntimeError) -> str:
    if "out of memory" in str(e).lower():
        return f"the device ran out of memory ({e}); lower --batch-size or use --device cpu"
    return f"the measurement failed: {e}"


def explanation_lines(keys: list[str]) -> list[str]:
    from models.metrics import EXPLANATIONS, TITLES

    return [f"  {TITLES[k]}: {EXPLANATIONS[k]}" for k in keys]


def failure(e: Exception) -> int:
    """The exit code of a measurement stopped by `e`, its reason told on stderr."""
    if isinstance(e, (CommandError, ValueError)):
        return fail(str(e))
    return fail(runtime_message(e))
