"""`load_mixture`: stream a built stage (a Hub repo or a local folder in the Hub layout) for training."""

from __future__ import annotations

from pathlib import Path

import datasets

from hf_mixture.errors import HfMixtureError
from hf_mixture.streaming.shards import shard_for_ranks
from hf_mixture.streaming.stream import MixtureStream, new_stream
from hf_mixture.streaming.transforms import RowTransform

DEFAULT_SHUFFLE_BUFFER = 1000
REBUILD_HINT = (
    "rebuild the stage with at least {n} shards (`hf-mixture build <stage.yaml> --num-shards {n}` or "
    "`stage: num_shards: {n}` in the YAML), or write smaller parquet row groups so reshard() can split "
    "the files"
)


class StageNotFoundError(HfMixtureError, ValueError):
    """The repo or folder has no config with the stage's name."""


def load_mixture(
    repo_or_folder: str | Path,
    stage: str,
    *,
    split: str = "train",
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    seed: int = 42,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    epoch: int = 0,
    transform: RowTransform | None = None,
    decode: bool = True,
    revision: str | None = None,
    token: str | bool | None = None,
) -> MixtureStream:
    """Stream the rows of `stage` for one training process.

    `load_dataset(repo_or_folder, stage, streaming=True)`, `reshard()` by parquet row group when
    the files are fewer than `world_size * num_workers`, `split_dataset_by_node` by whole shards
    (a ShardError says how to rebuild when there are fewer shards than ranks), then a
    `MixtureStream`: seeded window shuffle of `shuffle_buffer` rows, image decoding, `transform`,
    `set_epoch`, exact `state_dict()` resume. Pass the DataLoader's `num_workers` so the shard
    check can count them. Every rank must use the same `seed`.
    """
    source = str(repo_or_folder)
    what = f"stage {stage!r} of {source}"
    try:
        ds = datasets.load_dataset(source, stage, split=split, streaming=True, revision=revision, token=token)
    except ValueError as err:
        if "BuilderConfig" in str(err) and "not found" in str(err):
            raise StageNotFoundError(
                f"{source} has no stage {stage!r} ({err}); build it with `hf-mixture build <stage.yaml> "
                f"--out {source}` or pick one of the configs its README lists"
            ) from err
        raise
    ds = shard_for_ranks(
        ds, what=what, rank=rank, world_size=world_size, num_workers=num_workers, rebuild_hint=REBUILD_HINT
    )
    return new_stream(
        ds,
        seed=seed,
        shuffle_buffer=shuffle_buffer,
        transform=transform,
        decode=decode,
        rank=rank,
        epoch=epoch,
    )
