"""Reflect-DiT: the self-correction CSV and the LLaVA-format VLM feedback JSON.

`part: csv` (default) reads `object_self_correct_cleaned.csv`, whose `positive_filename`,
`negative_filename` and `negative_reason` cells are lists joined by the literal `XXX`. They are split
into lists; a row must have at least one positive and as many reasons as negatives (> 0), else it is
dropped as `source:reflect_dit_no_positive` / `source:reflect_dit_list_mismatch`. Rows: `prompt`,
`caption` (= prompt), `s3_path` (the first positive image), the three lists, and `negatives` /
`negative_reasons` joined by `;` (what `preproces_text_to_image_generation_s3_loc` reads).

`part: vlm` reads `data/vlm/vllm.json` (LLaVA format): rows `id`, `image`, `images`, `conversations`.

File names are joined to `image_folder` when given (relative to the YAML file), else kept as
written and resolved by the media stage against the entry's `image_root`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from builders.conversations import TURNS_TYPE, check_image_tokens, llava_turns
from builders.source import SourceBuilder, as_id, join_location, string_list
from hf_mixture.errors import SourceError
from hf_mixture.sources.rows import data_columns
from hf_mixture.sources.tables import TableReader

SEPARATOR = "XXX"
LIST_COLUMNS = ("positive_filename", "negative_filename", "negative_reason")
CSV_SCHEMA = pa.schema(
    [
        ("prompt", pa.string()),
        ("caption", pa.string()),
        ("s3_path", pa.string()),
        ("positive_filename", pa.list_(pa.string())),
        ("negative_filename", pa.list_(pa.string())),
        ("negative_reason", pa.list_(pa.string())),
        ("negatives", pa.string()),
        ("negative_reasons", pa.string()),
    ]
)
VLM_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("image", pa.string()),
        ("images", pa.list_(pa.string())),
        ("conversations", TURNS_TYPE),
    ]
)


@dataclass(frozen=True)
class ReflectDitOptions:
    """`part`: which file the entry names; `image_folder`: folder the file names are relative to."""

    part: Literal["csv", "vlm"] = "csv"
    image_folder: str | None = None


class ReflectDitBuilder(SourceBuilder):
    """The Reflect-DiT CSV (XXX-joined lists) or its VLM JSON."""

    NAME = "reflect_dit"
    OPTIONS = ReflectDitOptions
    FILE_TYPES = (".csv", ".json")

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return CSV_SCHEMA if options.part == "csv" else VLM_SCHEMA

    def read_tables(self) -> Iterator[pa.Table]:
        suffix = ".csv" if self.options.part == "csv" else ".json"
        for path in self.entry.files:
            if not path.lower().endswith(suffix):
                raise SourceError(
                    f"{path}: builder_options.part is {self.options.part!r}, which reads {suffix} files; "
                    f"set part: {'vlm' if suffix == '.csv' else 'csv'} for this file"
                )
            if self.options.part == "csv":
                for raw in TableReader(self.storage, [path]).iter_tables():
                    yield self._csv_table(raw, path)
            else:
                yield from self.tables_of(self.kept(self.records(path), self._vlm_row))

    def _path(self, name: str) -> str:
        folder = self.folder_of_option(self.options.image_folder)
        return join_location(folder, name) if folder else name

    def _csv_table(self, raw: pa.Table, path: str) -> pa.Table:
        missing = [c for c in ("prompt", *LIST_COLUMNS) if c not in raw.column_names]
        if missing:
            raise SourceError(f"{path}: Reflect-DiT CSV lacks columns {missing}; it has {data_columns(raw)}")
        lists = {name: self._split(raw[name], name != "negative_reason") for name in LIST_COLUMNS}
        lengths = {name: pc.fill_null(pc.list_value_length(v), 0).to_numpy() for name, v in lists.items()}
        prompt = pc.cast(raw["prompt"], pa.string())
        table = pa.table(
            {
                "prompt": prompt,
                "caption": prompt,
                "s3_path": pa.array(
                    [v[0] if v else None for v in lists["positive_filename"].to_pylist()], pa.string()
                ),
                **lists,
                "negatives": pc.binary_join(lists["negative_filename"], ";"),
                "negative_reasons": pc.binary_join(lists["negative_reason"], ";"),
            },
            schema=CSV_SCHEMA,
        )
        negatives, reasons = lengths["negative_filename"], lengths["negative_reason"]
        checks = [
            ("source:reflect_dit_no_positive", lengths["positive_filename"] > 0),
            ("source:reflect_dit_list_mismatch", (negatives > 0) & (negatives == reasons)),
        ]
        return self.keep_rows(table, checks)

    def _split(self, column, paths: bool) -> pa.Array:
        """`a XXX b` -> ["a", "b"] (items trimmed, empty items removed); file names (`paths`)
        joined to `image_folder`."""
        items = pc.split_pattern(pc.cast(column, pa.string()), SEPARATOR).to_pylist()
        cleaned = [[i.strip() for i in row if i.strip()] if row is not None else [] for row in items]
        if paths:
            cleaned = [[self._path(p) for p in row] for row in cleaned]
        return pa.array(cleaned, pa.list_(pa.string()))

    def _vlm_row(self, record: dict) -> dict:
        images = [self._path(p) for p in string_list(record.get("image"), "image")]
        turns = llava_turns(record.get("conversations"))
        check_image_tokens(turns, len(images))
        return {
            "id": as_id(record.get("id")),
            "image": images[0] if len(images) == 1 else None,
            "images": images,
            "conversations": turns,
        }
