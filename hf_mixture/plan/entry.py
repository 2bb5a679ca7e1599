"""One entry's plan: its rows through the build's own metadata path (no image read), and a probe of
a seeded sample of the rows kept."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from hf_mixture.config.model import EntryConfig, StageConfig
from hf_mixture.engines.local import entry_builder
from hf_mixture.errors import SamplingError, SourceError
from hf_mixture.pipeline import EntryPipeline, entry_filters, entry_selection
from hf_mixture.plan.probe import ProbeResult, RowSample, probe_rows
from hf_mixture.sampling import entry_seed

DEFAULT_PROBE_ROWS = 64


@dataclass
class EntryPlan:
    """What the build would do with one entry's rows.

    Counted exactly (the build's code): `source_rows` (parquet footers; None when the source does
    not say), `read`, `after_filters` ((filter, rows left) in the build's order), `sampled`,
    `records` (after preprocess and invariants), `dropped` by reason. Estimated from the probe (exact
    when `probe_complete`): `media_dropped`, `rows` (after media and `dup`). Filled by the mix:
    `expected_share`, `written`, `realised_share`, `repeat_mean`, `repeat_max` (times one source
    row is written, `dup` copies included)."""

    index: int
    name: str
    key: str
    length_group: str
    sampling: str
    dup_factor: int
    source_rows: int | None = None
    read: int = 0
    after_filters: list[tuple[str, int]] = field(default_factory=list)
    sampled: int = 0
    records: int = 0
    dropped: Counter = field(default_factory=Counter)
    probe: ProbeResult = field(default_factory=ProbeResult)
    probe_complete: bool = True
    media_dropped: int = 0
    rows: int = 0
    metadata_seconds: float = 0.0
    expected_share: float = 0.0
    written: int = 0
    realised_share: float = 0.0
    repeat_mean: float = 0.0
    repeat_max: int = 0

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "name": self.name,
            "key": self.key,
            "length_group": self.length_group,
            "sampling_strategy": self.sampling,
            "source_rows": self.source_rows,
            "read": self.read,
            "after_filters": [{"filter": f, "rows": n} for f, n in self.after_filters],
            "sampled": self.sampled,
            "after_preprocess": self.records,
            "dropped": {reason: n for reason, n in sorted(self.dropped.items()) if n},
            "media_dropped": self.media_dropped,
            "media_estimated": not self.probe_complete,
            "rows": self.rows,
            "expected_share": self.expected_share,
            "written": self.written,
            "realised_share": self.realised_share,
            "repeat_mean": round(self.repeat_mean, 3),
            "repeat_max": self.repeat_max,
            "metadata_seconds": round(self.metadata_seconds, 4),
            "probe": self.probe.to_dict(),
        }


def plan_entry(config: StageConfig, entry: EntryConfig, cache_dir: str, probe_size: int) -> EntryPlan:
    """The plan of `entry`: its builder reads the source, `EntryPipeline.selected` and `.records` (the
    steps both build engines run) keep and make the rows, a seeded sample of them is probed.
    SamplingError / SourceError name the YAML file and the entry, as the build's do."""
    try:
        return _plan_entry(config, entry, cache_dir, probe_size)
    except (SamplingError, SourceError) as err:
        raise type(err)(f"{config.path}: {entry.label}: {err}") from err


def _plan_entry(config: StageConfig, entry: EntryConfig, cache_dir: str, probe_size: int) -> EntryPlan:
    builder = entry_builder(config, entry, cache_dir)
    filters = entry_filters(entry, builder.loaded_columns())
    stats = builder.new_stats(filters)
    plan = EntryPlan(entry.index, entry.name, entry.key, entry.length_group, entry.sampling.text,
                     entry.sampling.dup_factor, source_rows=builder.metadata_row_count())  # fmt: skip
    started = time.perf_counter()
    builder.take_reader_drops()
    selection = entry_selection(
        entry, config.settings, filters, builder.source_tables, builder.metadata_row_count
    )
    builder.take_reader_drops()  # as the build: rows a counting pass skipped are counted by the main pass
    pipeline = EntryPipeline(entry, config.settings, builder.fetcher(), filters, selection, stats,
                             embed_media=False)  # fmt: skip
    sample = RowSample(probe_size, entry_seed(config.settings.seed, entry.name))
    for rows, positions in pipeline.selected(builder.source_tables(entry.columns)):
        records = pipeline.records(rows, positions)
        plan.records += len(records)
        sample.add(records)
    drops = builder.take_reader_drops()
    stats.dropped.update(drops)
    stats.read += sum(drops.values())
    plan.metadata_seconds = time.perf_counter() - started
    _fill_counts(plan, stats, filters)
    plan.probe = probe_rows(sample.rows, pipeline.fetcher, config.settings)
    plan.probe_complete = sample.complete
    _estimate_media(plan)
    return plan


def _fill_counts(plan: EntryPlan, stats, filters) -> None:
    plan.read, plan.sampled = stats.read, stats.sampled
    plan.dropped = Counter({reason: n for reason, n in stats.dropped.items() if n})
    left = stats.read - sum(n for reason, n in stats.dropped.items() if reason.startswith("source:"))
    for row_filter in filters:
        left -= stats.dropped.get(row_filter.reason, 0)
        plan.after_filters.append((row_filter.description, left))


def _estimate_media(plan: EntryPlan) -> None:
    """Rows after the image stage: exact when every kept row was probed, else the probe's share."""
    probe = plan.probe
    if plan.probe_complete:
        dropped = probe.rows - probe.rows_ok
        plan.dropped.update(probe.drops)
    else:
        dropped = int(round(plan.records * (1 - probe.ok_fraction)))
        for reason, n in probe.drops.items():
            plan.dropped[reason] += int(np.round(n / max(probe.rows, 1) * plan.records))
    plan.media_dropped = dropped
    plan.rows = (plan.records - dropped) * plan.dup_factor
