"""Build a stage from a LaViDa-O style YAML file into a Hub-layout folder."""

from __future__ import annotations

import argparse

from hf_mixture.build import DEFAULT_OUT, build_stage
from hf_mixture.cli.options import add_stage_overrides, stage_overrides
from hf_mixture.engines import ENGINES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="stage YAML file (LaViDa-O format, optional `stage:` block)")
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        help="output folder or fsspec URL, e.g. s3://bucket/prefix (options: stage.storage_options.<scheme>; "
        f"default: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--work-dir", help="where per-entry Arrow files are kept while building (default: tmp)"
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="what builds each entry's rows: local (this machine, default) or ray (a Ray cluster; "
        "pip install 'hf-mixture[ray]'; see docs/cluster.md)",
    )
    parser.add_argument(
        "--address",
        help="Ray cluster address (HOST:6379, ray://HOST:10001 or auto) for --engine ray; default: "
        "RAY_ADDRESS when set, else a new local Ray",
    )
    add_stage_overrides(parser)


def run(args: argparse.Namespace) -> int:
    build_stage(
        args.config,
        args.out,
        overrides=stage_overrides(args),
        strict=args.strict,
        work_dir=args.work_dir,
        engine=args.engine,
        address=args.address,
    )
    return 0
