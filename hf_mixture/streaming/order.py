"""The global row order of one epoch of a built stage, and which part of it a reader takes.

The order does not depend on ranks or workers (the rule mosaicml-streaming uses for elastic
resume): for epoch `e`, the stage's parquet row groups ("blocks") are permuted with a generator
seeded by `(seed, e)`, consecutive blocks are gathered into windows of at least `shuffle_buffer`
rows, and the rows of each window are permuted with `(seed, e, window)`. So every epoch is a
fresh order over the whole stage (shard order and rows within shards), and a reader holds one
window (at least one row group) at a time. `shuffle_buffer=1` keeps the file order.

A job of `world_size` ranks reads positions `0 .. length - 1` of that order, rank `r` the positions
`r, r + world_size, ...` (its stride), so after `k` rows on every rank the job has consumed exactly
the first `k * world_size` positions, whatever the world size. `length` makes every rank read the
same number of rows (`REMAINDERS`): `"repeat"` (default) pads the order to a multiple of the world
size with its first rows, `"drop"` leaves the last `rows % world_size` positions out. Inside a rank,
DataLoader worker `j` of `K` yields the rank's rows of batches `j, j + K, ...` (batches of
`batch_size` rows), which is the order in which the DataLoader hands batches out, so the rank sees
its stride in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

REMAINDERS = ("repeat", "drop")


@dataclass(frozen=True)
class Block:
    """One parquet row group of the stage: file index, row group index, rows."""

    file: int
    row_group: int
    rows: int


@dataclass(frozen=True)
class Window:
    """Consecutive blocks of an epoch's order: global positions `start .. start + rows - 1`."""

    index: int
    blocks: tuple[Block, ...]
    start: int
    rows: int


@dataclass(frozen=True)
class Reader:
    """Who reads: rank `rank` of `world_size`, DataLoader worker `worker` of `workers`, batches
    of `batch_size` rows."""

    rank: int
    world_size: int
    worker: int = 0
    workers: int = 1
    batch_size: int = 1


def _seed(seed: int, *more: int) -> list[int]:
    return [int(seed) & 0xFFFFFFFF, *(int(m) for m in more)]


def epoch_windows(blocks: tuple[Block, ...], seed: int, epoch: int, shuffle_buffer: int) -> list[Window]:
    """The windows of epoch `epoch`: blocks permuted by `(seed, epoch)` (kept in file order when
    `shuffle_buffer == 1`), gathered until each window holds at least `shuffle_buffer` rows."""
    order = range(len(blocks))
    if shuffle_buffer > 1:
        order = np.random.default_rng(_seed(seed, epoch)).permutation(len(blocks))
    windows, current, start, rows = [], [], 0, 0
    for i in order:
        if not blocks[i].rows:
            continue
        current.append(blocks[i])
        rows += blocks[i].rows
        if rows >= shuffle_buffer:
            windows.append(Window(len(windows), tuple(current), start, rows))
            current, start, rows = [], start + rows, 0
    if current:
        windows.append(Window(len(windows), tuple(current), start, rows))
    return windows


def window_permutation(window: Window, seed: int, epoch: int, shuffle_buffer: int) -> np.ndarray:
    """Row `i` of the window's order is row `perm[i]` of its blocks read one after the other."""
    if shuffle_buffer == 1:
        return np.arange(window.rows)
    return np.random.default_rng(_seed(seed, epoch, 1, window.index)).permutation(window.rows)


def epoch_length(rows: int, world_size: int, remainder: str) -> int:
    """Positions a job reads in one epoch: a multiple of `world_size` (module doc)."""
    if remainder == "drop":
        return rows - rows % world_size
    return -(-rows // world_size) * world_size


def rank_positions(reader: Reader, start: int, stop: int, first: int) -> np.ndarray:
    """The global positions in `[start, stop)` that `reader` reads, in order, from its rank-local
    row `first` on."""
    r, w = reader.rank, reader.world_size
    low = max(first, -(-(start - r) // w))
    high = -(-(stop - r) // w)
    local = np.arange(low, max(low, high), dtype=np.int64)
    if reader.workers > 1:
        local = local[worker_of(local, reader.batch_size, reader.workers) == reader.worker]
    return r + w * local


def worker_of(local: np.ndarray, batch_size: int, workers: int) -> np.ndarray:
    """The DataLoader worker reading each rank-local row index: whole batches, dealt in turn."""
    return (local // batch_size) % workers


def rows_per_worker(rows: int, batch_size: int, workers: int) -> np.ndarray:
    """Rows each of `workers` workers reads of a rank's `rows` rows (shape `(workers,)`)."""
    local = np.arange(rows, dtype=np.int64)
    return np.bincount(worker_of(local, batch_size, workers), minlength=workers)


def reader_plan(
    windows: list[Window], rows: int, length: int, reader: Reader, first: int
) -> Iterator[tuple[Window, np.ndarray, np.ndarray]]:
    """`(window, positions inside the window, their rank-local indices)` for each window the
    reader needs, in order, from its rank-local row `first`; positions past `rows` (the `repeat`
    padding) wrap to the start of the order."""
    for offset in (0, rows) if length > rows else (0,):
        for window in windows:
            start, stop = offset + window.start, min(offset + window.start + window.rows, length)
            if start >= stop:
                break
            positions = rank_positions(reader, start, stop, first)
            if len(positions):
                yield window, positions - start, (positions - reader.rank) // reader.world_size
