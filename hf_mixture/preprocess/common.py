"""Small pieces the preprocess functions share: turns, prefix joins, optional scores."""

from __future__ import annotations

import json
import math
import posixpath

from hf_mixture.errors import SkipRow


def turns(*values: str) -> list[dict]:
    """LLaVA-style turns alternating human/gpt, starting with human."""
    return [{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(values)]


def join_prefix(prefix: str | None, path: str) -> str:
    """`path` under `prefix` (LaViDa-O's `s3_prefix`), unchanged when there is no prefix."""
    if not prefix:
        return path
    return posixpath.join(prefix, path) if "://" in prefix else f"{prefix.rstrip('/')}/{path.lstrip('/')}"


def as_list(value, column: str = "value") -> list:
    """A list from a value that a source stores as a string or a list (None -> []; a single
    string is the one-item list); any other value is SkipRow('preprocess:<column>_not_a_list')."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [_text(value)]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise SkipRow(f"preprocess:{column}_not_a_list")


def text_list(row: dict, column: str) -> list[str]:
    """`row[column]` as a list of non-empty texts (a single text is the one-item list; null and
    empty items are left out); SkipRow('preprocess:<column>_not_text') when an item is not text."""
    items = [_text(v) for v in as_list(row.get(column), column) if v not in (None, "")]
    if not all(isinstance(v, str) for v in items):
        raise SkipRow(f"preprocess:{column}_not_text")
    return items


def optional_score(row: dict, column: str) -> float | None:
    """A float score from `row[column]` (numeric text counts as its number), None when absent,
    null or NaN; SkipRow('preprocess:<column>_not_numeric') for any other value."""
    value = row.get(column)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, bytes)):
        raise SkipRow(f"preprocess:{column}_not_numeric")
    try:
        value = float(_text(value).strip() if isinstance(value, (str, bytes)) else value)
    except ValueError:
        raise SkipRow(f"preprocess:{column}_not_numeric") from None
    return None if math.isnan(value) else value


def required_text(row: dict, column: str) -> str:
    """`row[column]` as non-empty text (a one-item list of text is that text, a number its
    decimal form); SkipRow('preprocess:missing_<column>') when absent or blank,
    SkipRow('preprocess:<column>_not_text') for any other value (a list of several, an object)."""
    value = row.get(column)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        value = str(value)
    value = _text(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SkipRow(f"preprocess:missing_{column}")
    if not isinstance(value, str):
        raise SkipRow(f"preprocess:{column}_not_text")
    return value


def optional_text(row: dict, column: str) -> str | None:
    """`required_text`, but None when the value is absent or blank."""
    try:
        return required_text(row, column)
    except SkipRow as skip:
        if skip.reason == f"preprocess:missing_{column}":
            return None
        raise


def _text(value):
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def conversation_list(value) -> list[dict]:
    """LLaVA turns from a list of dicts or its JSON text; SkipRow when it is neither."""
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise SkipRow("preprocess:conversations_not_json") from err
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise SkipRow("preprocess:conversations_not_a_list")
    return [{"from": str(t.get("from", "")), "value": str(t.get("value") or "")} for t in value]
