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


def as_list(value) -> list:
    """A list from a value that a source stores as a string or a list (None -> [])."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def optional_score(row: dict, column: str) -> float | None:
    """A float score from `row[column]`, None when absent, null or NaN."""
    value = row.get(column)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def required_text(row: dict, column: str) -> str:
    """`row[column]` as non-empty text; SkipRow('preprocess:missing_<column>') otherwise."""
    value = row.get(column)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str) or not value.strip():
        raise SkipRow(f"preprocess:missing_{column}")
    return value


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
