"""Export one stage of a built folder for a training framework (LLaMA-Factory or LLaVA / LaViDa-O).

Images are written as files under --to; rows are streamed, never held in memory.
"""

from __future__ import annotations

import argparse

from hf_mixture.export.exporter import FORMATS
from hf_mixture.export.llamafactory import LlamaFactoryExporter
from hf_mixture.export.llava import LlavaExporter
from hf_mixture.export.remote_out import local_copy

EXPORTERS = {"llamafactory": LlamaFactoryExporter, "llava": LlavaExporter}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", choices=sorted(EXPORTERS), help="framework to export for")
    parser.add_argument("out", help="built folder (what `hf-mixture build --out` wrote)")
    parser.add_argument("--stage", required=True, help="stage (config) to export")
    parser.add_argument("--to", required=True, help="export folder (data files, images/, metadata)")
    parser.add_argument("--format", default="jsonl", choices=FORMATS, help="data file format (default jsonl)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    with local_copy(args.out, [args.stage]) as folder:  # a remote --out (s3://...) is read from a copy
        result = EXPORTERS[args.target](folder, args.stage, args.to, args.format).run(
            progress=not args.no_progress
        )
    files = ", ".join(f"{path.relative_to(result.to_dir)} ({result.rows[key]} rows)"
                      for key, path in result.data_files.items())  # fmt: skip
    print(f"exported {result.total_rows} rows of {args.stage} to {result.to_dir}: {files}; "
          f"{result.images_written} image files")  # fmt: skip
    return 0
