"""`latent-explorer bench [--json]`: the speed figures of this machine (the sections are in
explorer/bench/)."""
from __future__ import annotations

import argparse
from pathlib import Path

from explorer.commands import fail, print_json
from explorer.commands.arguments import real, whole
from explorer.commands.progress import progress


def run(args: argparse.Namespace) -> int:
    models = Path(args.models) if args.models else None
    if models is not None and not models.is_dir():
        return fail(f"--models {models} is not a folder")
    from explorer.bench import SECTIONS, BenchOptions, machine, print_report, run_sections

    options = BenchOptions(device=args.bench_device, steps=args.steps, rate_hz=args.rate, events=args.events,
                           models=models)
    host = machine()
    chosen = [spec for spec in SECTIONS if not args.only or any(word in spec for word in args.only)]
    report = []
    with progress("bench", len(chosen), unit="sections") as show:
        for done, spec in enumerate(chosen):
            show(done, what=f"bench: {spec.partition(':')[2]}")
            # a section's full name picks that section alone (no name contains another)
            report += run_sections(options, [spec])
        show(len(chosen), what="bench")
    if args.json:
        print_json({"machine": host, "sections": report})
    else:
        print_report(report, host)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure this machine's speed figures (latency, stalls, start-up, memory)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--only", nargs="+", metavar="WORD", help="run only the sections whose name contains WORD")
    p.add_argument("--device", dest="bench_device", metavar="DEVICE", default="cpu",
                   help="device for inference (default: cpu)")
    p.add_argument("--steps", type=whole(1, 1_000_000), default=300,
                   help="slider steps in the scripted drag (default: 300)")
    p.add_argument("--rate", type=real(0, 10_000, above=True), default=120.0,
                   help="drag speed in slider events per second (default: 120)")
    p.add_argument("--events", type=whole(1, 10_000_000), default=10_000,
                   help="slider events for the memory figure (default: 10000)")
    p.add_argument("--models", metavar="DIR", help="take vae.safetensors / dcgan.safetensors from DIR "
                                                  "instead of the bundled models")
    p.set_defaults(func=run, main_thread=True)   # it drives the app's widgets
