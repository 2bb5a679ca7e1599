"""What an image that decodes but is awkward becomes before it is stored: the decisions.

A stored image is one opaque upright frame in mode RGB or L, so every trainer reads the same
pixels whatever its loader does:

- more pixels than `MAX_PIXELS` (decompression bomb): dropped, `media:too_large`;
- animated GIF / WebP / APNG: the first frame, which is what LaViDa-O's loader
  (`PIL.Image.open(...).convert("RGB")`) sees (`normalise:first_frame`);
- EXIF orientation other than 1: turned upright, tag gone (`normalise:exif_rotation`);
- CMYK, YCbCr, LAB, HSV: RGB (`normalise:mode_<mode>`);
- transparency (an alpha channel: RGBA, LA, PA; a palette or colour key with transparent
  entries): composited onto white, to RGB (L for grey), counted `normalise:transparency_on_white`.
  LaViDa-O's loader calls `.convert("RGB")`, which drops alpha and shows whatever colour the
  transparent pixels hold (mostly black); img2dataset composites onto white, which is what the
  image looks like on a page. The rule is the same for every image column and every engine;
- P (palette) without transparency: RGB (`normalise:mode_p`); 1 (bilevel): L (`normalise:mode_1`);
- I;16*, I, F (16/32-bit grey): L, scaled from 0..65535 (I;16, I) or clipped to 0..255 (F)
  (`normalise:mode_16bit`).

An image needing none of these keeps its original bytes. A changed image is re-encoded: JPEG at
quality 95 when the source was a JPEG and the result is RGB or L, PNG otherwise (lossless).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from hf_mixture.media.images import JPEG_QUALITY, MediaError

MAX_PIXELS = 89_478_485  # PIL's own default bomb limit (Image.MAX_IMAGE_PIXELS), pinned here
STORED_MODES = ("RGB", "L")
ON_WHITE = "normalise:transparency_on_white"
_EXIF_ORIENTATION = 0x0112
_GREY_MODES = ("L", "LA", "La", "1")
_TO_RGB = ("CMYK", "YCbCr", "LAB", "HSV")
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


@dataclass(frozen=True)
class Normalised:
    """Image bytes ready to store, and the change codes applied (empty: the original bytes)."""

    data: bytes
    changes: tuple[str, ...] = ()


def check_pixels(image: Image.Image, limit: int = MAX_PIXELS) -> None:
    """MediaError `media:too_large` when the header announces more than `limit` pixels
    (checked before any pixel is decoded, so a bomb costs nothing)."""
    if image.width * image.height > limit:
        raise MediaError(
            "media:too_large", f"{image.width}x{image.height} pixels is above the {limit}-pixel limit"
        )


def needed_changes(image: Image.Image) -> tuple[str, ...]:
    """The change codes an opened image (header only) needs, in the order they are applied."""
    changes = []
    if getattr(image, "is_animated", False):
        changes.append("normalise:first_frame")
    if _orientation(image) != 1:
        changes.append("normalise:exif_rotation")
    if image.has_transparency_data and image.mode not in _SIXTEEN_BIT:  # 16-bit: only grey below
        changes.append(ON_WHITE)
    elif image.mode not in STORED_MODES:
        changes.append(_mode_change(image.mode))
    return tuple(changes)


def normalise(data: bytes, image: Image.Image) -> Normalised:
    """`data` (whose opened image is `image`) as it must be stored; MediaError `media:too_large`
    for a bomb, `media:corrupt` when the pixels needed for a change do not decode."""
    check_pixels(image)
    changes = needed_changes(image)
    if not changes:
        return Normalised(data)
    source_format = image.format
    try:
        image.seek(0)
        image.load()
        upright = ImageOps.exif_transpose(image) if "normalise:exif_rotation" in changes else image
        fixed = _on_white(upright) if ON_WHITE in changes else _stored_mode(upright)
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise MediaError("media:corrupt", f"{type(err).__name__}: {err}") from err
    return Normalised(_encode(fixed, source_format), changes)


def _orientation(image: Image.Image) -> int:
    return image.getexif().get(_EXIF_ORIENTATION, 1)


def _on_white(image: Image.Image) -> Image.Image:
    """`image` composited onto white by its alpha (palette alpha and colour keys included):
    L for grey sources, RGB otherwise (img2dataset's white matte; Pillow's rounding)."""
    grey = image.mode in _GREY_MODES
    with_alpha = image.convert("LA" if grey else "RGBA")
    out = Image.new("L" if grey else "RGB", image.size, 255 if grey else (255, 255, 255))
    out.paste(with_alpha.convert(out.mode), mask=with_alpha.getchannel("A"))
    return out


def _mode_change(mode: str) -> str:
    if mode in _SIXTEEN_BIT:
        return "normalise:mode_16bit"
    return f"normalise:mode_{mode.lower().replace(';', '_')}"


def _stored_mode(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in STORED_MODES:
        return image
    if mode == "1":
        return image.convert("L")
    if mode in _SIXTEEN_BIT:
        return _grey_8bit(image)
    return image.convert("RGB")


def _grey_8bit(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image)
    if image.mode == "F":
        grey = np.clip(pixels, 0, 255)
    else:
        grey = np.clip(pixels.astype(np.int64), 0, 65535) // 257
    return Image.fromarray(grey.astype(np.uint8))


def _encode(image: Image.Image, source_format: str | None) -> bytes:
    buffer = io.BytesIO()
    if source_format == "JPEG" and image.mode in ("RGB", "L"):
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()
