"""Read `.parquet`, `.json` (array), `.jsonl` and `.csv` files, local or remote, in Arrow batches.

Bad-row policy: a JSONL line that is not valid JSON, or a JSON item that is not an object, is
skipped and counted (`source:invalid_json_line`, `source:not_an_object`); a file that cannot be
opened or parsed at all is fatal (SourceError naming the file).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence

import ijson
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hf_mixture.errors import SourceError
from hf_mixture.sources.rows import SOURCE_ROW, rows_to_table, shift_source_rows, with_source_rows
from hf_mixture.sources.text import NonFiniteAsNull, non_finite_constant, open_text_source
from hf_mixture.stats import ReaderDrops
from hf_mixture.storage import Storage, is_remote

FORMATS = {".parquet": "parquet", ".json": "json", ".jsonl": "jsonl", ".csv": "csv"}
DEFAULT_BATCH_ROWS = 8192


def parquet_file_for_streaming(source) -> pq.ParquetFile:
    """A parquet file opened for streaming: without pre-buffering, which in pyarrow buffers the
    column chunks of every row group a read spans, so `iter_batches` over a whole file holds the
    whole file in memory (measured: 152 MB for a 155 MB file, 300 MB for 311 MB; 5 MB without)."""
    return pq.ParquetFile(source, pre_buffer=False)


def file_format(path: str) -> str:
    """`parquet`, `json`, `jsonl` or `csv`, from the file name; SourceError otherwise."""
    for suffix, name in FORMATS.items():
        if path.lower().endswith(suffix):
            return name
    raise SourceError(f"{path}: unsupported file type; json_path must end in {', '.join(FORMATS)}")


class TableReader:
    """Reads one entry's files (already expanded and resolved) as a stream of Arrow tables.

    Args:
        storage: opens the files.
        files: absolute paths or URIs, all of one format.
        batch_rows: rows per yielded table.
    """

    def __init__(self, storage: Storage, files: Sequence[str], batch_rows: int = DEFAULT_BATCH_ROWS):
        self.storage = storage
        self.files = list(files)
        self.batch_rows = batch_rows
        self.drops = ReaderDrops()

    def column_names(self) -> list[str]:
        """Columns of the first file (the keys of its first record for JSON formats)."""
        path = self.files[0]
        try:
            fmt = file_format(path)
            if fmt == "parquet":
                with self.storage.open(path) as handle:
                    return pq.read_schema(handle).names
            first = next(self._iter_file(path, None, ReaderDrops()), None)
            return [] if first is None else [n for n in first.schema.names if n != SOURCE_ROW]
        except SourceError:
            raise
        except Exception as err:  # noqa: BLE001 - any reader failure names the file
            raise SourceError(f"{path}: cannot read columns ({type(err).__name__}: {err})") from err

    def metadata_row_count(self) -> int | None:
        """Total rows from parquet footers, or None when the format has no cheap count."""
        if any(file_format(p) != "parquet" for p in self.files):
            return None
        total = 0
        for path in self.files:
            try:
                with self.storage.open(path) as handle:
                    total += pq.read_metadata(handle).num_rows
            except (OSError, pa.ArrowException) as err:
                raise SourceError(f"{path}: cannot read ({type(err).__name__}: {err})") from err
        return total

    def iter_tables(self, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """Tables of at most `batch_rows` rows, in file order; bad JSON rows counted in `drops`.
        Each table has a `SOURCE_ROW` column: the row's position among all records of the files,
        counting the records dropped while reading (so a dropped record moves no other row's id)."""
        offset = 0
        for path in self.files:
            dropped_before, rows = sum(self.drops.values()), 0
            try:
                for table in self._iter_file(path, columns, self.drops):
                    rows += len(table)
                    yield shift_source_rows(table, offset)
                offset += rows + sum(self.drops.values()) - dropped_before
            except SourceError:
                raise
            except Exception as err:  # noqa: BLE001 - any reader failure (deep nesting too) names the file
                raise SourceError(f"{path}: cannot read ({type(err).__name__}: {err})") from err

    def _iter_file(self, path: str, columns, drops: ReaderDrops) -> Iterator[pa.Table]:
        """The tables of one file, each with its rows' positions in the file (`SOURCE_ROW`)."""
        fmt = file_format(path)
        if fmt == "parquet":
            tables = self._parquet(path, columns)
        elif fmt == "csv":
            tables = self._csv(path, columns)
        else:
            yield from _batched_tables(
                numbered_json_records(self.storage, path, drops), columns, self.batch_rows
            )
            return
        position = 0
        for table in tables:
            yield with_source_rows(table, np.arange(position, position + len(table)))
            position += len(table)

    def _parquet(self, path: str, columns) -> Iterator[pa.Table]:
        source = self.storage.open(path) if is_remote(path) else path
        parquet_file = parquet_file_for_streaming(source)
        present = [c for c in columns if c in parquet_file.schema_arrow.names] if columns else None
        for batch in parquet_file.iter_batches(batch_size=self.batch_rows, columns=present):
            yield with_missing_columns(pa.Table.from_batches([batch]), columns)

    def _csv(self, path: str, columns) -> Iterator[pa.Table]:
        """Every cell read as text (pyarrow infers a column's type from its first block and stops at
        a later cell of another type), then typed per batch where every cell parses; quoted
        newlines inside values are allowed (Python's csv module writes them)."""
        with open_text_source(self.storage, path) as handle:
            names = pacsv.open_csv(handle, parse_options=CSV_PARSE).schema.names
        as_text = {name: pa.binary() for name in names}
        convert = pacsv.ConvertOptions(
            column_types=as_text,
            strings_can_be_null=True,
            include_columns=list(columns) if columns else None,
            include_missing_columns=True,
        )
        with open_text_source(self.storage, path) as handle:
            reader = pacsv.open_csv(handle, parse_options=CSV_PARSE, convert_options=convert)
            for batch in reader:
                yield typed_where_parsable(pa.Table.from_batches([batch]))


CSV_PARSE = pacsv.ParseOptions(newlines_in_values=True)


def with_missing_columns(table: pa.Table, columns: Sequence[str] | None) -> pa.Table:
    """`table` with an all-null column for each of `columns` it lacks (a later file of a glob
    without an optional column: its rows count where the column is used, e.g. `filter:aes_cutoff`)."""
    for name in columns or ():
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(len(table)))
    return table.select(list(columns)) if columns else table


def utf8_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """UTF-8 text from a binary column; bytes that are not UTF-8 are replaced (U+FFFD)."""
    try:
        return pc.cast(values, pa.string())
    except pa.ArrowInvalid:
        decoded = [None if v is None else v.decode("utf-8", errors="replace") for v in values.to_pylist()]
        return pa.array(decoded, pa.string())


def typed_where_parsable(table: pa.Table) -> pa.Table:
    """CSV cells (binary) as UTF-8 text, then as int64 (else float64) where every cell of the
    column parses as one."""
    for index, field in enumerate(table.schema):
        if not pa.types.is_binary(field.type):
            continue
        table = table.set_column(index, field.name, utf8_text(table[index]))
        for typ in (pa.int64(), pa.float64()):
            try:
                table = table.set_column(index, field.name, pc.cast(table[index], typ))
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
    return table


def json_records(storage: Storage, path: str, drops: ReaderDrops) -> Iterator[dict]:
    """Objects of a `.json` array or a `.jsonl` file (see `numbered_json_records`)."""
    for _, record in numbered_json_records(storage, path, drops):
        yield record


def numbered_json_records(storage: Storage, path: str, drops: ReaderDrops) -> Iterator[tuple[int, dict]]:
    """(position in the file, object) for each object of a `.json` array (parsed incrementally
    with ijson: never the whole file) or a `.jsonl` file. Positions count every item or non-blank
    line, also those dropped: an item that is not an object counts as `source:not_an_object`, a
    bad JSON line as `source:invalid_json_line`, each with an example (id `<file>:<position>`,
    message naming the file, line or item and what was wrong). A byte-order mark is skipped and bare NaN /
    Infinity read as null (sources/text.py). A file that cannot be parsed at all raises
    SourceError."""
    try:
        items = (
            _jsonl_items(storage, path) if path.lower().endswith(".jsonl") else _array_items(storage, path)
        )
        for position, (where, item) in enumerate(items):
            if isinstance(item, dict):
                yield position, item
            elif isinstance(item, _Invalid):
                drops.note("source:invalid_json_line", f"{path}:{position}", f"{path} {where}: {item.error}")
            else:
                shown = json.dumps(item, default=str)[:80]
                message = f"{path} {where}: a JSON {type(item).__name__} ({shown}), not an object"
                drops.note("source:not_an_object", f"{path}:{position}", message)
    except (ijson.JSONError, OSError, UnicodeDecodeError) as err:
        raise SourceError(f"{path}: cannot read as JSON ({type(err).__name__}: {err})") from err


class _Invalid:
    """A JSONL line that is not JSON, with the parser's error text."""

    def __init__(self, error: str):
        self.error = error


_PYTHON_JSON = ijson.get_backend("python")


def _array_items(storage: Storage, path: str) -> Iterator[tuple[str, object]]:
    """("item <index>", item) for the items of a JSON array; when the fast parser stops (it rejects
    `NaN` and integers past 64 bits, which Python's json and pandas read), read again with ijson's
    pure-Python parser and non-finite constants as null, skipping the items already given."""
    given = 0
    try:
        with open_text_source(storage, path) as handle:
            for item in ijson.items(handle, "item", use_float=True):
                given += 1
                yield f"item {given - 1}", item
        return
    except ijson.JSONError as err:
        first_error = err
    try:
        with open_text_source(storage, path) as handle:
            items = _PYTHON_JSON.items(NonFiniteAsNull(handle), "item", use_float=True)
            for index, item in enumerate(itertools.islice(items, given, None), given):
                yield f"item {index}", item
    except ijson.JSONError:
        raise first_error from None  # a real syntax error: the fast parser's message shows where


def _jsonl_items(storage: Storage, path: str) -> Iterator[tuple[str, object]]:
    """("line <number>", item) for the non-blank lines of a JSONL file (a line that is not JSON
    gives an `_Invalid`)."""
    with open_text_source(storage, path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
            if not line:
                continue
            try:
                yield f"line {number}", json.loads(line, parse_constant=non_finite_constant)
            except json.JSONDecodeError as err:
                yield f"line {number}", _Invalid(f"not valid JSON ({err})")
            except RecursionError:  # nested past Python's limit
                yield f"line {number}", _Invalid("not valid JSON (nested too deeply)")


def _batched_tables(rows: Iterator[tuple[int, dict]], columns, batch_rows: int) -> Iterator[pa.Table]:
    batch: list[dict] = []
    positions: list[int] = []
    for position, row in rows:
        batch.append(row)
        positions.append(position)
        if len(batch) >= batch_rows:
            yield with_source_rows(rows_to_table(batch, columns), np.array(positions))
            batch, positions = [], []
    if batch:
        yield with_source_rows(rows_to_table(batch, columns), np.array(positions))
