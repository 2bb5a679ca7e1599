"""`builder_options:` of a YAML entry: one frozen dataclass per builder, checked before any data is read.

A builder's options class is a frozen dataclass whose fields all have defaults. `parse_options`
turns the YAML mapping into it: an unknown key is an error naming it and listing the allowed ones,
a value of the wrong type is an error naming the option and the expected type, and the class's
`__post_init__` may raise ValueError for values out of range.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass

from hf_mixture.errors import HfMixtureError


class BuilderOptionsError(HfMixtureError, ValueError):
    """`builder_options` holds an unknown key or a value of the wrong type or range."""


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """A builder that takes no options."""


def option_names(options_class: type) -> list[str]:
    """The option keys `options_class` accepts."""
    return [f.name for f in dataclasses.fields(options_class)]


def parse_options(options_class: type, raw: Mapping | None, builder: str = "") -> object:
    """`raw` (the YAML mapping) as an `options_class` instance; BuilderOptionsError otherwise."""
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise BuilderOptionsError(f"expected a mapping of options, got {raw!r}")
    allowed = option_names(options_class)
    for key in raw:
        if key not in allowed:
            listed = ", ".join(allowed) if allowed else "none"
            raise BuilderOptionsError(
                f"unknown option {key!r} for builder {builder!r}; allowed options: {listed}"
            )
    hints = typing.get_type_hints(options_class)
    values = {key: _coerce(key, value, hints[key]) for key, value in raw.items()}
    try:
        return options_class(**values)
    except (TypeError, ValueError) as err:
        raise BuilderOptionsError(f"builder {builder!r}: {err}") from err


def _coerce(key: str, value, expected):
    """`value` checked against the annotation `expected` (tuples accept YAML lists)."""
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner[0])
    if origin is typing.Literal:
        if value not in args:
            raise BuilderOptionsError(f"option {key!r}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise BuilderOptionsError(f"option {key!r}: expected a list, got {value!r}")
        return tuple(_coerce(key, v, args[0]) for v in value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is bool and not isinstance(value, bool):
        raise BuilderOptionsError(f"option {key!r}: expected true or false, got {value!r}")
    if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
        raise BuilderOptionsError(f"option {key!r}: expected {expected.__name__}, got {value!r}")
    return value


@dataclass(frozen=True)
class ImageFolderOptions:
    """`image_folder`: folder the image paths are relative to (default: keep them as written)."""

    image_folder: str | None = None
