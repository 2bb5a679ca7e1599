"""Whether a YAML value fits a Python type hint (of a preprocess function's keyword), and how to
name the hint in a message. YAML gives only None, bool, int, float, str, list and dict, so only
those hints (and unions, `list[...]`, `dict[...]`) are checked; any other hint accepts anything."""

from __future__ import annotations

import types
import typing

_SCALARS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def matches(value, hint) -> bool:
    """Whether `value` (from YAML) fits `hint`."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:  # 0 and 1 too: LaViDa-O's Python reads them as false and true
        return isinstance(value, bool) or (isinstance(value, int) and value in (0, 1))
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint is list or origin is list:
        args = typing.get_args(hint)
        return isinstance(value, list) and (not args or all(matches(item, args[0]) for item in value))
    if hint is dict or origin is dict:
        return isinstance(value, dict)
    return True


def describe(hint) -> str:
    """`hint` in words: `a string or null`, `a list of strings`."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(arg) for arg in typing.get_args(hint))
    if hint is type(None) or hint is None:
        return "null"
    if hint in _SCALARS:
        return _SCALARS[hint]
    if hint is list or origin is list:
        args = typing.get_args(hint)
        return f"a list of {describe(args[0]).removeprefix('a ')}s" if args else "a list"
    if hint is dict or origin is dict:
        return "a mapping"
    return getattr(hint, "__name__", str(hint))
