"""What each direction changes, measured: the report beside the sliders and of `latent-explorer
directions`.

From a few hundred prior samples, each direction is followed REACH σ both ways (σ being the
direction's own slider unit), and the images at the two ends are compared with the start: how
often the classifier's top class changes, which class gains and which loses probability, how many
other classes change on the way (leakage), how much the pixels change, and how often the image
ends up farther from every training image than real images are (models/references.py). The
starts come from a seed, so the figures are the same on every run.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from models.directions import Directions, repeat_labels
from models.capabilities import Labels
from models.generative import GenerativeModel
from models.references import ReferenceSet, nearest_distances
from models.steps import Progress, Steps

STARTS = 256                # random starting points
REACH = 2.0                 # how far each way, in the direction's σ
CHANGE = 0.1                # a class probability that moves more than this between the two ends has changed
BATCH = 256


@dataclass(frozen=True)
class DirectionFigures:
    """One direction's row of the report."""

    index: int                     # the direction's place in its Directions
    name: str
    scale: float                   # the method's own figure (Directions.scale_name)
    top_class_moves: float         # share of the moves after which the top class differs from the start's
    towards: str                   # the class whose probability rises most from -REACH to +REACH σ, on average
    towards_gain: float            # ... by this much (mean probability); "" and 0 when none rises
    away: str                      # the class whose probability falls most
    away_loss: float               # ... by this much; "" and 0 when none falls
    leakage: float                 # other classes whose probability changes by more than CHANGE, per start
    pixel_change: float            # mean absolute change of a pixel (in [0, 1]) from the start to an end
    leaves_data: float | None      # share of the ends farther from the training data than real images typically are


# column -> (title, what it means, larger first when sorting)
COLUMNS: dict[str, tuple[str, str, bool]] = {
    "index": ("#", "the direction's place in its set", False),
    "name": ("direction", "", False),
    "scale": ("scale", "the method's own figure of the direction", True),
    "top_class_moves": ("top class moves", f"share of the moves of ±{REACH:g} σ after which the classifier's top "
                                           f"class differs from the start's", True),
    "towards_gain": ("towards", f"the class whose probability rises most from -{REACH:g} to +{REACH:g} σ, and "
                                f"by how much on average", True),
    "away_loss": ("away from", "the class whose probability falls most, and by how much", True),
    "leakage": ("leakage", f"other classes whose probability changes by more than {CHANGE:g} on the way, per "
                           f"start (0: the direction changes only the two classes it moves between)", False),
    "pixel_change": ("pixels", "mean absolute change of a pixel (0 to 1) from the start to an end", True),
    "leaves_data": ("off data", "share of the ends farther from every training image than 95% of real images "
                                "are", False),
}


@dataclass(frozen=True)
class DirectionReport:
    rows: tuple[DirectionFigures, ...]
    method: str
    scale_name: str
    starts: int
    reach: float
    seed: int
    class_names: tuple[str, ...]
    starts_off_data: float | None          # the `leaves_data` share of the starting images themselves
    typical_distance: float | None         # the distance real images stay below (95%)
    notes: tuple[str, ...] = ()

    def sorted_by(self, column: str, descending: bool | None = None) -> DirectionReport:
        """The same report, its rows ordered by `column` (a key of COLUMNS; "towards" and "away"
        sort by their gain and loss). Unmeasured figures go last."""
        column = {"towards": "towards_gain", "away": "away_loss"}.get(column, column)
        if column not in COLUMNS:
            raise ValueError(f"unknown column {column!r}: use one of {', '.join(COLUMNS)}")
        descending = COLUMNS[column][2] if descending is None else descending
        present = [r for r in self.rows if getattr(r, column) is not None]
        absent = [r for r in self.rows if getattr(r, column) is None]
        present.sort(key=lambda r: getattr(r, column), reverse=descending)
        return dataclasses.replace(self, rows=tuple(present + absent))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def report_directions(model: GenerativeModel, judge: GenerativeModel, directions: Directions,
                      references: ReferenceSet | None = None, references_problem: str = "", *,
                      labels: Labels = None, starts: int = STARTS, reach: float = REACH, seed: int = 0,
                      indices: list[int] | None = None) -> Steps[DirectionReport]:
    """The report of `directions` (those in `indices`, else all) of `model`, measured with the
    classifier `judge` from `starts` prior samples of `seed`, drawn as class `labels` by a
    conditional model. Without `references` (`references_problem` says why) the off-data
    figures are None."""
    _check(model, judge, directions, starts, reach)
    chosen = list(range(len(directions))) if indices is None else [int(i) for i in indices]
    if not all(0 <= i < len(directions) for i in chosen):
        raise ValueError(f"direction indices must be within 0 to {len(directions) - 1}")
    names = tuple(judge.classifier.class_names)
    z0 = model.sample_latent(starts, seed).reshape(starts, -1)
    drawn = repeat_labels(labels, starts) if model.conditional is not None else None
    total = 1 + len(chosen)
    typical = references.typical if references is not None else None
    start = yield from _look(model, judge, z0, drawn, references)
    yield Progress(1, total, "report: starting points")
    rows = []
    for done, j in enumerate(chosen, start=2):
        step = torch.from_numpy(reach * float(directions.std[j]) * directions.directions[j]).float()
        ends = yield from _look(model, judge, torch.cat([z0 + step, z0 - step]), _twice(drawn), references)
        rows.append(_figures(j, directions, start, ends, names, typical))
        yield Progress(done, total, f"report: {directions.names[j]}")
    notes = () if references is not None else (f"Distance to the training data not measured: {references_problem}",)
    return DirectionReport(tuple(rows), directions.method, directions.scale_name, starts, float(reach), int(seed),
                           names, _share_off(start, typical), typical, notes)


@dataclass
class _Look:
    images: Tensor          # (n, C, H, W) on the CPU
    probs: np.ndarray       # (n, K)
    distances: np.ndarray | None


def _look(model: GenerativeModel, judge: GenerativeModel, z: Tensor, labels: Labels,
          references: ReferenceSet | None) -> Steps[_Look]:
    images, probs = [], []
    for s in range(0, len(z), BATCH):
        batch = model.decode(z[s:s + BATCH].reshape(-1, *model.latent_shape),
                             None if labels is None else labels[s:s + BATCH])
        images.append(batch.float().cpu())
        probs.append(judge.classifier.predict(batch).double().cpu().numpy())
        yield None
    images = torch.cat(images)
    distances = nearest_distances(images, references.images) if references is not None else None
    return _Look(images, np.concatenate(probs), distances)


def _figures(j: int, directions: Directions, start: _Look, ends: _Look, names: tuple[str, ...],
             typical: float | None) -> DirectionFigures:
    n = len(start.probs)
    plus, minus = ends.probs[:n], ends.probs[n:]
    swing = plus - minus                                    # (n, K): from -reach to +reach
    mean_swing = swing.mean(axis=0)
    towards, away = int(np.argmax(mean_swing)), int(np.argmin(mean_swing))
    changed = np.abs(swing) > CHANGE
    changed[:, [towards, away]] = False
    top = start.probs.argmax(axis=1)
    moved = np.concatenate([plus.argmax(axis=1) != top, minus.argmax(axis=1) != top])
    pixels = (ends.images - torch.cat([start.images, start.images])).abs().mean().item()
    gain, loss = max(0.0, float(mean_swing[towards])), max(0.0, float(-mean_swing[away]))
    return DirectionFigures(j, directions.names[j], float(directions.scale[j]), float(moved.mean()),
                            names[towards] if gain > 0 else "", gain, names[away] if loss > 0 else "", loss,
                            float(changed.sum(axis=1).mean()), float(pixels), _share_off(ends, typical))


def _share_off(look: _Look, typical: float | None) -> float | None:
    """Share of the images farther from the training data than real images typically are."""
    if look.distances is None or typical is None or not np.isfinite(typical):
        return None
    return float((look.distances > typical).mean())


def _twice(labels: Labels) -> Labels:
    return None if labels is None else torch.cat([labels, labels])


def _check(model: GenerativeModel, judge: GenerativeModel, directions: Directions, starts: int, reach: float) -> None:
    if judge is None or judge.classifier is None:
        raise ValueError("the report needs a classifier to read the images; install the bundled classifier or "
                         "pass one with --classifier")
    if model.prior is None:
        raise ValueError(f"the report starts from samples of the prior, and {model.name} has none")
    if tuple(model.image_shape) != tuple(judge.image_shape):
        raise ValueError(f"{model.name} makes {tuple(model.image_shape)} images but {judge.name} reads "
                         f"{tuple(judge.image_shape)}; use a classifier trained on the same images")
    if directions.directions.shape[1] != model.latent_dim:
        raise ValueError(f"these directions are {directions.directions.shape[1]}-dimensional but {model.name}'s "
                         f"latent has {model.latent_dim} dimensions")
    if starts < 2 or not 0 < reach <= 10:
        raise ValueError(f"the report needs at least 2 starting points and a reach in (0, 10] σ, got {starts} "
                         f"and {reach}")
