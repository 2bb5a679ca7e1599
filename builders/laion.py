"""LAION-2B / Re-LAION: parquet metadata (images by URL), or img2dataset webdataset shards.

Both published spellings are read (`URL/TEXT/WIDTH/HEIGHT` and `url/caption/width/height`,
`aesthetic` or `AESTHETIC_SCORE`, `punsafe` or `p_unsafe`), float sizes become ints and byte text
becomes str. Rows: `s3_path` (the image: the URL, or `tar://<key>.jpg::<shard>` for img2dataset
shards), `caption`, `url`, `intWidth`/`intHeight` (original size, so `min_size` works),
`similarity`, `punsafe`, `pwatermark`, `aesthetic`, `hash`, `sample_id`, `license`, `nsfw`, `key`.

LAION's recommended safety thresholds apply by default: a row is kept when `punsafe < 0.5` and
`pwatermark < 0.8`; others (and rows without the score) are dropped as `filter:punsafe` /
`filter:pwatermark`. Set `max_punsafe: null` / `max_pwatermark: null` to keep everything; a source
without the column needs that, or the build stops (unscored data is not silently passed as safe).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from builders.columns import below, column_or_null, first_present
from builders.source import SourceBuilder, as_float, as_id, as_int, as_text
from builders.webdataset import IMAGE_EXTS, Sample, iter_samples
from hf_mixture.errors import SourceError
from hf_mixture.media.archives import GZIP_SUFFIXES
from hf_mixture.sources.rows import data_columns
from hf_mixture.sources.tables import TableReader
from hf_mixture.sources.text import non_finite_constant

SPELLINGS = {  # output column -> published spellings, in order of preference
    "s3_path": ("URL", "url"),
    "caption": ("TEXT", "caption", "text"),
    "url": ("URL", "url"),
    "intWidth": ("original_width", "WIDTH", "width"),
    "intHeight": ("original_height", "HEIGHT", "height"),
    "similarity": ("similarity",),
    "punsafe": ("punsafe", "p_unsafe"),
    "pwatermark": ("pwatermark", "p_watermark"),
    "aesthetic": ("aesthetic", "AESTHETIC_SCORE"),
    "hash": ("hash",),
    "sample_id": ("SAMPLE_ID", "sample_id"),
    "license": ("LICENSE",),
    "nsfw": ("NSFW",),
    "key": ("key",),
}
SCHEMA = pa.schema(
    [
        ("s3_path", pa.string()),
        ("caption", pa.string()),
        ("url", pa.string()),
        ("intWidth", pa.int64()),
        ("intHeight", pa.int64()),
        ("similarity", pa.float64()),
        ("punsafe", pa.float64()),
        ("pwatermark", pa.float64()),
        ("aesthetic", pa.float64()),
        ("hash", pa.int64()),
        ("sample_id", pa.string()),
        ("license", pa.string()),
        ("nsfw", pa.string()),
        ("key", pa.string()),
    ]
)
SCORES = ("similarity", "punsafe", "pwatermark", "aesthetic")


@dataclass(frozen=True)
class LaionOptions:
    """`max_punsafe` / `max_pwatermark`: keep rows strictly below (null: no filter)."""

    max_punsafe: float | None = 0.5
    max_pwatermark: float | None = 0.8

    def __post_init__(self):
        for name in ("max_punsafe", "max_pwatermark"):
            value = getattr(self, name)
            if value is not None and not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1] or null, got {value}")


class LaionBuilder(SourceBuilder):
    """LAION metadata parquet, or img2dataset shards (`{key}.jpg` + `.txt` + `.json`)."""

    NAME = "laion"
    OPTIONS = LaionOptions
    FILE_TYPES = (".parquet", ".tar", *GZIP_SUFFIXES)

    @classmethod
    def schema(cls, options) -> pa.Schema:
        return SCHEMA

    def read_tables(self) -> Iterator[pa.Table]:
        for path in self.entry.files:
            tables = self._shard_tables(path) if ".tar" in path.lower() else self._parquet_tables(path)
            for table in tables:
                yield self._safe(table, path)

    def _parquet_tables(self, path: str) -> Iterator[pa.Table]:
        for raw in TableReader(self.storage, [path]).iter_tables():
            if first_present(raw, SPELLINGS["s3_path"]) is None:
                raise SourceError(
                    f"{path}: no URL column (looked for {', '.join(SPELLINGS['s3_path'])}); "
                    f"the file has: {', '.join(data_columns(raw))}"
                )
            yield pa.table(
                {f.name: column_or_null(raw, SPELLINGS[f.name], f.type) for f in SCHEMA}, schema=SCHEMA
            )

    def _shard_tables(self, path: str) -> Iterator[pa.Table]:
        return self.tables_of(self._shard_rows(path))

    def _shard_rows(self, path: str) -> Iterator[dict]:
        return self.kept(iter_samples(self.storage, path, ["txt", "json"]), _shard_row)

    def _safe(self, table: pa.Table, path: str) -> pa.Table:
        checks = []
        for column, limit in (
            ("punsafe", self.options.max_punsafe),
            ("pwatermark", self.options.max_pwatermark),
        ):
            if limit is None:
                continue
            if len(table) and table[column].null_count == len(table):
                raise SourceError(
                    f"{path}: builder_options.max_{column} is {limit} but the source has no {column} "
                    f"scores; set `max_{column}: null` in builder_options to accept unscored rows"
                )
            checks.append((f"filter:{column}", below(table, column, limit)))
        return self.keep_rows(table, checks)


def _shard_row(sample: Sample) -> dict:
    image = sample.required_image_ref(IMAGE_EXTS)
    meta = _json_member(sample.texts.get("json"))
    caption = as_text(sample.texts.get("txt")) or as_text(_spelled(meta, "caption"))
    row = {"s3_path": image, "caption": caption, "key": as_id(meta.get("key")) or sample.key}
    row["url"] = as_text(_spelled(meta, "url"))
    row["intWidth"], row["intHeight"] = (
        as_int(_spelled(meta, "intWidth")),
        as_int(_spelled(meta, "intHeight")),
    )
    row.update({name: as_float(_spelled(meta, name)) for name in SCORES})
    row["hash"] = as_int(meta.get("hash"))
    row["sample_id"] = as_id(_spelled(meta, "sample_id"))
    row["license"], row["nsfw"] = as_text(meta.get("LICENSE")), as_text(meta.get("NSFW"))
    return row


def _json_member(data: bytes | None) -> dict:
    if not data:
        return {}
    try:
        value = json.loads(as_text(data), parse_constant=non_finite_constant)
    except (json.JSONDecodeError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _spelled(meta: dict, column: str):
    for name in SPELLINGS[column]:
        if meta.get(name) is not None:
            return meta[name]
    return None
