"""`latent-explorer compare A B [--json]`: latent-space figures of two generators side by side
(the same table as the compare view): path lengths, class changes along paths, confident share,
mode coverage and, for VAEs, KL per dimension and active units."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from explorer.commands import CommandError, print_json
from explorer.commands.arguments import whole
from explorer.commands.measuring import (MAX_SAMPLES, ROW_FORMATS, add_common_arguments, explanation_lines, failure,
                                         number, open_classifier, open_generator, pick_device)
from explorer.commands.progress import progress

# the same default as models.evaluation.DEFAULT_COMPARE_SAMPLES; repeated so `--help` needs no torch
DEFAULT_SAMPLES = 500


def load_posterior_data(data_dir: str | None, image_shape: tuple[int, ...], needed: bool):
    """Test images for a VAE's KL and active units: optional, unless --data names them."""
    if not needed:
        return None
    from models.data import DataError, load_dataset

    try:
        return load_dataset(data_dir, split="test", image_shape=image_shape)
    except DataError as e:
        if data_dir is not None:
            raise CommandError(str(e)) from None
        print(f"latent-explorer: no KL or active units: {e}", file=sys.stderr)
        return None


def format_table(result: dict[str, Any]) -> str:
    from models.metrics import TITLES

    a, b = result["models"]
    headers = [f"A: {a['model']['name']} ({a['model']['kind']})", f"B: {b['model']['name']} ({b['model']['kind']})"]
    rows = list(result["rows"])
    width = max(len(TITLES[k]) for k in rows) + 2
    col = max(14, *(len(h) for h in headers)) + 2
    lines = [f"{result['samples']} samples, seed {result['seed']}", "",
             f"{'':<{width}}{headers[0]:>{col}}{headers[1]:>{col}}"]
    for key in rows:
        kind = ROW_FORMATS.get(key, "g")
        lines.append(f"{TITLES[key]:<{width}}{number(a[key], kind):>{col}}{number(b[key], kind):>{col}}")
    for label, r in (("A", a), ("B", b)):
        if r["kl_per_dim"]:
            lines.append(f"KL per dimension, {label} (nats): " + " ".join(f"{v:.3f}" for v in r["kl_per_dim"]))
    for label, r in (("A", a), ("B", b)):
        lines.append(f"sampling, {label}: {r['sampler']}")
    notes = [f"  {label}: {note}" for label, r in (("A", a), ("B", b)) for note in r["notes"]]
    if notes:
        lines += ["", "notes:"] + notes
    keys = rows + (["kl_per_dim"] if a["kl_per_dim"] or b["kl_per_dim"] else [])
    lines += ["", "what the figures mean:"] + explanation_lines(keys)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from models.evaluation import compare
    from models.metrics import has_posterior

    try:
        device = pick_device(args.device)
        a = open_generator(args.a, device)
        b = open_generator(args.b, device)
        classifier = open_classifier(args.classifier, device)
        needed = has_posterior(a) or has_posterior(b)
        data = load_posterior_data(args.data, tuple(classifier.image_shape), needed)
        # one unit is an image rendered (a sample advanced by one sampler step) or encoded
        with progress(f"comparing {a.name} and {b.name}", unit="units") as show:
            result = compare(a, b, classifier, args.samples, args.seed, data=data, ddim_steps=args.ddim_steps,
                             paths=args.paths, batch_size=args.batch_size, progress=show)
        result["device"] = device
    except (CommandError, ValueError, RuntimeError) as e:
        return failure(e)
    if args.json:
        print_json(result)
    else:
        print(format_table(result))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="latent-space figures of two generators side by side: path length, "
                                       "class changes, confident share, coverage, KL and active units")
    p.add_argument("a", metavar="A", help="bundled model name or checkpoint file")
    p.add_argument("b", metavar="B", help="bundled model name or checkpoint file")
    add_common_arguments(p, DEFAULT_SAMPLES)
    p.add_argument("--paths", type=whole(1, MAX_SAMPLES), metavar="P",
                   help="random paths for the class changes (default: samples / 8)")
    p.add_argument("--data", metavar="DIR",
                   help="test images for a VAE's KL and active units (default: $LATENT_EXPLORER_DATA or "
                        "/usr/share/datasets/fashion-mnist; skipped when absent)")
    p.set_defaults(func=run)
