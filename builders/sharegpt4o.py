"""ShareGPT-4o-Image: `text_to_image.json` and `text_and_image_to_image.json` (JSON arrays).

Records: `input_prompt`, `output_image` (path relative to the JSON file's folder) and, for edits,
`input_image` (a list of such paths). Rows: `input_prompt`, `caption` (= input_prompt),
`output_image` and `s3_path` (the resolved output), `input_image` (resolved list), `kind`
(`t2i` or `edit`). The published images do not all match the JSON (issue #1 of the dataset's
repo): with `check_files: true` (default) a record whose files are absent is dropped as
`source:missing_file`, checked with one folder listing per folder (local or remote).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import pyarrow as pa

from builders.source import FolderListing, SourceBuilder, as_text, join_location, parent_of, string_list
from hf_mixture.errors import SkipRow

SCHEMA = pa.schema(
    [
        ("input_prompt", pa.string()),
        ("caption", pa.string()),
        ("output_image", pa.string()),
        ("s3_path", pa.string()),
        ("input_image", pa.list_(pa.string())),
        ("kind", pa.string()),
    ]
)


@dataclass(frozen=True)
class ShareGpt4oOptions:
    """`check_files`: drop records whose image files are absent (one listing per folder)."""

    check_files: bool = True


class ShareGpt4oBuilder(SourceBuilder):
    """ShareGPT-4o-Image T2I and edit records with image paths resolved next to the JSON."""

    NAME = "sharegpt4o"
    OPTIONS = ShareGpt4oOptions
    FILE_TYPES = (".json", ".jsonl")

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return SCHEMA

    def read_tables(self) -> Iterator[pa.Table]:
        listing = FolderListing(self.storage) if self.options.check_files else None
        for path in self.entry.files:
            row = partial(self._row, folder=parent_of(path), listing=listing)
            yield from self.tables_of(self.kept(self.records(path), row))

    def _row(self, record: dict, folder: str, listing: FolderListing | None) -> dict:
        output = as_text(record.get("output_image"))
        if isinstance(record.get("output_image"), list):  # tolerate a one-item list
            output = (string_list(record["output_image"], "output_image") or [None])[0]
        if not output:
            raise SkipRow("source:no_output_image")
        output = join_location(folder, output)
        inputs = [join_location(folder, p) for p in string_list(record.get("input_image"), "input_image")]
        if listing is not None and not all(listing.exists(p) for p in [output, *inputs]):
            raise SkipRow("source:missing_file")
        prompt = as_text(record.get("input_prompt"))
        return {
            "input_prompt": prompt,
            "caption": prompt,
            "output_image": output,
            "s3_path": output,
            "input_image": inputs,
            "kind": "edit" if inputs else "t2i",
        }
