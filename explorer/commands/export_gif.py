"""`latent-explorer export-gif`: an interpolation between two latent points as an animated GIF,
headless. Endpoints are seeds (whole numbers) or the model's bookmarks (by name); the GIF carries
the path's settings, so dropping it on the window restores the interpolation."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from explorer.commands import CommandError, fail
from explorer.commands.arguments import class_index, real, seed_or_name, whole
from explorer.commands.progress import progress

MIN_FRAMES, MAX_FRAMES = 2, 512   # as explorer.jobs.interpolation; repeated so `--help` needs no torch


def endpoint_from(value: int | str, model: Any, label: int | None, bookmarks: Any) -> Any:
    """A seed (`seed_or_name` made it an int) or the model's bookmark of that name, as an Endpoint."""
    from explorer.jobs.interpolation import Endpoint

    if isinstance(value, int):
        return Endpoint("seed", seed=value, label=label)
    text = value.strip()
    mark = bookmarks.get(model.name, text)
    if mark is None:
        elsewhere = sorted({b.model_name for b in bookmarks.all() if b.name == text})
        known = ", ".join(sorted(b.name for b in bookmarks.for_model(model.name))) or "none"
        where = f" (it belongs to {', '.join(elsewhere)})" if elsewhere else ""
        raise CommandError(f"{value!r} is not a seed or a bookmark of {model.name}{where}; "
                           f"its bookmarks: {known}")
    mark_label = tuple(mark.label) if isinstance(mark.label, list) else mark.label
    return Endpoint("latent", latent=tuple(mark.latent), psi=mark.psi, note=f"bookmark '{mark.name}'",
                    label=label if label is not None else mark_label)


def build_settings(args: argparse.Namespace, model: Any, bookmarks: Any):
    from explorer.jobs.interpolation import PathSettings

    start_class = class_index(args.cls, model.conditional, "--class")
    end_class = class_index(args.to_class, model.conditional, "--to-class")
    if end_class is None:
        end_class = start_class
    ends = [(args.start, start_class)] + [(v, start_class) for v in args.via or []] + [(args.end, end_class)]
    keyframes = tuple(endpoint_from(v, model, c, bookmarks) for v, c in ends)
    # a file is recorded by its absolute path, so the GIF restores from any working directory
    source = str(Path(args.model).expanduser().resolve()) if Path(args.model).expanduser().exists() else str(args.model)
    return PathSettings(model=source, model_name=model.name, latent_shape=tuple(model.latent_shape),
                        keyframes=keyframes, frames=args.frames, slerp=args.slerp, fps=args.fps,
                        scale=args.scale, loop=not args.no_loop, pingpong=args.pingpong)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser()
    if out.suffix.lower() != ".gif":
        return fail(f"{out} should end in .gif")
    for target in (out, Path(args.filmstrip).expanduser() if args.filmstrip else None):
        if target is not None and target.exists() and not args.force:
            return fail(f"{target} already exists; pass --force to replace it")

    from explorer.bookmarks import BookmarkStore
    from explorer.export import ExportError
    from explorer.jobs.interpolation import export_path, resolve_settings
    from models.checkpoint import CheckpointError, open_model
    from models.data import DataError

    start = time.perf_counter()
    try:
        model = open_model(args.model)
        bookmarks = BookmarkStore()
        if bookmarks.warning:
            print(f"latent-explorer: {bookmarks.warning}", file=sys.stderr)
        settings = build_settings(args, model, bookmarks)
        frames = through_translator(args, model, settings) if args.translate else None
        if frames is not None:
            settings = resolve_settings(model, settings)
        with progress("exporting", unit="frames") as show:
            result = export_path(settings, out, "gif", frames=frames, overwrite=args.force, model_fn=lambda: model,
                                 on_progress=lambda p: show(p.done, p.total, p.message or None))
        if args.filmstrip:
            export_path(settings, args.filmstrip, "png", frames=frames, overwrite=args.force, model_fn=lambda: model)
    except (CommandError, CheckpointError, DataError, ExportError, ValueError) as e:
        return fail(str(e))
    h, w = model.image_shape[1:] if frames is None else frames.shape[1:3]
    print(f"wrote {result.path}: {result.frames} frames of {w * settings.scale}x{h * settings.scale} at "
          f"{settings.fps:g} fps ({'slerp' if settings.slerp else 'lerp'}, "
          f"{time.perf_counter() - start:.2f} s)" + (f"; filmstrip {args.filmstrip}" if args.filmstrip else ""))
    return 0


def through_translator(args: argparse.Namespace, model: Any, settings: Any) -> Any:
    """The path's frames, each beside its translation by the translator --translate names."""
    from explorer.jobs.interpolation import decode_path_steps, resolve_settings
    from explorer.jobs.translate import translated_frames
    from models.checkpoint import open_model
    from models.steps import run_to_end

    translator = open_model(args.translate)
    if translator.translator is None:
        raise CommandError(f"{args.translate} is not a translator; --translate takes one, e.g. cyclegan-footwear")
    _, frames = run_to_end(decode_path_steps(model, resolve_settings(model, settings)))
    return translated_frames(translator, frames, reverse=args.reverse)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-gif", help="an interpolation between two latent points as an animated GIF",
                       description="Write the path between two latent points (seeds or bookmarks) as an "
                                   "animated GIF. The GIF carries the path's settings: drop it on the "
                                   "window to restore the interpolation.")
    p.add_argument("out", metavar="OUT.gif", help="the GIF to write")
    p.add_argument("--model", required=True, help="bundled model name or checkpoint file")
    p.add_argument("--from", dest="start", required=True, metavar="SEED|BOOKMARK", type=seed_or_name,
                   help="start point: a seed (whole number) or the name of one of the model's bookmarks")
    p.add_argument("--to", dest="end", required=True, metavar="SEED|BOOKMARK", type=seed_or_name, help="end point")
    p.add_argument("--via", action="append", metavar="SEED|BOOKMARK", type=seed_or_name,
                   help="a keyframe the path passes through (repeat for more, in order)")
    p.add_argument("--frames", type=whole(MIN_FRAMES, MAX_FRAMES), default=32,
                   help=f"frames in the path, ends included, {MIN_FRAMES} to {MAX_FRAMES} (default 32)")
    p.add_argument("--slerp", action="store_true",
                   help="spherical interpolation (default: linear); keeps the latents' length like real samples")
    p.add_argument("--fps", type=real(1, 50), default=12.0, help="frames per second, 1 to 50 (default 12; the "
                                                                 "GIF stores whole hundredths of a second per frame)")
    p.add_argument("--scale", type=whole(1, 32), default=4, help="upscale factor, nearest neighbour, 1 to 32 "
                                                                 "(default 4)")
    p.add_argument("--class", dest="cls", metavar="C",
                   help="class for a conditional model: index or name (default: the bookmarks' class, else 0)")
    p.add_argument("--to-class", metavar="C", help="class at the end point: the class blends along the path")
    p.add_argument("--pingpong", action="store_true", help="play forward, then backward")
    p.add_argument("--no-loop", action="store_true", help="play once instead of looping forever")
    p.add_argument("--filmstrip", metavar="PNG", help="also write every frame side by side as a PNG")
    p.add_argument("--force", action="store_true", help="replace OUT.gif (and the filmstrip) if they exist")
    p.add_argument("--translate", metavar="TRANSLATOR", help="show each frame beside its translation by this "
                                                             "translator (A -> B), e.g. cyclegan-footwear")
    p.add_argument("--reverse", action="store_true", help="with --translate: translate B -> A")
    p.set_defaults(func=run, batch_work=False)   # a few frames a pass: one thread is fastest
