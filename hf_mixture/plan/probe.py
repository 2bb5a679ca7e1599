"""Probe a seeded sample of an entry's kept rows: fetch and check their images as a build would
(`hf_mixture.media.embed.embed_images`), keep nothing, and measure what the build would write."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hf_mixture.config.model import StageSettings
from hf_mixture.media.embed import embed_images
from hf_mixture.media.fetch import ImageFetcher
from hf_mixture.media.images import MediaError, check_image
from hf_mixture.plan.size import footer_bytes
from hf_mixture.schema import IMAGE_COLUMNS

SAMPLE_KEY = "__hf_mixture_plan_key"
FIRST_FAILURES = 5


class RowSample:
    """A seeded uniform sample of at most `size` rows of a stream of tables (the rows whose random
    key is smallest), holding at most 2 x `size` rows at a time."""

    def __init__(self, size: int, seed: list[int]):
        self.size, self.rng = size, np.random.default_rng([*seed, 0x9E0BE])
        self.seen = 0
        self._kept: pa.Table | None = None

    def add(self, table: pa.Table) -> None:
        """Offer every row of `table` to the sample."""
        self.seen += len(table)
        if not self.size or not len(table):
            return
        keyed = table.append_column(SAMPLE_KEY, pa.array(self.rng.random(len(table))))
        joined = keyed if self._kept is None else pa.concat_tables([self._kept, keyed])
        if len(joined) > self.size:
            order = pc.sort_indices(joined, [(SAMPLE_KEY, "ascending")])[: self.size]
            joined = joined.take(order)
        self._kept = joined

    @property
    def rows(self) -> pa.Table | None:
        """The sampled rows (REFERENCE_SCHEMA), or None when no row was offered."""
        return None if self._kept is None else self._kept.drop_columns([SAMPLE_KEY])

    @property
    def complete(self) -> bool:
        """Whether every row offered is in the sample (the probe then counts exactly)."""
        return self.seen <= self.size


@dataclass
class ProbeResult:
    """What probing the sampled rows found.

    `rows`/`rows_ok`: rows probed / rows whose every image fetched and checked (`drops`: the others
    by reason); `references`: distinct image references probed; `image_bytes`: sizes of the checked
    images as they would be written (after `resolution`); `image_row_bytes` / `text_row_bytes`:
    bytes per kept row of the image columns / the other columns (`written_bytes`); `footer_bytes`: of a
    parquet file of the kept rows, what is not column data (plan/size.py); `failures`: the
    first (reference, reason, detail); `wall_seconds`/`cpu_seconds`: time the probe took (threads
    as in the build)."""

    rows: int = 0
    rows_ok: int = 0
    references: int = 0
    drops: dict = field(default_factory=dict)
    image_bytes: list[int] = field(default_factory=list)
    image_row_bytes: float = 0.0
    text_row_bytes: float = 0.0
    footer_bytes: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def median_image_bytes(self) -> float | None:
        return statistics.median(self.image_bytes) if self.image_bytes else None

    @property
    def ok_fraction(self) -> float:
        """Share of probed rows whose images all resolve (1 when nothing was probed)."""
        return self.rows_ok / self.rows if self.rows else 1.0

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "rows_ok": self.rows_ok,
            "references": self.references,
            "drops": dict(sorted(self.drops.items())),
            "median_image_bytes": self.median_image_bytes,
            "image_bytes_per_row": round(self.image_row_bytes, 1),
            "other_bytes_per_row": round(self.text_row_bytes, 1),
            "first_failures": [{"reference": r, "reason": w, "detail": d} for r, w, d in self.failures],
            "wall_seconds": round(self.wall_seconds, 4),
            "cpu_seconds": round(self.cpu_seconds, 4),
        }


def probe_rows(rows: pa.Table | None, fetcher: ImageFetcher, settings: StageSettings) -> ProbeResult:
    """Fetch and check the images of `rows` (reference records) exactly as the build's media step
    does; nothing is written."""
    result = ProbeResult()
    if rows is None or not len(rows):
        return result
    wall, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=settings.image_workers) as executor:
        embedded, reasons = embed_images(
            rows, fetcher, short_side=settings.resolution, executor=executor, check=settings.image_check
        )
    result.wall_seconds, result.cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    failed = np.array([r is not None for r in reasons], dtype=bool)
    result.rows, result.rows_ok = len(rows), int(np.count_nonzero(~failed))
    result.drops = _counts(reason for reason in reasons if reason is not None)
    kept = embedded.filter(pa.array(~failed))
    result.image_bytes = [len(cell["bytes"]) for column in IMAGE_COLUMNS for cells in
                          kept[column].to_pylist() for cell in cells or []]  # fmt: skip
    result.image_row_bytes, result.text_row_bytes = written_bytes(kept)
    result.footer_bytes = footer_bytes(kept)
    references = {ref for column in IMAGE_COLUMNS for refs in rows[column].to_pylist() for ref in refs or []}
    result.references = len(references)
    result.failures = first_failures(rows.filter(pa.array(failed)), fetcher, settings)
    return result


def written_bytes(kept: pa.Table) -> tuple[float, float]:
    """Bytes per row the build's parquet would hold for the rows of `kept` (images embedded): images
    (written plain and uncompressed, so once per time a row is written: bytes, name, offsets) and the
    other columns (their Arrow size: dictionary-encoded in the file, so about once per distinct row)."""
    if not len(kept):
        return 0.0, 0.0
    image = sum(len(cell["bytes"]) + len(cell["path"] or "") + 8 for column in IMAGE_COLUMNS
                for cells in kept[column].to_pylist() for cell in cells or [])  # fmt: skip
    other = kept.drop_columns(list(IMAGE_COLUMNS)).nbytes
    return image / len(kept), other / len(kept)


def first_failures(
    rows: pa.Table, fetcher: ImageFetcher, settings: StageSettings
) -> list[tuple[str, str, str]]:
    """(reference, reason, detail) of the first failing images of `rows`, at most FIRST_FAILURES."""
    found: list[tuple[str, str, str]] = []
    for ref, short_side in _references(rows):
        failure = _failure(ref, short_side, fetcher, settings)
        if failure is not None:
            found.append((ref, *failure))
            if len(found) >= FIRST_FAILURES:
                break
    return found


def _references(rows: pa.Table):
    """(reference, column) of every distinct image of `rows` (`image_gen` targets are resized)."""
    seen = set()
    for column in IMAGE_COLUMNS:
        for refs in rows[column].to_pylist():
            for ref in refs or []:
                if (ref, column) not in seen:
                    seen.add((ref, column))
                    yield ref, column


def _failure(ref: str, column: str, fetcher: ImageFetcher, settings: StageSettings) -> tuple[str, str] | None:
    short_side = settings.resolution if column == "image_gen" else None
    try:
        check_image(fetcher.read(ref), short_side, settings.image_check)
    except MediaError as err:
        return err.reason, str(err)
    return None


def _counts(reasons) -> dict:
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    return counts
