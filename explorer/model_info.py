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
        parts = [self.kind_title, f"latent {latent}", f"{w}x{h}{'' if c == 1 else f'x{c}'}"]
        if self.num_classes:
            parts.append(f"{self.num_classes} classes")
        return " · ".join(parts)

    def tooltip(self) -> str:
        """Several lines of metadata for the model library's tooltip (plain text)."""
        m = self.metadata
        lines = [f"{self.name} — {self.summary()}", f"architecture: {self.architecture or '?'}"]
        dataset = m.get("dataset")
        if isinstance(dataset, Mapping) and dataset.get("name"):
            lines.append(f"dataset: {dataset['name']}")
        training = m.get("training")
        if isinstance(training, Mapping):
            if training.get("epochs") is not None:
                lines.append(f"trained: {training['epochs']} epochs"
                             + (f", seed {training['seed']}" if training.get("seed") is not None else ""))
            if isinstance(training.get("time"), (int, float)):
                lines.append(f"training time: {training['time'] / 60:.1f} min")
        metrics = m.get("metrics")
        if isinstance(metrics, Mapping):
            for key, value in list(metrics.items())[:6]:
                shown = f"{value:.4g}" if isinstance(value, float) else str(value)
                lines.append(f"{key}: {shown}")
        lines.append(f"source: {self.source}")
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
        """From a checkpoint's metadata alone (no weights read): for listing models quickly."""
        from models.generative import declared_capabilities

        config = meta.get("config") if isinstance(meta.get("config"), Mapping) else {}
        kind = str(meta.get("kind", "?"))
        return cls(source=str(source), name=str(meta.get("name") or Path(str(source)).stem), kind=kind,
                   latent_shape=tuple(int(s) for s in meta.get("latent_shape", ())),
                   image_shape=tuple(int(s) for s in meta.get("image_shape", (1, 28, 28))),  # type: ignore[arg-type]
                   class_names=tuple(meta.get("class_names") or ()),
                   capabilities=declared_capabilities(str(meta.get("architecture", "")), dict(config)),
                   metadata=dict(meta))
