"""`load_mixture`: stream a built stage (a Hub repo or a local folder in the Hub layout) for training."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hf_mixture.mixing.probabilities import DEFAULT_BATCH_FACTOR, rows_per_step
from hf_mixture.streaming import rows as row_stream
from hf_mixture.streaming.stage_files import StageFiles, StageNotFoundError, stage_files
from hf_mixture.streaming.stage_stream import GroupBatches, ShardError, StageStream, warn_small_ranks
from hf_mixture.streaming.transforms import RowTransform

DEFAULT_SHUFFLE_BUFFER = 1000

__all__ = ["DEFAULT_SHUFFLE_BUFFER", "StageNotFoundError", "load_mixture"]


def load_mixture(
    repo_or_folder: str | Path,
    stage: str,
    *,
    split: str = "train",
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    batch_size: int | None = None,
    seed: int = 42,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    remainder: str = "repeat",
    group_batches: bool | Mapping[str, float] = False,
    epoch: int = 0,
    transform: RowTransform | None = None,
    decode: bool = True,
    revision: str | None = None,
    token: str | bool | None = None,
) -> StageStream:
    """Stream the rows of `stage` for one training process (docs/streaming.md).

    The stage's files are found as `datasets.load_dataset(repo_or_folder, stage)` finds them and
    read by parquet row group. Each epoch has one global order, the same for every world size
    (row groups permuted, rows permuted within windows of `shuffle_buffer` rows, seeded by `seed`
    and the epoch); rank `rank` reads its stride of it, so every rank reads the same number of
    rows (`remainder`: "repeat" pads with the order's first rows, "drop" leaves the last
    `rows % world_size` out; `len(stream)` = rows per rank per epoch). Pass the DataLoader's
    `num_workers` and `batch_size` (needed with 2+ workers: each worker yields whole batches of
    the rank's order). Every rank must use the same `seed`.

    `group_batches`: LaViDa-O's single-group steps (lavida-o-loader.md 1.4): every item is a list
    of rows of one length group, the same group on every rank for a step, `max(int(batch_size x
    factor), 1)` rows per rank; `True` takes the factors from the stage's build report
    (`batch_sizes`), a mapping gives them. Use `DataLoader(stream, batch_size=None, ...)`.

    Raises StageNotFoundError (no such stage), ShardError (fewer rows than ranks), ValueError
    (bad arguments); warns RemainderWarning when a rank's rows leave workers idle.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
    if batch_size is None and (num_workers > 1 or group_batches):
        raise ValueError(
            f"load_mixture needs batch_size (the DataLoader's, per rank) with num_workers={num_workers}"
            f"{' and group_batches' if group_batches else ''}: each worker yields whole batches of the "
            "rank's order"
        )
    source = str(repo_or_folder)
    what = f"stage {stage!r} of {source}"
    files = stage_files(source, stage, split=split, revision=revision, token=token)
    if files.rows < world_size:
        raise ShardError(
            f"{what} has {files.rows} row(s) for world_size={world_size}: every rank needs at least one "
            "row; use fewer ranks or a bigger stage"
        )
    groups = _group_batches(files, group_batches, batch_size, what) if group_batches else None
    stream = row_stream.new_stream(
        StageStream,
        files,
        seed=seed,
        shuffle_buffer=shuffle_buffer,
        transform=transform,
        decode=decode,
        rank=rank,
        world_size=world_size,
        batch_size=batch_size or 1,
        remainder=remainder,
        epoch=epoch,
        groups=groups,
    )
    warn_small_ranks(stream, num_workers, what)
    return stream


def _group_batches(
    files: StageFiles, factors: bool | Mapping[str, float], batch_size: int, what: str
) -> GroupBatches:
    """Group mode's per-group rows per step (LaViDa-O's `max(int(bs x factor), 1)`, at most bs)."""
    names, codes = files.column_codes("length_group")
    if factors is True:
        report = files.report()
        if report is None:
            raise ValueError(
                f"{what} has no build_report.json to take batch_sizes from: pass "
                "group_batches={group: factor, ...}"
            )
        factors = report.get("batch_sizes") or {}
    counts = np.bincount(np.concatenate(codes), minlength=len(names))
    per_step = [int(rows_per_step(factors.get(name, DEFAULT_BATCH_FACTOR), batch_size)) for name in names]
    steps = counts / np.array(per_step, dtype=float)
    return GroupBatches(
        names=tuple(names),
        rows_per_step=tuple(per_step),
        step_probability=tuple((steps / steps.sum()).tolist()),
        codes=tuple(codes),
    )
