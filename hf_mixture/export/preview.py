"""A self-contained HTML page previewing a built stage: per-source shares and drops from the build
report, the stage's charts (export/charts.py), and a few distinct rows per source (a `dup` copy or a
row the mix repeats is shown once) with their turns, input images and generation targets (thumbnails
embedded as base64 data URIs, grounding boxes drawn over the image they refer to; all text
HTML-escaped). Rows are streamed; reading stops once every source has enough rows.
"""

from __future__ import annotations

import base64
import io
import re
from html import escape
from pathlib import Path

from PIL import Image

from hf_mixture.export.boxes import draw_boxes, text_boxes
from hf_mixture.export.charts import NOT_DRAWN, composition_png, drops_png, task_rows
from hf_mixture.export.folder import (
    CHARTS,
    COMPOSITION_CHART,
    DROPS_CHART,
    iter_stage_batches,
    read_stage_columns,
)
from hf_mixture.export.report import load_report

THUMBNAIL = 192
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
.source{margin-top:2rem}.row{border:1px solid #ddd;border-radius:6px;padding:.8rem;margin:.8rem 0}
.meta{color:#666;font-size:.85rem}
.turn{white-space:pre-wrap;margin:.3rem 0;padding:.3rem .5rem;border-radius:4px}
.human{background:#eef5ff}.gpt{background:#f2fbef}
.images{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end}
figure{margin:0}figcaption{font-size:.75rem;color:#666}
img{border:1px solid #ccc;max-width:192px;max-height:192px}
img.chart{max-width:100%;max-height:none;border:none}
"""
BOXED_TASKS = ("planning", "reflection")  # their boxes lay out the generation target, not an input
_DUP_SUFFIX = re.compile(r"#\d+$")


def distinct_id(row_id: str) -> str:
    """The id of the source row: a `dup:K` copy's id without its `#k` suffix."""
    return _DUP_SUFFIX.sub("", row_id)


def preview_rows(out_dir: str | Path, stage: str, rows_per_source: int) -> dict[str, list[dict]]:
    """The first `rows_per_source` distinct rows of each source (a row the mix repeats, or a `dup`
    copy of it, is shown once), in source order of first appearance."""
    sources = list(dict.fromkeys(read_stage_columns(out_dir, stage, ["source"])["source"].to_pylist()))
    picked: dict[str, list[dict]] = {s: [] for s in sources}
    shown: set[str] = set()
    for batch in iter_stage_batches(out_dir, stage):
        for row in batch.to_pylist():
            key = distinct_id(row["id"])
            if len(picked[row["source"]]) < rows_per_source and key not in shown:
                picked[row["source"]].append(row)
                shown.add(key)
        if all(len(rows) >= rows_per_source for rows in picked.values()):
            break
    return picked


def thumbnail_uri(image: dict | None, boxes_for=None) -> str | None:
    """A small JPEG/PNG data URI of an embedded image, or None when it does not decode;
    `boxes_for(width, height)` gives boxes (export/boxes.py) in the image's pixels to draw on it."""
    if not image or image.get("bytes") is None:
        return None
    try:
        with Image.open(io.BytesIO(image["bytes"])) as decoded:
            boxes = boxes_for(decoded.width, decoded.height) if boxes_for else []
            alpha = decoded.mode in ("RGBA", "LA", "P")
            out, kind = io.BytesIO(), "PNG" if alpha else "JPEG"
            small = _fit(decoded.convert("RGBA" if alpha else "RGB"))
            draw_boxes(small, boxes, small.width / decoded.width).save(out, kind)
    except (OSError, ValueError):
        return None
    return _data_uri(out.getvalue(), kind.lower())


def _fit(image: Image.Image) -> Image.Image:
    """`image` scaled so its long side is THUMBNAIL (small images enlarged, pixels kept sharp, so
    boxes drawn over them stay legible)."""
    scale = THUMBNAIL / max(image.width, image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)


def _data_uri(data: bytes, kind: str) -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"


def chart_uris(out_dir: str | Path, stage: str, report: dict) -> dict[str, str]:
    """The stage's charts as data URIs: the files the build wrote, else drawn from the report."""
    folder = Path(out_dir) / stage
    drawn = {COMPOSITION_CHART: lambda: composition_png(report, task_rows(out_dir, stage)),
             DROPS_CHART: lambda: drops_png(report)}  # fmt: skip
    uris = {}
    for name in CHARTS:
        path = folder / name
        if path.is_file():
            uris[name] = _data_uri(path.read_bytes(), "png")
        elif report.get("entries"):
            uris[name] = _data_uri(drawn[name](), "png")
    return uris


def render_preview(out_dir: str | Path, stage: str, rows_per_source: int = 3) -> str:
    """The preview page's HTML."""
    picked = preview_rows(out_dir, stage, rows_per_source)
    report = load_report(out_dir, stage) or {}
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(stage)} preview</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Stage <code>{escape(stage)}</code></h1>",
        f"<p class='meta'>{escape(str(Path(out_dir).absolute()))}: {report.get('rows', '?')} rows</p>",
        _shares_table(report, picked),
        _charts_html(chart_uris(out_dir, stage, report)),
        _drops_table(report),
    ]
    for source, rows in picked.items():
        parts.append(f"<section class='source' id='source-{escape(source)}'><h2>{escape(source)}</h2>")
        parts += [_row_html(row) for row in rows]
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_preview(out_dir: str | Path, stage: str, to: str | Path, rows_per_source: int = 3) -> Path:
    """Write the preview page to `to`."""
    path = Path(to)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_preview(out_dir, stage, rows_per_source), encoding="utf-8")
    return path


def _shares_table(report: dict, picked: dict) -> str:
    entries = report.get("entries") or [{"name": name} for name in picked]
    lines = [
        "<table><tr><th>source</th><th>length group</th><th>rows</th><th>expected share</th>"
        "<th>realised share</th></tr>"
    ]
    for e in entries:
        cells = [
            e["name"],
            e.get("length_group", ""),
            e.get("written", ""),
            _percent(e.get("expected_share")),
            _percent(e.get("realised_share")),
        ]
        lines.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    return "\n".join(lines) + "</table>"


def _charts_html(uris: dict[str, str]) -> str:
    return "".join(
        f"<figure><img class='chart' src='{uri}' alt='{escape(CHARTS[name])}'>"
        f"<figcaption>{escape(CHARTS[name])}</figcaption></figure>"
        for name, uri in uris.items()
    )


def _drops_table(report: dict) -> str:
    """Per entry: rows read, kept (before dup and mixing), dropped by reason, written."""
    entries = report.get("entries") or []
    if not entries:
        return ""
    lines = ["<table><tr><th>source</th><th>read</th><th>kept</th><th>dropped</th><th>written</th></tr>"]
    for e in entries:
        dropped = {r: n for r, n in e.get("dropped", {}).items() if n}
        lost = sum(n for r, n in dropped.items() if r != NOT_DRAWN)
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(dropped.items())) or "none"
        cells = [e["name"], e["read"], e["read"] - lost, reasons, e["written"]]
        lines.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    return "\n".join(lines) + "</table>"


def _percent(value) -> str:
    return f"{value:.1%}" if isinstance(value, (int, float)) else ""


def _row_html(row: dict) -> str:
    turns = "".join(_turn_html(t["from"] or "", t["value"] or "") for t in row["conversations"] or [])
    license_text = row["license"] or "not given"
    meta = f"{row['id']} · task {row['task']} · group {row['length_group']} · license {license_text}"
    boxed = "image_gen" if row["task"] in BOXED_TASKS and row["image_gen"] else "images"
    boxes_for = _boxes_for(row, boxed)
    return (
        f"<div class='row'><div class='meta'>{escape(meta)}</div>{turns}<div class='images'>"
        + _figures(row["images"], "input", boxes_for if boxed == "images" else None)
        + _figures(row["image_gen"], "target", boxes_for if boxed == "image_gen" else None)
        + "</div></div>"
    )


def _boxes_for(row: dict, column: str):
    """`boxes_for(width, height)` of the row's first `column` image, or None when its text has no box."""
    text = "\n".join(t["value"] or "" for t in row["conversations"] or [])
    if "<LOC_BEGIN>" not in text and "<|box_start|>" not in text and "</box_p>" not in text:
        return None
    original = (row["original_width"], row["original_height"]) if column == "image_gen" else None
    known = original if original and all(original) else None
    return lambda width, height: text_boxes(text, width, height, known)


def _turn_html(role: str, value: str) -> str:
    return f"<div class='turn {escape(role)}'><b>{escape(role)}</b>: {escape(value)}</div>"


def _figures(images, label: str, boxes_for=None) -> str:
    """Thumbnails of `images`; `boxes_for` draws the row's boxes on the first one."""
    figures = []
    for k, image in enumerate(images or []):
        uri = thumbnail_uri(image, boxes_for if k == 0 else None)
        body = f"<img src='{uri}' alt='{label} {k}'>" if uri else "<span>(not decodable)</span>"
        figures.append(f"<figure>{body}<figcaption>{label} {k}</figcaption></figure>")
    return "".join(figures)
