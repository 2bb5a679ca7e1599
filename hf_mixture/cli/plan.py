"""Plan a stage before building it: rows per entry through each step, shares, repeats, an image probe,
output size and build time estimates, warnings. Writes nothing.

Row counts through filters, sampling and preprocess are the build's (same code); rows dropped for
their images are counted on a seeded probe of each entry (exact when the probe covers every row).
"""

from __future__ import annotations

import argparse
import json

from hf_mixture.cli.options import add_stage_overrides, stage_overrides
from hf_mixture.plan.entry import DEFAULT_PROBE_ROWS
from hf_mixture.plan.render import format_plan
from hf_mixture.plan.stage import DEFAULT_REPEAT_THRESHOLD, plan_stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="stage YAML file (LaViDa-O format, optional `stage:` block)")
    parser.add_argument(
        "--probe-rows",
        type=int,
        default=DEFAULT_PROBE_ROWS,
        help=f"rows per entry whose images are fetched and checked (default {DEFAULT_PROBE_ROWS}; 0: none)",
    )
    parser.add_argument(
        "--repeat-threshold",
        type=float,
        default=DEFAULT_REPEAT_THRESHOLD,
        help=f"warn when one row would be written more often (default {DEFAULT_REPEAT_THRESHOLD})",
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    add_stage_overrides(parser)


def run(args: argparse.Namespace) -> int:
    if args.probe_rows < 0:
        raise argparse.ArgumentTypeError(f"--probe-rows must be 0 or more, got {args.probe_rows}")
    plan = plan_stage(
        args.config,
        overrides=stage_overrides(args),
        strict=args.strict,
        probe_rows=args.probe_rows,
        repeat_threshold=args.repeat_threshold,
    )
    print(json.dumps(plan.to_dict(), indent=2) if args.json else format_plan(plan))
    return 0
