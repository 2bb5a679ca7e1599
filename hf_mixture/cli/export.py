"""Export one stage of a built folder for a training framework (LLaMA-Factory or LLaVA / LaViDa-O).

Images are written as files under --to; rows are streamed, never held in memory.
"""

from __future__ import annotations

import argparse

from hf_mixture.export.export_report import EXPORT_REPORT, format_export_report
from hf_mixture.export.exporter import FORMATS, ExportError
from hf_mixture.export.folder import only_stage
from hf_mixture.export.llamafactory import DEFAULT_TASKS, LlamaFactoryExporter
from hf_mixture.export.llava import LlavaExporter
from hf_mixture.export.remote_out import local_copy

EXPORTERS = {"llamafactory": LlamaFactoryExporter, "llava": LlavaExporter}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", choices=sorted(EXPORTERS), help="framework to export for")
    parser.add_argument("out", help="built folder (what `hf-mixture build --out` wrote)")
    parser.add_argument("--stage", help="stage (config) to export; default: the folder's only stage")
    parser.add_argument("--to", required=True, help="export folder (data files, images/, metadata)")
    parser.add_argument("--format", default="jsonl", choices=FORMATS, help="data file format (default jsonl)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--tasks",
        help=f"llamafactory: comma-separated tasks to export (default {','.join(DEFAULT_TASKS)}); "
        "rows of other tasks are reported as not exported",
    )
    parser.add_argument(
        "--generation",
        action="store_true",
        help="llamafactory: also export rows that ask for an image (LLaMA-Factory reads no generation "
        "target: they teach only their text); [[micro_conds_texts]] is filled or removed",
    )


def _exporter(args: argparse.Namespace, folder):
    """The exporter the arguments ask for, reading the built folder `folder`."""
    if args.target == "llamafactory":
        tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
        return LlamaFactoryExporter(
            folder, args.stage, args.to, args.format, tasks=tasks, generation=args.generation
        )
    if args.tasks or args.generation:
        raise ExportError("--tasks and --generation choose rows for llamafactory; llava exports every row")
    return LlavaExporter(folder, args.stage, args.to, args.format)


def run(args: argparse.Namespace) -> int:
    stages = [args.stage] if args.stage else None  # None: every stage, to find the only one
    with local_copy(args.out, stages) as folder:  # a remote --out (s3://...) is read from a copy
        args.stage = only_stage(folder, args.stage)
        result = _exporter(args, folder).run(progress=not args.no_progress)
    print(format_export_report(result.summary, result.tally))
    files = ", ".join(f"{path.relative_to(result.to_dir)} ({result.rows[key]} rows)"
                      for key, path in result.data_files.items())  # fmt: skip
    print(f"exported {result.total_rows} rows of {args.stage} to {result.to_dir}: {files}; "
          f"{result.images_written} image files; report: {result.to_dir / EXPORT_REPORT}")  # fmt: skip
    return 0
