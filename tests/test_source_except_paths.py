"""Every `except` in the source readers (hf_mixture/sources, builders/) ends in a counted reason or
a package error naming the file - or is a value fallback listed here with what happens next. A new
handler that does neither fails this test until it is classified."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READERS = sorted([*(ROOT / "hf_mixture" / "sources").glob("*.py"), *(ROOT / "builders").glob("*.py")])
PACKAGE_ERRORS = {"SourceError", "ConfigError", "SkipRow", "BuilderOptionsError", "SamplingError"}
# (file, function) -> what the fallback value leads to
FALLBACKS = {
    ("builders/__init__.py", "builder_problems"): "returned as a config problem (check stops, exit 2)",
    ("builders/columns.py", "to_int"): "a value outside the int range is read through floats: null",
    ("builders/laion.py", "_json_member"): "no metadata: the sample's fields are null, counted where used",
    ("builders/rle.py", "rle_box"): "no box: the phrase is left out (grounded rows without any drop)",
    ("builders/source.py", "as_int"): "null: counted by the filter or function that reads the column",
    ("builders/source.py", "as_float"): "null: counted by the filter or function that reads the column",
    ("builders/source.py", "_list"): "an absent folder lists no files: records count as source:missing_file",
    ("builders/source.py", "_table"): "lone surrogates in a record's text are replaced by U+FFFD",
    (
        "hf_mixture/sources/rows.py",
        "_column_array",
    ): "mixed types kept as JSON text; lone surrogates replaced",
    ("hf_mixture/sources/numbers.py", "as_float64"): "text that does not all parse is read value by value",
    ("hf_mixture/sources/numbers.py", "_number"): "not a number: filter:<column>_not_numeric (or null)",
    ("hf_mixture/sources/tables.py", "utf8_text"): "bytes that are not UTF-8 are replaced",
    ("hf_mixture/sources/tables.py", "typed_where_parsable"): "a CSV column that does not parse stays text",
    ("hf_mixture/sources/tables.py", "_array_items"): "read again with NaN as null; a real error raises",
}


def _handlers():
    for path in READERS:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, ast.ExceptHandler):
                        yield str(path.relative_to(ROOT)), function.name, node


def _raises_package_error(handler: ast.ExceptHandler) -> bool:
    for node in ast.walk(handler):
        if isinstance(node, ast.Raise):
            if node.exc is None:
                return True  # re-raised: an outer handler classifies it
            call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(call, ast.Name) and call.id in PACKAGE_ERRORS:
                return True
    return False


def _counts(handler: ast.ExceptHandler) -> bool:
    for node in ast.walk(handler):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "drop":
            return True
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            return True  # drops[reason] += n
        if isinstance(node, ast.Yield) and any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_Invalid"
            for n in ast.walk(node)
        ):
            return True  # counted as source:invalid_json_line by numbered_json_records
    return False


HANDLERS = list(_handlers())


@pytest.mark.parametrize(
    "where, function, handler", HANDLERS, ids=[f"{w}:{h.lineno}:{f}" for w, f, h in HANDLERS]
)
def test_source_reader_except_path_counts_raises_a_named_error_or_is_a_listed_fallback(
    where, function, handler
):
    assert _raises_package_error(handler) or _counts(handler) or (where, function) in FALLBACKS, (
        f"{where}:{handler.lineno} in {function}: an except that neither counts a reason nor raises a "
        "package error; count it, raise SourceError naming the file, or list it in FALLBACKS"
    )


def test_every_listed_fallback_still_exists():
    present = {(where, function) for where, function, _ in HANDLERS}
    assert set(FALLBACKS) <= present
