"""Images inside `.tar` / `.tar.gz` archives, read one member at a time without unpacking.

Reference form: hf_mixture/archive_refs.py (`tar://<member>::<archive>`). This module reads
through `Storage` (the lower layer, which resolves references but does not read archive members).

Cost model:
- plain `.tar`: the first read of an archive lists its headers (tarfile seeks past member data,
  so a local or S3 archive costs ~one header read per member); each member is then one ranged
  read (`cat_file(start, end)`).
- `.tar.gz` / `.tgz`: gzip has no random access. The first read streams and decompresses the whole
  archive once, recording member offsets in the uncompressed stream and a zlib checkpoint (the
  decompressor state, ~45 KB) every `CHECKPOINT_SPAN` uncompressed bytes: ~12 MB of memory per GB
  of archive. A member read then seeks to the nearest checkpoint before it and decompresses at most
  `CHECKPOINT_SPAN` bytes plus the member.
Indexes are kept per process in an LRU of `MAX_CACHED_ARCHIVES` archives, keyed by the archive URI
(and, for local files, size and mtime, so a rewritten local archive is re-indexed). Remote archives
are assumed not to change during a build.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from hf_mixture.archive_refs import (  # noqa: F401 - the reference form, re-exported for readers
    ARCHIVE_PROTOCOL,
    archive_ref,
    is_archive_ref,
    outer_location,
    split_archive_ref,
)
from hf_mixture.storage import Storage

GZIP_SUFFIXES = (".tar.gz", ".tgz")
CHECKPOINT_SPAN = 4 * 1024 * 1024
READ_CHUNK = 256 * 1024
MAX_CACHED_ARCHIVES = 32
_GZIP_MAGIC = b"\x1f\x8b"


def is_gzip_archive(path: str) -> bool:
    """Whether `path` names a gzip-compressed tar (`.tar.gz` / `.tgz`)."""
    return path.lower().split("?")[0].endswith(GZIP_SUFFIXES)


@dataclass(frozen=True)
class Member:
    """Where a member's bytes are: offset and size in the (uncompressed) tar stream."""

    offset: int
    size: int


@dataclass
class ArchiveIndex:
    """The members of one archive, and for gzip archives the checkpoints to resume decompression."""

    archive: str
    members: dict[str, Member]
    checkpoints: list[tuple[int, int, object]] = field(default_factory=list)
    _suffix_map: dict[str, str | None] | None = None

    @property
    def compressed(self) -> bool:
        return bool(self.checkpoints)

    def find(self, member: str) -> Member | None:
        """The member named `member`; else the one member whose path ends in `/member`."""
        name = _clean(member)
        if name in self.members:
            return self.members[name]
        if self._suffix_map is None:
            self._suffix_map = {}
            for full in self.members:
                base = posixpath.basename(full)
                self._suffix_map[base] = None if base in self._suffix_map else full
        if "/" not in name:
            full = self._suffix_map.get(name)
            return self.members[full] if full else None
        matches = [m for m in self.members if m.endswith("/" + name)]
        return self.members[matches[0]] if len(matches) == 1 else None

    def read(self, storage: Storage, member: str) -> bytes:
        """The bytes of `member`; FileNotFoundError naming the archive when it is absent."""
        found = self.find(member)
        if found is None:
            raise FileNotFoundError(f"{member!r} is not a member of {self.archive}")
        if not self.compressed:
            if found.size == 0:
                return b""
            fs = storage.filesystem(self.archive)
            return fs.cat_file(self.archive, start=found.offset, end=found.offset + found.size)
        return self._read_compressed(storage, found)

    def _read_compressed(self, storage: Storage, found: Member) -> bytes:
        start = max(i for i, cp in enumerate(self.checkpoints) if cp[0] <= found.offset)
        position, compressed_at, state = self.checkpoints[start]
        stream = _GzipStream(state)
        wanted, end = bytearray(), found.offset + found.size
        with storage.open(self.archive) as handle:
            handle.seek(compressed_at)
            while position < end:
                chunk = handle.read(READ_CHUNK)
                if not chunk:
                    raise EOFError(f"{self.archive}: ends before member at {found.offset}")
                data = stream.feed(chunk)
                lo, hi = max(found.offset - position, 0), min(end - position, len(data))
                if hi > lo:
                    wanted += data[lo:hi]
                position += len(data)
        return bytes(wanted)


def _clean(member: str) -> str:
    name = member.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


class _GzipStream:
    """Decompresses a (possibly multi-member) gzip stream fed in chunks; its state can be saved."""

    def __init__(self, state=None):
        self._d = state.copy() if state is not None else None
        self._pending = b""
        self.finished = False

    def feed(self, chunk: bytes) -> bytes:
        data, out = self._pending + chunk, []
        self._pending = b""
        while data and not self.finished:
            if self._d is None:
                if len(data) < 2:
                    self._pending = data
                    break
                if data[:2] != _GZIP_MAGIC:  # trailing padding after the last member
                    self.finished = True
                    break
                self._d = zlib.decompressobj(zlib.MAX_WBITS | 16)
            out.append(self._d.decompress(data))
            if self._d.eof:
                data, self._d = self._d.unused_data, None
            else:
                data = b""
        return b"".join(out)

    def checkpoint(self):
        """A copy of the decompressor state, or None at a member boundary; False when unusable."""
        if self._pending:
            return False
        return self._d.copy() if self._d is not None else None


class _CheckpointingReader:
    """A forward-only file object over a gzip stream that records resume checkpoints."""

    def __init__(self, raw, span: int = CHECKPOINT_SPAN):
        self._raw, self._span = raw, span
        self._chunk = min(READ_CHUNK, max(span // 4, 4096))  # checkpoints fall on chunk ends
        self._stream = _GzipStream()
        self._buffer = bytearray()
        self._compressed = self._produced = 0
        self.checkpoints: list[tuple[int, int, object]] = [(0, 0, None)]

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and self._fill():
            pass
        if size < 0:
            size = len(self._buffer)
        result = bytes(self._buffer[:size])
        del self._buffer[:size]
        return result

    def _fill(self) -> bool:
        chunk = self._raw.read(self._chunk)
        if not chunk:
            return False
        self._compressed += len(chunk)
        data = self._stream.feed(chunk)
        self._buffer += data
        self._produced += len(data)
        if self._produced - self.checkpoints[-1][0] >= self._span:
            state = self._stream.checkpoint()
            if state is not False:
                self.checkpoints.append((self._produced, self._compressed, state))
        return True


def build_index(storage: Storage, archive: str, span: int = CHECKPOINT_SPAN) -> ArchiveIndex:
    """Read the member table of `archive` (streams a gzip archive once, with a checkpoint every
    `span` uncompressed bytes; see the module docstring)."""
    with storage.open(archive) as handle:
        if is_gzip_archive(archive):
            reader = _CheckpointingReader(handle, span)
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                members = _members(tar)
            return ArchiveIndex(archive, members, reader.checkpoints)
        with tarfile.open(fileobj=handle, mode="r:") as tar:
            return ArchiveIndex(archive, _members(tar))


def _members(tar: tarfile.TarFile) -> dict[str, Member]:
    return {_clean(info.name): Member(info.offset_data, info.size) for info in tar if info.isfile()}


class ArchiveCache:
    """Archive indexes by archive URI, built once per archive even with concurrent readers."""

    def __init__(self, capacity: int = MAX_CACHED_ARCHIVES):
        self.capacity = capacity
        self._indexes: OrderedDict[tuple, ArchiveIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Lock] = {}

    def index(self, storage: Storage, archive: str) -> ArchiveIndex:
        """The index of `archive`, built on first use."""
        key = _cache_key(archive)
        with self._lock:
            if key in self._indexes:
                self._indexes.move_to_end(key)
                return self._indexes[key]
            build_lock = self._building.setdefault(key, threading.Lock())
        with build_lock:
            with self._lock:
                if key in self._indexes:
                    return self._indexes[key]
            index = build_index(storage, archive)
            self.remember(index, key)
            return index

    def remember(self, index: ArchiveIndex, key: tuple | None = None) -> None:
        """Keep `index` (e.g. one a builder made while reading the archive anyway)."""
        key = key or _cache_key(index.archive)
        with self._lock:
            self._indexes[key] = index
            self._indexes.move_to_end(key)
            self._building.pop(key, None)
            while len(self._indexes) > self.capacity:
                self._indexes.popitem(last=False)


def _cache_key(archive: str) -> tuple:
    if "://" in archive and not archive.startswith("file://"):
        return (archive,)
    try:
        stat = os.stat(archive.removeprefix("file://"))
    except OSError:
        return (archive,)
    return (archive, stat.st_size, stat.st_mtime_ns)


CACHE = ArchiveCache()


def read_member(storage: Storage, ref: str) -> bytes:
    """The bytes an archive reference names (FileNotFoundError when archive or member is absent)."""
    member, archive = split_archive_ref(ref) or (None, None)
    if member is None:
        raise ValueError(f"{ref!r} is not an archive reference (tar://<member>::<archive>)")
    storage.check_scheme(ref)
    return CACHE.index(storage, archive).read(storage, member)


def plain_tar_index(archive: str, members: Mapping[str, tuple[int, int]]) -> ArchiveIndex:
    """An index of an uncompressed tar from (offset, size) pairs gathered while reading it."""
    return ArchiveIndex(archive, {_clean(k): Member(*v) for k, v in members.items()})
