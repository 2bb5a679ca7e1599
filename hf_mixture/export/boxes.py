"""Grounding boxes of a row's conversation, in pixels of one of its images, for drawing them.

A row's text holds boxes in the stage's `box_format` (hf_mixture/grounding.py): LaViDa-O LOC tokens
(parsed with the streaming transforms' own `parse_loc_boxes` / `loc_to_pixel_box`), Qwen-VL
`<|box_start|>(x1,y1),(x2,y2)<|box_end|>` (0-1000 of the unpadded image) or `</box_p>[x1, y1, x2, y2]`
pixels of the original image.
"""

from __future__ import annotations

import re

from PIL import Image, ImageDraw

from hf_mixture.grounding import QWEN_SCALE
from hf_mixture.streaming.loc import loc_to_pixel_box, parse_loc_boxes

QWEN_BOX_RE = re.compile(
    r"(?:<\|object_ref_start\|>(?P<phrase>.*?)<\|object_ref_end\|>)?\s*"
    r"<\|box_start\|>\((\d+),(\d+)\),\((\d+),(\d+)\)<\|box_end\|>"
)
PIXEL_BOX_RE = re.compile(r"<box_p>\s*(?P<phrase>.*?)\s*</box_p>\s*\[(\d+), (\d+), (\d+), (\d+)\]")
COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45")

PixelBox = tuple[str | None, tuple[float, float, float, float]]


def text_boxes(text: str, width: int, height: int, original: tuple[int, int] | None = None) -> list[PixelBox]:
    """(phrase, xyxy pixels of a `width` x `height` image) of every box in `text`; pixel-format boxes
    are scaled from `original` (the image's size before a resize) when given."""
    found: list[PixelBox] = [
        (b.phrase, loc_to_pixel_box(b.xyxy, width, height)) for b in parse_loc_boxes(text)
    ]
    for match in QWEN_BOX_RE.finditer(text):
        x1, y1, x2, y2 = (int(v) for v in match.groups()[1:])
        found.append((match["phrase"], (x1 * width / QWEN_SCALE, y1 * height / QWEN_SCALE,
                                        x2 * width / QWEN_SCALE, y2 * height / QWEN_SCALE)))  # fmt: skip
    sx, sy = (width / original[0], height / original[1]) if original else (1.0, 1.0)
    for match in PIXEL_BOX_RE.finditer(text):
        x1, y1, x2, y2 = (int(v) for v in match.groups()[1:])
        found.append((match["phrase"], (x1 * sx, y1 * sy, x2 * sx, y2 * sy)))
    return found


def draw_boxes(image: Image.Image, boxes: list[PixelBox], scale: float = 1.0) -> Image.Image:
    """`image` (RGB) with each box outlined and its phrase written at its top-left corner; box
    coordinates are multiplied by `scale` (e.g. a thumbnail's size over the original's)."""
    canvas = ImageDraw.Draw(image)
    for k, (phrase, box) in enumerate(boxes):
        color = COLORS[k % len(COLORS)]
        x1, y1, x2, y2 = (v * scale for v in box)
        x2, y2 = max(x1, x2), max(y1, y2)
        canvas.rectangle((x1 - 1, y1 - 1, x2 + 1, y2 + 1), outline="white", width=4)  # legible on any colour
        canvas.rectangle((x1, y1, x2, y2), outline=color, width=2)
        if phrase:
            canvas.text((x1 + 3, y1 + 2), phrase[:24], fill=color)
    return image
