"""`latent-explorer evaluate MODEL [--samples N] [--seed S] [--json] [--write]`: a generator's
quality figures, measured with the bundled classifier against the Fashion-MNIST test set."""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

from explorer.commands import CommandError, print_json
from explorer.commands.arguments import MAX_GUIDANCE, check_real
from explorer.commands.measuring import (add_common_arguments, explanation_lines, failure, number,
                                         open_classifier, open_generator, pick_device, progress_printer)


def parse_scales(text: str) -> list[float]:
    try:
        scales = [check_real(part, 0, MAX_GUIDANCE) for part in text.split(",") if part.strip()]
    except CommandError as e:
        raise CommandError(f"--guidance takes comma-separated scales, e.g. 0,1,2,4; each {e}") from None
    if not scales:
        raise CommandError(f"--guidance needs at least one scale, e.g. 0,1,2,4; got {text!r}")
    return scales


def load_test_and_train(data_dir: str | None, image_shape: tuple[int, ...]):
    """The test split (required) and the train split (for the floor; None with a warning)."""
    import numpy as np

    from models.data import DataError, load_dataset

    try:
        test = load_dataset(data_dir, split="test", image_shape=image_shape)
    except DataError as e:
        raise CommandError(f"evaluate needs the test set: {e}") from None
    try:
        train = load_dataset(data_dir, split="train", image_shape=image_shape)
    except DataError as e:
        print(f"latent-explorer: no FID floor: {e}", file=sys.stderr)
        return test, None
    # a picture folder without train/ and test/ sub-folders gives the same images for both
    if len(train) == len(test) and np.array_equal(train.images, test.images):
        print("latent-explorer: no FID floor: the data has no separate training images "
              "(give the folder train/ and test/ sub-folders)", file=sys.stderr)
        return test, None
    return test, train


def checkpoint_file(source: str) -> Path:
    """The file behind MODEL: the path itself, or the bundled checkpoint of that name."""
    import resources

    path = Path(source).expanduser()
    if path.exists():
        return path
    try:
        return resources.checkpoint_path(source)
    except KeyError as e:
        raise CommandError(str(e.args[0])) from None


def write_metrics(path: Path, report: dict[str, Any]) -> None:
    """Store the report's figures in the checkpoint's `metrics` metadata, re-saving the file
    atomically with its own weights (reloaded from the file, so nothing else changes)."""
    from models.checkpoint import CheckpointError, load_checkpoint, read_metadata, save_checkpoint
    from models.evaluation import metadata_summary

    if path.suffix.lower() != ".safetensors":
        raise CommandError(f"--write stores figures in Latent Explorer checkpoints (.safetensors); "
                           f"{path} is not one. Run without --write")
    try:
        meta = read_metadata(path)
        fresh = load_checkpoint(path, "cpu")
        metrics = dict(meta.get("metrics") or {})
        metrics.update(metadata_summary(report))
        metrics["evaluated"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        meta["metrics"] = metrics
        save_checkpoint(path, fresh.net, meta, half=meta.get("dtype") == "float16")
    except CheckpointError as e:
        raise CommandError(f"cannot store the figures: {e}") from None


def format_report(r: dict[str, Any]) -> str:
    model = r["model"]
    lines = [f"{model['name']} ({model['kind']}, {model['architecture']}): {r['samples']} samples, "
             f"seed {r['seed']}, {r['sampler']}", ""]
    cov = r["coverage"]
    rows: list[tuple[str, str]] = [
        ("fid", number(r["fid"])),
        ("fid_floor", number(r["fid_floor"]) + (f"  ({r['floor_samples']} training images)"
                                                if r["fid_floor"] is not None else "")),
        ("classifier_accuracy", number(r["classifier"]["test_accuracy"], "%")
         + f"  ({r['classifier']['test_images']} test images)"),
        ("coverage_min_share", f"{number(cov['min_share'], '%')}  ({cov['min_class']})"),
        ("coverage_entropy", f"{cov['entropy_bits']:.3f} of {cov['max_entropy_bits']:.3f} bits"),
        ("confident_share", number(r["confident_share"], "%")),
    ]
    if r["model"]["conditional"]:
        rows.append(("conditional_accuracy", number(r["conditional_accuracy"], "%")))
    vae = r["vae"]
    if vae:
        rows.append(("kl_total", f"{vae['kl_total']:.4g} nats"))
        rows.append(("active_units", f"{vae['active_units']} of {vae['latent_dim']}"))
    from models.metrics import TITLES

    width = max(len(TITLES[k]) for k, _ in rows) + 2
    lines += [f"{TITLES[k]:<{width}}{text}" for k, text in rows]
    names = cov["class_names"]
    lines += ["", "class histogram of the samples:"]
    lines += [f"  {name:<14}{count:>6}  {100 * share:5.1f} %"
              for name, count, share in zip(names, cov["counts"], cov["shares"])]
    if r["guidance"]:
        lines += ["", "guidance sweep (classifier-free guidance scale):",
                  f"  {'scale':>6}  {'FID':>10}  {'cond. accuracy':>14}  {'smallest share':>14}  {'confident':>9}"]
        lines += [f"  {g['scale']:>6g}  {number(g['fid']):>10}  {number(g['conditional_accuracy'], '%'):>14}  "
                  f"{number(g['coverage_min_share'], '%'):>14}  {number(g['confident_share'], '%'):>9}"
                  for g in r["guidance"]]
    if vae:
        lines += ["", "KL per dimension (nats): " + " ".join(f"{v:.3f}" for v in vae["kl_per_dim"])]
    if r["notes"]:
        lines += ["", "notes:"] + [f"  {note}" for note in r["notes"]]
    keys = [k for k, _ in rows] + (["guidance"] if r["guidance"] else []) + (["kl_per_dim"] if vae else [])
    lines += ["", "what the figures mean:"] + explanation_lines(keys)
    return "\n".join(lines)


def format_classifier_report(r: dict[str, Any]) -> str:
    lines = [f"{r['model']['name']} (classifier): {r['test_images']} test images", "",
             f"test accuracy  {100 * r['test_accuracy']:.1f} %", "", "per class:"]
    lines += [f"  {name:<14} {100 * acc:5.1f} %" for name, acc in r["per_class_accuracy"].items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from models.evaluation import evaluate, evaluate_classifier

    try:
        scales = parse_scales(args.guidance)
        device = pick_device(args.device)
        model = open_generator(args.model, device)
        classifier = open_classifier(args.classifier, device)
        target = checkpoint_file(args.model) if args.write else None
        test, train = load_test_and_train(args.data, tuple(classifier.image_shape))
        if model.classifier is not None:   # a classifier measures itself: its test accuracy
            report = evaluate_classifier(model, test, progress=progress_printer(f"evaluating {model.name}"))
            if target is not None:
                write_metrics(target, report)
            print_json(report) if args.json else print(format_classifier_report(report))
            return 0
        report = evaluate(model, classifier, test, args.samples, args.seed, train=train,
                          ddim_steps=args.ddim_steps, guidance_scales=scales, batch_size=args.batch_size,
                          progress=progress_printer(f"evaluating {model.name}"))
        report["device"] = device
        if target is not None:
            write_metrics(target, report)
    except (CommandError, ValueError, RuntimeError) as e:
        return failure(e)
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    if target is not None:
        print(f"stored the figures in {target}", file=sys.stderr)
    return 0


# the same default as models.evaluation.DEFAULT_SAMPLES; repeated so `--help` needs no torch
DEFAULT_SAMPLES = 1000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="quality figures of a generator: classifier-FID and its floor, "
                                        "mode coverage, conditional accuracy, KL and active units")
    p.add_argument("model", help="bundled model name or checkpoint file")
    add_common_arguments(p, DEFAULT_SAMPLES)
    p.add_argument("--data", metavar="DIR",
                   help="Fashion-MNIST IDX directory (default: $LATENT_EXPLORER_DATA or "
                        "/usr/share/datasets/fashion-mnist)")
    p.add_argument("--guidance", default="0,1,2,4", metavar="W,W,...",
                   help="classifier-free guidance scales to try on a conditional DDPM (default: 0,1,2,4; "
                        "the model's default scale is always added)")
    p.add_argument("--write", action="store_true",
                   help="store the figures in the checkpoint's metrics metadata (re-saves the file)")
    p.set_defaults(func=run)
