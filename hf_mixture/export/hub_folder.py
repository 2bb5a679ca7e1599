"""Write a stage in exactly the layout `Dataset.push_to_hub(config_name=stage)` writes.

`<out>/<stage>/train-NNNNN-of-NNNNN.parquet`. Shards are written under a temporary folder
`<out>/.<stage>-tmp<pid>-*` and moved into place (one atomic rename each) only when all are
complete (synced, renamed under the folder lock: hf_mixture/export/out_folder.py), so the
`<stage>/train-*` glob never matches a partial file; stale shards of an earlier
build of the stage are removed after the new ones are in place. A build that was killed leaves
its temporary folder behind; the next build of the stage removes it (when its process is gone).

Shards are written with the settings of `Dataset.to_parquet` (datasets' `ParquetDatasetWriter`:
features in the `huggingface` schema metadata, per-column options, content-defined chunking and
its key-value metadata, page index), one `write_table` per row group as it does. Row groups are
cut by the bytes of their rows (computed from Arrow offsets, before writing), not by an average
row size, so 300 large images after 6000 captions do not make one 300 MB group. When no group
reaches the byte bound and there is no indices mapping, the bytes are the ones `to_parquet` writes
(tests/test_perf_stage.py compares them). With one (an interleave), `to_parquet` gathers a row
group one row at a time (a table of N one-row chunks, slow to encode); here its rows are taken
from the few contiguous source ranges they come from, into one chunk: same rows, row groups and
settings, but the writer may cut pages elsewhere, so the bytes differ from `to_parquet`'s
(deterministically: same seed, same bytes).
Pages of the memory-mapped Arrow cache read for a row group are released after it is written
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

from hf_mixture.export.entry_files import EntryFiles, release_mapped_pages, table_row_bytes
from hf_mixture.export.out_folder import folder_lock, out_path, publish_file
from hf_mixture.export.shards import (
    ROW_GROUP_BYTES,
    group_bounds,
    shard_tasks,
    source_ranges,
    write_shard,
    write_tables,
)
from hf_mixture.mixing.order import MixOrder

SPLIT = "train"
MAX_SHARD_BYTES = 500 * 1024**2


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
    before_publish: Callable[[], None] | None = None,
) -> WrittenStage:
    """Write the rows of `entries` in `order` as the parquet shards of `stage` under `out_dir`.
    The rows' average data size sizes shards (<= 500 MB); row groups are cut by the bytes of their
    rows (`ROW_GROUP_BYTES`, at most `ROW_GROUP_ROWS` rows). `run(fn, items)` runs the shard writes
    (default: one after the other here; `--engine ray`: Ray tasks). `before_publish` runs under the
    folder lock just before the shards are renamed into place (the build withdraws the stage's
    recorded sizes from the README there). OutputError when `stage` would leave `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage_dir = out_path(out_dir, stage)
    count = shard_count(order, entries, num_shards)
    remove_leftovers(out_dir, stage)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(stage), dir=out_path(out_dir)))
    try:
        names = [shard_name(i, count) for i in range(count)]
        tasks = shard_tasks(order, entries, count, [staging / n for n in names])
        (run or _run_here)(write_shard, tasks)
        with folder_lock(out_dir):
            if before_publish is not None:
                before_publish()
            stage_dir.mkdir(parents=True, exist_ok=True)
            _replace_shards(out_dir, stage, staging, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written_stage(tuple(stage_dir / name for name in names))


def shard_count(order: MixOrder, entries: Sequence[EntryFiles], num_shards: int | None) -> int:
    """Shards of a stage: `num_shards`, or as many as keep each under MAX_SHARD_BYTES at the rows'
    average data size; at most one per row."""
    rows = sum(e.num_rows for e in entries)
    row_bytes = sum(e.data_bytes for e in entries) / max(1, rows)
    count = num_shards or max(1, math.ceil(order.total * row_bytes / MAX_SHARD_BYTES))
    return max(1, min(count, order.total))


def _run_here(function: Callable, items: list) -> list:
    return [function(item) for item in items]


def written_stage(files: tuple[Path, ...]) -> WrittenStage:
    """Rows and sizes of a stage's shards, from their parquet footers."""
    metadata = [pq.read_metadata(f) for f in files]
    return WrittenStage(
        files=files,
        num_examples=sum(m.num_rows for m in metadata),
        num_bytes=sum(m.row_group(i).total_byte_size for m in metadata for i in range(m.num_row_groups)),
        download_size=sum(f.stat().st_size for f in files),
    )


def write_parquet(
    dataset: datasets.Dataset,
    path: str | Path,
    batch_size: int,
    *,
    max_bytes: int = ROW_GROUP_BYTES,
    release: Iterable[str] = (),
) -> None:
    """`dataset.to_parquet(path, batch_size=batch_size)` with row groups of at most `batch_size`
    rows and `max_bytes` uncompressed Arrow bytes (a row larger than that is a group alone), each
    gathered by `row_groups` (the same bytes as `to_parquet` when no group reaches `max_bytes` and
    `dataset` has no indices mapping); resident pages of the memory-mapped files `release` are
    dropped after each row group. Safe to call from a worker process (Ray task) per shard."""
    bounds = group_bounds(dataset_row_bytes(dataset), max_bytes, batch_size)
    release = list(release)
    write_tables(
        row_groups(dataset, bounds), path, dataset.features, after_group=lambda: release_mapped_pages(release)
    )


def dataset_row_bytes(dataset: datasets.Dataset) -> np.ndarray:
    """Uncompressed Arrow bytes of each row of `dataset`, in its order (indices mapping applied),
    computed from offsets and lengths only (binary values are not read)."""
    data = dataset.data
    if dataset._indices is None:
        return table_row_bytes(data.fast_slice(0, len(dataset)))
    unique, inverse, ranges = source_ranges(dataset._indices.column(0).to_numpy().astype(np.int64))
    sizes = [table_row_bytes(data.fast_slice(first, length)) for first, length in ranges]
    return np.concatenate(sizes)[inverse] if sizes else np.zeros(0, np.int64)


def row_groups(dataset: datasets.Dataset, bounds: list[tuple[int, int]]) -> Iterator[pa.Table]:
    """`dataset`'s rows in order, one table per `(start, stop)` of `bounds`, of one chunk per column
    when the dataset has an indices mapping (each gathered from the contiguous source ranges its
    rows come from: an interleave reads every entry in order, so a group spans few ranges)."""
    data = dataset.data  # `fast_slice`: a binary search over the chunks, not a walk through them
    if dataset._indices is None:
        for start, stop in bounds:
            yield data.fast_slice(start, stop - start)
        return
    positions = dataset._indices.column(0)
    for start, stop in bounds:
        wanted = positions.slice(start, stop - start).to_numpy().astype(np.int64)
        _, inverse, spans = source_ranges(wanted)
        ranges = [data.fast_slice(first, length) for first, length in spans]
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


def _replace_shards(out_dir: Path, stage: str, staging: Path, names: list[str]) -> None:
    """New shards renamed into place first (synced, one atomic rename each, proven inside
    `out_dir`), then stale ones removed: the glob never matches none."""
    for name in names:
        publish_file(staging / name, out_dir, Path(stage, name))
    for stale in out_path(out_dir, stage).glob(f"{SPLIT}-*"):
        if stale.name not in names:
            stale.unlink()
