"""What the dataset card says about one built stage, gathered from its report, YAML and rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from hf_mixture.export.folder import CHARTS, iter_stage_batches, read_stage_yaml, stage_files
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
    charts: tuple[str, ...] = ()  # chart files of the stage, relative to the folder (export/charts.py)

    @property
    def tasks(self) -> set[str]:
        """Every task of the stage's rows."""
        return {task for source in self.sources for task in source.tasks}

    @property
    def license_ids(self) -> set[str]:
        """The Hub license ids of the stage's sources (`unknown` included)."""
        return {source.license_id for source in self.sources}


SUMMARY_COLUMNS = ("source", "task", "length_group", "license")


def stage_summary(out_dir: str | Path, stage: str) -> StageSummary:
    """Summarise `stage` of a built folder (small columns only, batch by batch: memory stays flat)."""
    counts = _combination_counts(out_dir, stage)
    total = sum(counts.values())
    report = load_report(out_dir, stage) or {}
    entries = {e["name"]: e for e in report.get("entries", [])}
    names = list(entries) + sorted({key[0] for key in counts} - set(entries))
    sources = tuple(_source_summary(counts, total, name, entries.get(name, {})) for name in names)
    return StageSummary(
        name=stage,
        rows=total,
        shards=len(stage_files(out_dir, stage)),
        report=report,
        sources=sources,
        yaml_text=read_stage_yaml(out_dir, stage),
        charts=tuple(f"{stage}/{name}" for name in CHARTS if (Path(out_dir) / stage / name).is_file()),
    )


def _combination_counts(out_dir: str | Path, stage: str) -> Counter:
    """Rows per (source, task, length_group, license), counted per record batch."""
    counts: Counter = Counter()
    for batch in iter_stage_batches(out_dir, stage, SUMMARY_COLUMNS, batch_size=65536):
        grouped = (
            pa.Table.from_batches([batch]).group_by(list(SUMMARY_COLUMNS)).aggregate([([], "count_all")])
        )
        for row in grouped.to_pylist():
            counts[tuple(row[c] for c in SUMMARY_COLUMNS)] += row["count_all"]
    return counts


def _source_summary(counts: Counter, total: int, name: str, entry: dict) -> SourceSummary:
    mine = {key: n for key, n in counts.items() if key[0] == name}
    rows = sum(mine.values())
    known = known_source(name, entry.get("preprocess_fn"))
    license_text, license_id = source_license([key[3] for key in mine], known)
    groups = sorted({key[2] for key in mine}) or [entry.get("length_group", "default")]
    return SourceSummary(
        name=name,
        tasks=tuple(sorted({key[1] for key in mine})),
        length_group=", ".join(groups),
        rows=rows,
        share=rows / total if total else 0.0,
        expected_share=entry.get("expected_share"),
        license_text=license_text,
        license_id=license_id,
        repo_id=known.repo_id if known else None,
        read=entry.get("read"),
        dropped={k: v for k, v in entry.get("dropped", {}).items() if v},
    )
