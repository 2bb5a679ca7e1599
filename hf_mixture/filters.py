"""LaViDa-O's row filters (`aes_cutoff`, `min_size`, `max_enc_images`) as Arrow masks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hf_mixture.sources.numbers import as_float64
from hf_mixture.sources.rows import column_values, is_json_column

IMPLICIT_AES_CUTOFF = 5.0


@dataclass(frozen=True)
class RowFilter:
    """Keeps the rows for which `keep(table)` is True; the others count under `reason`."""

    reason: str
    description: str
    columns: tuple[str, ...]
    keep: Callable[[pa.Table], np.ndarray]
    numeric: tuple[str, ...] = ()  # columns whose non-number values drop as `filter:<column>_not_numeric`


def aes_filter(column: str, cutoff: float, implicit: bool) -> RowFilter:
    """Score strictly above `cutoff`; null and NaN scores are dropped."""
    note = " (implicit: LaViDa-O applies 5 when the score column is loaded)" if implicit else ""

    def keep(table: pa.Table) -> np.ndarray:
        return _mask(pc.greater(numbers(table, column)[0], cutoff))

    return RowFilter("filter:aes_cutoff", f"{column} > {cutoff}{note}", (column,), keep, (column,))


def min_size_filter(min_size: int, height: str = "intHeight", width: str = "intWidth") -> RowFilter:
    """Both sides at least `min_size` (metadata columns; null sizes are dropped)."""

    def keep(table: pa.Table) -> np.ndarray:
        tall = pc.greater_equal(numbers(table, height)[0], min_size)
        wide = pc.greater_equal(numbers(table, width)[0], min_size)
        return _mask(pc.and_(tall, wide))

    sides = (height, width)
    return RowFilter(
        "filter:min_size", f"{height} >= {min_size} and {width} >= {min_size}", sides, keep, sides
    )


def max_enc_images_filter(column: str, value: int) -> RowFilter:
    """At most `value` items in list column `column` (a plain string counts as one)."""

    def keep(table: pa.Table) -> np.ndarray:
        values = table[column] if column in table.column_names else pa.nulls(len(table))
        if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
            lengths = pc.fill_null(pc.list_value_length(values), 0)
        elif is_json_column(table, column):  # lists in some rows, strings in others
            lengths = pa.array([_length(v) for v in column_values(table, column)], pa.int64())
        else:
            lengths = pc.if_else(pc.is_null(values), 0, 1)
        return _mask(pc.less_equal(lengths, value))

    return RowFilter("filter:max_enc_images", f"len({column}) <= {value}", (column,), keep)


def apply_filters(
    table: pa.Table, filters: Sequence[RowFilter], drops: Counter, dropped_rows: dict | None = None
) -> np.ndarray:
    """The rows of `table` every filter keeps (a bool mask); drops counted per first failing filter.
    Given `dropped_rows`, it receives per reason (row indices, columns read, the rule kept)."""
    kept = np.ones(len(table), dtype=bool)
    for row_filter in filters:
        for column in row_filter.numeric:
            bad = numbers(table, column)[1]
            if bad.any():
                reason = f"filter:{column}_not_numeric"
                drops[reason] += int(np.count_nonzero(kept & bad))
                if dropped_rows is not None:
                    dropped_rows[reason] = (np.flatnonzero(kept & bad), (column,), f"{column} is a number")
                kept &= ~bad
        passes = row_filter.keep(table)
        dropped = kept & ~passes
        drops[row_filter.reason] += int(np.count_nonzero(dropped))
        if dropped_rows is not None:
            rule = row_filter.description
            dropped_rows[row_filter.reason] = (np.flatnonzero(dropped), row_filter.columns, rule)
        kept &= passes
    return kept


def _mask(result) -> np.ndarray:
    return pc.fill_null(result, False).to_numpy(zero_copy_only=False).astype(bool)


def numbers(table: pa.Table, column: str) -> tuple[pa.Array, np.ndarray]:
    """`column` as float64 and the mask of its values that are not numbers (sources/numbers.py:
    numeric text counts as its number); nulls stay null and are not in the mask (a filter drops
    them, as LaViDa-O's pandas comparisons do). A column the table lacks (a later file of a glob
    without it) is all null, as in pandas' concat."""
    if column not in table.column_names:
        return pa.nulls(len(table), pa.float64()), np.zeros(len(table), dtype=bool)
    return as_float64(table[column], is_json_column(table, column))


def _length(value) -> int:
    if value is None:
        return 0
    return len(value) if isinstance(value, list) else 1
