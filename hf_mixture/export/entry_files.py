"""An entry's built rows as files on disk, and reading any row range of the entries laid end to end.

Each engine leaves an entry's rows in files: the local engine in the `datasets` Arrow cache
(`.arrow`, IPC stream files), the Ray engine as parquet files written by its tasks. `EntryFiles`
names them with their row counts and the rows' data size (`data_bytes`), so that mixing and shard
writing need neither a `datasets.Dataset` nor anything on the driver that grows with the rows.
`StageRows` reads rows [first, first + n) of the concatenation of several entries: Arrow files
memory-mapped, parquet files by row group (only the groups covering the range are decoded).
"""

from __future__ import annotations

import bisect
import ctypes
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hf_mixture.schema import FEATURES


@dataclass(frozen=True)
class EntryFiles:
    """An entry's rows: `names` (in row order) in `folder`, `rows` per file, `data_bytes` of all
    rows (`data_bytes`: the same for the same rows however they are split into files)."""

    folder: str
    names: tuple[str, ...]
    rows: tuple[int, ...]
    data_bytes: int

    @property
    def paths(self) -> list[str]:
        return [os.path.join(self.folder, name) for name in self.names]

    @property
    def num_rows(self) -> int:
        return sum(self.rows)

    def to_dict(self) -> dict:
        """JSON-ready, file names relative to `folder` (the folder can be moved)."""
        return {"names": list(self.names), "rows": list(self.rows), "data_bytes": self.data_bytes}

    @classmethod
    def from_dict(cls, folder: str | Path, data: dict) -> EntryFiles:
        return cls(str(folder), tuple(data["names"]), tuple(data["rows"]), int(data["data_bytes"]))


def arrow_files(folder: str | Path, paths: Sequence[str]) -> EntryFiles:
    """`EntryFiles` of Arrow IPC stream files (the `datasets` cache), counted from the memory map
    (only offsets buffers are read, not the values)."""
    rows, size = [], 0
    for path in paths:
        table = read_arrow(path)
        rows.append(len(table))
        size += data_bytes(table)
    names = tuple(os.path.relpath(p, folder) for p in paths)
    return EntryFiles(str(folder), names, tuple(rows), size)


def read_arrow(path: str) -> pa.Table:
    """An Arrow IPC stream file as a memory-mapped table (no copy of the values)."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_stream(source).read_all()


def data_bytes(table: pa.Table | pa.RecordBatch) -> int:
    """The bytes of the values in `table` (`table_row_bytes` summed): the same for the same rows
    however they are split into files or chunks."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    return int(table_row_bytes(table).sum()) if table.num_rows else 0


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


class StageRows:
    """Row ranges of several entries' files laid end to end (entry order, then file order), as
    tables of `FEATURES`' schema."""

    def __init__(self, entries: Sequence[EntryFiles]):
        self.paths = [path for entry in entries for path in entry.paths]
        sizes = [n for entry in entries for n in entry.rows]
        self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).tolist()
        self.offsets = np.concatenate([[0], np.cumsum([e.num_rows for e in entries], dtype=np.int64)])
        self._open: dict[int, _File] = {}

    def slice(self, first: int, length: int) -> list[pa.Table]:
        """Rows [first, first + length) as tables (one or more per file they span)."""
        return [self._file(i).slice(start, n) for i, start, n in spans(self.starts, first, length)]

    def arrow_paths(self) -> list[str]:
        """The memory-mapped (Arrow) files among them."""
        return [p for p in self.paths if not p.endswith(".parquet")]

    def _file(self, index: int) -> _File:
        if index not in self._open:
            path = self.paths[index]
            self._open[index] = _ParquetFile(path) if path.endswith(".parquet") else _ArrowFile(path)
        return self._open[index]


def spans(starts: Sequence[int], first: int, length: int) -> Iterator[tuple[int, int, int]]:
    """(part, start within it, rows) of rows [first, first + length) of parts laid end to end
    that begin at `starts` (ascending, with the total as the last item)."""
    end = first + length
    while first < end:
        part = bisect.bisect_right(starts, first) - 1
        stop = min(end, starts[part + 1])
        yield part, first - starts[part], stop - first
        first = stop


class _File:
    def slice(self, start: int, length: int) -> pa.Table:
        raise NotImplementedError


class _ArrowFile(_File):
    def __init__(self, path: str):
        self.table = read_arrow(path)

    def slice(self, start: int, length: int) -> pa.Table:
        return self.table.slice(start, length)


class _ParquetFile(_File):
    """Row groups decoded on demand; the last two kept (ranges of one shard walk forward)."""

    def __init__(self, path: str):
        self.file = pq.ParquetFile(path)
        metadata = self.file.metadata
        sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).tolist()
        self._groups: dict[int, pa.Table] = {}

    def slice(self, start: int, length: int) -> pa.Table:
        parts = [self._group(g).slice(first, n) for g, first, n in spans(self.starts, start, length)]
        return pa.concat_tables(parts)

    def _group(self, group: int) -> pa.Table:
        if group not in self._groups:
            if len(self._groups) >= 2:
                self._groups.pop(next(iter(self._groups)))
            table = self.file.read_row_group(group)
            self._groups[group] = table.cast(FEATURES.arrow_schema) if table.schema != _SCHEMA else table
        return self._groups[group]


_SCHEMA = FEATURES.arrow_schema


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
