"""Where a path or URI written in a YAML file or a data row points, and reading it through fsspec."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import fsspec

from hf_mixture.archive_refs import archive_ref, split_archive_ref
from hf_mixture.errors import MissingDriverError

DEFAULT_SCHEMES = ("file", "s3", "gs", "http", "https", "hf")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_EXTRAS = {"s3": "s3fs", "gs": "gcsfs", "http": "aiohttp", "https": "aiohttp", "hf": "huggingface_hub"}


class SchemeNotAllowed(ValueError):
    """A URI uses a scheme outside the allowed list."""


def scheme_of(uri: str) -> str:
    """`s3` for `s3://b/k`, `file` for a plain path."""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else "file"


def is_remote(uri: str) -> bool:
    """True for URIs fsspec reads over a network (anything but a local path)."""
    return scheme_of(uri) != "file"


@dataclass(frozen=True)
class PathMapping:
    """Rewrites URIs starting with `prefix` to start with `target` instead."""

    prefix: str
    target: str


@dataclass(frozen=True, kw_only=True)
class Storage:
    """Resolves references against a base folder and path mappings, and opens them with fsspec.

    Args:
        base_dir: folder relative local paths are resolved against (the YAML file's folder).
        mappings: prefix rewrites, tried longest prefix first.
        storage_options: fsspec options per scheme, e.g. ``{"s3": {"endpoint_url": ...}}``.
        allowed_schemes: URI schemes a reference may use.
    """

    base_dir: Path
    mappings: tuple[PathMapping, ...] = ()
    storage_options: Mapping[str, Mapping] = field(default_factory=dict)
    allowed_schemes: tuple[str, ...] = DEFAULT_SCHEMES

    def resolve(self, ref: str, root: str | Path | None = None) -> str:
        """The absolute local path or URI that `ref` names: mapped first, then made absolute
        against `root` (or the base folder) when it is a relative local path. An archive reference
        (`tar://member::archive`) has its archive part resolved."""
        inner = split_archive_ref(ref)
        if inner:
            return archive_ref(inner[0], self.resolve(inner[1], root))
        mapped = self.apply_mappings(ref)
        if is_remote(mapped):
            return mapped
        if mapped.startswith("file://"):
            mapped = mapped[len("file://") :]
        if os.path.isabs(mapped):
            return os.path.normpath(mapped)
        base = root if root is not None else self.base_dir
        if is_remote(str(base)):
            return posixpath.join(str(base), mapped)
        return os.path.normpath(os.path.join(os.fspath(base), mapped))

    def apply_mappings(self, ref: str) -> str:
        """`ref` with its longest matching mapping prefix rewritten (unchanged when none match)."""
        for mapping in sorted(self.mappings, key=lambda m: -len(m.prefix)):
            if ref.startswith(mapping.prefix):
                return mapping.target + ref[len(mapping.prefix) :]
        return ref

    def check_scheme(self, uri: str) -> None:
        """Raise SchemeNotAllowed when `uri` (or an archive reference's archive) uses a scheme
        outside `allowed_schemes`."""
        inner = split_archive_ref(uri)
        scheme = scheme_of(inner[1] if inner else uri)
        if scheme not in self.allowed_schemes:
            raise SchemeNotAllowed(
                f"{uri!r} uses scheme {scheme!r}; allowed: {', '.join(self.allowed_schemes)} "
                "(add it to stage.allowed_schemes to permit it)"
            )

    def filesystem(self, uri: str) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem for `uri`; MissingDriverError (naming the pip command) when its
        scheme's optional package is not installed."""
        self.check_scheme(uri)
        scheme = scheme_of(uri)
        options = dict(self.storage_options.get(scheme, {}))
        try:
            return fsspec.filesystem(scheme, **options)
        except ImportError as err:
            raise MissingDriverError(_driver_message(scheme)) from err

    def driver_problem(self, uri: str) -> str | None:
        """What is missing to read `uri` through fsspec (the archive's scheme for an archive
        reference), or None; imports the driver, reads nothing."""
        inner = split_archive_ref(uri)
        scheme = scheme_of(inner[1] if inner else uri)
        try:
            fsspec.get_filesystem_class(scheme)
        except ImportError:
            return _driver_message(scheme)
        except ValueError:
            return f"no filesystem reads {scheme}:// paths (fsspec knows no such protocol)"
        return None

    def expand(self, uri: str) -> list[str]:
        """Files a path or glob names, sorted (a plain path is returned as is, even if absent)."""
        if not any(char in uri for char in "*?["):
            return [uri]
        fs = self.filesystem(uri)
        matches = sorted(fs.glob(uri))
        if is_remote(uri):
            protocol = scheme_of(uri)
            return [m if _SCHEME.match(m) else f"{protocol}://{m}" for m in matches]
        return matches

    def exists(self, uri: str) -> bool:
        """Whether `uri` names an existing file."""
        return self.filesystem(uri).exists(uri)

    def open(self, uri: str, mode: str = "rb"):
        """An open file object for `uri` (use as a context manager)."""
        return self.filesystem(uri).open(uri, mode)

    def read_bytes(self, uri: str) -> bytes:
        """The whole content of `uri`; ValueError for an archive reference (a member is read by
        `hf_mixture.media.archives.read_member`, the layer above)."""
        if split_archive_ref(uri):
            raise ValueError(f"{uri!r} is an archive member: read it with media.archives.read_member")
        return self.filesystem(uri).cat_file(uri)


def _driver_message(scheme: str) -> str:
    package = _EXTRAS.get(scheme, scheme)
    extra = {"s3": "s3", "http": "http", "https": "http"}.get(scheme)
    also = f" (or pip install 'hf-mixture[{extra}]')" if extra else ""
    return f"reading {scheme}:// paths needs `{package}`: pip install {package}{also}"


def mappings_from(raw: Mapping[str, str], base_dir: Path) -> tuple[PathMapping, ...]:
    """PathMappings from a YAML `path_mappings` map; relative local targets are made absolute
    against `base_dir`, and a folder target keeps its trailing separator."""
    result = []
    for prefix, target in raw.items():
        target = str(target)
        if not is_remote(target) and not os.path.isabs(target):
            keep_slash = target.endswith(("/", os.sep))
            target = os.path.normpath(os.path.join(base_dir, target)) + ("/" if keep_slash else "")
        result.append(PathMapping(str(prefix), target))
    return tuple(result)


def within(path: str, roots: Iterable[str]) -> bool:
    """Whether local `path`, with symlinks resolved, lies inside one of `roots`."""
    real = os.path.realpath(path)
    for root in roots:
        real_root = os.path.realpath(root)
        if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
            return True
    return False
