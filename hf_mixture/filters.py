"""LaViDa-O's row filters (`aes_cutoff`, `min_size`, `max_enc_images`) as Arrow masks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

IMPLICIT_AES_CUTOFF = 5.0


@dataclass(frozen=True)
class RowFilter:
    """Keeps the rows for which `keep(table)` is True; the others count under `reason`."""

    reason: str
    description: str
    columns: tuple[str, ...]
    keep: Callable[[pa.Table], np.ndarray]


def aes_filter(column: str, cutoff: float, implicit: bool) -> RowFilter:
    """Score strictly above `cutoff`; null and NaN scores are dropped."""
    note = " (implicit: LaViDa-O applies 5 when the score column is loaded)" if implicit else ""

    def keep(table: pa.Table) -> np.ndarray:
        return _mask(pc.greater(table[column].cast(pa.float64()), cutoff))

    return RowFilter("filter:aes_cutoff", f"{column} > {cutoff}{note}", (column,), keep)


def min_size_filter(min_size: int, height: str = "intHeight", width: str = "intWidth") -> RowFilter:
    """Both sides at least `min_size` (metadata columns; null sizes are dropped)."""

    def keep(table: pa.Table) -> np.ndarray:
        tall = pc.greater_equal(table[height].cast(pa.float64()), min_size)
        wide = pc.greater_equal(table[width].cast(pa.float64()), min_size)
        return _mask(pc.and_(tall, wide))

    return RowFilter(
        "filter:min_size", f"{height} >= {min_size} and {width} >= {min_size}", (height, width), keep
    )


def max_enc_images_filter(column: str, value: int) -> RowFilter:
    """At most `value` items in list column `column` (a plain string counts as one)."""

    def keep(table: pa.Table) -> np.ndarray:
        values = table[column]
        if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
            lengths = pc.fill_null(pc.list_value_length(values), 0)
        else:
            lengths = pc.if_else(pc.is_null(values), 0, 1)
        return _mask(pc.less_equal(lengths, value))

    return RowFilter("filter:max_enc_images", f"len({column}) <= {value}", (column,), keep)


def apply_filters(
    table: pa.Table, filters: Sequence[RowFilter], drops: Counter, dropped_rows: dict | None = None
) -> np.ndarray:
    """The rows of `table` every filter keeps (a bool mask); drops counted per first failing filter
    (and, given `dropped_rows`, their row indices stored under the filter)."""
    kept = np.ones(len(table), dtype=bool)
    for row_filter in filters:
        passes = row_filter.keep(table)
        dropped = kept & ~passes
        drops[row_filter.reason] += int(np.count_nonzero(dropped))
        if dropped_rows is not None:
            dropped_rows[row_filter] = np.flatnonzero(dropped)
        kept &= passes
    return kept


def _mask(result) -> np.ndarray:
    return pc.fill_null(result, False).to_numpy(zero_copy_only=False).astype(bool)
