"""MAmmoTH-VL-Instruct-12M: multi-GB JSON arrays of LLaVA records, parsed incrementally (ijson).

Records: `id` (sometimes not a string), `source`, `image` (a path, a list of paths, or absent for
text-only rows), `video` (video rows are dropped as `source:video_row`), `conversations`. Rows:
`id` (text), `source`, `image` (the path of a single-image row, else null), `images` (all paths),
`conversations` (a list of turns; `preproces_und_mammoth_si_10M` reads both a list and JSON text).
Multi-image rows keep `image` null: select single-image rows with
`max_enc_images: {column: images, value: 1}`. Paths are kept as written (LaViDa-O joins its
`s3_prefix`), or joined to `image_folder` when given. Rows whose `<image>` tokens cannot match
their images are dropped (see builders/conversations.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from builders.conversations import TURNS_TYPE, check_image_tokens, llava_turns
from builders.options import ImageFolderOptions
from builders.source import SourceBuilder, as_id, as_text, join_location, string_list
from hf_mixture.errors import SkipRow

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("image", pa.string()),
        ("images", pa.list_(pa.string())),
        ("conversations", TURNS_TYPE),
    ]
)


class MammothBuilder(SourceBuilder):
    """MAmmoTH-VL JSON arrays (or JSONL), streamed record by record."""

    NAME = "mammoth"
    OPTIONS = ImageFolderOptions
    FILE_TYPES = (".json", ".jsonl")

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return SCHEMA

    def read_tables(self) -> Iterator[pa.Table]:
        folder = self.folder_of_option(self.options.image_folder)
        for path in self.entry.files:
            yield from self.tables_of(self.kept(self.records(path), lambda r: _row(r, folder)))


def _row(record: dict, folder: str | None) -> dict:
    if record.get("video"):
        raise SkipRow("source:video_row")
    images = string_list(record.get("image"), "image")
    if folder:
        images = [join_location(folder, p) for p in images]
    turns = llava_turns(record.get("conversations"))
    check_image_tokens(turns, len(images))
    return {
        "id": as_id(record.get("id")),
        "source": as_text(record.get("source")),
        "image": images[0] if len(images) == 1 else None,
        "images": images,
        "conversations": turns,
    }
