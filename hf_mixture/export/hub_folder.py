"""Write a stage in exactly the layout `Dataset.push_to_hub(config_name=stage)` writes.

`<out>/<stage>/train-NNNNN-of-NNNNN.parquet`. Shards are written under a temporary folder
`<out>/.<stage>-tmp<pid>-*` and moved into place (one atomic rename each) only when all are
complete, so the `<stage>/train-*` glob never matches a partial file; stale shards of an earlier
build of the stage are removed after the new ones are in place. A build that was killed leaves
its temporary folder behind; the next build of the stage removes it (when its process is gone).

Each shard is one `write_shard` task (export/shards.py): it regenerates its part of the stage
order from the entries' row counts (mixing/order.py) and reads exactly its rows from the entries'
files (export/entry_files.py), so nothing on the machine that runs `write_stage` grows with the
rows; the engine decides where the tasks run (`run`). Shards are written with the settings of
`Dataset.to_parquet` (datasets' `ParquetDatasetWriter`: features in the `huggingface` schema
metadata, per-column options, content-defined chunking and its key-value metadata, page index),
one `write_table` per row group as it does, each row group one chunk per column (the bytes depend
on the rows only, not on how the entries' files were cut). Without an indices mapping,
`write_parquet(dataset)` writes the bytes `to_parquet` writes (tests/test_perf_stage.py compares
them). Pages of memory-mapped Arrow files read for a row group are released after it is written
(`release_mapped_pages`), so the resident size of a build does not grow with the rows written.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hf_mixture.export.entry_files import EntryFiles
from hf_mixture.export.shards import shard_tasks, write_shard, write_tables
from hf_mixture.mixing.order import MixOrder

SPLIT = "train"
MAX_SHARD_BYTES = 500 * 1024**2
ROW_GROUP_BYTES = 32 * 1024**2


@dataclass(frozen=True)
class WrittenStage:
    """The shards of one stage and their sizes."""

    files: tuple[Path, ...]
    num_examples: int
    num_bytes: int
    download_size: int


def shard_name(index: int, count: int, split: str = SPLIT) -> str:
    """`train-00000-of-00002.parquet`."""
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def data_glob(stage: str, split: str = SPLIT) -> str:
    """The `data_files` path of a stage's split in the README: `s2-256/train-*`."""
    return f"{stage}/{split}-*"


def write_stage(
    out_dir: str | Path,
    stage: str,
    order: MixOrder,
    entries: Sequence[EntryFiles],
    *,
    num_shards: int | None = None,
    run: Callable[[Callable, list], list] | None = None,
) -> WrittenStage:
    """Write the rows of `entries` in `order` as the parquet shards of `stage` under `out_dir`.
    The rows' average data size sizes shards (<= 500 MB) and row groups (about 32 MB). `run(fn,
    items)` runs the shard writes (default: one after the other here; `--engine ray`: Ray tasks)."""
    out_dir = Path(out_dir)
    stage_dir = out_dir / stage
    stage_dir.mkdir(parents=True, exist_ok=True)
    count, rows_per_group = shard_layout(order, entries, num_shards)
    remove_leftovers(out_dir, stage)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(stage), dir=out_dir))
    try:
        names = [shard_name(i, count) for i in range(count)]
        tasks = shard_tasks(order, entries, count, rows_per_group, [staging / n for n in names])
        (run or _run_here)(write_shard, tasks)
        _replace_shards(stage_dir, staging, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = tuple(stage_dir / name for name in names)
    return WrittenStage(
        files=files,
        num_examples=order.total,
        num_bytes=_uncompressed_bytes(files),
        download_size=sum(f.stat().st_size for f in files),
    )


def shard_layout(order: MixOrder, entries: Sequence[EntryFiles], num_shards: int | None) -> tuple[int, int]:
    """(shards, rows per row group) of a stage: from `num_shards` or the rows' average data size."""
    rows = sum(e.num_rows for e in entries)
    row_bytes = sum(e.data_bytes for e in entries) / max(1, rows)
    count = num_shards or max(1, math.ceil(order.total * row_bytes / MAX_SHARD_BYTES))
    count = max(1, min(count, order.total))
    return count, max(1, min(10_000, int(ROW_GROUP_BYTES / max(row_bytes, 1.0))))


def _run_here(function: Callable, items: list) -> list:
    return [function(item) for item in items]


def write_parquet(
    dataset: datasets.Dataset, path: str | Path, batch_size: int, *, release: Iterable[str] = ()
) -> None:
    """`dataset.to_parquet(path, batch_size=batch_size)` with each row group gathered by
    `row_groups` (the same bytes when `dataset` has no indices mapping); resident pages of the
    memory-mapped files `release` are dropped after each row group."""
    write_tables(row_groups(dataset, batch_size), path, dataset.features, release=release)


def row_groups(dataset: datasets.Dataset, batch_size: int) -> Iterator[pa.Table]:
    """`dataset`'s rows in order, `batch_size` at a time, as Arrow tables of one chunk per column
    when the dataset has an indices mapping (each gathered from the contiguous source ranges its
    rows come from: an interleave reads every entry in order, so a group spans few ranges)."""
    data = dataset.data  # `fast_slice`: a binary search over the chunks, not a walk through them
    if dataset._indices is None:
        for start in range(0, len(dataset), batch_size):
            yield data.fast_slice(start, batch_size)
        return
    positions = dataset._indices.column(0)
    for start in range(0, len(dataset), batch_size):
        wanted = positions.slice(start, batch_size).to_numpy().astype(np.int64)
        unique, inverse = np.unique(wanted, return_inverse=True)
        breaks = np.flatnonzero(np.diff(unique) != 1) + 1
        firsts = unique[np.r_[0, breaks]]
        lengths = np.diff(np.r_[0, breaks, len(unique)])
        ranges = [data.fast_slice(int(first), int(length)) for first, length in zip(firsts, lengths)]
        compact = pa.concat_tables(ranges).combine_chunks()
        del ranges
        yield compact.take(pa.array(inverse, pa.int64()))


def staging_prefix(stage: str, pid: int | None = None) -> str:
    """The name start of a build's temporary folder: `.<stage>-tmp<pid>-`."""
    return f".{stage}-tmp{os.getpid() if pid is None else pid}-"


def remove_leftovers(out_dir: str | Path, stage: str) -> list[Path]:
    """Remove the temporary folders of `stage` that builds which no longer run left in `out_dir`
    (killed mid-write); a running build's folder is kept. Returns what was removed."""
    pattern = re.compile(rf"^\.{re.escape(stage)}-tmp(\d+)-[^/]+$")
    removed = []
    for path in Path(out_dir).glob(f".{glob_escape(stage)}-tmp*"):
        match = pattern.match(path.name)
        if match and path.is_dir() and not _process_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def glob_escape(text: str) -> str:
    """`text` with glob characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is not building this stage yet: anything of ours is stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def _replace_shards(stage_dir: Path, staging: Path, names: list[str]) -> None:
    """New shards renamed into place first, then stale ones removed: the glob never matches none."""
    for name in names:
        os.replace(staging / name, stage_dir / name)
    for stale in stage_dir.glob(f"{SPLIT}-*"):
        if stale.name not in names:
            stale.unlink()


def _uncompressed_bytes(files) -> int:
    total = 0
    for path in files:
        metadata = pq.read_metadata(path)
        total += sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    return total
