"""Columnar normalisation of published metadata tables (LAION, COYO): one spelling per column,
int sizes, text from bytes, HTML entities unescaped, threshold filters counted by reason."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hf_mixture.sources.numbers import as_float64
from hf_mixture.sources.tables import utf8_text


def first_present(table: pa.Table, names: Sequence[str]) -> str | None:
    """The first of `names` that is a column of `table` (exact spelling first, then any case)."""
    for name in names:
        if name in table.column_names:
            return name
    lowered = {c.lower(): c for c in table.column_names}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def column_or_null(table: pa.Table, names: Sequence[str], typ: pa.DataType) -> pa.Array:
    """The first present column of `names` normalised to `typ`, or an all-null column."""
    name = first_present(table, names)
    if name is None:
        return pa.nulls(len(table), typ)
    values = _combined(table[name])
    if pa.types.is_string(typ):
        return to_text(values)
    if pa.types.is_integer(typ):
        return to_int(values, typ)
    if pa.types.is_floating(typ):
        return pc.cast(as_float64(values)[0], typ, safe=False)  # numeric text too; other text: null
    return pc.cast(values, typ, safe=False)


def to_text(values: pa.Array) -> pa.Array:
    """UTF-8 text from string, binary (invalid bytes replaced) or other scalar columns."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return pc.cast(values, pa.string())
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        return utf8_text(values)
    return pc.cast(values, pa.string())


def to_int(values: pa.Array, typ: pa.DataType | None = None) -> pa.Array:
    """Whole numbers (`typ`, default int64) from int, float or numeric-text columns (floats
    rounded); NaN, inf, values outside `typ`'s range and text that is not a number become null."""
    typ = typ or pa.int64()
    if pa.types.is_integer(values.type):
        try:
            return pc.cast(values, typ)
        except pa.ArrowInvalid:  # a value outside typ's range (uint64 sizes): through floats below
            pass
    floats = as_float64(values)[0]  # numeric text too; other text: null
    limits = np.iinfo(typ.to_pandas_dtype())
    usable = pc.and_(
        pc.and_(pc.invert(pc.is_nan(floats)), pc.invert(pc.is_inf(floats))),
        pc.and_(pc.greater_equal(floats, float(limits.min)), pc.less(floats, float(limits.max))),
    )
    cleaned = pc.if_else(usable, floats, pa.scalar(None, pa.float64()))
    return pc.cast(pc.round(cleaned), typ)


def unescape_html(values: pa.Array, passes: int = 2) -> pa.Array:
    """Text with HTML entities decoded (`&amp;` -> `&`, `&#39;` -> `'`); `passes` rounds undo double
    escaping such as COYO's `valentine&amp;#39;s`. Only rows containing `&` leave Arrow."""
    values = to_text(values)
    has_entity = pc.fill_null(pc.match_substring(values, "&"), False).to_numpy(zero_copy_only=False)
    if not has_entity.any():
        return values
    texts = values.to_pylist()
    for row in np.flatnonzero(has_entity):
        for _ in range(passes):
            decoded = html.unescape(texts[row])
            if decoded == texts[row]:
                break
            texts[row] = decoded
    return pa.array(texts, pa.string())


def below(table: pa.Table, column: str, limit: float | None) -> np.ndarray:
    """Rows whose `column` is strictly below `limit` (null/NaN fail); all True when no limit."""
    if limit is None:
        return np.ones(len(table), dtype=bool)
    values = as_float64(table[column])[0]
    passes = pc.less(values, limit)
    return pc.fill_null(passes, False).to_numpy(zero_copy_only=False).astype(bool)


def _combined(values):
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
