"""The `laion` builder: both column spellings, int sizes, safety thresholds, img2dataset shards."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builder_helpers import SOURCES, build_and_load, entry, source_rows
from factories import jpeg_bytes

from hf_mixture.errors import SourceError

T2I = "preproces_text_to_image_generation_s3"
ORIGINAL = SOURCES / "laion" / "part-00000-5114fd87-demo-c000.snappy.parquet"
RELAION = SOURCES / "laion" / "relaion2B-en-research-safe-part-00000.parquet"
SHARD = SOURCES / "laion" / "shards" / "00000.tar"


def test_both_spellings_give_the_same_columns(tmp_path):
    upper, _ = source_rows(tmp_path, entry(ORIGINAL, "laion", T2I))
    lower, _ = source_rows(tmp_path, entry(RELAION, "laion", T2I))
    assert upper[0].keys() == lower[0].keys()
    assert upper[0]["s3_path"] == upper[0]["url"] == "https://images.example.com/laion/0.jpg"
    assert upper[0]["caption"] == "A red bicycle against a wall"
    assert lower[0]["caption"] == "A lighthouse at dusk" and lower[0]["aesthetic"] == 5.8


def test_float_sizes_become_ints(tmp_path):
    rows, _ = source_rows(tmp_path, entry(ORIGINAL, "laion", T2I))
    assert (rows[0]["intWidth"], rows[0]["intHeight"]) == (1300, 866)
    assert isinstance(rows[0]["intWidth"], int)


def test_recommended_safety_thresholds_drop_and_count(tmp_path):
    rows, drops = source_rows(tmp_path, entry(ORIGINAL, "laion", T2I))
    assert drops == {"filter:punsafe": 1, "filter:pwatermark": 1}
    assert all(r["punsafe"] < 0.5 and r["pwatermark"] < 0.8 for r in rows)


def test_thresholds_can_be_turned_off(tmp_path):
    options = {"max_punsafe": None, "max_pwatermark": None}
    rows, drops = source_rows(tmp_path, entry(ORIGINAL, "laion", T2I, builder_options=options))
    assert len(rows) == 5 and drops == {}


def test_source_without_safety_scores_needs_an_explicit_choice(tmp_path):
    path = tmp_path / "laion2B-en.parquet"
    pq.write_table(
        pa.table({"URL": ["https://x/1.jpg"], "TEXT": ["a"], "WIDTH": [1.0], "HEIGHT": [1.0]}), path
    )
    with pytest.raises(SourceError, match="max_punsafe: null"):
        source_rows(tmp_path, entry(path, "laion", T2I))


def test_threshold_out_of_range_is_a_config_error(tmp_path):
    from hf_mixture.errors import ConfigError

    with pytest.raises(ConfigError, match=r"max_punsafe must be in \(0, 1\]"):
        source_rows(tmp_path, entry(ORIGINAL, "laion", T2I, builder_options={"max_punsafe": 5}))


def test_img2dataset_shard_rows_reference_the_jpg_member(tmp_path):
    rows, drops = source_rows(tmp_path, entry(SHARD, "laion", T2I))
    assert drops == {"filter:punsafe": 1}
    assert rows[0]["s3_path"] == f"tar://000000000.jpg::{SHARD}"
    assert rows[0]["url"] == "https://images.example.com/shard/0.jpg"
    assert (rows[0]["intWidth"], rows[0]["intHeight"]) == (1024, 768)  # original size, not the resized one


def test_images_by_url_build_and_drops_balance(tmp_path, http_server):
    urls = [http_server.write(f"img/{i}.jpg", jpeg_bytes((48, 32))) for i in range(3)]
    path = tmp_path / "relaion.parquet"
    pq.write_table(
        pa.table(
            {
                "url": urls,
                "caption": ["a", "b", "c"],
                "width": [48, 48, 48],
                "height": [32, 32, 32],
                "punsafe": [0.1, 0.7, 0.2],
                "pwatermark": [0.1, 0.1, 0.1],
            }
        ),
        path,
    )
    result, dataset = build_and_load(tmp_path, [entry(path, "laion", T2I, name="laion")])
    stats = result.entries[0]
    assert len(dataset) == 2 and stats.read == 3 and stats.dropped["filter:punsafe"] == 1
    assert stats.balance() == 0
