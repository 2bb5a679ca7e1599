"""COYO-700M: 128 parquet parts of 17 columns, images by URL, text with HTML entities.

Rows keep the published columns, with `url` also given as `s3_path` (the image reference
`preproces_text_to_image_generation_s3` reads), `text` given as `caption` with HTML entities
decoded (COYO keeps them, even doubly escaped: `valentine&amp;#39;s`), and `width`/`height` as
`intWidth`/`intHeight` (so `min_size` works). Optional thresholds drop rows at or above
`max_nsfw` (`nsfw_score_opennsfw2`) or `max_watermark` (`watermark_score`), counted as
`filter:nsfw` / `filter:watermark`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from builders.columns import below, column_or_null, first_present, unescape_html
from builders.source import SourceBuilder
from hf_mixture.errors import SourceError
from hf_mixture.sources.rows import data_columns
from hf_mixture.sources.tables import TableReader

INTS = ("text_length", "word_count", "num_tokens_bert", "num_tokens_gpt", "num_faces")
FLOATS = (
    "clip_similarity_vitb32",
    "clip_similarity_vitl14",
    "nsfw_score_opennsfw2",
    "nsfw_score_gantman",
    "watermark_score",
    "aesthetic_score_laion_v2",
)
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("s3_path", pa.string()),
        ("url", pa.string()),
        ("caption", pa.string()),
        ("intWidth", pa.int64()),
        ("intHeight", pa.int64()),
        ("image_phash", pa.string()),
        *[(name, pa.int64()) for name in INTS],
        *[(name, pa.float64()) for name in FLOATS],
    ]
)
SOURCE_NAMES = {"s3_path": ("url",), "caption": ("text",), "intWidth": ("width",), "intHeight": ("height",)}


@dataclass(frozen=True)
class CoyoOptions:
    """Optional thresholds (keep rows strictly below) and HTML unescaping of `text`."""

    max_nsfw: float | None = None
    max_watermark: float | None = None
    unescape_html: bool = True


class CoyoBuilder(SourceBuilder):
    """COYO-700M parquet parts -> rows with `s3_path`, `caption` and the published scores."""

    NAME = "coyo"
    OPTIONS = CoyoOptions
    FILE_TYPES = (".parquet",)

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return SCHEMA

    def read_tables(self) -> Iterator[pa.Table]:
        for path in self.entry.files:
            for raw in TableReader(self.storage, [path]).iter_tables():
                yield self._filtered(self._normalised(raw, path))

    def _normalised(self, raw: pa.Table, path: str) -> pa.Table:
        if first_present(raw, ("url",)) is None or first_present(raw, ("text",)) is None:
            raise SourceError(
                f"{path}: not a COYO-700M part (needs columns url and text); "
                f"it has: {', '.join(data_columns(raw))}"
            )
        columns = {f.name: column_or_null(raw, SOURCE_NAMES.get(f.name, (f.name,)), f.type) for f in SCHEMA}
        columns["url"] = columns["s3_path"]
        if self.options.unescape_html:
            columns["caption"] = unescape_html(columns["caption"])
        return pa.table(columns, schema=SCHEMA)

    def _filtered(self, table: pa.Table) -> pa.Table:
        checks = [
            ("filter:nsfw", below(table, "nsfw_score_opennsfw2", self.options.max_nsfw)),
            ("filter:watermark", below(table, "watermark_score", self.options.max_watermark)),
        ]
        return self.keep_rows(table, checks)
