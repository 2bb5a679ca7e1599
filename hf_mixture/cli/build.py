"""Build a stage from a LaViDa-O style YAML file into a Hub-layout folder."""

from __future__ import annotations

import argparse

from hf_mixture.build import DEFAULT_OUT, build_stage
from hf_mixture.cli.options import add_stage_overrides, stage_overrides
from hf_mixture.engines import ENGINES
from hf_mixture.work_dir import WORK_DIR_ENV, default_work_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="stage YAML file (LaViDa-O format, optional `stage:` block)")
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        help="output folder or fsspec URL, e.g. s3://bucket/prefix (options: stage.storage_options.<scheme>; "
        f"default: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--work-dir",
        default=str(default_work_dir()),
        help="where each finished entry's rows are kept, keyed by everything that makes them, for later "
        "builds to reuse (a re-run after a failure, or after changing only weights, stopping_strategy, "
        f"num_samples, num_shards or another entry); a shared folder with --engine ray on a cluster "
        f"(default: ${WORK_DIR_ENV}, else $XDG_CACHE_HOME/hf-mixture/work, now {default_work_dir()})",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="build every entry again, ignoring what --work-dir holds (the new entries are still kept)",
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
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars (the report and closing line stay)"
    )
    add_stage_overrides(parser)


def run(args: argparse.Namespace) -> int:
    build_stage(
        args.config,
        args.out,
        overrides=stage_overrides(args),
        strict=args.strict,
        work_dir=args.work_dir,
        fresh=args.fresh,
        engine=args.engine,
        address=args.address,
        progress=not args.no_progress,
    )
    return 0
