"""The plan as a plain-text table (what `hf-mixture plan` prints without --json)."""

from __future__ import annotations

from hf_mixture.plan.stage import StagePlan
from hf_mixture.progress import human_bytes, human_seconds

COLUMNS = (
    ("entry", 28), ("source", 8), ("read", 7), ("filtered", 9), ("sampled", 8), ("preproc", 8),
    ("media", 7), ("dup", 6), ("expected", 9), ("written", 8), ("realised", 9), ("repeat", 11),
    ("probe ok", 9), ("median", 9),
)  # fmt: skip


def format_plan(plan: StagePlan) -> str:
    """One line per entry (rows through each step, shares, repeats, probe), then the stage's
    estimates and warnings."""
    exact = "" if plan.exact else " (media drops estimated from the probe)"
    lines = [
        f"plan of stage {plan.stage} ({plan.config}): seed {plan.seed}, {plan.stopping_strategy}",
        "".join(f"{name:>{width}}" if i else f"{name:<{width}}" for i, (name, width) in enumerate(COLUMNS)),
    ]
    lines += [_entry_line(e) for e in plan.entries]
    for e in plan.entries:
        steps = " -> ".join(f"{n} ({description})" for description, n in e.after_filters)
        if steps:
            lines.append(f"  {e.name}: read {e.read} -> {steps}")
        for reference, reason, detail in e.probe.failures:
            lines.append(f"  {e.name}: image {reference}: {reason} ({detail})")
    lines += [
        f"stage: {plan.rows} rows{exact}, about {human_bytes(plan.bytes)} of parquet",
        f"time: about {human_seconds(plan.build_seconds)} to build on this machine ({plan.cpus} CPUs); "
        f"{plan.core_hours:.4g} core-hours of CPU (metadata pass measured, images at the probe's rate)",
    ]
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def _entry_line(e) -> str:
    filtered = e.after_filters[-1][1] if e.after_filters else e.read
    probe = f"{e.probe.rows_ok}/{e.probe.rows}" if e.probe.rows else "-"
    media = f"-{e.media_dropped}" + ("" if e.probe_complete else "~")
    median = e.probe.median_image_bytes
    cells = [
        e.name[:27], "?" if e.source_rows is None else e.source_rows, e.read, filtered, e.sampled, e.records,
        media, f"x{e.dup_factor}", f"{e.expected_share:.1%}", e.written, f"{e.realised_share:.1%}",
        f"{e.repeat_mean:.1f}/{e.repeat_max}", probe, human_bytes(median) if median is not None else "-",
    ]  # fmt: skip
    return "".join(
        f"{str(c):>{w}}" if i else f"{str(c):<{w}}" for i, (c, (_, w)) in enumerate(zip(cells, COLUMNS))
    )
