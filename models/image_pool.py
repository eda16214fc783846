"""The image pool of CycleGAN (Shrivastava et al. 2017, used by Zhu et al. 2017): the
discriminator is shown a mix of the newest translations and older ones, so it does not forget
what the generator used to do and the two do not chase each other in circles."""
from __future__ import annotations

import torch
from torch import Tensor


class ImagePool:
    """Keeps up to `size` generated images. Each image of a query batch is stored while the pool
    fills; once full, with probability 1/2 it is swapped for a random stored image (which is
    returned instead), else returned itself."""

    def __init__(self, size: int = 50, generator: torch.Generator | None = None) -> None:
        if size < 0:
            raise ValueError(f"pool size must be 0 or more, got {size}")
        self.size = size
        self.images: list[Tensor] = []
        self._random = generator or torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        return len(self.images)

    def query(self, batch: Tensor) -> Tensor:
        """A batch of the same shape as `batch` (detached): new images mixed with stored ones."""
        batch = batch.detach()
        if self.size == 0:
            return batch
        out = []
        for image in batch:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self._random) < 0.5:
                i = int(torch.randint(len(self.images), (), generator=self._random))
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)
