"""The build report: per entry, rows read, dropped by reason, added, written, and shares.

Saved as `<out>/<stage>/build_report.json` (outside the `train-*` glob) and printed as a table.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

from hf_mixture.export.out_folder import atomic_write, out_path
from hf_mixture.stats import EntryStats

REPORT_NAME = "build_report.json"


def report_path(out_dir: str | Path, stage: str) -> Path:
    """Where the report of `stage` is saved (OutputError when `stage` would leave `out_dir`)."""
    return out_path(out_dir, stage, REPORT_NAME)


def write_report(out_dir: str | Path, stage: str, summary: dict, entries: Sequence[EntryStats]) -> Path:
    """Save the report JSON; ValueError (a bug to report) when an entry's rows do not balance."""
    unbalanced = [e.name for e in entries if e.balance() != 0]
    if unbalanced:
        raise ValueError(f"row accounting does not add up for {unbalanced}: this is a bug, please report it")
    data = {**summary, "entries": [e.to_dict() for e in entries]}
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    return atomic_write(out_dir, Path(stage, REPORT_NAME), text)


def load_report(out_dir: str | Path, stage: str) -> dict | None:
    """A stage's saved report, or None when there is none or it is damaged (a `UserWarning` then:
    the card and README are rebuilt without its numbers; rebuilding the stage rewrites it)."""
    path = report_path(out_dir, stage)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        warnings.warn(f"{path}: unreadable build report ({type(err).__name__}: {err}); ignored, rebuild "
                      f"stage {stage!r} to rewrite it", stacklevel=2)  # fmt: skip
        return None
    if not isinstance(data, dict):
        warnings.warn(f"{path}: not a build report (a JSON object); ignored", stacklevel=2)
        return None
    return data


def format_examples(entries: Sequence[EntryStats]) -> str:
    """Per entry and drop reason, the example rows kept (`EntryStats.examples`): id and message."""
    lines = []
    for e in entries:
        for reason, listed in sorted(e.examples.items()):
            for example in listed:
                lines.append(f"  {e.name}: {reason}: {example['id'] or '-'}: {example['message']}")
    return "\n".join(["why rows were dropped (first rows per reason):", *lines]) if lines else ""


def format_report(summary: dict, entries: Sequence[EntryStats]) -> str:
    """A plain-text table of the report, one line per entry, then drop reasons, repairs, filters."""
    header = (
        f"{'entry':<28}{'read':>9}{'dropped':>9}{'sampled':>9}{'+dup':>7}{'+mix':>7}{'written':>9}"
        f"{'expected':>10}{'realised':>10}"
    )
    lines = [f"stage {summary['stage']}: {summary['rows']} rows in {summary['num_shards']} shard(s)", header]
    if summary.get("reused_entries"):
        reused = ", ".join(summary["reused_entries"])
        lines.insert(1, f"reused from the work folder (not built again): {reused}")
    for e in entries:
        lines.append(
            f"{e.name[:27]:<28}{e.read:>9}{sum(e.dropped.values()):>9}{e.sampled:>9}"
            f"{e.dup_added:>7}{e.mixing_added:>7}{e.written:>9}"
            f"{e.expected_share:>10.1%}{e.realised_share:>10.1%}"
        )
    for group, row in (summary.get("groups") or {}).items():
        per_step = "" if row["rows_per_step"] is None else f", {row['rows_per_step']} rows per step"
        lines.append(
            f"  group {group}: drawn per step {row['step_probability']:.2%}{per_step}, "
            f"share of rows {row['row_share']:.2%}"
        )
    for e in entries:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(e.dropped.items()) if n)
        if reasons:
            lines.append(f"  {e.name}: dropped {reasons}")
        repairs = ", ".join(f"{fix} {n}" for fix, n in sorted(e.repaired.items()) if n)
        if repairs:
            lines.append(f"  {e.name}: repaired (kept) {repairs}")
        for description in e.filters:
            lines.append(f"  {e.name}: filter {description}")
    return "\n".join(lines)
