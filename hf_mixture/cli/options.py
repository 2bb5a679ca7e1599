"""Command-line options shared by subcommands that read a stage YAML file."""

from __future__ import annotations

import argparse


def add_stage_overrides(parser: argparse.ArgumentParser) -> None:
    """Options that override keys of the YAML `stage:` block."""
    parser.add_argument("--name", help="stage (config) name; default: stage.name or the YAML file name")
    parser.add_argument(
        "--seed", type=int, help="seed of random: sampling and the interleave (default: stage.seed, else 42)"
    )
    parser.add_argument("--resolution", type=int, help="resize generation targets to this short side")
    parser.add_argument("--num-samples", type=int, help="keep the first N rows of the mixture")
    parser.add_argument("--num-shards", type=int, help="number of parquet files to write")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="PREFIX=DIR",
        help="path mapping, e.g. s3://bucket/prefix=/data/local (repeatable)",
    )
    parser.add_argument("--strict", action="store_true", help="treat every warning as an error")


def stage_overrides(args: argparse.Namespace) -> dict:
    """The `stage:` keys the options set."""
    overrides = {
        "name": args.name,
        "seed": args.seed,
        "resolution": args.resolution,
        "num_samples": args.num_samples,
        "num_shards": args.num_shards,
    }
    if args.map:
        pairs = [item.split("=", 1) for item in args.map]
        bad = [item for item, pair in zip(args.map, pairs) if len(pair) != 2]
        if bad:
            raise argparse.ArgumentTypeError(f"--map expects PREFIX=DIR, got {bad}")
        overrides["path_mappings"] = dict(pairs)
    return overrides
