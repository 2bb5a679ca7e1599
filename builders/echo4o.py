"""Echo-4o-Image: JSONL records whose images live in `.tar.gz` shards next to them.

Records: `task_type`, `instruction`, `type`, `output_image` and, for multi-reference rows,
`input_images` — written as logical absolute paths `/Echo-4o-Image/<Subset>/.../<key>.jpg`. Each is
mapped to a member of an archive in the folder it names: `<root>/<Subset>/.../<archive>.tar.gz`,
as the reference `tar://<key>.jpg::<archive>` (read later without unpacking; see
hf_mixture/media/archives.py for the cost). The archive is the only one in the folder, or the
`<lo>-<hi>.tar.gz` whose range holds the key, or else the one whose member list has the file
(each archive is then streamed once to list it). A folder without archives holds extracted files.

`root` (the folder holding `Surrel-Fantasy-Image/` etc.) defaults to the nearest of the JSONL's
folder and its two parents that contains the path's first folder.

Rows: `task_type`, `type`, `instruction`, `caption` (= instruction), `output_image` and `s3_path`
(the target reference), `input_images` (references), `input_paths` / `output_paths` (the same, for
`process_gpt_edit`), `logical_output_image` (as written).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from builders.source import FolderListing, SourceBuilder, as_text, join_location, parent_of, string_list
from hf_mixture.errors import SkipRow, SourceError
from hf_mixture.media.archives import CACHE, archive_ref

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_RANGE = re.compile(r"^(\d+)-(\d+)\.(?:tar\.gz|tgz|tar)$")
SCHEMA = pa.schema(
    [
        ("task_type", pa.string()),
        ("type", pa.string()),
        ("instruction", pa.string()),
        ("caption", pa.string()),
        ("output_image", pa.string()),
        ("s3_path", pa.string()),
        ("input_images", pa.list_(pa.string())),
        ("input_paths", pa.list_(pa.string())),
        ("output_paths", pa.string()),
        ("logical_output_image", pa.string()),
    ]
)


@dataclass(frozen=True)
class Echo4oOptions:
    """`root`: folder holding the subset folders (relative to the YAML file); `logical_prefix`:
    the prefix the JSONL paths start with."""

    root: str | None = None
    logical_prefix: str = "/Echo-4o-Image/"


class Echo4oBuilder(SourceBuilder):
    """Echo-4o-Image JSONL rows with images mapped into its tar.gz shards."""

    NAME = "echo4o"
    OPTIONS = Echo4oOptions
    FILE_TYPES = (".jsonl", ".json")

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return SCHEMA

    def extra_roots(self) -> list[str]:
        root = self.folder_of_option(self.options.root)
        return [root] if root and "://" not in root else []

    def read_tables(self) -> Iterator[pa.Table]:
        self._listing = FolderListing(self.storage)
        for path in self.entry.files:
            mapper = _Mapper(self, path)
            yield from self.tables_of(self.kept(self.records(path), mapper.row))


class _Mapper:
    """Turns one JSONL file's logical paths into archive references."""

    def __init__(self, builder: Echo4oBuilder, jsonl: str):
        self.builder, self.jsonl = builder, jsonl
        self.prefix = builder.options.logical_prefix
        self.listing: FolderListing = builder._listing
        self.root = builder.folder_of_option(builder.options.root)
        self._archives: dict[str, list[str]] = {}

    def row(self, record: dict) -> dict:
        logical = as_text(record.get("output_image"))
        if not logical:
            raise SkipRow("source:no_output_image")
        output = self.locate(logical)
        inputs = [self.locate(p) for p in string_list(record.get("input_images"), "input_images")]
        instruction = as_text(record.get("instruction"))
        return {
            "task_type": as_text(record.get("task_type")),
            "type": as_text(record.get("type")),
            "instruction": instruction,
            "caption": instruction,
            "output_image": output,
            "s3_path": output,
            "input_images": inputs,
            "input_paths": inputs,
            "output_paths": output,
            "logical_output_image": logical,
        }

    def locate(self, logical: str) -> str:
        """The reference of the file a logical `/Echo-4o-Image/...` path names."""
        relative = logical[len(self.prefix) :] if logical.startswith(self.prefix) else logical.lstrip("/")
        folder_rel, name = posixpath.split(relative)
        folder = join_location(self._root_for(relative), folder_rel)
        archives = self._archives_in(folder)
        if not archives:
            return join_location(folder, name)
        return archive_ref(name, self._archive_for(name, archives))

    def _root_for(self, relative: str) -> str:
        if self.root is None:
            self.root = self._find_root(relative.split("/", 1)[0])
        return self.root

    def _find_root(self, first: str) -> str:
        candidate = parent_of(self.jsonl)
        for _ in range(3):
            if first in self.listing.names(candidate):
                return candidate
            candidate = parent_of(candidate)
        raise SourceError(
            f"{self.jsonl}: cannot find the folder holding {first!r} next to the JSONL or in its two "
            "parent folders; set builder_options.root to the Echo-4o-Image folder"
        )

    def _archives_in(self, folder: str) -> list[str]:
        if folder not in self._archives:
            names = sorted(n for n in self.listing.names(folder) if n.lower().endswith(ARCHIVE_SUFFIXES))
            self._archives[folder] = [join_location(folder, n) for n in names]
        return self._archives[folder]

    def _archive_for(self, name: str, archives: list[str]) -> str:
        if len(archives) == 1:
            return archives[0]
        stem = name.split(".", 1)[0]
        if stem.isdigit():
            for archive in archives:
                match = _RANGE.match(posixpath.basename(archive))
                if match and int(match.group(1)) <= int(stem) < int(match.group(2)):
                    return archive
        for archive in archives:
            if CACHE.index(self.builder.storage, archive).find(name) is not None:
                return archive
        return archives[0]  # absent everywhere: the media stage reports it as media:missing
