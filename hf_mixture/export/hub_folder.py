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

import ctypes
import json
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets.arrow_writer import get_parquet_column_options

from hf_mixture.export.out_folder import folder_lock, out_path, publish_file

SPLIT = "train"
MAX_SHARD_BYTES = 500 * 1024**2
# Row groups are cut by the bytes of their rows as written: at most ROW_GROUP_BYTES uncompressed
# (below datasets' MAX_ROW_GROUP_SIZE of 100 MB and far below the viewer's 300,000,000-byte scan
# limit; a streaming reader holds one row group per source) and ROW_GROUP_ROWS rows.
ROW_GROUP_BYTES = 32 * 1024**2
ROW_GROUP_ROWS = 10_000


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
    dataset: datasets.Dataset,
    out_dir: str | Path,
    stage: str,
    *,
    row_bytes: float,
    num_shards: int | None = None,
    before_publish: Callable[[], None] | None = None,
) -> WrittenStage:
    """Write `dataset` as the parquet shards of `stage` under `out_dir`; `row_bytes` (average
    encoded row size) sizes shards (<= 500 MB); row groups are cut by the bytes of their rows
    (`ROW_GROUP_BYTES`, at most `ROW_GROUP_ROWS` rows). `before_publish` runs under the folder lock
    just before the shards are renamed into place (the build withdraws the stage's recorded sizes
    from the README there). OutputError when `stage` would leave `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage_dir = out_path(out_dir, stage)
    count = num_shards or max(1, math.ceil(len(dataset) * row_bytes / MAX_SHARD_BYTES))
    count = max(1, min(count, len(dataset)))
    remove_leftovers(out_dir, stage)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(stage), dir=out_path(out_dir)))
    try:
        names = [shard_name(i, count) for i in range(count)]
        cache_files = [f["filename"] for f in dataset.cache_files]
        release_mapped_pages(cache_files)  # what mixing and counting touched
        for index, name in enumerate(names):
            shard = dataset.shard(num_shards=count, index=index, contiguous=True)
            write_parquet(shard, staging / name, ROW_GROUP_ROWS, release=cache_files)
        with folder_lock(out_dir):
            if before_publish is not None:
                before_publish()
            stage_dir.mkdir(parents=True, exist_ok=True)
            _replace_shards(out_dir, stage, staging, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written_stage(tuple(stage_dir / name for name in names))


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


def dataset_row_bytes(dataset: datasets.Dataset) -> np.ndarray:
    """Uncompressed Arrow bytes of each row of `dataset`, in its order (indices mapping applied),
    computed from offsets and lengths only (binary values are not read)."""
    data = dataset.data
    if dataset._indices is None:
        return table_row_bytes(data.fast_slice(0, len(dataset)))
    unique, inverse, ranges = _source_ranges(dataset._indices.column(0).to_numpy().astype(np.int64))
    sizes = [table_row_bytes(data.fast_slice(first, length)) for first, length in ranges]
    return np.concatenate(sizes)[inverse] if sizes else np.zeros(0, np.int64)


def table_row_bytes(table: pa.Table) -> np.ndarray:
    """Bytes of each row of `table`: values plus 4 bytes per offset (what parquet's uncompressed
    `total_byte_size` roughly counts before encoding)."""
    total = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        start = 0
        for chunk in column.chunks:
            total[start : start + len(chunk)] += _value_bytes(chunk)
            start += len(chunk)
    return total


def _value_bytes(array: pa.Array) -> np.ndarray:
    kind = array.type
    if pa.types.is_binary(kind) or pa.types.is_string(kind) or pa.types.is_large_binary(kind) or \
            pa.types.is_large_string(kind):  # fmt: skip
        return pc.binary_length(array).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64) + 4
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        offsets = array.offsets.to_numpy().astype(np.int64)
        child = array.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
        cumulative = np.concatenate([[0], np.cumsum(_value_bytes(child))])
        relative = offsets - offsets[0]
        return cumulative[relative[1:]] - cumulative[relative[:-1]] + 4
    if pa.types.is_struct(kind):
        total = np.zeros(len(array), dtype=np.int64)
        for index in range(kind.num_fields):
            total += _value_bytes(array.field(index))
        return total
    try:
        return np.full(len(array), max(1, kind.bit_width // 8), dtype=np.int64)
    except ValueError:  # not fixed width: spread the array's bytes evenly
        return np.full(len(array), array.nbytes // max(1, len(array)), dtype=np.int64)


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
        _, inverse, spans = _source_ranges(wanted)
        ranges = [data.fast_slice(first, length) for first, length in spans]
        compact = pa.concat_tables(ranges).combine_chunks()
        del ranges
        yield compact.take(pa.array(inverse, pa.int64()))


def _source_ranges(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """The sorted unique `positions`, each position's index into them, and the contiguous
    `(first, length)` ranges the unique positions form."""
    unique, inverse = np.unique(positions, return_inverse=True)
    breaks = np.flatnonzero(np.diff(unique) != 1) + 1
    firsts = unique[np.r_[0, breaks]] if len(unique) else unique
    lengths = np.diff(np.r_[0, breaks, len(unique)]) if len(unique) else unique
    return unique, inverse, [(int(f), int(n)) for f, n in zip(firsts, lengths)]


_MADV_DONTNEED = 4


def release_mapped_pages(paths: Iterable[str]) -> int:
    """Drop this process's resident pages of the memory-mapped files `paths` (Linux:
    `madvise(MADV_DONTNEED)` over their mappings in /proc/self/maps); the bytes stay valid and are
    read again from the page cache or the file when touched. Safe for the read-only mappings of the
    `datasets` Arrow cache. Returns the bytes advised (0 elsewhere than Linux)."""
    wanted = {os.path.realpath(p) for p in paths}
    if not wanted or not sys.platform.startswith("linux"):
        return 0
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
        madvise = _libc().madvise
    except (OSError, AttributeError):
        return 0
    advised = 0
    for line in maps:
        fields = line.split(None, 5)
        if len(fields) < 6 or fields[5] not in wanted or "w" in fields[1]:
            continue
        low, high = (int(x, 16) for x in fields[0].split("-"))
        if madvise(ctypes.c_void_p(low), ctypes.c_size_t(high - low), _MADV_DONTNEED) == 0:
            advised += high - low
    return advised


_LIBC = []


def _libc():
    if not _LIBC:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.madvise.restype = ctypes.c_int
        _LIBC.append(libc)
    return _LIBC[0]


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
