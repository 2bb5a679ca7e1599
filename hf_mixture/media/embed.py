"""Turn a table's image references into embedded, checked image bytes, in parallel threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from hf_mixture.media.fetch import ImageFetcher, image_name
from hf_mixture.media.images import CheckedImage, MediaError
from hf_mixture.schema import FEATURES

IMAGE_LIST_TYPE = FEATURES.arrow_schema.field("images").type


def embed_images(
    table: pa.Table, fetcher: ImageFetcher, *, short_side: int | None, executor: ThreadPoolExecutor
) -> tuple[pa.Table, np.ndarray]:
    """`table` with `images` / `image_gen` as embedded bytes and `original_*` set, and per row the
    reason it must be dropped (None to keep). Targets (`image_gen`) are resized to `short_side`."""
    images, targets = table["images"].to_pylist(), table["image_gen"].to_pylist()
    wanted = {(ref, None) for refs in images for ref in refs or []}
    wanted |= {(ref, short_side) for refs in targets for ref in refs or []}
    results = dict(zip(wanted, executor.map(lambda key: _fetch(fetcher, *key), wanted)))
    reasons = np.full(len(table), None, dtype=object)
    image_cells, target_cells, widths, heights = [], [], [], []
    for row, (row_images, row_targets) in enumerate(zip(images, targets)):
        found = [results[(r, None)] for r in row_images or []]
        made = [results[(r, short_side)] for r in row_targets or []]
        failure = next((x for x in found + made if isinstance(x, str)), None)
        reasons[row] = failure
        ok = failure is None
        image_cells.append(_cells(row_images, found) if ok else [])
        target_cells.append(_cells(row_targets, made) if ok else [])
        widths.append(made[0].width if ok and made else None)
        heights.append(made[0].height if ok and made else None)
    return _with_columns(table, image_cells, target_cells, widths, heights), reasons


def _fetch(fetcher: ImageFetcher, ref: str, short_side: int | None) -> CheckedImage | str:
    try:
        return fetcher.fetch(ref, short_side)
    except MediaError as err:
        return err.reason


def _cells(refs, checked: list[CheckedImage]) -> list[dict]:
    return [{"bytes": c.data, "path": image_name(r)} for r, c in zip(refs or [], checked)]


def _with_columns(table: pa.Table, images, targets, widths, heights) -> pa.Table:
    columns = {
        "images": pa.array(images, type=IMAGE_LIST_TYPE),
        "image_gen": pa.array(targets, type=IMAGE_LIST_TYPE),
        "original_width": pa.array(widths, type=pa.int32()),
        "original_height": pa.array(heights, type=pa.int32()),
    }
    for name, column in columns.items():
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table
