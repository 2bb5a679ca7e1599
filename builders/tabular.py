"""The generic builder: `json_path` + `columns` from parquet, JSON, JSONL or CSV files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa

from builders.base import EntryBuilder
from hf_mixture.sources.tables import TableReader


class TabularBuilder(EntryBuilder):
    """Reads the entry's files as tables; the preprocess function gives the rows their shape. An
    entry naming none holds LaViDa-O payload records (as LaViDa-O reads such entries)."""

    PREPROCESS_FN = "lavida_payload"

    PIECES = "row_groups"

    def _reader(self) -> TableReader:
        if getattr(self, "_table_reader", None) is None:
            self._table_reader = TableReader(self.storage, self.entry.files)
        return self._table_reader

    def source_tables(self, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """The files' rows; without `columns`, those of the first file (a later file of the glob
        without one of them gives nulls there, counted where the column is used)."""
        return self._reader().iter_tables(columns or self.loaded_columns())

    def loaded_columns(self) -> list[str]:
        if self.entry.columns:
            return list(self.entry.columns)
        if getattr(self, "_first_columns", None) is None:
            self._first_columns = self._reader().column_names()
        return self._first_columns

    def metadata_row_count(self) -> int | None:
        return self._reader().metadata_row_count()

    def take_reader_drops(self):
        drops, self._reader().drops = self._reader().drops, type(self._reader().drops)()
        return drops
