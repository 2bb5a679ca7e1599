"""List the registered preprocess functions: the task their rows get, the source columns they read,
and their `process_fn_kwargs` with defaults."""

from __future__ import annotations

import argparse

from hf_mixture.preprocess.registry import REQUIRED, get_preprocess, known_names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    for name in known_names():
        function = get_preprocess(name)
        ignored = function.no_effect_kwargs()
        print(
            f"{name}\n    task: {' | '.join(function.tasks) or '?'}"
            f"\n    reads: {', '.join(function.needs({})) or '-'}"
            f"\n    process_fn_kwargs: {describe_kwargs(function)}"
        )
        for key, why in ignored.items():
            print(f"    accepted, no effect here: {key} ({why})")
    return 0


def describe_kwargs(function) -> str:
    """`name=default` per keyword (`name` alone when required); `any` for a `**kwargs` function."""
    if function.accepted_kwargs() is None:
        return "any"
    items = function.kwarg_defaults().items()
    return ", ".join(name if default is REQUIRED else f"{name}={default!r}" for name, default in items) or "-"
