"""Read the image a row references: resolve it, keep it inside its roots, fetch its bytes.

Security rules (docs/failure-modes.md): a reference from data may only use an allowed scheme
(`stage.allowed_schemes`); a local reference (plain path, `file://`, or a path mapping target)
must resolve, symlinks followed, inside the entry's image root or a local mapping target; a
relative reference against a remote root may not climb out of it with `..`. Anything else is
refused as `media:outside_root` / `media:scheme_not_allowed` and never read, so a built or
pushed dataset cannot embed a local file a row pointed at.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Sequence

from hf_mixture.errors import MissingDriverError
from hf_mixture.media.archives import archive_ref, read_member, split_archive_ref
from hf_mixture.media.http_policy import HttpPolicy, MediaBudget, http_get
from hf_mixture.media.images import CheckedImage, MediaError, check_image
from hf_mixture.storage import SchemeNotAllowed, Storage, is_remote, scheme_of, within

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class ImageFetcher:
    """Fetches and checks images for one entry.

    Args:
        storage: resolves references (path mappings, fsspec).
        root: folder relative references are taken from (`image_root`, else the YAML file's).
        allowed_roots: local folders a reference may point into; anything else is refused.
        policy: timeouts, retries and size cap of http(s) reads (default: HttpPolicy()).
        budget: the build's shared time budget for remote reads (default: none).
    """

    def __init__(
        self,
        storage: Storage,
        root: str,
        allowed_roots: Sequence[str],
        *,
        policy: HttpPolicy | None = None,
        budget: MediaBudget | None = None,
    ):
        self.storage = storage
        self.root = root
        self.allowed_roots = list(allowed_roots)
        self.policy = policy or HttpPolicy()
        self.budget = budget or MediaBudget()

    def location(self, ref: str) -> str:
        """The absolute path or URI `ref` names; MediaError when it is not allowed."""
        if not isinstance(ref, str) or not ref.strip() or "\x00" in ref:
            raise MediaError("media:bad_reference", f"{ref!r} is not a usable image reference")
        inner = split_archive_ref(ref)
        if inner:  # a member of an archive: the archive itself must be allowed
            return archive_ref(inner[0], self.location(inner[1]))
        try:
            resolved = self.storage.resolve(ref, self.root)
            self.storage.check_scheme(resolved)
        except SchemeNotAllowed as err:
            raise MediaError("media:scheme_not_allowed", str(err)) from err
        if not is_remote(resolved):
            if not within(resolved, self.allowed_roots):
                raise MediaError("media:outside_root", f"{ref!r} resolves outside {self.allowed_roots}")
            return resolved
        return self._checked_remote(ref, resolved)

    def _checked_remote(self, ref: str, resolved: str) -> str:
        """`resolved` with `..` folded; a relative `ref` must stay under a remote root."""
        scheme = scheme_of(resolved)
        rest = resolved[len(scheme) + 3 :]
        query = ""
        if scheme in ("http", "https") and "?" in rest:
            rest, query = rest.split("?", 1)
            query = "?" + query
        folded = posixpath.normpath(rest) + ("/" if rest.endswith("/") else "")
        normalised = f"{scheme}://{folded}{query}"
        if is_remote(ref) or not is_remote(self.root):
            return normalised
        root = posixpath.normpath(self.root[len(scheme_of(self.root)) + 3 :])
        if not (folded == root or folded.startswith(root.rstrip("/") + "/")):
            raise MediaError("media:outside_root", f"{ref!r} climbs out of {self.root}")
        return normalised

    def read(self, ref: str) -> bytes:
        """The bytes `ref` names; MediaError with a reason code otherwise."""
        location = self.location(ref)
        inner = split_archive_ref(location)
        if inner:
            if is_remote(inner[1]):
                self.budget.check(location)
            return self._read_fsspec(location)
        if not is_remote(location):
            return _read_local(location, self.policy.max_bytes)
        self.budget.check(location)
        if scheme_of(location) in ("http", "https"):
            return http_get(location, self.policy, self.budget)
        return self._read_fsspec(location)

    def _read_fsspec(self, location: str) -> bytes:
        try:
            if split_archive_ref(location):
                return read_member(self.storage, location)
            return self.storage.read_bytes(location)
        except FileNotFoundError as err:
            raise MediaError("media:missing", location) from err
        except IsADirectoryError as err:
            raise MediaError("media:missing", f"{location} is a folder") from err
        except PermissionError as err:
            raise MediaError("media:http_403", f"{location}: access denied ({err})") from err
        except MissingDriverError:  # not this image's fault: the build stops, naming the package
            raise
        except Exception as err:  # noqa: BLE001 - network stacks raise many types; each is one failed fetch
            if isinstance(err, (KeyboardInterrupt, SystemExit, MemoryError)):
                raise
            raise MediaError("media:fetch_error", f"{location}: {type(err).__name__}: {err}") from err

    def fetch(self, ref: str, short_side: int | None) -> CheckedImage:
        """The checked (and, for `short_side`, resized) image `ref` names."""
        return check_image(self.read(ref), short_side)


def _read_local(path: str, max_bytes: int) -> bytes:
    """A regular file's bytes, opened through its real path without following a last symlink
    (a FIFO or device is never read: it could block or never end)."""
    real = os.path.realpath(path)
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except FileNotFoundError as err:
        raise MediaError("media:missing", path) from err
    except OSError as err:
        raise MediaError("media:unreadable", f"{path}: {err.strerror}") from err
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise MediaError("media:missing", f"{path} is a folder")
        if not stat.S_ISREG(info.st_mode):
            raise MediaError("media:unreadable", f"{path} is not a regular file")
        if info.st_size > max_bytes:
            raise MediaError("media:too_large", f"{path}: {info.st_size} bytes, above the {max_bytes} cap")
    except MediaError:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def image_name(ref: str) -> str:
    """The file name kept in the `Image` struct's `path`: never a local folder (for an archive
    reference, the member's file name)."""
    inner = split_archive_ref(ref)
    if inner:
        ref = inner[0]
    return os.path.basename(ref.split("?")[0].rstrip("/")) or "image"
