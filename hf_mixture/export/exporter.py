"""The base of the file exporters (LLaMA-Factory, LLaVA / LaViDa-O): stream a built stage's rows in
parquet batches, write each image once as a file under the export folder, convert each row to a
record, check it, and write records as JSON, JSONL or parquet. Nothing holds the whole stage.

A subclass implements `convert(row, media) -> dict` and `finish(result)` (its metadata files), and
may override `skip_reason(row)` (a row the target cannot learn from is not exported, counted by
reason in `export_report.json`), `check(record)` and `file_key(row)` (which data file a row goes to).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from hf_mixture.errors import HfMixtureError
from hf_mixture.export.export_report import EXPORT_REPORT, ExportTally, write_export_report
from hf_mixture.export.folder import iter_stage_batches, stage_num_rows

FORMATS = ("json", "jsonl", "parquet")
MEDIA_DIR = "images"


class ExportError(HfMixtureError, ValueError):
    """A row cannot be exported as the target format requires, or the export folder is unusable."""


@dataclass
class ExportResult:
    """What an export wrote: rows per data file, image files, and where."""

    to_dir: Path
    stage: str
    rows: dict[str, int] = field(default_factory=dict)
    data_files: dict[str, Path] = field(default_factory=dict)
    images_written: int = 0
    tally: ExportTally = field(default_factory=ExportTally)
    summary: dict = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        """Rows over all data files."""
        return sum(self.rows.values())


class MediaWriter:
    """Writes image bytes once each, content-addressed: `images/<h[:2]>/<sha1>.<ext>`."""

    def __init__(self, to_dir: Path):
        self.to_dir = to_dir
        self.written = 0

    def path_for(self, image: dict) -> str:
        """The image's file, relative to the export folder (written if new)."""
        data = image.get("bytes") if image else None
        if data is None:
            raise ExportError(
                f"image {image and image.get('path')!r} has no embedded bytes; rebuild the stage"
            )
        digest = hashlib.sha1(data).hexdigest()
        relative = f"{MEDIA_DIR}/{digest[:2]}/{digest}{image_suffix(data, image.get('path'))}"
        target = self.to_dir / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.written += 1
        return relative


def image_suffix(data: bytes, path: str | None) -> str:
    """A file suffix from the bytes' signature, else from the stored name, else `.img`."""
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    suffix = Path(path or "").suffix.lower()
    return suffix if suffix else ".img"


class RecordWriter:
    """Writes records to one data file: a JSON array, JSON lines, or parquet (batched)."""

    def __init__(self, path: Path, fmt: str, schema: pa.Schema | None = None):
        self.path, self.fmt, self.schema, self.count = path, fmt, schema, 0
        self._buffer: list[dict] = []
        self._parquet: pq.ParquetWriter | None = None
        self._file: IO[str] | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt != "parquet":
            self._file = path.open("w", encoding="utf-8")
            if fmt == "json":
                self._file.write("[")

    def write(self, record: dict) -> None:
        """Append one record."""
        if self.fmt == "parquet":
            self._buffer.append(record)
            if len(self._buffer) >= 256:
                self._flush()
        else:
            text = json.dumps(record, ensure_ascii=False)
            separator = ("\n" if self.count == 0 else ",\n") if self.fmt == "json" else ""
            self._file.write(f"{separator}{text}" + ("\n" if self.fmt == "jsonl" else ""))
        self.count += 1

    def close(self) -> None:
        """Finish the file."""
        if self.fmt == "parquet":
            self._flush()
            if self._parquet is None:
                pq.write_table(self.schema.empty_table(), self.path)
            else:
                self._parquet.close()
        else:
            if self.fmt == "json":
                self._file.write("\n]\n")
            self._file.close()

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, table.schema, write_page_index=True)
        self._parquet.write_table(table)
        self._buffer = []


class Exporter:
    """Stream one stage of a built folder into `to_dir` in a training framework's format."""

    name = "export"
    schema: pa.Schema | None = None  # the parquet schema of a record

    def __init__(self, out_dir: str | Path, stage: str, to_dir: str | Path, fmt: str = "jsonl"):
        if fmt not in FORMATS:
            raise ExportError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
        self.out_dir, self.stage, self.fmt = Path(out_dir), stage, fmt
        self.to_dir = Path(to_dir).absolute()

    def convert(self, row: dict, media: MediaWriter) -> dict:
        """The record of one stored row (image columns hold `{bytes, path}` dicts)."""
        raise NotImplementedError

    def skip_reason(self, row: dict) -> str | None:
        """Why a stored row is not exported (a reason code for the report), or None to export it."""
        return None

    def check(self, record: dict) -> str | None:
        """What is wrong with a record for the target framework, or None."""
        return None

    def summary(self) -> dict:
        """What the export report says about the run besides the counts (target, stage, choices)."""
        return {"target": self.name, "stage": self.stage, "format": self.fmt}

    def file_key(self, row: dict) -> str:
        """Which data file a row goes to (default: one file per stage)."""
        return self.stage

    def data_path(self, key: str) -> Path:
        """The data file of a key."""
        return self.to_dir / f"{key}.{self.fmt}"

    def finish(self, result: ExportResult) -> None:
        """Write the framework's metadata files once every row is written."""

    def run(self, *, progress: bool = True) -> ExportResult:
        """Export every row of the stage the target can learn from, counting the others by reason in
        `<to>/export_report.json`. Raises ExportError naming the first bad row, or when no row of
        the stage is exportable."""
        self.to_dir.mkdir(parents=True, exist_ok=True)
        media, writers = MediaWriter(self.to_dir), {}
        result = ExportResult(self.to_dir, self.stage)
        total = stage_num_rows(self.out_dir, self.stage)
        try:
            with tqdm(total=total, desc=f"{self.name} {self.stage}", unit="row", disable=not progress) as bar:
                for batch in iter_stage_batches(self.out_dir, self.stage):
                    for row in batch.to_pylist():
                        self._export_row(row, media, writers, result.tally)
                    bar.update(batch.num_rows)
        finally:
            for writer in writers.values():
                writer.close()
        result.rows = {key: w.count for key, w in writers.items()}
        result.data_files = {key: w.path for key, w in writers.items()}
        result.images_written = media.written
        result.summary = self.summary()
        write_export_report(self.to_dir, result.summary, result.tally, total)
        if not result.tally.exported:
            raise self._nothing_exported(result.tally)
        self.finish(result)
        return result

    def empty_hint(self) -> str:
        """What to do when no row of a stage is exportable."""
        return "Export another stage."

    def _nothing_exported(self, tally: ExportTally) -> ExportError:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(tally.reasons().items()))
        return ExportError(
            f"{self.out_dir}/{self.stage}: nothing to export for {self.name}: all {tally.read} rows are "
            f"left out ({reasons}; see {self.to_dir}/{EXPORT_REPORT}). {self.empty_hint()}"
        )

    def _export_row(self, row: dict, media: MediaWriter, writers: dict, tally: ExportTally) -> None:
        reason = self.skip_reason(row)
        tally.count(row.get("source") or "", reason)
        if reason is not None:
            return
        record = self.convert(row, media)
        problem = self.check(record)
        if problem:
            raise ExportError(
                f"{self.out_dir}/{self.stage}: row {row.get('id')!r} (source {row.get('source')!r}) cannot "
                f"be exported for {self.name}: {problem}. Rebuild the stage (the build checks this) or drop "
                "the row"
            )
        key = self.file_key(row)
        if key not in writers:
            writers[key] = RecordWriter(self.data_path(key), self.fmt, self.schema)
        writers[key].write(record)
