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
import yaml

from hf_mixture.config.names import stage_name_problem
from hf_mixture.errors import OutputError
from hf_mixture.export.hub_folder import SPLIT
from hf_mixture.export.out_folder import atomic_write, out_path
from hf_mixture.export.readme import card_stages
from hf_mixture.export.report import REPORT_NAME
from hf_mixture.redact import redact_config
from hf_mixture.sources.tables import parquet_file_for_streaming

STAGE_YAML = "stage.yaml"
COMPOSITION_CHART = "composition.png"  # export/charts.py: expected vs realised shares, rows per task
DROPS_CHART = "drops.png"  # export/charts.py: rows read, kept and dropped by reason per entry
CHARTS = {  # chart file -> what it shows (its alt text in the card)
    COMPOSITION_CHART: "expected vs realised share per entry, rows per task",
    DROPS_CHART: "rows read, kept and dropped by reason per entry",
}


SAVED_YAML_HEADER = (
    "# The stage YAML, re-serialised by hf-mixture from the parsed config: values under\n"
    "# storage_options and of secret-named keys replaced by ***, URL credentials removed.\n"
)


def stage_yaml_path(out_dir: str | Path, stage: str) -> Path:
    """Where the YAML that built `stage` is saved (outside the `train-*` glob)."""
    return out_path(out_dir, stage, STAGE_YAML)


def save_stage_yaml(out_dir: str | Path, stage: str, text: str) -> Path:
    """Save the stage YAML next to the stage's shards and report, re-serialised from its parsed
    data by `safe_stage_yaml` (never the text as written: no secret of any YAML style reaches it)."""
    return atomic_write(out_dir, Path(stage, STAGE_YAML), safe_stage_yaml(text))


def safe_stage_yaml(text: str) -> str:
    """`text` parsed and written again with `redact_config` applied (comments are not kept)."""
    data = yaml.safe_load(text)
    return SAVED_YAML_HEADER + yaml.safe_dump(redact_config(data), sort_keys=False, allow_unicode=True)


def read_stage_yaml(out_dir: str | Path, stage: str) -> str | None:
    """The saved stage YAML text, or None when the stage was built before it was saved (or the
    file is not text)."""
    path = stage_yaml_path(out_dir, stage)
    try:
        return path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError):
        return None


def readme_stages(out_dir: str | Path) -> list[str]:
    """The stage (config) names the folder's README declares, sorted (none when it is missing or
    unreadable)."""
    return card_stages(out_dir)


def disk_stages(out_dir: str | Path) -> list[str]:
    """Sub-folders with a valid stage name holding `train-*` shards, sorted (build staging
    folders `.<stage>-tmp*` are not stages)."""
    root = Path(out_dir)
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and stage_name_problem(p.name) is None and any(p.glob(f"{SPLIT}-*"))
    )


def built_stages(out_dir: str | Path) -> list[str]:
    """The stages a README may declare: on disk, every shard with a readable parquet footer, and
    marked as ours by a build report or a saved stage YAML (readable or not), sorted."""
    stages = []
    for stage in disk_stages(out_dir):
        folder = Path(out_dir) / stage
        if not ((folder / REPORT_NAME).exists() or (folder / STAGE_YAML).exists()):
            continue
        try:
            for shard in folder.glob(f"{SPLIT}-*"):
                pq.read_metadata(shard)
        except (OSError, pa.ArrowInvalid):
            continue
        stages.append(stage)
    return stages


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
    files = sorted(out_path(out_dir, stage).glob(f"{SPLIT}-*.parquet"))
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
