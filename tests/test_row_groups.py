"""Row groups are cut by the bytes of their rows as written, and `validate` checks every one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset

from hf_mixture.export.hub_folder import ROW_GROUP_BYTES, table_row_bytes, write_stage
from hf_mixture.schema import FEATURES

IMAGE_BYTES = 1_200_000


def _rows(count: int, start: int, image: bytes | None) -> dict:
    return {
        "id": [f"e/{start + i}" for i in range(count)],
        "source": ["e"] * count,
        "task": ["understanding" if image else "t2i"] * count,
        "length_group": ["default"] * count,
        "conversations": [[{"from": "human", "value": f"caption {start + i}"}] for i in range(count)],
        "images": [[{"bytes": image, "path": "x.jpg"}] if image else [] for _ in range(count)],
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


def _text_then_images(text_rows: int, image_rows: int) -> Dataset:
    blob = np.random.default_rng(0).integers(0, 256, IMAGE_BYTES, dtype=np.uint8).tobytes()
    text = Dataset.from_dict(_rows(text_rows, 0, None), features=FEATURES)
    images = Dataset.from_dict(_rows(image_rows, text_rows, blob), features=FEATURES)
    from datasets import concatenate_datasets

    return concatenate_datasets([text, images])


def test_text_rows_then_large_images_make_no_row_group_above_the_bound(tmp_path):
    dataset = _text_then_images(6000, 300)
    average = dataset.data.nbytes / len(dataset)
    written = write_stage(dataset, tmp_path, "s", row_bytes=average)
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
