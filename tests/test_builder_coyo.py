"""The `coyo` builder: 17 published columns, HTML entities, optional thresholds."""

from __future__ import annotations

from builder_helpers import SOURCES, entry, source_rows

T2I = "preproces_text_to_image_generation_s3"
PART = SOURCES / "coyo" / "data" / "part-00000-17da4908-939c-46e5-91d0-15f256041956-c000.snappy.parquet"


def test_html_entities_are_decoded_even_when_doubly_escaped(tmp_path):
    rows, _ = source_rows(tmp_path, entry(PART, "coyo", T2I))
    captions = [r["caption"] for r in rows]
    assert captions[1:4] == ["Happy valentine's day card", "Tom & Jerry mug", "Café at night > day"]


def test_published_columns_are_kept_with_image_reference_aliases(tmp_path):
    rows, _ = source_rows(tmp_path, entry(PART, "coyo", T2I))
    first = rows[0]
    assert first["id"] == 841814333321 and first["image_phash"] == "c9b6a7d8469c1959"
    assert first["s3_path"] == first["url"] and (first["intWidth"], first["intHeight"]) == (1000, 988)
    assert first["num_tokens_gpt"] == 12 and abs(first["aesthetic_score_laion_v2"] - 5.435) < 1e-3


def test_thresholds_drop_rows_with_reasons(tmp_path):
    options = {"max_nsfw": 0.3, "max_watermark": 0.5}
    rows, drops = source_rows(tmp_path, entry(PART, "coyo", T2I, builder_options=options))
    assert drops == {"filter:nsfw": 1, "filter:watermark": 1}
    assert len(rows) == 3


def test_unescaping_can_be_turned_off(tmp_path):
    rows, _ = source_rows(tmp_path, entry(PART, "coyo", T2I, builder_options={"unescape_html": False}))
    assert rows[2]["caption"] == "Tom &amp; Jerry mug"
