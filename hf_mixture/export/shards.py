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
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets.arrow_writer import get_parquet_column_options

from hf_mixture.export.entry_files import EntryFiles, StageRows, release_mapped_pages, table_row_bytes
from hf_mixture.mixing.order import MixOrder
from hf_mixture.schema import FEATURES, MIX_REPEAT_MARK

# Row groups are cut by the bytes of their rows as written: at most ROW_GROUP_BYTES uncompressed
# (below datasets' MAX_ROW_GROUP_SIZE of 100 MB and far below the viewer's 300,000,000-byte scan
# limit; a streaming reader holds one row group per source) and ROW_GROUP_ROWS rows.
ROW_GROUP_BYTES = 32 * 1024**2
ROW_GROUP_ROWS = 10_000


@dataclass(frozen=True)
class ShardTask:
    """Write output rows [start, stop) to `path`."""

    order: MixOrder  # cut to the checkpoint `start` needs
    entries: tuple[EntryFiles, ...]
    start: int
    stop: int
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
    order: MixOrder, entries: Sequence[EntryFiles], count: int, paths: Sequence[str]
) -> list[ShardTask]:
    """One task per shard, each carrying only the order checkpoint it starts from."""
    bounds = shard_bounds(order.total, count)
    return [
        ShardTask(order.cut([start]), tuple(entries), start, stop, str(path))
        for (start, stop), path in zip(bounds, paths)
    ]


def write_shard(task: ShardTask) -> int:
    """Write the shard of `task` (row groups cut as `group_bounds` cuts the shard's rows);
    returns its row count."""
    rows = StageRows(task.entries)
    release = rows.arrow_paths()
    write_tables(
        _row_groups(task, rows), task.path, FEATURES, after_group=lambda: release_mapped_pages(release)
    )
    return task.stop - task.start


def _row_groups(task: ShardTask, rows: StageRows) -> Iterator[pa.Table]:
    """The shard's row groups, one chunk per column, each the greedy `group_bounds` group from its
    first row (so, the groups `group_bounds` gives the whole shard): rows are gathered
    ROW_GROUP_ROWS at a time, the rows after a group's end wait for the next one."""
    pending = None
    for entries, within, repeats in task.order.chunks(task.start, task.stop, ROW_GROUP_ROWS):
        gathered = with_repeat_ids(_gather(rows, entries, within), repeats)
        pending = gathered if pending is None else pa.concat_tables([pending, gathered]).combine_chunks()
        while len(pending) >= ROW_GROUP_ROWS:
            pending = yield from _first_group(pending)
    while pending is not None and len(pending):
        pending = yield from _first_group(pending)


def _first_group(table: pa.Table):
    """Yield the first row group of `table`; return the rows after it."""
    (start, stop), *_ = group_bounds(
        table_row_bytes(table.slice(0, ROW_GROUP_ROWS)), ROW_GROUP_BYTES, ROW_GROUP_ROWS
    )
    yield table.slice(0, stop)
    return table.slice(stop)


def _gather(rows: StageRows, entries, within) -> pa.Table:
    """The rows (entry, row within it) in order, one chunk per column: taken from the contiguous
    row ranges they come from (an interleave reads each entry in order, so few ranges)."""
    _, inverse, ranges = source_ranges(rows.offsets[entries] + within)
    tables = [t for first, n in ranges for t in rows.slice(first, n)]
    compact = pa.concat_tables(tables).combine_chunks()
    del tables
    return compact.take(pa.array(inverse, pa.int64()))


def with_repeat_ids(table: pa.Table, repeats: np.ndarray) -> pa.Table:
    """`table` whose rows drawn again by the mix (`repeats` k >= 1, `MixOrder.chunks`) have
    `~<k>` appended to their id (schema.md), so that ids are unique within the stage."""
    again = repeats > 0
    if not again.any():
        return table
    suffix = np.where(again, np.char.add(MIX_REPEAT_MARK, repeats.astype(str)), "")
    ids = pc.binary_join_element_wise(table["id"], pa.array(suffix, pa.string()), "")
    return table.set_column(table.schema.get_field_index("id"), "id", ids)


def write_tables(
    tables: Iterable[pa.Table], path: str | Path, features: datasets.Features, *, after_group=None
) -> None:
    """Write `tables` (each becomes one row group; cut them with `group_bounds` /
    `table_row_bytes`) as one parquet shard at `path` with the settings of `Dataset.to_parquet`:
    `features` in the schema metadata, per-column options, content-defined chunking, page index.
    `after_group()` runs after each row group is written. The one shard writer of the package (a
    Ray task can call it with the tables of its rows)."""
    schema = features.arrow_schema
    cdc = datasets.config.DEFAULT_CDC_OPTIONS  # what `to_parquet` (and `push_to_hub`) use by default
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
            if after_group is not None:
                after_group()
        writer.add_key_value_metadata({"content_defined_chunking": json.dumps(cdc)})
        writer.close()


def group_bounds(row_bytes: np.ndarray, max_bytes: int, max_rows: int) -> list[tuple[int, int]]:
    """Consecutive `(start, stop)` row ranges covering `row_bytes` (bytes of each row, in order),
    each of at most `max_rows` rows and `max_bytes` bytes, or one row when that row alone is larger."""
    cumulative = np.cumsum(row_bytes, dtype=np.int64)
    bounds, start, count = [], 0, len(row_bytes)
    while start < count:
        base = int(cumulative[start - 1]) if start else 0
        stop = int(np.searchsorted(cumulative, base + max_bytes, side="right"))
        stop = min(max(stop, start + 1), start + max_rows, count)
        bounds.append((start, stop))
        start = stop
    return bounds


def source_ranges(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """The sorted unique `positions`, each position's index into them, and the contiguous
    `(first, length)` ranges the unique positions form."""
    unique, inverse = np.unique(positions, return_inverse=True)
    breaks = np.flatnonzero(np.diff(unique) != 1) + 1
    firsts = unique[np.r_[0, breaks]] if len(unique) else unique
    lengths = np.diff(np.r_[0, breaks, len(unique)]) if len(unique) else unique
    return unique, inverse, [(int(f), int(n)) for f, n in zip(firsts, lengths)]
