"""Charts of a built stage, drawn with matplotlib (Agg backend: no display needed) from its build
report and its rows' `task` column, written as PNG files next to the shards:

- `composition.png`: per entry, expected vs realised share, entries grouped by length group;
  beside it, rows per task;
- `drops.png`: per entry, rows read split into kept and dropped by reason, and rows written.

The card (README.md) and `hf-mixture preview` show them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pyarrow.compute as pc

from hf_mixture.export.folder import COMPOSITION_CHART, DROPS_CHART, read_stage_columns
from hf_mixture.export.out_folder import atomic_write
from hf_mixture.export.report import load_report

DPI = 100
EXPECTED, REALISED, KEPT = "#9ecae1", "#08519c", "#74c476"
# one colour per drop reason (a reason keeps its colour in every chart of a stage): no green, kept is green
REASON_PALETTE = ("#fd8d3c", "#bdbdbd", "#de2d26", "#9e9ac8", "#e7298a", "#8c6d31", "#fdd0a2", "#636363",
                  "#fc9272", "#6baed6", "#dadaeb", "#a50f15")  # fmt: skip
NOT_DRAWN = "mixing:not_drawn"  # a mixing outcome, not a loss of source rows: left out of the drops bar


def write_charts(out_dir: str | Path, stage: str) -> list[Path]:
    """Draw the stage's charts into `<out_dir>/<stage>/` (each file replaced atomically:
    `out_folder.atomic_write`); returns their paths. Nothing is drawn for a stage without a build report."""
    report = load_report(out_dir, stage)
    if not report:
        return []
    charts = {
        COMPOSITION_CHART: composition_png(report, task_rows(out_dir, stage)),
        DROPS_CHART: drops_png(report),
    }
    return [atomic_write(out_dir, f"{stage}/{name}", data) for name, data in charts.items()]


def task_rows(out_dir: str | Path, stage: str) -> dict[str, int]:
    """Rows per task of a built stage (the `task` column only)."""
    counts = pc.value_counts(read_stage_columns(out_dir, stage, ["task"])["task"]).to_pylist()
    return {item["values"]: item["counts"] for item in counts}


def composition_png(report: dict, tasks: dict[str, int]) -> bytes:
    """PNG: expected vs realised share per entry (grouped by length group), and rows per task."""
    plt = _pyplot()
    entries = sorted(report.get("entries", []), key=lambda e: (e.get("length_group", ""), e["index"]))
    height = max(3.0, 0.32 * len(entries) + 1.4)
    figure, (shares, per_task) = plt.subplots(
        1, 2, figsize=(11, height), gridspec_kw={"width_ratios": [3, 1.2]}, dpi=DPI
    )
    positions = list(range(len(entries)))[::-1]
    shares.barh([p + 0.2 for p in positions], [e["expected_share"] for e in entries], 0.4,
                color=EXPECTED, label="expected")  # fmt: skip
    shares.barh([p - 0.2 for p in positions], [e["realised_share"] for e in entries], 0.4,
                color=REALISED, label="realised")  # fmt: skip
    shares.set_yticks(positions, [f"{e.get('length_group', '')} / {e['name']}" for e in entries], fontsize=8)
    _shade_groups(shares, [e.get("length_group", "") for e in entries], positions)
    shares.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    shares.set_title(f"stage {report.get('stage', '')}: share of rows per entry (length group / entry)")
    shares.legend(loc="best", fontsize=8)
    names = sorted(tasks, key=tasks.get, reverse=True)
    per_task.bar(names, [tasks[n] for n in names], color=REALISED)
    per_task.set_title(f"rows per task ({sum(tasks.values())} rows)")
    per_task.tick_params(axis="x", labelrotation=45, labelsize=8)
    return _png(figure)


def drops_png(report: dict) -> bytes:
    """PNG: per entry, rows read as kept + dropped by reason (stacked), rows written marked."""
    plt = _pyplot()
    entries = report.get("entries", [])
    reasons = sorted({r for e in entries for r in e.get("dropped", {}) if r != NOT_DRAWN})
    figure, axes = plt.subplots(figsize=(11, max(3.0, 0.32 * len(entries) + 1.6)), dpi=DPI)
    positions = list(range(len(entries)))[::-1]
    kept = [e["read"] - sum(n for r, n in e.get("dropped", {}).items() if r != NOT_DRAWN) for e in entries]
    axes.barh(positions, kept, color=KEPT, label="kept")
    left = list(kept)
    for k, reason in enumerate(reasons):
        counts = [e.get("dropped", {}).get(reason, 0) for e in entries]
        axes.barh(positions, counts, left=left, color=REASON_PALETTE[k % len(REASON_PALETTE)], label=reason,
                  edgecolor="white", linewidth=0.5)  # fmt: skip
        left = [a + b for a, b in zip(left, counts)]
    axes.scatter([e["written"] for e in entries], positions, marker="|", s=160, color="black",
                 label="written (after dup and mixing)", zorder=3)  # fmt: skip
    axes.set_yticks(positions, [e["name"] for e in entries], fontsize=8)
    axes.set_xlabel("rows")
    axes.set_title(f"stage {report.get('stage', '')}: rows read per entry, kept or dropped by reason")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    return _png(figure)


def _shade_groups(axes, groups: Sequence[str], positions: Sequence[int]) -> None:
    """Alternate background bands, one per run of entries of one length group."""
    band, previous = -1, None
    for group, position in zip(groups, positions):
        if group != previous:
            band, previous = band + 1, group
        if band % 2:
            axes.axhspan(position - 0.5, position + 0.5, color="#f0f0f0", zorder=0)


def _pyplot():
    """matplotlib's pyplot on the Agg backend (imported on first use: it is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})  # same bytes every run
    _pyplot().close(figure)
    return buffer.getvalue()
