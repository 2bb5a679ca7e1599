"""Reading a built folder back: its stages, their shards, report and YAML, rows in Arrow batches.

A built folder is what `hf-mixture build` writes: `README.md`, and per stage
`<stage>/train-*.parquet`, `<stage>/build_report.json`, `<stage>/stage.yaml` and the charts
`<stage>/composition.png`, `<stage>/drops.png`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datasets.utils.metadata import MetadataConfigs

from hf_mixture.errors import OutputError
from hf_mixture.export.hub_folder import SPLIT
from hf_mixture.export.readme import README, read_card
from hf_mixture.redact import redact
from hf_mixture.sources.tables import parquet_file_for_streaming

STAGE_YAML = "stage.yaml"
COMPOSITION_CHART = "composition.png"  # export/charts.py: expected vs realised shares, rows per task
DROPS_CHART = "drops.png"  # export/charts.py: rows read, kept and dropped by reason per entry
CHARTS = {  # chart file -> what it shows (its alt text in the card)
    COMPOSITION_CHART: "expected vs realised share per entry, rows per task",
    DROPS_CHART: "rows read, kept and dropped by reason per entry",
}


def stage_yaml_path(out_dir: str | Path, stage: str) -> Path:
    """Where the YAML text that built `stage` is saved (outside the `train-*` glob)."""
    return Path(out_dir) / stage / STAGE_YAML


def save_stage_yaml(out_dir: str | Path, stage: str, text: str) -> Path:
    """Save the stage YAML text next to the stage's shards and report, secrets masked."""
    path = stage_yaml_path(out_dir, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(text), encoding="utf-8")
    return path


def read_stage_yaml(out_dir: str | Path, stage: str) -> str | None:
    """The saved stage YAML text, or None when the stage was built before it was saved."""
    path = stage_yaml_path(out_dir, stage)
    return path.read_text(encoding="utf-8") if path.exists() else None


def readme_stages(out_dir: str | Path) -> list[str]:
    """The stage (config) names the folder's README declares, sorted."""
    if not (Path(out_dir) / README).exists():
        return []
    return sorted(MetadataConfigs.from_dataset_card_data(read_card(out_dir).data))


def disk_stages(out_dir: str | Path) -> list[str]:
    """Sub-folders holding `train-*` shards, sorted."""
    root = Path(out_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob(f"{SPLIT}-*")))


def only_stage(out_dir: str | Path, stage: str | None) -> str:
    """`stage`, or when it is None the folder's only built stage; OutputError naming the stages when
    there are several (or none)."""
    if stage is not None:
        return stage
    built = disk_stages(out_dir)
    if len(built) == 1:
        return built[0]
    if not built:
        raise OutputError(
            f"{out_dir}: no built stage (no <stage>/{SPLIT}-*.parquet); build one first: "
            f"hf-mixture build <stage.yaml> --out {out_dir}"
        )
    raise OutputError(f"{out_dir} holds {len(built)} stages ({', '.join(built)}); pick one with --stage")


def stage_files(out_dir: str | Path, stage: str) -> list[Path]:
    """The parquet shards of `stage`, sorted; OutputError when there are none."""
    files = sorted((Path(out_dir) / stage).glob(f"{SPLIT}-*.parquet"))
    if not files:
        known = ", ".join(disk_stages(out_dir)) or "none"
        raise OutputError(
            f"{out_dir}: stage {stage!r} has no {stage}/{SPLIT}-*.parquet files; stages in this folder: "
            f"{known}. Build it first: hf-mixture build <stage.yaml> --out {out_dir}"
        )
    return files


def stage_num_rows(out_dir: str | Path, stage: str) -> int:
    """Rows over the stage's shards, from the parquet footers."""
    return sum(pq.read_metadata(f).num_rows for f in stage_files(out_dir, stage))


def iter_stage_batches(
    out_dir: str | Path, stage: str, columns: Sequence[str] | None = None, batch_size: int = 64
) -> Iterator[pa.RecordBatch]:
    """The stage's rows as Arrow record batches, shard by shard (never the whole stage in memory)."""
    for path in stage_files(out_dir, stage):
        parquet = parquet_file_for_streaming(path)
        yield from parquet.iter_batches(batch_size=batch_size, columns=list(columns) if columns else None)


def read_stage_columns(out_dir: str | Path, stage: str, columns: Sequence[str]) -> pa.Table:
    """Small columns (no image bytes) of every row of a stage, as one table."""
    return pa.concat_tables(pq.read_table(f, columns=list(columns)) for f in stage_files(out_dir, stage))
