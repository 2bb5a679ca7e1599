"""What the per-source builders share: options, a fixed output schema, per-pass drop counts,
JSON record streams and path helpers.

A source builder subclasses `SourceBuilder`, sets `NAME`, `OPTIONS`, `FILE_TYPES`, implements
`schema(options)` (the Arrow schema of the rows it yields) and `read_tables()`. Rows it drops on
purpose are counted with `self.drop(reason)`; the counts of the last pass over the source reach the
entry's report (and its `read` count) through `take_reader_drops()`.
"""

from __future__ import annotations

import math
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import ClassVar

import ijson
import numpy as np
import pyarrow as pa

from builders.base import EntryBuilder
from builders.options import NoOptions, parse_options
from hf_mixture.errors import HfMixtureError, SkipRow, SourceError
from hf_mixture.media.archives import outer_location
from hf_mixture.media.fetch import ImageFetcher
from hf_mixture.sources.rows import SOURCE_ROW, with_source_rows, without_surrogates
from hf_mixture.sources.tables import json_records
from hf_mixture.sources.text import open_text_source
from hf_mixture.stats import ReaderDrops
from hf_mixture.storage import Storage, is_remote

BATCH_ROWS = 4096


class SourceBuilder(EntryBuilder):
    """A builder whose rows have a fixed schema (`schema(options)`), read by `read_tables()`."""

    NAME: ClassVar[str] = ""
    OPTIONS: ClassVar[type] = NoOptions
    FILE_TYPES: ClassVar[tuple[str, ...]] = ()
    PIECES: ClassVar[str] = "files"  # `read_tables` reads each file on its own (set "none" if not)

    @classmethod
    def schema(cls, options) -> pa.Schema:
        """The Arrow schema of every table `read_tables()` yields."""
        raise NotImplementedError

    @classmethod
    def parse(cls, raw: dict | None):
        """`builder_options` as this builder's options dataclass (BuilderOptionsError if wrong)."""
        return parse_options(cls.OPTIONS, raw, cls.NAME)

    @property
    def options(self):
        if getattr(self, "_options", None) is None:
            self._options = self.parse(self.entry.builder_options)
        return self._options

    def read_tables(self) -> Iterator[pa.Table]:
        """The source's rows, normalised, as tables of `schema(options)`."""
        raise NotImplementedError

    def source_tables(self, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """`read_tables()` with each row's source position (`SOURCE_ROW`): rows and drops are
        numbered in the order the source has them, so a dropped record moves no other row's id."""
        self._drops, self._numbered = ReaderDrops(), 0
        for table in self.read_tables():
            if SOURCE_ROW not in table.column_names:
                table = self.numbered(table)
            if len(table):
                yield table.select([*columns, SOURCE_ROW]) if columns else table

    def _next_source_row(self) -> int:
        """The source position of the next row: rows numbered so far plus rows dropped."""
        return self._numbered + sum(self._drops.values())

    def numbered(self, table: pa.Table) -> pa.Table:
        """`table` (the next rows of the source, none dropped yet) with their source positions."""
        start = self._next_source_row()
        self._numbered += len(table)
        return with_source_rows(table, np.arange(start, start + len(table)))

    def loaded_columns(self) -> list[str]:
        return list(self.entry.columns) if self.entry.columns else self.schema(self.options).names

    def drop(self, reason: str, count: int = 1, message: str | None = None) -> None:
        """Count `count` source rows dropped for `reason` in this pass; with `message`, one row: the
        next source position, kept as an example named as the pipeline names rows
        (`<entry key>/<source position>`)."""
        if message is not None:
            self._drops.note(reason, f"{self.entry.key}/{self._next_source_row()}", message)
        elif count:
            self._drops[reason] += count

    def take_reader_drops(self) -> ReaderDrops:
        drops = getattr(self, "_drops", None) or ReaderDrops()
        self._drops = ReaderDrops()
        return drops

    def fetcher(self) -> ImageFetcher:
        """As the base, but images may also live in the folders of the files the entry names."""
        fetcher = super().fetcher()
        folders = {os.path.dirname(outer_location(f)) for f in self.entry.files if not is_remote(f)}
        fetcher.allowed_roots.extend(sorted(folders | set(self.extra_roots())))
        return fetcher

    def extra_roots(self) -> list[str]:
        """More local folders images may be read from: the `image_folder` option, when the
        builder has one and it names a local folder."""
        folder = self.folder_of_option(getattr(self.options, "image_folder", None))
        return [folder] if folder and not is_remote(folder) else []

    def tables_of(self, rows: Iterable[dict]) -> Iterator[pa.Table]:
        """Tables of `schema(options)` (plus `SOURCE_ROW`) from normalised row dicts (from `kept`),
        BATCH_ROWS at a time."""
        schema, batch = self.schema(self.options).append(pa.field(SOURCE_ROW, pa.int64())), []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                yield _table(batch, schema)
                batch = []
        if batch:
            yield _table(batch, schema)

    def kept(self, records: Iterable, normalise: Callable) -> Iterator[dict]:
        """`normalise(record)` for each record, numbered with its source position; a SkipRow counts
        the record under its reason, any other exception under `source:failed_<exception type>`."""
        for record in records:
            try:
                row = normalise(record)
            except SkipRow as skip:
                self.drop(skip.reason, message=skip.reason)
                continue
            except HfMixtureError:
                raise  # the source as a whole cannot be read as declared (e.g. SourceError)
            except Exception as err:  # noqa: BLE001 - a record of a shape the builder cannot take
                self.drop(f"source:failed_{type(err).__name__}", message=f"{type(err).__name__}: {err}")
                continue
            row[SOURCE_ROW] = self._next_source_row()
            self._numbered += 1
            yield row

    def keep_rows(self, table: pa.Table, checks: Sequence[tuple[str, np.ndarray]]) -> pa.Table:
        """`table` without the rows a check fails; each dropped row counts under its first failing
        check's reason (checks are (reason, passes-mask) pairs); rows keep their source positions
        (numbered here when not yet)."""
        if SOURCE_ROW not in table.column_names:
            table = self.numbered(table)
        kept = np.ones(len(table), dtype=bool)
        for reason, passes in checks:
            self.drop(reason, int(np.count_nonzero(kept & ~passes)))
            kept &= passes
        self._numbered -= int(np.count_nonzero(~kept))  # numbered, now counted among the drops
        return table if kept.all() else table.filter(pa.array(kept))

    def records(self, path: str) -> Iterator[dict]:
        """The records of a JSON array or JSONL file, streamed (bad items counted)."""
        return json_records(self.storage, path, self._drops)

    def folder_of_option(self, value: str | None) -> str | None:
        """An option naming a folder, resolved like `json_path` (relative to the YAML file)."""
        return self.storage.resolve(value) if value else None


def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except UnicodeEncodeError:  # a lone surrogate in text (JSON may escape one: "\ud800")
        return pa.Table.from_pylist([without_surrogates(r) for r in rows], schema=schema)


def json_object_items(storage: Storage, path: str) -> Iterator[tuple[str, object]]:
    """The (key, value) pairs of a file holding one JSON object, streamed."""
    try:
        with open_text_source(storage, path) as handle:
            yield from ijson.kvitems(handle, "", use_float=True)
    except (ijson.JSONError, OSError, UnicodeDecodeError) as err:
        raise SourceError(f"{path}: cannot read as a JSON object ({type(err).__name__}: {err})") from err


def join_location(folder: str, relative: str) -> str:
    """`relative` under `folder` (a local folder or a URI); absolute paths and URIs are kept."""
    if "://" in relative or os.path.isabs(relative):
        return relative
    if is_remote(folder):
        return posixpath.join(folder, relative)
    return os.path.normpath(os.path.join(folder, relative))


def parent_of(location: str) -> str:
    """The folder holding a local file or a URI."""
    return posixpath.dirname(location) if is_remote(location) else os.path.dirname(location)


class FolderListing:
    """Answers "does this file exist?" with one listing per folder (cheap on S3 too)."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self._names: dict[str, set[str]] = {}

    def exists(self, location: str) -> bool:
        """Whether `location` (a local path or URI) names an existing file."""
        folder, name = parent_of(location), os.path.basename(location)
        if folder not in self._names:
            self._names[folder] = self._list(folder)
        return name in self._names[folder]

    def names(self, folder: str) -> set[str]:
        """The file names directly inside `folder` (empty when it does not exist)."""
        if folder not in self._names:
            self._names[folder] = self._list(folder)
        return self._names[folder]

    def _list(self, folder: str) -> set[str]:
        fs = self.storage.filesystem(folder)
        try:
            entries = fs.ls(folder, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return set()
        return {posixpath.basename(str(e).rstrip("/")) for e in entries}


def as_text(value) -> str | None:
    """Text from str or UTF-8 bytes (a leading byte-order mark dropped, undecodable bytes
    replaced); None stays None."""
    if isinstance(value, bytes):
        return value.decode("utf-8-sig", errors="replace")
    return None if value is None else str(value)


def as_int(value) -> int | None:
    """An int from an int, a float (rounded; NaN -> None) or numeric text; None when absent."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else int(round(number))


def as_float(value) -> float | None:
    """A float, None for absent or unparsable values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_id(value) -> str | None:
    """A row id as text (sources store ints, floats like 12.0, or strings)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return as_text(value)


def string_list(value, column: str = "value") -> list[str]:
    """A list of strings from a string, a list of strings, or None/''; any other value (a number,
    an object, a list holding one) is SkipRow('source:<column>_not_text')."""
    if value is None or value == "":
        return []
    if isinstance(value, (str, bytes)):
        return [as_text(value)]
    if not isinstance(value, list) or not all(isinstance(v, (str, bytes, type(None))) for v in value):
        raise SkipRow(f"source:{column}_not_text")
    return [as_text(v) for v in value if v not in (None, "")]
