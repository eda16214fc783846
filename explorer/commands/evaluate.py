"""`latent-explorer evaluate MODEL [--samples N] [--seed S] [--json] [--write]`: a generator's
quality figures, measured with a classifier that reads its images (the bundled one of the same
image shape: Fashion-MNIST's for 1 x 28 x 28, the emoji set's for 3 x 64 x 64) against the test
set it was trained on. A model no classifier reads gets a message saying so, not a failure."""
from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.commands import CommandError, print_json
from explorer.commands.arguments import MAX_GUIDANCE, check_real
from explorer.commands.measuring import (add_common_arguments, explanation_lines, failure, number,
                                         open_classifier, open_generator, pick_device)
from explorer.commands.progress import progress

if TYPE_CHECKING:
    from models.generative import GenerativeModel


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


def write_metrics(path: Path, report: dict[str, Any], summary: dict[str, Any] | None = None) -> None:
    """Store the report's figures (`summary`, else the usual summary of a generator's report) in
    the checkpoint's `metrics` metadata, re-saving the file atomically with its own weights
    (reloaded from the file, so nothing else changes)."""
    from models.checkpoint import CheckpointError, load_checkpoint, read_metadata, save_checkpoint
    from models.evaluation import metadata_summary

    if path.suffix.lower() != ".safetensors":
        raise CommandError(f"--write stores figures in Latent Explorer checkpoints (.safetensors); "
                           f"{path} is not one. Run without --write")
    try:
        meta = read_metadata(path)
        fresh = load_checkpoint(path, "cpu")
        metrics = dict(meta.get("metrics") or {})
        metrics.update(summary if summary is not None else metadata_summary(report))
        metrics["evaluated"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        meta["metrics"] = metrics
        kept_d = fresh.discriminator.net if fresh.discriminator is not None else None
        save_checkpoint(path, fresh.net, meta, half=meta.get("dtype") == "float16", discriminator=kept_d)
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
    if r.get("kid") is not None:
        floor = r.get("kid_floor")
        rows.append(("kid", f"{r['kid']:.4g} ± {r['kid_std']:.2g}"
                     + (f"  (training images: {floor:.4g})" if floor is not None else "")))
    for key in ("precision", "recall"):
        if r.get(key) is not None:
            real = r.get(f"{key}_floor")
            rows.append((key, number(r[key], "%") + (f"  (held-out real images: {number(real, '%')})"
                                                      if real is not None else "")))
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


def bundled_judge(image_shape: tuple[int, ...]) -> str | None:
    """The bundled classifier that reads images of `image_shape`, or None."""
    import resources
    from models.checkpoint import CheckpointError, read_metadata
    from models.generative import declared_capabilities

    for path in resources.bundled_checkpoints().values():
        try:
            meta = read_metadata(path)
        except CheckpointError:
            continue
        if ("classifier" in declared_capabilities(meta.get("architecture", ""), meta.get("config") or {})
                and tuple(meta.get("image_shape") or ()) == tuple(image_shape)):
            return str(path)
    return None


def not_applicable(model: GenerativeModel) -> dict[str, Any]:
    shape = "x".join(str(s) for s in model.image_shape)
    c, h, _ = model.image_shape
    return {"model": {"name": model.name, "kind": str(model.kind), "image_shape": list(model.image_shape)},
            "applicable": False,
            "reason": (f"no classifier reads {shape} images, so the figures measured in a classifier's "
                       f"features (FID, precision and recall, class coverage) do not apply to {model.name}. "
                       f"Train one on the same images (latent-explorer train classifier --data FOLDER "
                       f"--image-size {h} --channels {c} --out judge.safetensors; a folder with class "
                       f"sub-folders) and pass --classifier judge.safetensors")}


def judge_data(judge: GenerativeModel) -> str | None:
    """The data a judge was trained on when its recipe names it (the emoji font), else None (the
    Fashion-MNIST folder)."""
    recipe = (judge.metadata.get("training") or {}).get("recipe") or {}
    data = recipe.get("data")
    return data if isinstance(data, str) and data else None


def run(args: argparse.Namespace) -> int:
    from models.evaluation import evaluate, evaluate_classifier

    try:
        scales = parse_scales(args.guidance)
        device = pick_device(args.device)
        model = open_generator(args.model, device)
        if model.upscaler is not None:
            return evaluate_upscaler(model, args, device)
        if model.translator is not None:
            return evaluate_translator(model, args, device)
        judge_path = args.classifier
        if judge_path is None and model.classifier is None:
            judge_path = bundled_judge(tuple(model.image_shape))
            if judge_path is None:
                report = not_applicable(model)
                print_json(report) if args.json else print(report["reason"])
                return 0
        if model.classifier is not None and judge_path is None:
            classifier = model          # a classifier measures itself
        else:
            classifier = open_classifier(judge_path, device)
        target = checkpoint_file(args.model) if args.write else None
        data = args.data if args.data is not None else judge_data(classifier)
        test, train = load_test_and_train(data, tuple(classifier.image_shape))
        if model.classifier is not None:   # a classifier measures itself: its test accuracy
            with progress(f"evaluating {model.name}", unit="images") as show:
                report = evaluate_classifier(model, test, progress=show)
            if target is not None:
                write_metrics(target, report)
            print_json(report) if args.json else print(format_classifier_report(report))
            return 0
        # one unit is an image classified, or a sample advanced by one sampler step
        with progress(f"evaluating {model.name}", unit="units") as show:
            report = evaluate(model, classifier, test, args.samples, args.seed, train=train,
                              ddim_steps=args.ddim_steps, guidance_scales=scales, batch_size=args.batch_size,
                              progress=show)
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


def evaluate_upscaler(model: GenerativeModel, args: argparse.Namespace, device: str) -> int:
    """An upscaler's figures (models/sr_evaluation.py) on the whole test set; --samples does not apply."""
    from models.sr_evaluation import format_upscaler_report, upscaler_report_steps, upscaler_summary

    judged = _judge_and_data(model, args, device)
    if judged is None:
        return 0
    classifier, data = judged
    test, _ = load_test_and_train(data, tuple(model.image_shape))
    steps = upscaler_report_steps(model, classifier, test, batch_size=args.batch_size)
    return _run_and_show(model, args, device, steps, upscaler_summary, format_upscaler_report)


def evaluate_translator(model: GenerativeModel, args: argparse.Namespace, device: str) -> int:
    """A translator's figures (models/translator_evaluation.py) on every test image of both
    domains; --samples does not apply."""
    from models.data import DataError, load_dataset
    from models.translator_evaluation import format_translator_report, translator_report_steps, translator_summary

    judged = _judge_and_data(model, args, device)
    if judged is None:
        return 0
    classifier, data = judged
    try:
        test = load_dataset(data, split="test", image_shape=tuple(model.image_shape))
        train = load_dataset(data, split="train", image_shape=tuple(model.image_shape))
    except DataError as e:
        raise CommandError(f"evaluate needs the test and training images of the translator's domains: {e}") from None
    steps = translator_report_steps(model, classifier, test, train, batch_size=args.batch_size)
    return _run_and_show(model, args, device, steps, translator_summary, format_translator_report)


def _judge_and_data(model: GenerativeModel, args: argparse.Namespace,
                    device: str) -> tuple[GenerativeModel, str | None] | None:
    """The classifier that reads an image-to-image model's images and the data to measure on;
    None (having said why) when no classifier reads them."""
    judge_path = args.classifier or bundled_judge(tuple(model.image_shape))
    if judge_path is None:
        report = not_applicable(model)
        print_json(report) if args.json else print(report["reason"])
        return None
    classifier = open_classifier(judge_path, device)
    return classifier, args.data if args.data is not None else judge_data(classifier)


def _run_and_show(model: GenerativeModel, args: argparse.Namespace, device: str, steps: Any,
                  summary: Callable[[dict[str, Any]], dict[str, Any]],
                  formatted: Callable[[dict[str, Any]], str]) -> int:
    """Runs a report's steps with progress, stores its summary with --write, prints it."""
    from models.steps import run_to_end

    with progress(f"evaluating {model.name}", unit="images") as show:
        report = run_to_end(steps, lambda p: show(p.done, p.total))
    report["device"] = device
    if args.write:
        write_metrics(checkpoint_file(args.model), report, summary(report))
    print_json(report) if args.json else print(formatted(report))
    return 0


# the same default as models.evaluation.DEFAULT_SAMPLES; repeated so `--help` needs no torch
DEFAULT_SAMPLES = 1000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="quality figures of a generator: classifier-FID and its floor, "
                                        "mode coverage, conditional accuracy, KL and active units")
    p.add_argument("model", help="bundled model name or checkpoint file")
    add_common_arguments(p, DEFAULT_SAMPLES)
    p.add_argument("--data", metavar="DIR",
                   help="the test images: Fashion-MNIST IDX directory, picture folder with train/ and test/, "
                        "or 'emoji' (default: the data the classifier was trained on: the emoji font for the "
                        "emoji classifier, else $LATENT_EXPLORER_DATA or /usr/share/datasets/fashion-mnist)")
    p.add_argument("--guidance", default="0,1,2,4", metavar="W,W,...",
                   help="classifier-free guidance scales to try on a conditional DDPM (default: 0,1,2,4; "
                        "the model's default scale is always added)")
    p.add_argument("--write", action="store_true",
                   help="store the figures in the checkpoint's metrics metadata (re-saves the file)")
    p.set_defaults(func=run)
