"""VisualWebInstruct: LLaVA-NeXT conversation records in JSONL, JSON or parquet.

Records: `image` (a list of paths relative to the unzipped `imgs/` folder; absent, null or empty for
the majority text-only rows), `conversations`, sometimes `id`. Rows: `id` (text or null), `image`
(always a list: what `preproces_vw_instruct` reads), `conversations` (list of turns). Paths are kept
as written (LaViDa-O joins its `s3_prefix`) or joined to `image_folder` when given. Rows whose
`<image>` tokens cannot match their images are dropped (see builders/conversations.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from builders.conversations import TURNS_TYPE, check_image_tokens, llava_turns
from builders.options import ImageFolderOptions
from builders.source import SourceBuilder, as_id, join_location, string_list
from hf_mixture.sources.rows import table_rows
from hf_mixture.sources.tables import TableReader

SCHEMA = pa.schema([("id", pa.string()), ("image", pa.list_(pa.string())), ("conversations", TURNS_TYPE)])


class VisualWebInstructBuilder(SourceBuilder):
    """VisualWebInstruct conversations, text-only rows included (with an empty `image` list)."""

    NAME = "visualwebinstruct"
    OPTIONS = ImageFolderOptions
    FILE_TYPES = (".jsonl", ".json", ".parquet")

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return SCHEMA

    def read_tables(self) -> Iterator[pa.Table]:
        folder = self.folder_of_option(self.options.image_folder)
        for path in self.entry.files:
            yield from self.tables_of(self.kept(self._records(path), lambda r: self.normalise(r, folder)))

    def normalise(self, record: dict, folder: str | None) -> dict:
        """A row of SCHEMA from one record (SkipRow to drop it)."""
        return _row(record, folder)

    def _records(self, path: str) -> Iterator[dict]:
        if not path.lower().endswith(".parquet"):
            yield from self.records(path)
            return
        for table in TableReader(self.storage, [path]).iter_tables():
            yield from table_rows(table)


def _row(record: dict, folder: str | None) -> dict:
    images = string_list(record.get("image"), "image")
    if folder:
        images = [join_location(folder, p) for p in images]
    turns = llava_turns(record.get("conversations"))
    check_image_tokens(turns, len(images))
    return {"id": as_id(record.get("id")), "image": images, "conversations": turns}
