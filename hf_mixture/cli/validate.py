"""Check a built folder against what the Hub, `load_dataset` and the dataset viewer need.

Prints a verdict per stage; exits 2 when any check fails (a finding about the folder, to fix and
build again) or the folder does not exist.
"""

from __future__ import annotations

import argparse

from hf_mixture.export.remote_out import local_copy
from hf_mixture.export.validate import validate_folder
from hf_mixture.export.validate_stage import SCAN_LIMIT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="built folder (what `hf-mixture build --out` wrote)")
    parser.add_argument(
        "--scan-limit", type=int, default=SCAN_LIMIT, help=f"bytes the first 100 rows may need ({SCAN_LIMIT})"
    )
    parser.add_argument(
        "--sample-images",
        type=int,
        default=16,
        help="rows with images, spread over the whole stage, whose images are decoded",
    )


def run(args: argparse.Namespace) -> int:
    with local_copy(args.out) as folder:  # a remote --out (s3://...) is checked on a local copy
        report = validate_folder(folder, scan_limit=args.scan_limit, sample_images=args.sample_images)
    print(report.format())
    return 0 if report.ok else 2
