"""List the registered preprocess functions and the source columns each reads."""

from __future__ import annotations

import argparse

from hf_mixture.preprocess.registry import get_preprocess, known_names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    for name in known_names():
        function = get_preprocess(name)
        kwargs = function.accepted_kwargs()
        ignored = function.no_effect_kwargs()
        print(
            f"{name}\n    reads: {', '.join(function.needs({})) or '-'}"
            f"\n    process_fn_kwargs: {', '.join(kwargs) if kwargs is not None else 'any'}"
        )
        for key, why in ignored.items():
            print(f"    accepted, no effect here: {key} ({why})")
    return 0
