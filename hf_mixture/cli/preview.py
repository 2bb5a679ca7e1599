"""Write a self-contained HTML page previewing a few rows per source of a built stage."""

from __future__ import annotations

import argparse

from hf_mixture.export.folder import only_stage
from hf_mixture.export.preview import write_preview
from hf_mixture.export.remote_out import local_copy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="built folder (what `hf-mixture build --out` wrote)")
    parser.add_argument("--stage", help="stage (config) to preview; default: the folder's only stage")
    parser.add_argument("--rows-per-source", type=int, default=3, help="rows shown per source (default 3)")
    parser.add_argument("--to", required=True, help="HTML file to write")


def run(args: argparse.Namespace) -> int:
    stages = [args.stage] if args.stage else None  # None: every stage, to find the only one
    with local_copy(args.out, stages) as folder:  # a remote --out (s3://...) is read from a copy
        path = write_preview(folder, only_stage(folder, args.stage), args.to, args.rows_per_source)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0
