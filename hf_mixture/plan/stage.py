"""The plan of a whole stage: every entry's plan, the mix, and the stage's estimates and warnings."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hf_mixture.config.load import load_stage_config
from hf_mixture.config.model import StageConfig
from hf_mixture.media.embed import default_decode_processes
from hf_mixture.plan.entry import DEFAULT_PROBE_ROWS, EntryPlan, plan_entry
from hf_mixture.plan.mix import mix_plans
from hf_mixture.plan.size import stage_bytes

DEFAULT_REPEAT_THRESHOLD = 10
MIN_SHARE = 0.01


@dataclass
class StagePlan:
    """A stage's plan. `rows`: rows the build would write; `bytes`: parquet bytes estimated from the
    probed rows; `build_seconds`: on this machine (the metadata pass as measured, images at the
    probe's rate per row); `core_hours`: CPU time of the same work, for sizing a cluster run."""

    stage: str
    config: str
    seed: int
    stopping_strategy: str
    entries: list[EntryPlan]
    rows: int = 0
    bytes: int = 0
    build_seconds: float = 0.0
    core_hours: float = 0.0
    cpus: int = 1
    plan_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Whether every entry's media drops were counted on all its rows (no estimate in `rows`)."""
        return all(e.probe_complete for e in self.entries)

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "config": self.config,
            "seed": self.seed,
            "stopping_strategy": self.stopping_strategy,
            "rows": self.rows,
            "rows_exact": self.exact,
            "estimated_bytes": self.bytes,
            "estimated_build_seconds": round(self.build_seconds, 2),
            "estimated_core_hours": round(self.core_hours, 6),
            "cpus": self.cpus,
            "plan_seconds": round(self.plan_seconds, 2),
            "warnings": self.warnings,
            "entries": [e.to_dict() for e in self.entries],
        }


def plan_stage(
    config: str | Path | StageConfig,
    *,
    overrides: dict | None = None,
    strict: bool = False,
    probe_rows: int = DEFAULT_PROBE_ROWS,
    repeat_threshold: float = DEFAULT_REPEAT_THRESHOLD,
) -> StagePlan:
    """Plan the stage a YAML file describes: no image bytes and no stage are written (the builders'
    Arrow caches go to a temporary folder that is removed). `probe_rows`: rows per entry whose images
    are fetched and checked; `repeat_threshold`: warn when one row would be written more often."""
    started = time.perf_counter()
    if not isinstance(config, StageConfig):
        config = load_stage_config(config, strict=strict, overrides=overrides)
    with tempfile.TemporaryDirectory(prefix="hf-mixture-plan-") as cache:
        entries = [plan_entry(config, entry, cache, probe_rows) for entry in config.entries]
    settings = config.settings
    plan = StagePlan(settings.name, str(config.path), settings.seed, "", entries)
    plan.rows, plan.stopping_strategy = mix_plans(config, entries)
    plan.cpus = default_decode_processes()
    plan.bytes = stage_bytes(entries, settings.num_shards)
    plan.build_seconds = sum(e.metadata_seconds + e.records * _per_row(e, "wall_seconds") for e in entries)
    cpu = sum(e.metadata_seconds + e.records * _per_row(e, "cpu_seconds") for e in entries)
    plan.core_hours = cpu / 3600
    plan.warnings = stage_warnings(config, plan, repeat_threshold)
    plan.plan_seconds = time.perf_counter() - started
    return plan


def _per_row(entry: EntryPlan, measure: str) -> float:
    """Seconds per row of the image stage, as the probe measured it (0 when nothing was probed)."""
    return getattr(entry.probe, measure) / entry.probe.rows if entry.probe.rows else 0.0


def stage_warnings(config: StageConfig, plan: StagePlan, repeat_threshold: float) -> list[str]:
    """What a person should look at before building: the config's warnings (among them group weights
    no entry uses), heavy repeats, tiny shares, images that do not resolve, entries with no rows."""
    found = list(config.warnings)
    for e in plan.entries:
        if e.rows == 0:
            found.append(f"entry {e.name!r}: no rows after filters, sampling, preprocess and images")
            continue
        if e.repeat_max > repeat_threshold:
            found.append(
                f"entry {e.name!r}: one row is written {e.repeat_max} times (mean {e.repeat_mean:.1f}; "
                f"threshold {repeat_threshold:g}): its group is small for its weight"
            )
        if e.expected_share < MIN_SHARE:
            found.append(f"entry {e.name!r}: expected share {e.expected_share:.2%} is below {MIN_SHARE:.0%}")
        probe = e.probe
        if probe.rows_ok < probe.rows:
            first = probe.failures[0] if probe.failures else None
            example = f"; first: {first[0]}: {first[2]}" if first else ""
            reasons = ", ".join(f"{r} {n}" for r, n in sorted(probe.drops.items()))
            found.append(
                f"entry {e.name!r}: {probe.rows - probe.rows_ok} of {probe.rows} probed rows have an image "
                f"that does not resolve ({reasons}){example}"
            )
    return found
