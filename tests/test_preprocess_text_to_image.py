"""Text-to-image preprocess functions: exact records for known rows, and batch == row forms."""

import numpy as np
import pyarrow as pa
import pytest

from hf_mixture.errors import SkipRow
from hf_mixture.preprocess.registry import SKIP_REASON, get_preprocess
from hf_mixture.records import conform, records_to_table

S3 = "preproces_text_to_image_generation_s3"
PIAT = "preproces_text_to_image_generation_piat_hash"


def call(name, row, seed=0, **kwargs):
    return get_preprocess(name).row(row, rng=np.random.default_rng(seed), **kwargs)


def test_s3_row_keeps_the_whole_caption_and_the_placeholder():
    caption = "A long caption. " * 60  # > 800 characters: no cut, no truncation at build time
    record = call(
        S3, {"s3_path": "s3://b/1.jpg", "caption": caption, "fltLaionAesthScore": 6.5, "hpsv2": 0.3}
    )
    assert record == {
        "task": "t2i",
        "conversations": [
            {
                "from": "human",
                "value": f"Generate an image with the caption: {caption} [[micro_conds_texts]]",
            },
            {"from": "gpt", "value": "Sure <image_gen>"},
        ],
        "image_gen": ["s3://b/1.jpg"],
        "gen_score": 6.5,
        "hpsv2": 0.3,
    }


def test_s3_random_caption_keys_pick_a_column_with_the_row_rng():
    row = {"s3_path": "p.jpg", "short": "short one", "long": "long one", "other": "third"}
    keys = ["short", "long", "other"]
    expected = keys[int(np.random.default_rng(5).integers(3))]
    record = call(S3, row, seed=5, random_caption_keys=keys)
    assert record["conversations"][0]["value"].startswith(
        f"Generate an image with the caption: {row[expected]} "
    )
    assert expected == "other"  # pinned for seed 5
    assert call(S3, row, seed=5, random_caption_keys=keys) == record


def test_s3_missing_caption_is_skipped_with_a_reason():
    with pytest.raises(SkipRow, match="preprocess:missing_caption"):
        call(S3, {"s3_path": "p.jpg", "caption": "  "})


def test_piat_hash_row_points_at_the_hash_store():
    record = call(
        PIAT, {"strImagehash": "3f9a", "longLLA_captions": "A kite.", "fltLaionAesthScore": float("nan")}
    )
    assert record == {
        "task": "t2i",
        "conversations": [
            {"from": "human", "value": "Generate an image with the caption: A kite. [[micro_conds_texts]]"},
            {"from": "gpt", "value": "Sure <image_gen>"},
        ],
        "image_gen": ["piat://3f9a"],
        "gen_score": None,
        "hpsv2": None,
    }


def test_piat_needs_follow_the_caption_key():
    assert get_preprocess(PIAT).needs({}) == ["strImagehash", "longLLA_captions"]
    assert get_preprocess(PIAT).needs({"caption_key": "llava_next_caption"}) == [
        "strImagehash",
        "llava_next_caption",
    ]


@pytest.mark.parametrize(
    "name, columns, kwargs",
    [
        (
            PIAT,
            {"strImagehash": ["a1", None, "c3"], "caption": ["one", "two", ""]},
            {"caption_key": "caption"},
        ),
        (
            S3,
            {
                "s3_path": ["a.jpg", "b.jpg", None],
                "caption": ["one", None, "three"],
                "hpsv2": [0.1, None, 0.3],
            },
            {},
        ),
    ],
)
def test_batch_form_equals_row_form(name, columns, kwargs):
    function = get_preprocess(name)
    table = pa.table(columns)
    partial = function.batch(table, **kwargs)
    reasons = partial[SKIP_REASON].to_pylist()
    rows, expected_reasons = [], []
    for row in table.to_pylist():
        try:
            rows.append(function.row(row, rng=np.random.default_rng(0), **kwargs))
            expected_reasons.append(None)
        except SkipRow as skip:
            rows.append({"task": "t2i", "conversations": []})
            expected_reasons.append(skip.reason)
    assert reasons == expected_reasons
    assert reasons.count(None) == 1
    kept = [i for i, r in enumerate(reasons) if r is None]
    assert conform(partial, len(table)).take(kept).equals(records_to_table(rows).take(kept))
