"""Numbers from columns that may hold them as text: `"6.5"`, `" 7 "`, `"NaN"`, `"inf"` read as
the number they spell (as pandas' `pd.to_numeric` does); other text, lists and objects are not
numbers. Used by the filters and by the builders' numeric columns."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NOT_NUMERIC = object()


def as_float64(values: pa.Array | pa.ChunkedArray, json_encoded: bool = False) -> tuple[pa.Array, np.ndarray]:
    """(`values` as float64, mask of the values that are not numbers - null in the result).
    Nulls stay null and are not in the mask. `json_encoded`: the values are JSON text of mixed
    types (sources/rows.py). Columnar except when some text does not parse."""
    clean = np.zeros(len(values), dtype=bool)
    typ = values.type
    if (
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_null(typ)
        or pa.types.is_boolean(typ)
    ):
        return pc.cast(values, pa.float64(), safe=False), clean  # ints past 2**53: nearest float
    if (pa.types.is_string(typ) or pa.types.is_large_string(typ)) and not json_encoded:
        try:
            return pc.cast(pc.utf8_trim_whitespace(values), pa.float64()), clean
        except pa.ArrowInvalid:
            pass
    python = values.to_pylist()
    if json_encoded:
        python = [None if v is None else json.loads(v) for v in python]
    parsed = [_number(v) for v in python]
    bad = np.array([v is _NOT_NUMERIC for v in parsed], dtype=bool)
    return pa.array([None if v is _NOT_NUMERIC else v for v in parsed], pa.float64()), bad


def _number(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except OverflowError:  # an int past float's range
        return float("inf") if value > 0 else float("-inf")
    except ValueError:
        pass
    return _NOT_NUMERIC
