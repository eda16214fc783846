"""`latent-explorer train KIND ... --out FILE`: train one model, with progress on stderr."""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.commands import fail
from explorer.commands.arguments import MAX_BATCH_SIZE, real, seed, whole
from explorer.commands.progress import ProgressLine, progress
from explorer.interrupts import interrupt_note
from models.limits import MAX_IMAGE_SIDE

MAX_EPOCHS = 100_000
MAX_LATENT_DIM = 4096

if TYPE_CHECKING:
    from models.train import Progress


def training_progress(show: ProgressLine) -> Callable[[Progress], None]:
    """The trainer's reports as one count of steps over all epochs, with the epoch and losses."""

    def report(p: Progress) -> None:
        show((p.epoch - 1) * p.steps + p.step, p.epochs * p.steps, epoch=f"{p.epoch}/{p.epochs}",
             **{k: f"{v:.4f}" for k, v in p.losses.items()})

    return report


def run(args: argparse.Namespace) -> int:
    from models.data import DataError, load_dataset
    from models.distributed import Processes
    from models.train import TrainOptions, train

    try:
        arch = json.loads(args.arch) if args.arch else {}
    except json.JSONDecodeError as e:
        return fail(f"--arch is not valid JSON: {e}")
    if args.scale is not None:
        if args.kind != "srgan":
            return fail(f"--scale is the upscaling factor of srgan; {args.kind} has none")
        arch["scale"] = args.scale
    translator_options = (args.domain_a, args.domain_b, args.epoch_size, args.identity_weight)
    if args.kind != "cyclegan" and any(v is not None for v in translator_options):
        return fail(f"--domain-a, --domain-b, --epoch-size and --identity-weight are cyclegan's; {args.kind} has none")
    if args.kind == "cyclegan" and not (args.domain_a and args.domain_b):
        return fail("cyclegan translates between two domains: pass --domain-a SPEC --domain-b SPEC, each class "
                    "names ('Sneaker'), 'all', 'edges[:CLASSES]' or a folder of pictures")
    options = TrainOptions(kind=args.kind, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                           latent_dim=args.latent_dim, seed=args.seed, device=args.device, half=args.half,
                           name=args.name or Path(args.out).stem, arch=arch, bfloat16=args.bfloat16,
                           flip=args.flip, resume=args.resume, gan_loss=args.gan_loss, ema_decay=args.ema,
                           min_snr_gamma=args.min_snr_gamma, domain_a=args.domain_a, domain_b=args.domain_b,
                           epoch_size=args.epoch_size, identity_weight=args.identity_weight)
    shape = None        # the data's own: 1 x 28 x 28 for Fashion-MNIST and folders, 3 x 64 x 64 for emoji
    if args.image_size is not None or args.channels is not None:
        shape = (args.channels or 3, args.image_size or 64, args.image_size or 64)
    try:
        data = load_dataset(_data_of(args), split="train", image_shape=shape)
    except DataError as e:
        return fail(str(e))
    try:
        main = Processes.from_environment().main      # under torchrun the first process reports and writes
        with (progress(f"training {args.kind}", unit="steps", disable=not main) as show,
              interrupt_note(lambda: resume_hint(args.out))):
            meta = train(options, data, args.out, progress=training_progress(show))
    except (ValueError, TypeError, RuntimeError, DataError) as e:
        return fail(str(e))
    curve = meta["training"]["loss_curve"]
    last = ", ".join(f"{k} {v[-1]:.4f}" for k, v in curve.items() if v)
    if not main:
        return 0
    print(f"wrote {args.out}  ({meta['training']['time_s']} s on {meta['training']['hardware']}; last epoch: {last})")
    return 0


def resume_hint(out: str) -> str | None:
    """What continues a stopped run writing `out`, when it has finished an epoch."""
    from models.train_state import read_state, state_path_for

    state = state_path_for(out)
    try:
        done = read_state(state)["epochs_done"]
    except ValueError:
        return None      # no epoch finished yet (or no state to trust)
    return f"the state after epoch {done} is in {state}: the same command with --resume {state} continues from there"


def _data_of(args: argparse.Namespace) -> str | None:
    """--data; for a translator between two picture folders without it, the first folder (whose
    pictures set the image shape), so no Fashion-MNIST is needed."""
    folders = [spec for spec in (args.domain_a, args.domain_b) if spec and Path(spec).is_dir()]
    if args.data is None and args.kind == "cyclegan" and len(folders) == 2:
        return folders[0]
    return args.data


def register(sub: argparse._SubParsersAction) -> None:
    from models.train import KINDS

    p = sub.add_parser("train", help="train a model on Fashion-MNIST or an image folder")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--data", help="Fashion-MNIST IDX directory, image folder, or 'emoji' (or a .ttf file) for "
                                  "the colour emoji font (default: $LATENT_EXPLORER_DATA or "
                                  "/usr/share/datasets/fashion-mnist)")
    p.add_argument("--image-size", type=whole(8, MAX_IMAGE_SIDE), metavar="PIXELS",
                   help="train on square images of this side, resized from the data (default: the data's "
                        "own, 28 for Fashion-MNIST and picture folders; 64 with --channels alone)")
    p.add_argument("--channels", type=int, choices=(1, 3),
                   help="1 (grey) or 3 (RGB) (default: the data's own; 3 with --image-size alone)")
    p.add_argument("--epochs", type=whole(1, MAX_EPOCHS), default=10)
    p.add_argument("--out", required=True, help="checkpoint to write (.safetensors)")
    p.add_argument("--latent-dim", type=whole(1, MAX_LATENT_DIM))
    p.add_argument("--batch-size", type=whole(1, MAX_BATCH_SIZE), default=128)
    p.add_argument("--lr", type=real(0, 10, above=True), help="learning rate (default: the kind's own)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--half", action="store_true", help="store the weights as float16")
    p.add_argument("--bfloat16", action="store_true",
                   help="bfloat16 autocast on the CPU too, about twice as fast where the CPU has bfloat16 "
                        "instructions (CUDA always uses it)")
    p.add_argument("--flip", action="store_true", help="mirror a random half of every batch left to right")
    p.add_argument("--scale", type=int, choices=(2, 3, 4, 8),
                   help="srgan: the upscaling factor, each side of the input is the image's / SCALE (default: 4)")
    p.add_argument("--name", help="model name recorded in the checkpoint (default: the file name)")
    p.add_argument("--arch", help="extra network config as JSON, e.g. '{\"base_channels\": 16}'")
    p.add_argument("--gan-loss", choices=("bce", "hinge"), default="bce",
                   help="GANs: the non-saturating loss with label smoothing (default) or the hinge loss, best "
                        "with a spectral-norm D (--arch '{\"d_norm\": \"spectral\"}')")
    p.add_argument("--ema", type=real(0, 0.9999), default=0.0, metavar="DECAY",
                   help="GANs: keep a moving average of the generator's weights with this decay (0.999 is "
                        "usual) and save it instead of the last weights; 0, the default, for none")
    p.add_argument("--min-snr-gamma", type=real(0, 1000), default=0.0, metavar="GAMMA",
                   help="ddpm: weight each timestep's loss by min(SNR, GAMMA) / SNR (Hang et al. 2023 use 5); "
                        "0, the default, for the plain loss")
    p.add_argument("--resume", metavar="STATE", help="continue a stopped run from the state it wrote after its last "
                   "whole epoch (OUT.state, next to --out), with the same options")
    p.add_argument("--domain-a", metavar="SPEC", help="cyclegan: domain A, class names of the data ('Sneaker', "
                   "'Shirt,Coat'), 'all', 'edges[:CLASSES]' (Canny edge maps of those images) or a folder of pictures")
    p.add_argument("--domain-b", metavar="SPEC", help="cyclegan: domain B, as --domain-a")
    p.add_argument("--epoch-size", type=whole(1, 10_000_000), metavar="PAIRS",
                   help="cyclegan: pairs drawn per epoch (default: the larger domain's size)")
    p.add_argument("--identity-weight", type=real(0, 1000), help="cyclegan: weight of the identity losses "
                   "(default: half the cycle weight of 10)")
    p.set_defaults(func=run)
