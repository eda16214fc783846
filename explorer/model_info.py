"""What the UI knows about a model: a plain description built on the worker from the loaded model
(or, for the library list, from a checkpoint's metadata without reading weights). It carries no
tensors, so views can hold it freely, and importing it does not import torch.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.generative import GenerativeModel

@dataclass(frozen=True)
class ModelInfo:
    source: str                       # bundled name or absolute path: what `ctx.model` opens
    name: str
    kind: str                         # for people: "vae", "gan", "ddpm", "classifier", ...
    latent_shape: tuple[int, ...]
    image_shape: tuple[int, int, int]
    class_names: tuple[str, ...] = ()
    capabilities: frozenset[str] = frozenset()   # names from models.generative.CAPABILITIES
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def can(self, capability: str) -> bool:
        """Whether the model has `capability` ("encoder", "conditional", "truncation", ...)."""
        return capability in self.capabilities

    @property
    def decodes_latents(self) -> bool:
        """Whether the model turns latents into images, what the latent, interpolation and compare
        views explore. An image-to-image model (an upscaler, a translator) takes images instead and
        has a view of its own."""
        return not (self.can("upscaler") or self.can("translator"))

    @property
    def latent_dim(self) -> int:
        return math.prod(self.latent_shape)

    @property
    def num_classes(self) -> int:
        """Classes the model draws (0 when it is not conditional)."""
        return len(self.class_names) if self.can("conditional") else 0

    @property
    def directions_method(self) -> str | None:
        """How principal directions of this model are found, or None when they cannot be."""
        from models.directions import method_for

        return method_for(self.capabilities)

    @property
    def training_data(self) -> str | None:
        """The `data` argument that loads the model's training data (models/training_data.py): None
        for the default data (Fashion-MNIST), and also when the file does not say."""
        from models.data import DataError
        from models.training_data import training_data_of

        try:
            return training_data_of(self.metadata, self.image_shape)
        except DataError:
            return None

    @property
    def kind_title(self) -> str:
        return "classifier" if self.kind == "classifier" else self.kind.upper()

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("architecture", ""))

    @property
    def bundled(self) -> bool:
        return "/" not in self.source and "\\" not in self.source

    def summary(self) -> str:
        """One line: kind, latent size, image size, classes."""
        c, h, w = self.image_shape
        latent = "x".join(str(s) for s in self.latent_shape)
        # an image-to-image model's "latent" is its input image
        parts = [self.kind_title, f"{'latent' if self.decodes_latents else 'input'} {latent}",
                 f"{w}x{h}{'' if c == 1 else f'x{c}'}"]
        if self.num_classes:
            parts.append(f"{self.num_classes} classes")
        return " · ".join(parts)

    def tooltip(self) -> str:
        """Several lines of metadata for the model library's tooltip, as plain text read through
        the metadata schema (text from the file has its control characters escaped)."""
        from models.describe import duration, plain_text
        from models.errors import CheckpointError
        from models.metadata import parse_metadata

        lines = [f"{plain_text(self.name)} — {plain_text(self.summary())}",
                 f"architecture: {plain_text(self.architecture or '?')}"]
        try:
            m = parse_metadata(self.metadata)
        except CheckpointError:
            m = None        # what does not read as the schema is left out rather than shown raw
        if m is not None and m.dataset is not None and m.dataset.name:
            lines.append(f"dataset: {plain_text(m.dataset.name)}")
        if m is not None and m.training is not None:
            t = m.training
            if t.epochs is not None:
                lines.append(f"trained: {t.epochs} epochs" + (f", seed {t.seed}" if t.seed is not None else ""))
            if t.time_s is not None:
                lines.append(f"training time: {duration(t.time_s)}")
        for key, value in list(m.metrics.items() if m is not None else ())[:6]:
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(plain_text(f"{key}: {shown}")[:200])
        lines.append(f"source: {plain_text(self.source)}")
        return "\n".join(lines)

    @classmethod
    def from_model(cls, source: str, model: GenerativeModel) -> ModelInfo:
        from models.generative import capability_names

        names = model.conditional.class_names if model.conditional is not None else model.class_names
        return cls(source=str(source), name=str(model.name or Path(str(source)).stem), kind=str(model.kind),
                   latent_shape=tuple(int(s) for s in model.latent_shape),
                   image_shape=tuple(int(s) for s in model.image_shape),  # type: ignore[arg-type]
                   class_names=tuple(names), capabilities=capability_names(model),
                   metadata=dict(model.metadata))

    @classmethod
    def from_metadata(cls, source: str, meta: Mapping[str, Any]) -> ModelInfo:
        """From a checkpoint's metadata alone (no weights read): for listing models quickly.
        The metadata is read through the schema: CheckpointError when it does not fit."""
        from models.generative import declared_capabilities
        from models.metadata import parse_metadata

        m = parse_metadata(meta, f"{source}: metadata")
        return cls(source=str(source), name=m.name or Path(str(source)).stem, kind=m.kind or "?",
                   latent_shape=tuple(m.latent_shape or ()),
                   image_shape=tuple(m.image_shape or (1, 28, 28)),  # type: ignore[arg-type]
                   class_names=m.class_names,
                   capabilities=declared_capabilities(m.architecture, dict(m.config)),
                   metadata=dict(meta))
