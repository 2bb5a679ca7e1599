"""Build a stage from a LaViDa-O style YAML file into a Hub-layout folder."""

from __future__ import annotations

import argparse

from hf_mixture.build import DEFAULT_OUT, build_stage
from hf_mixture.cli.options import add_stage_overrides, stage_overrides


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="stage YAML file (LaViDa-O format, optional `stage:` block)")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--work-dir", help="where per-entry Arrow files are kept while building (default: tmp)"
    )
    add_stage_overrides(parser)


def run(args: argparse.Namespace) -> int:
    build_stage(
        args.config, args.out, overrides=stage_overrides(args), strict=args.strict, work_dir=args.work_dir
    )
    return 0
