"""Enough shards for every rank and DataLoader worker: reshard by row group, split by node, or say why not."""

from __future__ import annotations

import warnings

import datasets
from datasets.distributed import split_dataset_by_node

from hf_mixture.errors import HfMixtureError


class ShardError(HfMixtureError, ValueError):
    """A stream has fewer shards than ranks: some rank would get no data."""


class IdleWorkersWarning(UserWarning):
    """Fewer shards than ranks x DataLoader workers: some workers will read nothing."""


def shard_for_ranks(
    ds: datasets.IterableDataset,
    *,
    what: str,
    rank: int,
    world_size: int,
    num_workers: int,
    rebuild_hint: str,
) -> datasets.IterableDataset:
    """`ds` split by whole shards for `rank` of `world_size`, after `reshard()` (one shard per
    parquet row group) when the files are fewer than `world_size * num_workers`.

    Raises ShardError when even the row groups are fewer than `world_size`; warns
    (IdleWorkersWarning) when they are fewer than `world_size * num_workers` or do not divide
    evenly over the ranks. `what` names the stream and `rebuild_hint` the fix in messages."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
    needed = world_size * max(1, num_workers)
    if ds.num_shards < needed:
        ds = ds.reshard()
    shards = ds.num_shards
    if shards < world_size:
        raise ShardError(
            f"{what} has {shards} shard(s) (files, or row groups after reshard()) for world_size="
            f"{world_size}: every rank needs at least one whole shard. Fix: {rebuild_hint.format(n=needed)}"
        )
    if shards < needed or shards % world_size:
        effect = "some workers will read nothing" if shards < needed else "ranks get unequal shares"
        warnings.warn(
            f"{what} has {shards} shard(s) for {world_size} rank(s) x {max(1, num_workers)} DataLoader "
            f"worker(s): {effect}."
            f" Fix: {rebuild_hint.format(n=needed)}",
            IdleWorkersWarning,
            stacklevel=3,
        )
    if world_size == 1:
        return ds
    return split_dataset_by_node(ds, rank=rank, world_size=world_size, strategy="shards")
