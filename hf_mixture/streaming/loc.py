"""LOC boxes (lavida-o-loader.md 5.2): parse `<LOC_BEGIN><LOC_x1><LOC_y1><LOC_x2><LOC_y2><LOC_END>`
strings and map boxes between image pixels and the LOC frame.

The LOC frame: the image padded to a centred square of side max(w, h) (black, as
`transforms.pad_to_square` does), scaled to `LOC_MAX` (1024), integer xyxy coordinates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from hf_mixture.grounding import LOC_SIZE, format_loc, loc_coordinates

LOC_MAX = LOC_SIZE
LOC_BOX_RE = re.compile(r"<LOC_BEGIN>\s*<LOC_(\d+)>\s*<LOC_(\d+)>\s*<LOC_(\d+)>\s*<LOC_(\d+)>\s*<LOC_END>")
PHRASE_BEFORE_RE = re.compile(r"<box_p>\s*((?:(?!</?box_p>|<LOC_).)*?)\s*</box_p>\s*$", re.DOTALL)

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class LocBox:
    """One box of a LOC string: xyxy in LOC units, the `<box_p>` phrase before it (if any), and
    where the `<LOC_BEGIN>…<LOC_END>` part sits in the text."""

    x1: int
    y1: int
    x2: int
    y2: int
    phrase: str | None = None
    start: int = 0
    end: int = 0

    @property
    def xyxy(self) -> tuple[int, int, int, int]:
        return (self.x1, self.y1, self.x2, self.y2)


def parse_loc_boxes(text: str) -> list[LocBox]:
    """Every LOC box in `text`, in order, with the `<box_p> phrase </box_p>` just before it."""
    boxes = []
    for match in LOC_BOX_RE.finditer(text):
        phrase = PHRASE_BEFORE_RE.search(text, 0, match.start())
        x1, y1, x2, y2 = (int(g) for g in match.groups())
        boxes.append(LocBox(x1, y1, x2, y2, phrase.group(1) if phrase else None, match.start(), match.end()))
    return boxes


def format_loc_box(box: tuple[int, int, int, int]) -> str:
    """`<LOC_BEGIN><LOC_x1><LOC_y1><LOC_x2><LOC_y2><LOC_END>`."""
    return format_loc(box)


def _clip(value: float, high: float) -> float:
    return min(max(value, 0.0), high)


def pixel_box_to_loc(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """A pixel xyxy box of a `width` x `height` image in the LOC frame: the build's own conversion
    (`hf_mixture.grounding.loc_coordinates`), so train-time and build-time boxes agree."""
    return tuple(int(v) for v in loc_coordinates([box], width, height)[0])  # type: ignore[return-value]


def loc_to_pixel_box(loc: tuple[int, int, int, int], width: int, height: int, loc_max: int = LOC_MAX) -> Box:
    """A LOC box back in pixels of the `width` x `height` image (clipped to the image); the
    inverse of `pixel_box_to_loc` up to rounding."""
    side = max(width, height)
    dx, dy, scale = (side - width) / 2, (side - height) / 2, side / loc_max
    x1, y1, x2, y2 = loc
    return (
        _clip(x1 * scale - dx, width),
        _clip(y1 * scale - dy, height),
        _clip(x2 * scale - dx, width),
        _clip(y2 * scale - dy, height),
    )


def loc_box_after_crop(
    loc: tuple[int, int, int, int], crop, loc_max: int = LOC_MAX
) -> tuple[int, int, int, int]:
    """A LOC box of the whole image in the LOC frame of a `transforms.Crop` of it (the square crop
    of the resized image), clipped to the crop; a box outside the crop collapses to zero area."""
    x1, y1, x2, y2 = loc_to_pixel_box(loc, crop.resized_width, crop.resized_height, loc_max)
    scale = loc_max / crop.size
    moved = (x1 - crop.left, y1 - crop.top, x2 - crop.left, y2 - crop.top)
    return tuple(int(round(_clip(v, crop.size) * scale)) for v in moved)  # type: ignore[return-value]


def rewrite_loc_boxes(
    text: str, mapper: Callable[[tuple[int, int, int, int]], tuple[int, int, int, int]]
) -> str:
    """`text` with every LOC box replaced by `mapper(xyxy)`; the rest of the text unchanged."""
    return LOC_BOX_RE.sub(lambda m: format_loc_box(mapper(tuple(int(g) for g in m.groups()))), text)
