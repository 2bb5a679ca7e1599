"""Bounding boxes as text: LaViDa-O's LOC tokens, Qwen-VL's normalised boxes, or absolute pixels.

Boxes come in as absolute `[x1, y1, x2, y2]` pixels of a `width` x `height` image. The stage
option `box_format` picks how they are written, for every preprocess function that emits boxes:

- `loc` (default): LaViDa-O (spec lavida-o-loader.md 5.2). The image is padded to a centred square
  of side max(w, h), then scaled to 1024; integers in [0, 1024]. A phrase with one box:
  `<box_p> dog </box_p><LOC_BEGIN><LOC_x1><LOC_y1><LOC_x2><LOC_y2><LOC_END>`.
- `qwen`: Qwen2-VL. x / width and y / height of the unpadded image times 1000, integers clamped to
  [0, 1000]: `<|object_ref_start|>dog<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>`.
- `pixels`: absolute pixels of the original image, rounded, clamped to the image:
  `<box_p> dog </box_p>[x1, y1, x2, y2]`.

Source of the Qwen convention: Qwen2-VL's grounding tokens `<|object_ref_start|>`,
`<|object_ref_end|>`, `<|box_start|>`, `<|box_end|>` with `(x1,y1),(x2,y2)` "normalised to
[0, 1000)" of the image width and height (Qwen2-VL report; the Qwen-VL finetune data docs list
Qwen2-VL and Qwen3-VL as 0-1000 relative, Qwen2.5-VL as absolute pixels). A box touching the right
or bottom edge gives 1000 here. Rounding is half up everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LOC_SIZE = 1024
QWEN_SCALE = 1000
DEFAULT_BOX_FORMAT = "loc"


@dataclass(frozen=True)
class BoxFormat:
    """How one convention writes a phrase, a box, and names itself in prompts."""

    name: str
    prompt_name: str
    phrase_template: str

    def phrase(self, text: str) -> str:
        """`text` wrapped in the convention's phrase markers."""
        return self.phrase_template.format(phrase=text)


BOX_FORMATS = {
    "loc": BoxFormat("loc", "LOC format", "<box_p> {phrase} </box_p>"),
    "qwen": BoxFormat(
        "qwen", "normalized 0-1000 coordinates", "<|object_ref_start|>{phrase}<|object_ref_end|>"
    ),
    "pixels": BoxFormat("pixels", "pixel coordinates", "<box_p> {phrase} </box_p>"),
}


def box_format(name: str) -> BoxFormat:
    """The BoxFormat called `name`; ValueError lists the known ones."""
    try:
        return BOX_FORMATS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown box_format {name!r}; choose one of {', '.join(BOX_FORMATS)}") from None


def xywh_to_xyxy(box: Sequence[float]) -> list[float]:
    """COCO `[x, y, w, h]` to `[x1, y1, x2, y2]`."""
    x, y, w, h = _four_numbers(box)
    return [x, y, x + w, y + h]


def loc_coordinates(boxes, width: float, height: float) -> np.ndarray:
    """(n, 4) int LOC coordinates of absolute xyxy `boxes` on a `width` x `height` image: padded to a
    centred square, scaled to 1024, rounded half up, clamped to [0, 1024]."""
    array, width, height = _checked(boxes, width, height)
    side = max(width, height)
    offset = np.array([(side - width) / 2, (side - height) / 2] * 2)
    return _round_clamp((array + offset) * (LOC_SIZE / side), LOC_SIZE, LOC_SIZE)


def qwen_coordinates(boxes, width: float, height: float) -> np.ndarray:
    """(n, 4) int Qwen2-VL coordinates: x / width and y / height times 1000, clamped to [0, 1000]."""
    array, width, height = _checked(boxes, width, height)
    scale = np.array([QWEN_SCALE / width, QWEN_SCALE / height] * 2)
    return _round_clamp(array * scale, QWEN_SCALE, QWEN_SCALE)


def pixel_coordinates(boxes, width: float, height: float) -> np.ndarray:
    """(n, 4) int absolute pixels, rounded half up, clamped to the image."""
    array, width, height = _checked(boxes, width, height)
    return _round_clamp(array, width, height)


def format_boxes(boxes, width: float, height: float, fmt: str | BoxFormat = DEFAULT_BOX_FORMAT) -> str:
    """The text of absolute xyxy `boxes` (one box or a list of boxes) in format `fmt`, boxes
    concatenated with no separator (LaViDa-O writes one `<LOC_BEGIN>...<LOC_END>` group per box)."""
    fmt = fmt if isinstance(fmt, BoxFormat) else box_format(fmt)
    if fmt.name == "loc":
        return "".join(format_loc(row) for row in loc_coordinates(boxes, width, height))
    if fmt.name == "qwen":
        return "".join(
            f"<|box_start|>({a},{b}),({c},{d})<|box_end|>"
            for a, b, c, d in qwen_coordinates(boxes, width, height)
        )
    return "".join(f"[{a}, {b}, {c}, {d}]" for a, b, c, d in pixel_coordinates(boxes, width, height))


def format_loc(coordinates) -> str:
    """`<LOC_BEGIN><LOC_x1><LOC_y1><LOC_x2><LOC_y2><LOC_END>` for four LOC integers."""
    return "<LOC_BEGIN>" + "".join(f"<LOC_{int(v)}>" for v in coordinates) + "<LOC_END>"


def grounded_phrase(
    phrase: str, boxes, width: float, height: float, fmt: str | BoxFormat = DEFAULT_BOX_FORMAT
) -> str:
    """`phrase` in its markers followed by its boxes: `<box_p> dog </box_p><LOC_BEGIN>...<LOC_END>`."""
    fmt = fmt if isinstance(fmt, BoxFormat) else box_format(fmt)
    return fmt.phrase(phrase) + format_boxes(boxes, width, height, fmt)


def _checked(boxes, width, height) -> tuple[np.ndarray, float, float]:
    """`boxes` as a finite (n, 4) float array with x1 <= x2 and y1 <= y2; ValueError otherwise."""
    width, height = float(width), float(height)
    if not (width > 0 and height > 0):
        raise ValueError(f"image size must be positive, got {width} x {height}")
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != 4 or not len(array):
        raise ValueError(f"expected [x1, y1, x2, y2] or a list of them, got {boxes!r}")
    if not np.isfinite(array).all():
        raise ValueError(f"box coordinates must be finite numbers, got {boxes!r}")
    if (array[:, 2] < array[:, 0]).any() or (array[:, 3] < array[:, 1]).any():
        raise ValueError(f"box {boxes!r} has x2 < x1 or y2 < y1; boxes are [x1, y1, x2, y2]")
    return array, width, height


def _round_clamp(values: np.ndarray, max_x: float, max_y: float) -> np.ndarray:
    rounded = np.floor(values + 0.5)
    upper = np.array([max_x, max_y] * 2)
    return np.clip(rounded, 0, np.floor(upper)).astype(np.int64)


def _four_numbers(box) -> list[float]:
    values = [float(v) for v in box]
    if len(values) != 4:
        raise ValueError(f"expected 4 numbers, got {box!r}")
    return values
