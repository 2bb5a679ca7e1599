"""Check that encoded image bytes decode, and resize them when a stage asks for it."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

JPEG_QUALITY = 95


class MediaError(Exception):
    """An image that cannot be used; `reason` is the report counter (e.g. `media:corrupt`)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class CheckedImage:
    """Encoded bytes that decode, with the size of the original image."""

    data: bytes
    width: int
    height: int
    format: str


def open_checked(data: bytes) -> Image.Image:
    """The decoded image; MediaError `media:empty`, `media:too_large` or `media:corrupt` otherwise."""
    if not data:
        raise MediaError("media:empty", "zero-byte file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise MediaError("media:too_large", str(err)) from err
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError) as err:
        raise MediaError("media:corrupt", f"{type(err).__name__}: {err}") from err
    return image


def check_image(data: bytes, short_side: int | None = None) -> CheckedImage:
    """`data` checked to decode; re-encoded with its short side `short_side` when it is larger,
    otherwise the original bytes unchanged."""
    image = open_checked(data)
    width, height, fmt = image.width, image.height, image.format or "PNG"
    if short_side is None or min(width, height) <= short_side:
        return CheckedImage(data, width, height, fmt)
    return CheckedImage(_resized_bytes(image, short_side), width, height, fmt)


def _resized_bytes(image: Image.Image, short_side: int) -> bytes:
    image = ImageOps.exif_transpose(image)
    scale = short_side / min(image.width, image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    fmt = "JPEG" if image.format == "JPEG" or image.mode in ("RGB", "L", "CMYK", "YCbCr") else "PNG"
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif fmt == "PNG" and image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    resized = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    resized.save(buffer, format=fmt, **({"quality": JPEG_QUALITY} if fmt == "JPEG" else {}))
    return buffer.getvalue()
