"""Python rows (dicts from JSON) to Arrow tables and back, tolerant of mixed value types.

A column whose values Arrow cannot hold in one type (an `image` that is a string in one row and a
list in the next) is stored as JSON text and marked, so that `table_rows` gives the values back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

_JSON_MARK = {b"hf_mixture.json": b"1"}
# int64 column source readers add: a row's position among the source's records, counting those
# dropped while reading; ids and per-row seeds are made of it (schema.md: `<entry>/<source row key>`)
SOURCE_ROW = "__hf_mixture_source_row"


def rows_to_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> pa.Table:
    """An Arrow table with one column per name in `columns` (default: every key seen, in order)."""
    names = list(columns) if columns is not None else _keys_in_order(rows)
    fields, arrays = [], []
    for name in names:
        values = [row.get(name) for row in rows]
        array, metadata = _column_array(values)
        fields.append(pa.field(name, array.type, metadata=metadata))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def is_json_column(table: pa.Table, name: str) -> bool:
    """Whether `name` holds values of mixed types stored as JSON text (see `rows_to_table`)."""
    metadata = table.schema.field(name).metadata
    return bool(metadata and metadata.get(b"hf_mixture.json"))


def column_values(table: pa.Table, name: str) -> list:
    """The Python values of one column (JSON-stored ones decoded)."""
    values = table[name].to_pylist()
    if is_json_column(table, name):
        return [None if v is None else json.loads(v) for v in values]
    return values


def table_rows(table: pa.Table) -> list[dict]:
    """The rows of `table` as dicts, with JSON-marked columns decoded."""
    rows = table.to_pylist()
    marked = [f.name for f in table.schema if f.metadata and f.metadata.get(b"hf_mixture.json")]
    for row in rows:
        for name in marked:
            if row[name] is not None:
                row[name] = json.loads(row[name])
    return rows


def _keys_in_order(rows: Sequence[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _column_array(values: list) -> tuple[pa.Array, dict | None]:
    try:
        return pa.array(values), None
    except UnicodeEncodeError:  # a lone surrogate (JSON may escape one: "\ud800"): not UTF-8
        return _column_array([without_surrogates(v) for v in values])
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        encoded = [
            None if v is None else without_surrogates(json.dumps(v, ensure_ascii=False)) for v in values
        ]
        return pa.array(encoded, type=pa.string()), _JSON_MARK


def without_surrogates(value):
    """`value` (text, or lists / dicts of it) with each lone surrogate replaced by U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    return value


def with_source_rows(table: pa.Table, positions: np.ndarray) -> pa.Table:
    """`table` with its `SOURCE_ROW` column set to `positions` (one per row)."""
    column = pa.array(np.asarray(positions, dtype=np.int64), pa.int64())
    if SOURCE_ROW in table.column_names:
        return table.set_column(table.schema.get_field_index(SOURCE_ROW), SOURCE_ROW, column)
    return table.append_column(SOURCE_ROW, column)


def shift_source_rows(table: pa.Table, offset: int) -> pa.Table:
    """`table` with `offset` added to its `SOURCE_ROW` column."""
    if not offset:
        return table
    return with_source_rows(table, table[SOURCE_ROW].to_numpy() + offset)


def data_columns(table: pa.Table) -> list[str]:
    """The column names of `table` without `SOURCE_ROW` (for messages naming a file's columns)."""
    return [name for name in table.column_names if name != SOURCE_ROW]


def split_source_rows(table: pa.Table, next_position: int) -> tuple[pa.Table, np.ndarray]:
    """(`table` without `SOURCE_ROW`, the source positions of its rows); a table without the
    column holds consecutive rows from `next_position`."""
    if SOURCE_ROW not in table.column_names:
        return table, np.arange(next_position, next_position + len(table), dtype=np.int64)
    positions = table[SOURCE_ROW].to_numpy()
    return table.drop_columns([SOURCE_ROW]), positions
