"""Training on several processes with torch.distributed, as `torchrun` starts them.

`torchrun --nproc_per_node N -m explorer train KIND ...` starts N copies of the command with
WORLD_SIZE, RANK and LOCAL_RANK in their environment. Each joins one process group (NCCL on
GPUs, each process on the GPU of its LOCAL_RANK; gloo on CPUs), its networks are wrapped in
DistributedDataParallel, which averages the gradients of every step over the processes, and
each takes its share of every batch, so the batch size, the steps and the schedules are those
of a run on one process. DistributedDataParallel averages only the gradients of what runs
through the wrapped module's own forward: a loop that calls parts of a network by themselves (a
LAPGAN's levels, a CycleGAN's two generators) wraps each part alone. Random draws (latents,
noise) are seeded per process, so the processes do not repeat each other's. Only the first
process reports progress and writes files.

Without torchrun (WORLD_SIZE unset or 1) everything here is a no-op.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes."""

    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @classmethod
    def from_environment(cls) -> Processes:
        try:
            world = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        except ValueError:
            raise ValueError("WORLD_SIZE, RANK and LOCAL_RANK must be whole numbers (torchrun sets them)") from None
        if not (world >= 1 and 0 <= rank < world):
            raise ValueError(f"RANK {rank} does not fit WORLD_SIZE {world}")
        return cls(world, rank, local_rank)

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """The process that reports and writes."""
        return self.rank == 0

    def join(self, device: torch.device) -> torch.device:
        """Joins the process group (once) and returns the device this process trains on."""
        if not self.distributed:
            return device
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return device

    def wrap(self, module: nn.Module, device: torch.device, some_unused: bool = False) -> nn.Module:
        """`module` in DistributedDataParallel when there are several processes, else itself.
        `some_unused`: a step leaves some parameters without gradients (DDP must look for them)."""
        if not self.distributed:
            return module
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None,
                                       find_unused_parameters=some_unused)

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's rows of a batch of indices (every process sees the same batch)."""
        if not self.distributed:
            return batch
        if len(batch) < self.world:
            raise ValueError(f"a batch of {len(batch)} cannot be shared by {self.world} processes: "
                             f"use a --batch-size of at least {self.world}")
        return batch[self.rank::self.world]

    def seed(self, seed: int) -> int:
        """A seed for this process's random draws: the seed itself on the first process."""
        return seed + 7919 * self.rank

    def leave(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.barrier()
                dist.destroy_process_group()
