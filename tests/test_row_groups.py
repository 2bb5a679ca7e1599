"""Row groups are cut by the bytes of their rows as written, and `validate` checks every one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset, concatenate_datasets

from hf_mixture.export.entry_files import EntryFiles, data_bytes
from hf_mixture.export.hub_folder import ROW_GROUP_BYTES, table_row_bytes, write_stage
from hf_mixture.export.out_folder import atomic_write
from hf_mixture.export.readme_update import rebuild_readme
from hf_mixture.export.validate import validate_folder
from hf_mixture.mixing.order import plan_mix
from hf_mixture.schema import FEATURES

IMAGE_BYTES = 1_200_000


def _rows(count: int, start: int, image: bytes | None) -> dict:
    return {
        "id": [f"e/{start + i}" for i in range(count)],
        "source": ["e"] * count,
        "task": ["understanding" if image else "t2i"] * count,
        "length_group": ["default"] * count,
        "conversations": [[{"from": "human", "value": f"caption {start + i}"}] for i in range(count)],
        "images": [
            [{"bytes": i.to_bytes(4, "big") + image, "path": "x.jpg"}] if image else [] for i in range(count)
        ],
        "image_gen": [[] for _ in range(count)],
        "image_gen_enc": [[] for _ in range(count)],
        "pad_image_gen": [False] * count,
        "do_not_mask_text": [False] * count,
        "reweight": [False] * count,
        "gen_score": [None] * count,
        "hpsv2": [None] * count,
        "original_width": [None] * count,
        "original_height": [None] * count,
        "license": [None] * count,
    }


def _text_then_images(text_rows: int, image_rows: int, image_bytes: int = IMAGE_BYTES) -> Dataset:
    blob = np.random.default_rng(0).integers(0, 256, image_bytes, dtype=np.uint8).tobytes()
    text = Dataset.from_dict(_rows(text_rows, 0, None), features=FEATURES)
    images = Dataset.from_dict(_rows(image_rows, text_rows, blob), features=FEATURES)
    return concatenate_datasets([text, images])


def _write_stage(dataset: Dataset, out, stage: str):
    """`dataset` written as the stage's only entry (one parquet file), in its order."""
    entry = out.parent / f"{out.name}-entry.parquet"
    pq.write_table(dataset.data.table, entry)
    files = EntryFiles(str(entry.parent), (entry.name,), (len(dataset),), data_bytes(dataset.data.table))
    order = plan_mix([len(dataset)], [1.0], seed=0, stopping_strategy="all_exhausted")
    return write_stage(out, stage, order, [files])


def test_text_rows_then_large_images_make_no_row_group_above_the_bound(tmp_path):
    dataset = _text_then_images(6000, 300)
    written = _write_stage(dataset, tmp_path / "out", "s")
    sizes = [
        pq.read_metadata(f).row_group(g).total_byte_size
        for f in written.files
        for g in range(pq.read_metadata(f).num_row_groups)
    ]
    assert written.num_examples == 6300
    assert max(sizes) <= ROW_GROUP_BYTES, f"largest row group {max(sizes):,} bytes"


def test_row_bytes_count_nested_image_bytes():
    table = pa.table({"images": [[{"bytes": b"x" * 1000, "path": "a"}], [], None]})
    sizes = table_row_bytes(table)
    assert sizes[0] >= 1000 and sizes[1] < 100 and sizes[2] < 100


def _folder(tmp_path, dataset: Dataset, row_group_size: int | None = None):
    """A built folder holding `dataset` as stage `s` (optionally re-written with fixed-size row groups)."""
    out = tmp_path / "out"
    written = _write_stage(dataset, out, "s")
    if row_group_size:
        (shard,) = written.files
        table = pq.read_table(shard)
        pq.write_table(table, shard, row_group_size=row_group_size, write_page_index=True)
    atomic_write(out, "s/stage.yaml", "datasets: []\n")
    rebuild_readme(out)
    return out


def _check(report, name: str):
    return next(c for c in report.checks if c.name == name)


def test_validate_sizes_every_row_group_not_only_the_first_rows(tmp_path):
    dataset = _text_then_images(300, 40, image_bytes=50_000)
    out = _folder(tmp_path, dataset, row_group_size=300)  # 300 text rows, then one group of 40 images
    report = validate_folder(out, scan_limit=1_000_000)
    assert _check(report, "first rows scan size").ok
    check = _check(report, "row group sizes")
    assert not check.ok and "row group 1" in check.message


def test_validate_samples_images_across_the_stage_and_fails_on_bad_ones_after_text_rows(tmp_path):
    out = _folder(tmp_path, _text_then_images(300, 20, image_bytes=5_000))  # random bytes: not an image
    check = _check(validate_folder(out), "images")
    assert not check.ok and "does not decode" in check.message and "of 16 sampled" in check.message
