"""One output shard written from the entries' files and the stage order: no stage table anywhere.

A `ShardTask` is small (the shard's row range, one order checkpoint, the entries' file lists) and
runs wherever the engine runs it (in this process, or a Ray task on any node that sees the files).
`write_shard` regenerates the shard's part of the interleave order (`MixOrder.rows`), gathers each
row group from the contiguous row ranges of the entries it draws from (`StageRows`), and writes
it with the writer settings of `Dataset.to_parquet` (`write_tables`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.arrow_writer import get_parquet_column_options

from hf_mixture.export.entry_files import EntryFiles, StageRows, release_mapped_pages
from hf_mixture.mixing.order import MixOrder
from hf_mixture.schema import FEATURES


@dataclass(frozen=True)
class ShardTask:
    """Write output rows [start, stop) to `path`, `rows_per_group` rows a row group."""

    order: MixOrder  # cut to the checkpoint `start` needs
    entries: tuple[EntryFiles, ...]
    start: int
    stop: int
    rows_per_group: int
    path: str


def shard_bounds(total: int, count: int) -> list[tuple[int, int]]:
    """Contiguous row ranges of `count` shards, as `Dataset.shard(count, i, contiguous=True)` cuts."""
    div, mod = divmod(total, count)
    bounds = []
    for index in range(count):
        start = div * index + min(index, mod)
        bounds.append((start, start + div + (1 if index < mod else 0)))
    return bounds


def shard_tasks(
    order: MixOrder, entries: Sequence[EntryFiles], count: int, rows_per_group: int, paths: Sequence[str]
) -> list[ShardTask]:
    """One task per shard, each carrying only the order checkpoint it starts from."""
    bounds = shard_bounds(order.total, count)
    return [
        ShardTask(order.cut([start]), tuple(entries), start, stop, rows_per_group, str(path))
        for (start, stop), path in zip(bounds, paths)
    ]


def write_shard(task: ShardTask) -> int:
    """Write the shard of `task`; returns its row count."""
    rows = StageRows(task.entries)
    write_tables(_row_groups(task, rows), task.path, release=rows.arrow_paths())
    return task.stop - task.start


def _row_groups(task: ShardTask, rows: StageRows) -> Iterator[pa.Table]:
    """The shard's row groups, each one chunk per column: rows taken from the contiguous ranges of
    the entries' rows they come from (an interleave reads each entry in order, so few ranges)."""
    for entries, within in task.order.chunks(task.start, task.stop, task.rows_per_group):
        wanted = rows.offsets[entries] + within
        unique, inverse = np.unique(wanted, return_inverse=True)
        breaks = np.flatnonzero(np.diff(unique) != 1) + 1
        firsts = unique[np.r_[0, breaks]]
        lengths = np.diff(np.r_[0, breaks, len(unique)])
        ranges = [t for first, n in zip(firsts, lengths) for t in rows.slice(int(first), int(n))]
        compact = pa.concat_tables(ranges).combine_chunks()
        del ranges
        yield compact.take(pa.array(inverse, pa.int64()))


def write_tables(
    tables: Iterable[pa.Table],
    path: str | Path,
    features: datasets.Features = FEATURES,
    *,
    release: Iterable[str] = (),
) -> None:
    """Write `tables` (one row group each) as `Dataset.to_parquet` writes (datasets'
    `ParquetDatasetWriter`: features in the `huggingface` schema metadata, per-column options,
    content-defined chunking and its key-value metadata, page index); resident pages of the
    memory-mapped files `release` are dropped after each row group."""
    schema = features.arrow_schema
    cdc = datasets.config.DEFAULT_CDC_OPTIONS  # what `to_parquet` (and `push_to_hub`) use by default
    release = list(release)
    with open(path, "wb") as file:
        writer = pq.ParquetWriter(
            file,
            schema=schema,
            use_content_defined_chunking=cdc,
            write_page_index=True,
            **get_parquet_column_options(features, schema),
        )
        for table in tables:
            writer.write_table(table)
            del table
            release_mapped_pages(release)
        writer.add_key_value_metadata({"content_defined_chunking": json.dumps(cdc)})
        writer.close()
