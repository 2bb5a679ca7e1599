"""Read the image a row references: resolve it, keep it inside its roots, fetch its bytes."""

from __future__ import annotations

import os
from collections.abc import Sequence

from hf_mixture.media.images import CheckedImage, MediaError, check_image
from hf_mixture.storage import SchemeNotAllowed, Storage, is_remote, within


class ImageFetcher:
    """Fetches and checks images for one entry.

    Args:
        storage: resolves references (path mappings, fsspec).
        root: folder relative references are taken from (`image_root`, else the YAML file's).
        allowed_roots: local folders a reference may point into; anything else is refused.
    """

    def __init__(self, storage: Storage, root: str, allowed_roots: Sequence[str]):
        self.storage = storage
        self.root = root
        self.allowed_roots = list(allowed_roots)

    def location(self, ref: str) -> str:
        """The absolute path or URI `ref` names; MediaError when it is not allowed."""
        try:
            resolved = self.storage.resolve(ref, self.root)
            self.storage.check_scheme(resolved)
        except SchemeNotAllowed as err:
            raise MediaError("media:scheme_not_allowed", str(err)) from err
        if not is_remote(resolved) and not within(resolved, self.allowed_roots):
            raise MediaError("media:outside_root", f"{ref!r} resolves outside {self.allowed_roots}")
        return resolved

    def read(self, ref: str) -> bytes:
        """The bytes `ref` names; MediaError `media:missing` or `media:fetch_error` otherwise."""
        location = self.location(ref)
        try:
            return self.storage.read_bytes(location)
        except FileNotFoundError as err:
            raise MediaError("media:missing", location) from err
        except IsADirectoryError as err:
            raise MediaError("media:missing", f"{location} is a folder") from err
        except Exception as err:  # noqa: BLE001 - network stacks raise many types; each is one failed fetch
            if isinstance(err, (KeyboardInterrupt, SystemExit, MemoryError)):
                raise
            raise MediaError("media:fetch_error", f"{location}: {type(err).__name__}: {err}") from err

    def fetch(self, ref: str, short_side: int | None) -> CheckedImage:
        """The checked (and, for `short_side`, resized) image `ref` names."""
        return check_image(self.read(ref), short_side)


def image_name(ref: str) -> str:
    """The file name kept in the `Image` struct's `path`: never a local folder."""
    return os.path.basename(ref.split("?")[0].rstrip("/")) or "image"
