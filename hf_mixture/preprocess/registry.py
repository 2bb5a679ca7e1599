"""The preprocess functions by name: LaViDa-O's names (typos included), or a user's `module:function`.

A preprocess function turns one source row (a dict) into the task-specific part of a unified
record (schema.md): `task`, `conversations`, and as needed `images`, `image_gen`, `image_gen_enc`
(image references as strings), `pad_image_gen`, `do_not_mask_text`, `reweight`, `gen_score`,
`hpsv2`. It is called as `fn(row, rng=..., **process_fn_kwargs)`, where `rng` is a numpy Generator
seeded from the stage seed and the row, and raises `SkipRow(reason)` to drop a row on purpose.
A function that declares a keyword named like a stage option (`STAGE_OPTIONS`: `box_format`)
also receives that `stage:` value, in its row and batch forms.

A function may also carry a batch form, `batch(table, **kwargs) -> pa.Table`, that builds the
same fields for a whole Arrow table at once, plus an optional `_skip_reason` string column
(non-null: drop that row, counted under that reason); it returns None to ask for the row form.
A batch form that fills a fixed template may also return a `_template_text` string column: per
row, the only text it inserted into a template whose records meet every invariant of schema.md
whatever that text holds, except image tokens inside the text itself. The pipeline then checks
the invariants only of rows whose template text holds `<image` (pipeline.py).
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass

RowFunction = Callable[..., dict]
REQUIRED = object()  # `kwarg_defaults` value of a keyword without a default
SKIP_REASON = "_skip_reason"
TEMPLATE_TEXT = "_template_text"
# `stage:` keys a function receives by declaring a keyword of the same name (not a process_fn_kwargs key)
STAGE_OPTIONS = ("box_format",)

_PRINTS = "LaViDa-O only prints the payload"
_TRAIN_TIME_PIXEL_DIFF = "LaViDa-O computes PIXEL_DIFF from the pixels at training time"
_TRAIN_TIME_TRUNCATE = "random caption truncation is a training-time augmentation"
_UNUSED = "LaViDa-O's function declares it and never reads it"
# Keywords LaViDa-O's function of that name declares (adobe-research/LaVida-O e3a80df,
# llava/train/data/{text_image,und,interleaved}.py) that change nothing in the rows a build makes:
# accepted in `process_fn_kwargs` (LaViDa-O's config files pass them) and not passed to ours.
NO_EFFECT_KWARGS: dict[str, dict[str, str]] = {
    "preproces_text_to_image_generation_s3_loc": {"do_print": _PRINTS},
    "preproces_text_to_image_generation_layout_sam": {
        "do_print": _PRINTS,
        "random_truncate": _TRAIN_TIME_TRUNCATE,
    },
    "preproces_grandf": {"s3_prefix": _UNUSED},
    "preproces_refcoco_rec": {"s3_prefix": _UNUSED},
    "process_uniworld": {"s3_prefix": _UNUSED, "pixel_diff": _TRAIN_TIME_PIXEL_DIFF},
    "process_pica_banana": {"pixel_diff": _TRAIN_TIME_PIXEL_DIFF},
    "process_gpt_edit_loc_gnd": {"reweight": _UNUSED, "pixel_diff": _TRAIN_TIME_PIXEL_DIFF},
}


@dataclass(frozen=True)
class PreprocessFunction:
    """A registered preprocess function and what it needs from a source row."""

    name: str
    row: RowFunction
    needs: Callable[[dict], list[str]]
    batch: Callable | None = None
    tasks: tuple[str, ...] = ()  # the `task` values its rows may have (schema.TASKS); () when not declared

    def accepted_kwargs(self) -> list[str] | None:
        """Keyword arguments the row function takes from `process_fn_kwargs` (None when it takes
        any `**kwargs`); `rng` and the stage options are not among them."""
        params = inspect.signature(self.row).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return [
            p.name
            for p in params
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "rng" and p.name not in STAGE_OPTIONS
        ]

    def kwarg_hints(self) -> dict:
        """The type hints of the keywords `accepted_kwargs` lists (unannotated ones left out)."""
        try:
            hints = typing.get_type_hints(self.row)
        except (NameError, TypeError):  # a user's function with hints that do not resolve
            return {}
        return {name: hints[name] for name in self.accepted_kwargs() or () if name in hints}

    def kwarg_defaults(self) -> dict[str, object]:
        """The `process_fn_kwargs` the row function takes, each with its default (`REQUIRED` when it
        has none); {} when it takes any `**kwargs`."""
        names = self.accepted_kwargs() or []
        params = inspect.signature(self.row).parameters
        return {
            n: REQUIRED if params[n].default is inspect.Parameter.empty else params[n].default for n in names
        }

    def no_effect_kwargs(self) -> dict[str, str]:
        """Keywords LaViDa-O's function declares that change nothing here, with why
        (`NO_EFFECT_KWARGS`): accepted in `process_fn_kwargs` and not passed to the row function."""
        return NO_EFFECT_KWARGS.get(self.name, {})

    def stage_kwargs(self, settings) -> dict:
        """The stage options (`STAGE_OPTIONS`) the row function declares as keywords, with their
        values from `settings` (a StageSettings); the pipeline adds them to every call."""
        params = inspect.signature(self.row).parameters
        return {name: getattr(settings, name) for name in STAGE_OPTIONS if name in params}


_REGISTRY: dict[str, PreprocessFunction] = {}


def preprocess_fn(
    name: str,
    *,
    needs: Iterable[str] | Callable[[dict], list[str]] = (),
    batch=None,
    tasks: Iterable[str] = (),
):
    """Register the decorated row function under `name`; `needs` lists the source columns it reads
    (or computes them from the entry's `process_fn_kwargs`); `tasks` the `task` values of its rows
    (several when its kwargs pick one)."""

    def register(fn: RowFunction) -> RowFunction:
        needs_fn = needs if callable(needs) else (lambda _kwargs, fixed=tuple(needs): list(fixed))
        _REGISTRY[name] = PreprocessFunction(name, fn, needs_fn, batch, tuple(tasks))
        return fn

    return register


def known_names() -> list[str]:
    """Every registered name, sorted."""
    _load_builtin_modules()
    return sorted(_REGISTRY)


def get_preprocess(name: str) -> PreprocessFunction:
    """The function registered as `name`, or imported from `module:function` (that runs the
    module's code: only name modules you trust). KeyError lists the known names."""
    _load_builtin_modules()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        return _import_user_function(name)
    raise KeyError(
        f"unknown preprocess_fn {name!r}; known: {', '.join(known_names())} (or 'module:function')"
    )


def _import_user_function(spec: str) -> PreprocessFunction:
    module_name, _, attr = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise KeyError(
            f"preprocess_fn {spec!r}: cannot import {attr!r} from {module_name!r} ({err})"
        ) from err
    return PreprocessFunction(spec, fn, lambda _kwargs: [], getattr(fn, "batch", None))


def _load_builtin_modules() -> None:
    from hf_mixture.preprocess import (  # noqa: F401
        editing,
        grounded,
        payload,
        planning,
        text_to_image,
        understanding,
    )
