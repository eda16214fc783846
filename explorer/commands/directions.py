"""`latent-explorer directions MODEL [--method M] [--json] ...`: a model's latent directions (principal,
SeFa, class boundaries or attribute vectors, or read from a file), each measured for what it
changes, as a table or JSON; `--save` writes them for the app and for later runs."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from explorer.commands import CommandError, print_json
from explorer.commands.arguments import MAX_BATCH_SIZE, class_index, real, seed, whole
from explorer.commands.measuring import failure, open_classifier, open_generator, pick_device
from explorer.commands.progress import progress

if TYPE_CHECKING:
    from models.direction_report import DirectionReport
    from models.directions import Directions

# the defaults of models/directions.py and models/direction_report.py, repeated so `--help` needs no torch
METHODS = ("principal", "sefa", "boundaries", "attributes")
COUNT, SAMPLES, STARTS, REACH = 12, 5000, 256, 2.0
SORTABLE = ("index", "scale", "top_class_moves", "towards", "away", "leakage", "pixel_change", "leaves_data")


def parse_layers(text: str) -> tuple[int, int]:
    """--layers START:STOP (STOP excluded), or one layer N."""
    start, colon, stop = text.partition(":")
    try:
        first = int(start)
        last = int(stop) if colon else first + 1
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be START:STOP or one layer number, not {text!r}") from None
    if not 0 <= first < last <= 10_000:
        raise argparse.ArgumentTypeError(f"must be START:STOP with 0 <= START < STOP, not {text!r}")
    return first, last


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (CommandError, ValueError, RuntimeError) as e:
        return failure(e)


def _run(args: argparse.Namespace) -> int:
    from models.direction_files import DirectionsFileError, load_directions, model_identity, save_directions
    from models.direction_report import report_directions
    from models.directions import DirectionSpec, directions_of

    from models.directions import methods_for
    from models.generative import capability_names

    device = pick_device(args.device)
    model = open_generator(args.model, device)
    if model.upscaler is not None or model.translator is not None:
        raise CommandError(f"{model.name} turns images into images: it has no latent to find directions in")
    why_not = methods_for(capability_names(model)).get(args.method, "")
    if why_not and not args.load:       # said before any work starts
        raise CommandError(f"{args.method} directions do not apply to {model.name}: {why_not}")
    label = class_index(args.class_, model.conditional)
    needs_judge = args.method in ("boundaries", "attributes") or not args.no_report
    judge = open_classifier(args.classifier, device) if needs_judge else None
    if (args.towards or args.away or args.keep) and args.method not in ("boundaries", "attributes"):
        raise CommandError("--towards, --from and --keep choose classes for --method boundaries or attributes")
    if args.keep and args.method != "boundaries":
        raise CommandError("--keep is for --method boundaries")
    if args.load:
        try:
            directions = load_directions(args.load, model)
        except DirectionsFileError as e:
            raise CommandError(str(e)) from None
    else:
        spec = DirectionSpec(args.method, count=args.count, layers=args.layers, samples=args.samples,
                             towards=_judge_class(args.towards, judge, "--towards"),
                             away=_judge_class(args.away, judge, "--from"),
                             keep=tuple(_judge_class(c, judge, "--keep") for c in args.keep or ()))
        data, problem = _test_split(model, args)
        directions = _run_steps(directions_of(model, spec, judge=judge, labels=label, seed=args.seed, data=data,
                                              data_problem=problem), f"directions of {model.name}")
    if args.save:
        try:
            save_directions(args.save, directions, model)
        except DirectionsFileError as e:
            raise CommandError(str(e)) from None
    report = None
    if not args.no_report:
        references, problem = _references(model, args)
        report = _run_steps(report_directions(model, judge, directions, references, problem, labels=label,
                                              starts=args.starts, reach=args.reach, seed=args.seed),
                            f"measuring the directions of {model.name}")
        report = report.sorted_by(args.sort) if args.sort else report
    if args.json:
        print_json({"model": model_identity(model), "drawn_as": _drawn_as(model, label),
                    "directions": _directions_json(directions),
                    "report": report.to_dict() if report is not None else None})
    else:
        print(format_table(model.name, directions, report, _drawn_as(model, label)))
    if args.save:
        print(f"latent-explorer: directions saved to {args.save}", file=sys.stderr)
    return 0


def _run_steps(steps: Any, what: str) -> Any:
    """The result of a step iterator, its progress shown as a share that only rises (its parts
    count their own steps: drawing samples, then fitting, say)."""
    from models.steps import run_to_end

    with progress(what, total=100, unit="%") as show:
        shown = [0]

        def on_progress(p: Any) -> None:
            shown[0] = max(shown[0], int(100 * p.done / p.total) if p.total else 0)
            show(shown[0])

        result = run_to_end(steps, on_progress)
        show(100)
        return result


def _judge_class(text: str | None, judge: Any, option: str) -> int | None:
    return None if text is None else class_index(text, judge.classifier, option)


def _drawn_as(model: Any, label: int | None) -> str | None:
    if model.conditional is None:
        return None
    return model.conditional.class_names[0 if label is None else label]


def _test_split(model: Any, args: argparse.Namespace) -> tuple[Any, str]:
    """The test split a model with an encoder is measured on, or why there is none."""
    if model.encoder is None or args.method not in ("principal", "attributes"):
        return None, ""
    from models.data import DataError, load_dataset
    from models.training_data import data_for

    try:
        return load_dataset(data_for(model, args.data), split="test", image_shape=tuple(model.image_shape)), ""
    except DataError as e:
        if args.data is not None:
            raise CommandError(str(e)) from None
        return None, str(e)


def _references(model: Any, args: argparse.Namespace) -> tuple[Any, str]:
    from models.data import DataError
    from models.references import reference_set
    from models.training_data import data_for

    try:
        return reference_set(tuple(model.image_shape), data_for(model, args.data)), ""
    except DataError as e:
        if args.data is not None:
            raise CommandError(str(e)) from None
        print(f"latent-explorer: no distances to the training data: {e}", file=sys.stderr)
        return None, str(e)


def _directions_json(directions: Directions) -> dict[str, Any]:
    return {"method": directions.method, "message": directions.message, "scale_name": directions.scale_name,
            "layers": list(directions.layers) if directions.layers else None, "names": list(directions.names),
            "scale": directions.scale.tolist(), "std": directions.std.tolist()}


def format_table(name: str, directions: Directions, report: DirectionReport | None, drawn_as: str | None) -> str:
    """The directions and their report as the text table the README shows."""
    layers = f", layers {directions.layers[0]}:{directions.layers[1]}" if directions.layers else ""
    head = f"{name}: {len(directions)} directions, {directions.method}{layers}"
    if drawn_as:
        head += f"; drawn as {drawn_as}"
    lines = [head] + ([directions.message] if directions.message else [])
    if report is None:
        width = max(len(n) for n in directions.names)
        lines += ["", f" #  {'direction':<{width}}  {directions.scale_name}"]
        lines += [f"{j + 1:>2}  {name:<{width}}  {scale:.4g}" for j, (name, scale) in
                  enumerate(zip(directions.names, directions.scale))]
        return "\n".join(lines)
    off = "" if report.starts_off_data is None else \
        f"; {100 * report.starts_off_data:.1f}% of the starting images are off the data"
    lines.append(f"{report.starts} starting points (seed {report.seed}), moved ±{report.reach:g} σ{off}")
    header = ["#", "direction", directions.scale_name, "top class moves", "towards", "away from", "leakage",
              "pixels", "off data"]
    rows = [[str(r.index + 1), r.name, f"{r.scale:.4g}", f"{100 * r.top_class_moves:.1f}%",
             f"{r.towards} +{r.towards_gain:.2f}" if r.towards else "–",
             f"{r.away} −{r.away_loss:.2f}" if r.away else "–", f"{r.leakage:.2f}",
             f"{r.pixel_change:.3f}", "n/a" if r.leaves_data is None else f"{100 * r.leaves_data:.1f}%"]
            for r in report.rows]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    left = {1, 4, 5}
    lines.append("")
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(w) if i in left else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
    from models.direction_report import COLUMNS

    lines += ["", "what the columns mean:"]
    lines += [f"  {COLUMNS[key][0]}: {COLUMNS[key][1]}" for key in
              ("top_class_moves", "towards_gain", "away_loss", "leakage", "pixel_change", "leaves_data")]
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("directions", help="a model's latent directions (principal, SeFa, class boundaries, "
                                          "attribute vectors), each measured for what it changes")
    p.add_argument("model", metavar="MODEL", help="bundled model name or checkpoint file")
    p.add_argument("--method", choices=METHODS, default="principal",
                   help="principal: GANSpace for a GAN, PCA of the encoded test set for a VAE; sefa: closed-form "
                        "from the weights that read the latent; boundaries: linear class boundaries of "
                        "classifier-labelled samples (InterFaceGAN); attributes: mean latent of one class minus "
                        "another's (default: principal)")
    p.add_argument("--count", type=whole(1, 1024), default=COUNT, metavar="K",
                   help=f"principal and SeFa directions to find (default: {COUNT})")
    p.add_argument("--layers", type=parse_layers, metavar="START:STOP",
                   help="SeFa: the layers that read the latent to factorise (default: all; the bundled models "
                        "have one, 0)")
    p.add_argument("--towards", metavar="CLASS",
                   help="boundaries, attributes: one direction towards this class (default: one per class)")
    p.add_argument("--from", dest="away", metavar="CLASS",
                   help="boundaries, attributes: ... from this class (default: from the rest)")
    p.add_argument("--keep", action="append", metavar="CLASS",
                   help="boundaries: do not cross this class's own boundary (\"towards Sneaker, not away from "
                        "Sandal\"); repeatable")
    p.add_argument("--class", dest="class_", metavar="C",
                   help="the class a conditional model draws, index or name (default: 0)")
    p.add_argument("--samples", type=whole(2, 1_000_000), default=SAMPLES, metavar="N",
                   help=f"boundaries, attributes: classifier-labelled prior samples (default: {SAMPLES})")
    p.add_argument("--starts", type=whole(2, MAX_BATCH_SIZE), default=STARTS, metavar="N",
                   help=f"starting points of the report (default: {STARTS})")
    p.add_argument("--reach", type=real(0, 10, above=True), default=REACH, metavar="S",
                   help=f"how far the report moves each way, in σ (default: {REACH:g})")
    p.add_argument("--sort", choices=SORTABLE, help="order the report's rows by this column (default: as found)")
    p.add_argument("--no-report", action="store_true", help="find (and save) the directions without measuring them")
    p.add_argument("--seed", type=seed, default=0, help="seed of every random draw (default: 0)")
    p.add_argument("--save", metavar="FILE.json", help="write the directions to FILE.json, tied to this model")
    p.add_argument("--load", metavar="FILE",
                   help="measure directions read from FILE instead: one saved with --save, or a GANSpace "
                        "component file (.npz)")
    p.add_argument("--json", action="store_true", help="print the directions and the report as JSON")
    p.add_argument("--classifier", metavar="PATH",
                   help="classifier checkpoint that labels and measures the images (default: the bundled one)")
    p.add_argument("--data", metavar="DIR",
                   help="Fashion-MNIST IDX folder or image folder: the test images a VAE is encoded on, the "
                        "training images distances are measured to (default: $LATENT_EXPLORER_DATA or "
                        "/usr/share/datasets/fashion-mnist; skipped when absent)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where the networks run (default: cuda, then mps, then cpu)")
    p.set_defaults(func=run)
