"""Check that encoded image bytes decode, and resize them when a stage asks for it.

What "checked" means, fastest last (`check=`):

- `full`: every pixel decoded at full resolution (`Image.load()`), as a trainer would.
- `draft` (default): for JPEG, libjpeg decodes every entropy-coded block of every scan (so a
  truncated or corrupt scan fails exactly as in `full`) but runs the inverse DCT at 1/2, 1/4 or 1/8
  scale (`Image.draft`): the smallest scale that still gives at least the stage resolution when the
  image is resized, 1/8 when its bytes pass through unchanged. Other formats decode fully.
- `header`: only the header is parsed (format, size, mode); pixels are decoded only when the image
  must be resized. Fast, but it does NOT prove that the image decodes: a file truncated after its
  header passes.

A resized image is re-encoded (JPEG quality 95 for JPEG and plain RGB/L sources, PNG otherwise);
an image whose short side is already at most the stage resolution keeps its original bytes.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from PIL import Image

from hf_mixture.media.resize import resized

JPEG_QUALITY = 95
CHECKS = ("full", "draft", "header")
DEFAULT_CHECK = "draft"


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
    changes: tuple[str, ...] = ()  # normalise.py's fixes (e.g. `normalise:mode_cmyk`)


def open_checked(data: bytes, check: str = "full", draft_size: tuple[int, int] | None = None) -> Image.Image:
    """The image in `data`, decoded as `check` says (for `draft`: to at least `draft_size`, 1/8
    scale when None); MediaError `media:empty`, `media:too_large` or `media:corrupt` otherwise."""
    image = _open_header(data)
    decode(image, check, draft_size)
    return image


def decode(image: Image.Image, check: str, draft_size: tuple[int, int] | None = None) -> None:
    """Decode the pixels of an opened image as `check` says (nothing for `header`); MediaError
    `media:corrupt` or `media:too_large` when they do not decode."""
    if check not in CHECKS:
        raise ValueError(f"check={check!r}; use one of {', '.join(CHECKS)}")
    if check == "header":
        return
    with _media_errors():
        if check == "draft" and image.format == "JPEG":
            image.draft(image.mode, draft_size or (1, 1))
        image.load()


def check_image(data: bytes, short_side: int | None = None, check: str = DEFAULT_CHECK) -> CheckedImage:
    """`data` checked to decode (see the module docstring for `check`); re-encoded with its short
    side `short_side` when it is larger, otherwise the original bytes unchanged."""
    from hf_mixture.media.normalise import normalise  # here: normalise imports this module

    image = _open_header(data)
    with _media_errors():
        normalised = normalise(data, image)  # bombs, modes, EXIF rotation, animation: see normalise.py
    if normalised.changes:
        data, image = normalised.data, _open_header(normalised.data)
    width, height, fmt = image.width, image.height, image.format or "PNG"
    if short_side is None or min(width, height) <= short_side:
        decode(image, check)
        return CheckedImage(data, width, height, fmt, normalised.changes)
    target = target_size(width, height, short_side)
    decode(image, "full" if check == "full" else "draft", draft_size=target)
    with _media_errors():
        resized = _resized_bytes(image, target)
    return CheckedImage(resized, width, height, fmt, normalised.changes)


def check_image_returning_changes(data: bytes, short_side: int | None, check: str) -> CheckedImage:
    """`check_image`, for a worker process: `data` is None when the bytes pass through unchanged,
    so unchanged bytes are not sent back (the caller still holds them)."""
    checked = check_image(data, short_side, check)
    return replace(checked, data=None) if checked.data is data else checked


def _open_header(data: bytes) -> Image.Image:
    if not data:
        raise MediaError("media:empty", "zero-byte file")
    with _media_errors():
        return Image.open(io.BytesIO(data))


@contextmanager
def _media_errors() -> Iterator[None]:
    """PIL's errors as MediaError (`media:too_large` for decompression bombs, else `media:corrupt`)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise MediaError("media:too_large", str(err)) from err
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError) as err:
        raise MediaError("media:corrupt", f"{type(err).__name__}: {err}") from err


def target_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) scaled so the short side is `short_side` (aspect ratio kept, rounded)."""
    scale = short_side / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resized_bytes(image: Image.Image, target: tuple[int, int]) -> bytes:
    """`image` (possibly draft-decoded smaller than its header size; already upright and in a
    stored mode: normalise.py ran first) resized to `target` with a Lanczos-3 kernel (resize.py)
    and encoded. No intermediate copy is made when the mode needs no conversion."""
    fmt = "JPEG" if image.format == "JPEG" or image.mode in ("RGB", "L") else "PNG"
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    out = resized(image, target)
    out.save(buffer, format=fmt, **({"quality": JPEG_QUALITY} if fmt == "JPEG" else {}))
    return buffer.getvalue()
