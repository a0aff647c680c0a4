"""Data-parallel plumbing for :func:`pirho.train.train`: joining a gloo process group under
``torchrun``, sharding an epoch's batches over ranks, gathering and broadcasting plain Python
values, and checking on the first step that every rank's gradients agree.

Single-process runs get a :class:`DistributedInfo` with ``world_size == 1`` and every helper
is then a no-op pass-through.

>>> info = join_process_group()  # no WORLD_SIZE in the environment: one process
>>> info.active, gather("x", info)
(False, ['x'])
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from torch import nn

__all__ = [
    "DistributedInfo",
    "broadcast_from_rank0",
    "check_gradients_agree",
    "gather",
    "join_process_group",
    "leave_process_group",
    "shard_batches",
    "wrap_ddp",
]


@dataclass
class DistributedInfo:
    rank: int = 0
    world_size: int = 1
    owns_group: bool = False

    @property
    def active(self) -> bool:
        return self.world_size > 1


def join_process_group() -> DistributedInfo:
    """Join torchrun's process group (gloo, env:// rendezvous) when WORLD_SIZE > 1."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return DistributedInfo(dist.get_rank(), dist.get_world_size(), owns_group=False)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedInfo()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but torch.distributed is not available in this build")
    dist.init_process_group(backend="gloo")
    return DistributedInfo(dist.get_rank(), dist.get_world_size(), owns_group=True)


def leave_process_group() -> None:
    """Destroy the process group :func:`train` created, without torch's teardown deadlock.

    A gloo worker thread drops its reference to a finished collective (and so to tensors that
    Python owns, which takes the GIL) just after the caller's ``wait()`` has returned, while
    ``~ProcessGroupGloo`` joins those threads holding the GIL: tearing the group down inside
    that window hangs forever (seen with torch 2.13 on a loaded machine). Sleeping releases
    the GIL and lets the workers finish first; by then no collective is in flight.
    """
    import torch.distributed as dist

    time.sleep(0.25)
    dist.destroy_process_group()


def gather(obj: Any, dist_info: DistributedInfo) -> list:
    if not dist_info.active:
        return [obj]
    import torch.distributed as dist

    gathered: list = [None] * dist_info.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_from_rank0(obj: Any, dist_info: DistributedInfo) -> Any:
    if not dist_info.active:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def check_gradients_agree(model: nn.Module, dist_info: DistributedInfo) -> None:
    """After the first DDP backward: did DDP average the gradients (did loss_fn call model())?"""
    total = sum(float(p.grad.double().sum()) for p in model.parameters() if p.grad is not None)
    totals = gather(total, dist_info)
    scale = max(1.0, max(abs(t) for t in totals))
    if max(totals) - min(totals) > 1e-5 * scale:
        raise RuntimeError(
            "gradients differ between ranks after backward: loss_fn must compute the loss by "
            "calling the model it is given (model(...)), which DDP hooks to average gradients"
        )


def wrap_ddp(model: nn.Module) -> nn.Module:
    """``DistributedDataParallel(model)`` that also answers the model's own attributes
    (``ddp.vocab_size``); calling the wrapper, not ``model``, is what averages gradients."""
    from torch.nn.parallel import DistributedDataParallel

    class _DataParallel(DistributedDataParallel):
        def __getattr__(self, name: str) -> Any:
            try:
                return super().__getattr__(name)
            except AttributeError:
                if name == "module":
                    raise
                return getattr(self.module, name)

    return _DataParallel(model)


def shard_batches(
    epoch_batches: Iterable, dist_info: DistributedInfo, shard: str
) -> tuple[Iterator, int | None]:
    """This rank's batches of one epoch, and how many there are (None if unknown)."""
    length = len(epoch_batches) if hasattr(epoch_batches, "__len__") else None
    if not dist_info.active:
        return iter(epoch_batches), length
    world_size, rank = dist_info.world_size, dist_info.rank
    if shard == "contiguous":
        if length is None:
            epoch_batches = list(epoch_batches)
            length = len(epoch_batches)
        per_rank = length // world_size
        if per_rank == 0:
            raise ValueError(
                f"an epoch of {length} batches cannot be split over {world_size} ranks"
            )
        return itertools.islice(
            iter(epoch_batches), rank * per_rank, (rank + 1) * per_rank
        ), per_rank

    def strided() -> Iterator:
        group = []
        for batch in epoch_batches:
            group.append(batch)
            if len(group) == world_size:
                yield group[rank]
                group = []

    per_rank = None if length is None else length // world_size
    if per_rank == 0:
        raise ValueError(f"an epoch of {length} batches cannot be split over {world_size} ranks")
    return strided(), per_rank
