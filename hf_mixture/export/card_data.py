"""What the dataset card says about one built stage, gathered from its report, YAML and rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hf_mixture.export.folder import CHARTS, iter_stage_batches, read_stage_yaml, stage_files
from hf_mixture.export.licenses import known_source, source_license
from hf_mixture.export.report import load_report


@dataclass(frozen=True)
class SourceSummary:
    """One source (YAML entry) of a stage, as the card shows it; `key` is the entry's unique key
    (its name, or `name~2`... for a repeated name: the prefix of its rows' `id`)."""

    name: str
    key: str
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


SUMMARY_COLUMNS = ("id", "source", "task", "length_group", "license")
GROUP_COLUMNS = ("entry", "source", "task", "length_group", "license")


def stage_summary(out_dir: str | Path, stage: str) -> StageSummary:
    """Summarise `stage` of a built folder (small columns only, batch by batch: memory stays flat).
    Sources are keyed by entry key, as in the build report, so two entries sharing a name are two
    lines whose numbers match the report's."""
    counts = _combination_counts(out_dir, stage)
    total = sum(counts.values())
    report = load_report(out_dir, stage) or {}
    entries = {e.get("key", e.get("name")): e for e in report.get("entries", []) if isinstance(e, dict)}
    found = {key[0]: key[1] for key in counts}
    keys = list(entries) + sorted(set(found) - set(entries))
    sources = tuple(
        _source_summary(counts, total, key, entries.get(key, {"name": found.get(key, key)})) for key in keys
    )
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
    """Rows per (entry key, source, task, length_group, license), counted per record batch; the
    entry key is the part of `id` before the first `/`."""
    counts: Counter = Counter()
    for batch in iter_stage_batches(out_dir, stage, SUMMARY_COLUMNS, batch_size=65536):
        table = pa.Table.from_batches([batch])
        entry = pc.list_element(pc.split_pattern(table["id"], "/", max_splits=1), 0)
        table = table.drop_columns(["id"]).add_column(0, "entry", entry)
        grouped = table.group_by(list(GROUP_COLUMNS)).aggregate([([], "count_all")])
        for row in grouped.to_pylist():
            counts[tuple(row[c] for c in GROUP_COLUMNS)] += row["count_all"]
    return counts


def _source_summary(counts: Counter, total: int, entry_key: str, entry: dict) -> SourceSummary:
    mine = {key: n for key, n in counts.items() if key[0] == entry_key}
    rows = sum(mine.values())
    name = entry.get("name", entry_key)
    known = known_source(name, entry.get("preprocess_fn"))
    license_text, license_id = source_license([key[4] for key in mine], known)
    groups = sorted({key[3] for key in mine}) or [entry.get("length_group", "default")]
    return SourceSummary(
        name=name,
        key=entry_key,
        tasks=tuple(sorted({key[2] for key in mine})),
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
