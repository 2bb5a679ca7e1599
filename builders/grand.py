"""GranD (per-image JSON) and GranD-f (grounded caption annotations).

GranD: one file per image, `{"sa_X.jpg": {objects, floating_objects, short_captions,
dense_caption: {caption, details: [{phrase, tokens_positive, ids, bbox}]}, ...}}`.
GranD-f: records `{file_name, caption, groundings: {phrase: {token_positives, rle_masks}}}`, as a
JSON array or an object keyed by image. Each record's form is recognised by its keys.

Rows: `image` (the file name as written), `s3_path` (joined to `image_folder` when given),
`caption` (the dense caption / GranD-f caption), per grounded phrase `phrases`, `tokens_positive`
([start, end] or null) and `boxes` (that phrase's xyxy boxes in absolute pixels of the original
image; GranD-f boxes are the bounds of its RLE masks), `width` / `height` (from the masks, when
present), `short_captions`, `additional_context`, and with `keep_raw: true` the whole annotation
as JSON text (`raw`). Boxes stay absolute: LOC conversion belongs to the preprocess functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from builders.rle import rle_box
from builders.source import SourceBuilder, as_text, join_location, json_object_items
from hf_mixture.errors import SkipRow
from hf_mixture.sources.text import open_text_source

BOX = pa.list_(pa.float64())
SCHEMA = pa.schema(
    [
        ("image", pa.string()),
        ("s3_path", pa.string()),
        ("caption", pa.string()),
        ("phrases", pa.list_(pa.string())),
        ("tokens_positive", pa.list_(pa.list_(pa.int64()))),
        ("boxes", pa.list_(pa.list_(BOX))),
        ("width", pa.int64()),
        ("height", pa.int64()),
        ("short_captions", pa.list_(pa.string())),
        ("additional_context", pa.string()),
    ]
)


@dataclass(frozen=True)
class GrandOptions:
    """`image_folder`: where the images are (SA-1B, COCO, Flickr30k...; relative to the YAML
    file); `keep_raw`: add the whole annotation as JSON text in a `raw` column."""

    image_folder: str | None = None
    keep_raw: bool = False


class GrandBuilder(SourceBuilder):
    """GranD per-image annotations and GranD-f grounded captions, boxes absolute xyxy."""

    NAME = "grand"
    OPTIONS = GrandOptions
    FILE_TYPES = (".json",)

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return SCHEMA.append(pa.field("raw", pa.string())) if options.keep_raw else SCHEMA

    def read_tables(self) -> Iterator[pa.Table]:
        for path in self.entry.files:
            yield from self.tables_of(self.kept(self._annotations(path), self._row))

    def _annotations(self, path: str) -> Iterator[tuple[str | None, dict]]:
        """(image name or None, annotation) pairs of an object-keyed file or a JSON array."""
        with open_text_source(self.storage, path) as handle:
            head = handle.read(64).lstrip()
        if head.startswith(b"["):
            for record in self.records(path):
                yield None, record
            return
        for key, value in json_object_items(self.storage, path):
            if isinstance(value, dict):
                yield key, value
            else:
                self.drop("source:not_an_object")

    def _row(self, item: tuple[str | None, dict]) -> dict:
        key, record = item
        if "groundings" in record or "file_name" in record:
            row = _grandf(record, key)
        else:
            row = _grand(record, key)
        if not row["image"]:
            raise SkipRow("source:no_image_name")
        folder = self.folder_of_option(self.options.image_folder)
        row["s3_path"] = join_location(folder, row["image"]) if folder else row["image"]
        if self.options.keep_raw:
            row["raw"] = json.dumps(record, ensure_ascii=False)
        return row


def _grand(record: dict, key: str | None) -> dict:
    dense = record.get("dense_caption") or {}
    phrases, positives, boxes = [], [], []
    for detail in dense.get("details") or []:
        phrases.append(as_text(detail.get("phrase")) or "")
        positives.append(_span(detail.get("tokens_positive")))
        boxes.append(_boxes(detail.get("bbox")))
    height, width = _size(o.get("segmentation") for o in record.get("objects") or [])
    return {
        "image": key,
        "caption": as_text(dense.get("caption")),
        "phrases": phrases,
        "tokens_positive": positives,
        "boxes": boxes,
        "width": width,
        "height": height,
        "short_captions": [
            as_text(c.get("caption")) for c in record.get("short_captions") or [] if isinstance(c, dict)
        ],
        "additional_context": as_text(record.get("additional_context")),
    }


def _grandf(record: dict, key: str | None) -> dict:
    phrases, positives, boxes, masks = [], [], [], []
    groundings = record.get("groundings") or {}
    for phrase, grounding in groundings.items():
        grounding = grounding or {}
        rles = [m for m in grounding.get("rle_masks") or [] if isinstance(m, dict)]
        phrases.append(str(phrase))
        positives.append(_span(grounding.get("token_positives", grounding.get("tokens_positive"))))
        boxes.append([b for b in (rle_box(m) for m in rles) if b is not None])
        masks.extend(rles)
    height, width = _size(masks)
    return {
        "image": as_text(record.get("file_name")) or key,
        "caption": as_text(record.get("caption")),
        "phrases": phrases,
        "tokens_positive": positives,
        "boxes": boxes,
        "width": width,
        "height": height,
        "short_captions": [],
        "additional_context": None,
    }


def _span(value) -> list[int] | None:
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, (int, float)) for v in value)
    ):
        return [int(value[0]), int(value[1])]
    return None


def _boxes(value) -> list[list[float]]:
    """A phrase's boxes from one flat [x1, y1, x2, y2] or a list of them."""
    if not isinstance(value, (list, tuple)) or not value:
        return []
    if all(isinstance(v, (int, float)) for v in value):
        value = [value]
    return [[float(v) for v in box] for box in value if isinstance(box, (list, tuple)) and len(box) == 4]


def _size(segmentations) -> tuple[int | None, int | None]:
    """(height, width) from the first mask that states its size."""
    for seg in segmentations:
        if isinstance(seg, dict) and isinstance(seg.get("size"), (list, tuple)) and len(seg["size"]) == 2:
            return int(seg["size"][0]), int(seg["size"][1])
    return None, None
