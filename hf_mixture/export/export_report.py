"""The export report: per source, rows read from the stage, exported, and not exported by reason.

Saved as `<to>/export_report.json` and printed as a table, like the build report. For every source
`read = exported + sum(not_exported)`, and the reads add up to the stage's rows; an export whose
counts do not balance is a bug and raises instead of writing the report.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

EXPORT_REPORT = "export_report.json"


@dataclass
class SourceTally:
    """One source's rows in an export."""

    read: int = 0
    exported: int = 0
    not_exported: Counter = field(default_factory=Counter)

    def balance(self) -> int:
        """`read - exported - sum(not_exported)`: 0 when every row is accounted for."""
        return self.read - self.exported - sum(self.not_exported.values())


@dataclass
class ExportTally:
    """Every row of a stage in an export, per source (`source` column)."""

    sources: dict[str, SourceTally] = field(default_factory=dict)

    def count(self, source: str, reason: str | None) -> None:
        """A row of `source` read: exported (reason None) or not, by reason."""
        tally = self.sources.setdefault(source, SourceTally())
        tally.read += 1
        if reason is None:
            tally.exported += 1
        else:
            tally.not_exported[reason] += 1

    @property
    def read(self) -> int:
        """Rows read over all sources."""
        return sum(t.read for t in self.sources.values())

    @property
    def exported(self) -> int:
        """Rows exported over all sources."""
        return sum(t.exported for t in self.sources.values())

    def reasons(self) -> Counter:
        """Rows not exported over all sources, by reason."""
        total: Counter = Counter()
        for tally in self.sources.values():
            total.update(tally.not_exported)
        return total

    def to_dict(self) -> dict:
        """The JSON form: totals, then one object per source."""
        return {
            "read": self.read,
            "exported": self.exported,
            "not_exported": dict(sorted(self.reasons().items())),
            "sources": {
                name: {"read": t.read, "exported": t.exported, "not_exported": _sorted(t.not_exported)}
                for name, t in sorted(self.sources.items())
            },
        }


def write_export_report(to_dir: Path, summary: dict, tally: ExportTally, stage_rows: int) -> Path:
    """Save `<to_dir>/export_report.json`; ValueError (a bug to report) when the counts do not add up."""
    unbalanced = [name for name, t in tally.sources.items() if t.balance()]
    if unbalanced or tally.read != stage_rows:
        raise ValueError(
            f"export accounting does not add up ({tally.read} rows read of {stage_rows}; "
            f"unbalanced sources {unbalanced}): this is a bug, please report it"
        )
    path = to_dir / EXPORT_REPORT
    path.write_text(json.dumps({**summary, **tally.to_dict()}, indent=2) + "\n", encoding="utf-8")
    return path


def format_export_report(summary: dict, tally: ExportTally) -> str:
    """A plain-text table: one line per source (read, exported, not exported), then the reasons."""
    lines = [
        f"export {summary['target']} of stage {summary['stage']}: "
        f"{tally.exported} of {tally.read} rows exported",
        f"{'source':<36}{'read':>9}{'exported':>10}{'not exported':>14}",
    ]
    for name, t in sorted(tally.sources.items()):
        lines.append(f"{name[:35]:<36}{t.read:>9}{t.exported:>10}{sum(t.not_exported.values()):>14}")
    for name, t in sorted(tally.sources.items()):
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(t.not_exported.items()))
        if reasons:
            lines.append(f"  {name}: not exported {reasons}")
    return "\n".join(lines)


def _sorted(counts: Counter) -> dict:
    return dict(sorted(counts.items()))
