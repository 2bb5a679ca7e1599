"""WebDataset shards (BLIP3o Pretrain Long/Short/JourneyDB, BLIP3o-60k, img2dataset output).

A shard is a `.tar` (or `.tar.gz`) of samples `{key}.jpg` + `{key}.txt` (+ `{key}.json`), members of
one sample next to each other. Rows: `__key__`, `__url__` (the shard), `s3_path` (an archive
reference `tar://<member>::<shard>` to the image, read later by the media stage without unpacking
the shard) and `caption` (the `.txt` member, UTF-8 decoded). A sample without an image member is
dropped as `source:no_image_member`; one whose image member has dots in its name (`photo.v2.jpg`:
key `photo`, extension `v2.jpg`, split at the first dot as webdataset does) and so no extension of
`image_exts`, as `source:image_member_unrecognised_extension` (list `v2.jpg` in `image_exts` to
take it).

Reading a plain `.tar` seeks past image data (only headers and text members are read); the member
offsets seen are kept so the media stage does not list the shard again.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from builders.source import SourceBuilder, as_text
from hf_mixture.errors import SkipRow, SourceError
from hf_mixture.media.archives import CACHE, archive_ref, is_gzip_archive, plain_tar_index
from hf_mixture.storage import Storage

_KEY_EXT = re.compile(r"^((?:.*/|)[^./]+)\.([^/]+)$")
IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")


@dataclass(frozen=True)
class WebDatasetOptions:
    """`image_exts`: member extensions taken as the image, first present wins; `caption_ext`: the
    member holding the caption."""

    image_exts: tuple[str, ...] = IMAGE_EXTS
    caption_ext: str = "txt"

    def __post_init__(self):
        if not self.image_exts:
            raise ValueError("image_exts must name at least one extension, e.g. [jpg, png]")


@dataclass
class Sample:
    """One webdataset sample: its key, shard, image member and small text members (bytes)."""

    key: str
    archive: str
    members: dict[str, str] = field(default_factory=dict)
    texts: dict[str, bytes] = field(default_factory=dict)

    def image_ref(self, image_exts) -> str | None:
        """The archive reference of the first image member present, in `image_exts` order."""
        for ext in image_exts:
            if ext in self.members:
                return archive_ref(self.members[ext], self.archive)
        return None

    def required_image_ref(self, image_exts) -> str:
        """`image_ref`, or SkipRow saying why there is none: `source:image_member_unrecognised_extension`
        when a member's name ends in an image extension but its extension (from the first dot of
        the name, as webdataset splits `photo.v2.jpg` into key `photo` and extension `v2.jpg`) is
        not in `image_exts`; `source:no_image_member` when no member is an image."""
        image = self.image_ref(image_exts)
        if image is not None:
            return image
        known = {*IMAGE_EXTS, *image_exts}
        if any(ext.rsplit(".", 1)[-1] in known for ext in self.members):
            raise SkipRow("source:image_member_unrecognised_extension")
        raise SkipRow("source:no_image_member")


def split_key(name: str) -> tuple[str, str] | None:
    """(key, extension) as webdataset splits a member name: at the first dot of the file name."""
    match = _KEY_EXT.match(name)
    return (match.group(1), match.group(2).lower()) if match else None


def iter_samples(storage: Storage, archive: str, text_exts) -> Iterator[Sample]:
    """The samples of one shard in order; members with an extension in `text_exts` are read."""
    try:
        with storage.open(archive) as handle:
            mode = "r|gz" if is_gzip_archive(archive) else "r:"
            with tarfile.open(fileobj=handle, mode=mode) as tar:
                yield from _group(tar, archive, set(text_exts), not is_gzip_archive(archive))
    except (tarfile.TarError, EOFError, OSError) as err:
        raise SourceError(f"{archive}: cannot read as a tar shard ({type(err).__name__}: {err})") from err


def _group(tar: tarfile.TarFile, archive: str, text_exts: set, remember: bool) -> Iterator[Sample]:
    current, offsets = None, {}
    for info in tar:
        if not info.isfile():
            continue
        offsets[info.name] = (info.offset_data, info.size)
        parts = split_key(info.name)
        if parts is None:
            continue
        key, ext = parts
        if current is None or current.key != key:
            if current is not None:
                yield current
            current = Sample(key, archive)
        current.members[ext] = info.name
        if ext in text_exts:
            current.texts[ext] = tar.extractfile(info).read()
    if current is not None:
        yield current
    if remember:
        CACHE.remember(plain_tar_index(archive, offsets))


class WebDatasetBuilder(SourceBuilder):
    """Rows `__key__`, `__url__`, `s3_path` (archive reference of the image), `caption`."""

    NAME = "webdataset"
    OPTIONS = WebDatasetOptions
    FILE_TYPES = (".tar", ".tar.gz", ".tgz")

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return pa.schema(
            [
                ("__key__", pa.string()),
                ("__url__", pa.string()),
                ("s3_path", pa.string()),
                ("caption", pa.string()),
            ]
        )

    def read_tables(self) -> Iterator[pa.Table]:
        return self.tables_of(self._rows())

    def _rows(self) -> Iterator[dict]:
        for archive in self.entry.files:
            yield from self.kept(iter_samples(self.storage, archive, [self.options.caption_ext]), self._row)

    def _row(self, sample: Sample) -> dict:
        options = self.options
        return {
            "__key__": sample.key,
            "__url__": sample.archive,
            "s3_path": sample.required_image_ref(options.image_exts),
            "caption": as_text(sample.texts.get(options.caption_ext)),
        }
