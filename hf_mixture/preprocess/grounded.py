"""Grounding rows with raw boxes (public GranD, GranD-f, RefCOCO layouts) written in the stage's
`box_format` (hf_mixture/grounding.py: LaViDa-O LOC tokens by default).

LaViDa-O's own `preproces_grandf` / `preproces_refcoco_rec` read private parquets whose answers are
already LOC strings; these functions build those answers from the published annotations (GranD and
GranD-f through the `grand` builder; RefCOCO-style tables with raw boxes). They
declare a `box_format` keyword, so the pipeline passes them `stage.box_format`; it is not a
`process_fn_kwargs` key. Prompts are LaViDa-O's, with "LOC format" naming the chosen format.
"""

from __future__ import annotations

from hf_mixture.errors import SkipRow
from hf_mixture.grounding import DEFAULT_BOX_FORMAT, format_boxes, grounded_phrase, xywh_to_xyxy
from hf_mixture.grounding import box_format as get_box_format
from hf_mixture.preprocess.common import join_prefix, required_text, turns
from hf_mixture.preprocess.registry import preprocess_fn

DENSE_PROMPT = "<image>\n Generate a dense image caption with bounding boxes in {format}."
LOCATE_PROMPT = "<image>\n Please locate {label} in this image. Give bounding boxes in {format}."


def _refcoco_needs(kwargs: dict) -> list[str]:
    keys = ("image_key", "label_key", "bbox_key", "width_key", "height_key")
    defaults = ("image", "label", "bbox", "width", "height")
    return [kwargs.get(key, default) for key, default in zip(keys, defaults)]


@preprocess_fn("refcoco_boxes", tasks=("grounding",), needs=_refcoco_needs)
def refcoco_boxes(
    row: dict,
    *,
    rng,
    box_format: str = DEFAULT_BOX_FORMAT,
    image_key: str = "image",
    label_key: str = "label",
    bbox_key: str = "bbox",
    bbox_mode: str = "xyxy",
    width_key: str = "width",
    height_key: str = "height",
    s3_prefix: str | None = None,
) -> dict:
    """RefCOCO-style referring expressions with one raw box (`bbox_mode` `xyxy`, or `xywh` as COCO
    stores it) on a `width` x `height` image. When the label column holds several expressions
    (RefCOCO's `sentences`), one is drawn with `rng` - the row's content - so a rebuild keeps it."""
    if bbox_mode not in ("xyxy", "xywh"):
        raise ValueError(f"process_fn_kwargs: bbox_mode must be 'xyxy' or 'xywh', got {bbox_mode!r}")
    fmt = get_box_format(box_format)
    label = _one_label(row.get(label_key), rng) or required_text(row, label_key)
    width, height = _image_size(row, width_key, height_key)
    box = row.get(bbox_key)
    try:
        box = xywh_to_xyxy(box) if bbox_mode == "xywh" else box
        answer = format_boxes(box, width, height, fmt)
    except (TypeError, ValueError) as err:
        raise SkipRow("preprocess:bad_box") from err
    return {
        "task": "grounding",
        "conversations": turns(LOCATE_PROMPT.format(label=label, format=fmt.prompt_name), answer),
        "images": [join_prefix(s3_prefix, required_text(row, image_key))],
    }


GRAND_COLUMNS = ["s3_path", "caption", "phrases", "tokens_positive", "boxes", "width", "height"]


@preprocess_fn("grandf_annotations", tasks=("grounding",), needs=GRAND_COLUMNS)
def grandf_annotations(
    row: dict, *, rng, box_format: str = DEFAULT_BOX_FORMAT, s3_prefix: str | None = None
) -> dict:
    """GranD-f grounded captions and GranD dense captions, as the `grand` builder yields them
    (builders/grand.py: per phrase its `[start, end)` span in `caption`, or null, and its absolute
    xyxy `boxes`; the image's `width`/`height`): each grounded phrase of the caption becomes
    `<box_p> phrase </box_p>` followed by one LOC group per box (or the stage's other format).
    A phrase without a usable span is looked up in the caption; phrases without boxes stay text."""
    caption = required_text(row, "caption")
    items = list(zip(row.get("phrases") or [], row.get("tokens_positive") or [], row.get("boxes") or []))
    width, height = _image_size(row, "width", "height")
    answer = _grounded_caption(caption, items, width, height, box_format)
    return _dense_record(answer, join_prefix(s3_prefix, required_text(row, "s3_path")), box_format)


def _dense_record(answer: str, image: str, fmt_name: str) -> dict:
    fmt = get_box_format(fmt_name)
    return {
        "task": "grounding",
        "conversations": turns(DENSE_PROMPT.format(format=fmt.prompt_name), answer),
        "images": [image],
    }


def _grounded_caption(caption: str, items: list[tuple], width: float, height: float, fmt_name: str) -> str:
    """`caption` with each item's span replaced by its grounded phrase; spans from
    `tokens_positive` ([start, end) characters) or, when absent or wrong, the phrase's first free
    occurrence; items without boxes or span, and overlapping spans, stay plain text."""
    fmt = get_box_format(fmt_name)
    placed, taken = [], []
    for phrase, span, boxes in items:
        span = _span(caption, phrase, span, taken)
        if span is None or boxes is None or not len(boxes):
            continue
        try:
            text = grounded_phrase(caption[span[0] : span[1]], boxes, width, height, fmt)
        except (TypeError, ValueError) as err:
            raise SkipRow("preprocess:bad_box") from err
        placed.append((span, text))
        taken.append(span)
    if not placed:
        raise SkipRow("preprocess:no_grounded_phrases")
    parts, position = [], 0
    for (start, end), text in sorted(placed):
        parts += [caption[position:start], text]
        position = end
    return "".join(parts) + caption[position:]


def _span(caption: str, phrase, span, taken: list) -> tuple[int, int] | None:
    if isinstance(span, (list, tuple)) and len(span) == 2 and all(isinstance(v, (int, float)) for v in span):
        start, end = int(span[0]), int(span[1])
        if 0 <= start < end <= len(caption) and not _overlaps((start, end), taken):
            return start, end
    if not isinstance(phrase, str) or not phrase:
        return None
    start = caption.find(phrase)
    while start >= 0:
        candidate = (start, start + len(phrase))
        if not _overlaps(candidate, taken):
            return candidate
        start = caption.find(phrase, start + 1)
    return None


def _overlaps(span: tuple[int, int], taken: list) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _image_size(row: dict, width_key: str, height_key: str) -> tuple[float, float]:
    try:
        width, height = float(row[width_key]), float(row[height_key])
    except (KeyError, TypeError, ValueError):
        raise SkipRow("preprocess:missing_image_size") from None
    if not (width > 0 and height > 0):
        raise SkipRow("preprocess:missing_image_size")
    return width, height


def _one_label(value, rng) -> str | None:
    """One expression from a list of them (drawn with `rng`), or None for a plain string."""
    if isinstance(value, (list, tuple)):
        texts = [v.get("sent", v.get("raw")) if isinstance(v, dict) else v for v in value]
        texts = [t for t in texts if isinstance(t, str) and t.strip()]
        if not texts:
            raise SkipRow("preprocess:missing_label")
        return texts[int(rng.integers(len(texts)))]
    return None
