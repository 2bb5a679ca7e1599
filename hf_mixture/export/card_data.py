"""What the dataset card says about one built stage, gathered from its report, YAML and rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hf_mixture.export.folder import read_stage_columns, read_stage_yaml, stage_files
from hf_mixture.export.licenses import known_source, source_license
from hf_mixture.export.report import load_report


@dataclass(frozen=True)
class SourceSummary:
    """One source (YAML entry) of a stage, as the card shows it."""

    name: str
    tasks: tuple[str, ...]
    length_group: str
    rows: int
    share: float
    expected_share: float | None
    license_text: str
    license_id: str
    repo_id: str | None
    read: int | None
    dropped: dict


@dataclass(frozen=True)
class StageSummary:
    """One stage: its rows, shards, sources and the YAML that built it."""

    name: str
    rows: int
    shards: int
    report: dict
    sources: tuple[SourceSummary, ...]
    yaml_text: str | None

    @property
    def tasks(self) -> set[str]:
        """Every task of the stage's rows."""
        return {task for source in self.sources for task in source.tasks}

    @property
    def license_ids(self) -> set[str]:
        """The Hub license ids of the stage's sources (`unknown` included)."""
        return {source.license_id for source in self.sources}


def stage_summary(out_dir: str | Path, stage: str) -> StageSummary:
    """Summarise `stage` of a built folder (reads only the small columns of its rows)."""
    table = read_stage_columns(out_dir, stage, ["source", "task", "length_group", "license"])
    report = load_report(out_dir, stage) or {}
    entries = {e["name"]: e for e in report.get("entries", [])}
    names = list(entries) + sorted(set(table["source"].to_pylist()) - set(entries))
    sources = tuple(_source_summary(table, name, entries.get(name, {})) for name in names)
    return StageSummary(
        name=stage,
        rows=len(table),
        shards=len(stage_files(out_dir, stage)),
        report=report,
        sources=sources,
        yaml_text=read_stage_yaml(out_dir, stage),
    )


def _source_summary(table: pa.Table, name: str, entry: dict) -> SourceSummary:
    rows = table.filter(pc.equal(table["source"], name))
    known = known_source(name, entry.get("preprocess_fn"))
    license_text, license_id = source_license(rows["license"].to_pylist(), known)
    groups = sorted(set(rows["length_group"].to_pylist())) or [entry.get("length_group", "default")]
    return SourceSummary(
        name=name,
        tasks=tuple(sorted(set(rows["task"].to_pylist()))),
        length_group=", ".join(groups),
        rows=len(rows),
        share=len(rows) / len(table) if len(table) else 0.0,
        expected_share=entry.get("expected_share"),
        license_text=license_text,
        license_id=license_id,
        repo_id=known.repo_id if known else None,
        read=entry.get("read"),
        dropped={k: v for k, v in entry.get("dropped", {}).items() if v},
    )
