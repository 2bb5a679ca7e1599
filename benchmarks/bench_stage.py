"""A whole stage of the s3-unified shape: ~20 entries built end to end, then streamed.

Sample data: the bundled demo tables (demo/data, made by demo/make_demo_data.py and
demo/make_task_samples.py: t2i, editing, understanding, grounding, planning, reflection) with their
rows tiled to `--rows-per-entry` rows each, images from demo/images and demo/task_images (small,
so image checking is cheap and the figure is dominated by everything else).
The stage takes the entries of configs/demo/s3-unified.yaml (preprocess functions, kwargs, length
groups, weights, batch sizes, resolution 1024, all_exhausted, box_format) and cycles them to
`--entries` entries, cycling through the strategies random:50%, all, first:N, end:N, dup:2, random:N.

Measured: build rows/s (rows written / wall time of `build_stage`, and source rows read / s),
where the build time goes per phase (entries, mixing + parquet), and the time from
`load_dataset(out, stage, streaming=True)` to the first row (images decoded).
No goal is set for these figures; they are the baseline for later changes.
Default: 20 entries x 2000 rows (about a minute). Larger: --rows-per-entry 20000.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _common
import numpy as np
import pyarrow.parquet as pq
import yaml

DEMO_CONFIG = _common.REPO / "configs" / "demo" / "s3-unified.yaml"
STRATEGIES = ("random:50%", "all", "first:{n}", "end:{n}", "dup:2", "random:{n}")


def make_stage(work: Path, entries: int, rows: int) -> Path:
    """The stage file of `entries` entries over tiled copies of the demo tables."""
    model = yaml.safe_load(DEMO_CONFIG.read_text())
    demo_dir = DEMO_CONFIG.parent
    stage = model["stage"]
    stage["name"] = "bench-stage"
    stage["path_mappings"] = {
        prefix: str((demo_dir / target).resolve()) + "/" for prefix, target in stage["path_mappings"].items()
    }
    out_entries = []
    for i in range(entries):
        template = dict(model["datasets"][i % len(model["datasets"])])
        source = (demo_dir / template["json_path"]).resolve()
        tiled = work / f"{source.stem}-x{rows}{source.suffix}"
        if not tiled.exists():
            tile(source, tiled, rows)
        template.update(
            name=f"{template['name']}-{i}",
            json_path=str(tiled),
            sampling_strategy=STRATEGIES[i % len(STRATEGIES)].format(n=rows // 3),
        )
        out_entries.append(template)
    model["datasets"] = out_entries
    path = work / "stage.yaml"
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    return path


def tile(source: Path, target: Path, rows: int) -> None:
    """`source`'s rows repeated to `rows` rows, in the same format (parquet, JSON array, JSONL)."""
    if source.suffix == ".parquet":
        table = pq.read_table(source)
        pq.write_table(table.take(np.arange(rows) % len(table)), target)
        return
    if source.suffix == ".jsonl":
        lines = [line for line in source.read_text().splitlines() if line.strip()]
        target.write_text("\n".join(lines[i % len(lines)] for i in range(rows)) + "\n")
        return
    items = json.loads(source.read_text())
    target.write_text(json.dumps([items[i % len(items)] for i in range(rows)]))


def first_streamed_row(out: Path, stage: str) -> float:
    """Seconds from `load_dataset(..., streaming=True)` to the first row, its images decoded."""
    from datasets import load_dataset

    started = time.perf_counter()
    row = next(iter(load_dataset(str(out), stage, split="train", streaming=True)))
    for image in row["images"] + row["image_gen"]:
        image.load()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--rows-per-entry", type=int, default=2000)
    parser.add_argument("--work-dir", help="keep generated data here (default: a temp folder)")
    args = parser.parse_args(argv)
    _common.header("s3-unified-shaped stage, end to end", args)
    from hf_mixture.build import build_stage

    with _common.work_dir(args.work_dir) as work:
        config = make_stage(work, args.entries, args.rows_per_entry)
        started = time.perf_counter()
        result = build_stage(config, work / "out", echo=lambda *_: None)
        seconds = time.perf_counter() - started
        read = sum(s.read for s in result.entries)
        print(
            f"built {result.written.num_examples:,} rows from {read:,} source rows in {seconds:.1f} s "
            f"({len(result.entries)} entries; see README for where the time goes)"
        )
        _common.report(
            "build: rows written / s", result.written.num_examples / seconds, "rows/s", "(reported)", True
        )
        _common.report("build: source rows read / s", read / seconds, "rows/s", "(reported)", True)
        first = first_streamed_row(work / "out", result.stage)
        _common.report("streaming: time to first row", first, "s", "(reported)", True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
