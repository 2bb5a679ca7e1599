"""Check a stage YAML file (keys, strategies, preprocess functions, files, columns) without building.

Entries with `random:N` are counted (their filter columns are read) and the image references of
each entry's first rows are checked for missing packages, so `check` stops on what `build` would."""

from __future__ import annotations

import argparse

from hf_mixture.cli.options import add_stage_overrides, stage_overrides
from hf_mixture.config.load import load_stage_config
from hf_mixture.entry_checks import check_sources


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="stage YAML file")
    parser.add_argument(
        "--no-files",
        action="store_true",
        help="check keys, strategies and functions only: do not look for the entries' files "
        "(e.g. a LaViDa-O config whose /mnt/... parquets are on another machine)",
    )
    add_stage_overrides(parser)


def run(args: argparse.Namespace) -> int:
    config = load_stage_config(
        args.config, strict=args.strict, overrides=stage_overrides(args), check_files=not args.no_files
    )
    if not args.no_files:
        check_sources(config)  # random:N counts and image schemes: they read the sources
    print(f"{args.config}: OK, stage {config.settings.name!r}, {len(config.entries)} entries")
    for entry in config.entries:
        print(
            f"  [{entry.index}] {entry.name}: {len(entry.files)} file(s), {entry.sampling.text}, "
            f"{entry.preprocess_fn}, group {entry.length_group}"
        )
    return 0
