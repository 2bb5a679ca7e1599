"""GPT-Image-Edit-1.5M: per-task metadata JSON, or the UniWorld-style training JSON.

Metadata (`gpt-edit/<source>/<task>/metadata/<source>_<task>.json`): records `id`,
`dataset_source`, `task`, `input` / `output` (relative to the task folder, two levels above the
JSON), `instruction`, `instruction_type`, `input_description` (+ `instruction_original`).
Training JSON (`training_json/*.json`): records `image: [input, output]` (relative to
`image_folder`, default the JSON's folder) and `conversations`; the instruction is the human turn
without its `<image>` tokens. Each record's form is recognised by its keys.

Rows: `id`, `dataset_source`, `task`, `instruction`, `instruction_type`, `input_description`,
`instruction_original`, `input_paths` (list), `output_paths` — what `process_gpt_edit` reads —
and `conversations` (training JSON only). With `check_files: true` (default) records whose files
are absent are dropped as `source:missing_file`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import pyarrow as pa

from builders.conversations import TURNS_TYPE, llava_turns
from builders.source import (
    FolderListing,
    SourceBuilder,
    as_id,
    as_text,
    join_location,
    parent_of,
    string_list,
)
from hf_mixture.errors import SkipRow
from hf_mixture.schema import IMAGE_TOKEN

TEXT_FIELDS = ("dataset_source", "task", "instruction_type", "input_description", "instruction_original")
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("dataset_source", pa.string()),
        ("task", pa.string()),
        ("instruction", pa.string()),
        ("instruction_type", pa.string()),
        ("input_description", pa.string()),
        ("instruction_original", pa.string()),
        ("input_paths", pa.list_(pa.string())),
        ("output_paths", pa.string()),
        ("conversations", TURNS_TYPE),
    ]
)


@dataclass(frozen=True)
class GptImageEditOptions:
    """`image_folder`: root of a training JSON's relative paths (default: its folder);
    `check_files`: drop records whose files are absent."""

    image_folder: str | None = None
    check_files: bool = True


class GptImageEditBuilder(SourceBuilder):
    """GPT-Image-Edit pairs with paths resolved against their task folder."""

    NAME = "gpt_image_edit"
    OPTIONS = GptImageEditOptions
    FILE_TYPES = (".json", ".jsonl")

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return SCHEMA

    def extra_roots(self) -> list[str]:
        extra = super().extra_roots()
        tasks = {parent_of(parent_of(f)) for f in self.entry.files if "://" not in f}
        return extra + sorted(tasks)

    def read_tables(self) -> Iterator[pa.Table]:
        listing = FolderListing(self.storage) if self.options.check_files else None
        for path in self.entry.files:
            row = partial(self._row, path=path, listing=listing)
            yield from self.tables_of(self.kept(self.records(path), row))

    def _row(self, record: dict, path: str, listing: FolderListing | None) -> dict:
        if "image" in record and "conversations" in record:
            row = self._training_row(record, path)
        else:
            row = self._metadata_row(record, path)
        if listing is not None and not all(
            listing.exists(p) for p in [*row["input_paths"], row["output_paths"]]
        ):
            raise SkipRow("source:missing_file")
        return row

    def _metadata_row(self, record: dict, path: str) -> dict:
        task_dir = parent_of(parent_of(path))
        source, target = as_text(record.get("input")), as_text(record.get("output"))
        if not source or not target:
            raise SkipRow("source:no_input_or_output")
        row = {name: as_text(record.get(name)) for name in TEXT_FIELDS}
        row.update(
            id=as_id(record.get("id")),
            instruction=as_text(record.get("instruction")),
            input_paths=[join_location(task_dir, source)],
            output_paths=join_location(task_dir, target),
            conversations=None,
        )
        return row

    def _training_row(self, record: dict, path: str) -> dict:
        images = string_list(record.get("image"), "image")
        if len(images) < 2:
            raise SkipRow("source:edit_needs_input_and_output")
        root = self.folder_of_option(self.options.image_folder) or parent_of(path)
        turns = llava_turns(record.get("conversations"))
        human = next((t["value"] for t in turns if t["from"] == "human"), "")
        row = dict.fromkeys(TEXT_FIELDS)
        row.update(
            id=as_id(record.get("id")),
            instruction=human.replace(IMAGE_TOKEN, "").strip(),
            input_paths=[join_location(root, p) for p in images[:-1]],
            output_paths=join_location(root, images[-1]),
            conversations=turns,
        )
        return row
