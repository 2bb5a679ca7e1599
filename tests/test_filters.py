"""LaViDa-O's filters on Arrow tables: strict aesthetic cutoff, min_size, max_enc_images."""

from collections import Counter

import pyarrow as pa

from hf_mixture.config.model import EntryConfig, MaxEncImages
from hf_mixture.config.sampling_strategy import parse_sampling_strategy
from hf_mixture.filters import aes_filter, apply_filters, max_enc_images_filter, min_size_filter
from hf_mixture.pipeline import entry_filters


def entry(**keys) -> EntryConfig:
    return EntryConfig(
        index=0,
        name="e",
        key="e",
        json_path="x.parquet",
        files=("x.parquet",),
        sampling=parse_sampling_strategy("all"),
        preprocess_fn="p",
        **keys,
    )


def test_aes_cutoff_keeps_scores_strictly_above():
    table = pa.table({"fltLaionAesthScore": [5.67, 5.68, 7.0, 5.0]})
    assert aes_filter("fltLaionAesthScore", 5.67, False).keep(table).tolist() == [False, True, True, False]


def test_aes_cutoff_drops_nan_and_null_scores():
    table = pa.table({"fltLaionAesthScore": [float("nan"), None, 9.0]})
    assert aes_filter("fltLaionAesthScore", 5.0, True).keep(table).tolist() == [False, False, True]


def test_min_size_needs_both_sides_at_least_the_minimum():
    table = pa.table({"intHeight": [512, 511, 600, 512.0], "intWidth": [512, 600, 511, 2048.0]})
    assert min_size_filter(512).keep(table).tolist() == [True, False, False, True]


def test_max_enc_images_counts_list_items_and_a_string_as_one():
    lists = pa.table({"image": [["a"], ["a", "b", "c"], []]})
    strings = pa.table({"image": ["a", None]})
    assert max_enc_images_filter("image", 2).keep(lists).tolist() == [True, False, True]
    assert max_enc_images_filter("image", 0).keep(strings).tolist() == [False, True]


def test_drops_are_counted_under_the_first_filter_that_fails():
    table = pa.table(
        {"fltLaionAesthScore": [4.0, 6.0, 6.0], "intHeight": [100, 100, 600], "intWidth": [100, 100, 600]}
    )
    drops = Counter()
    mask = apply_filters(table, [aes_filter("fltLaionAesthScore", 5.0, True), min_size_filter(512)], drops)
    assert mask.tolist() == [False, False, True]
    assert drops == {"filter:aes_cutoff": 1, "filter:min_size": 1}


def test_implicit_cutoff_of_5_applies_when_the_score_column_is_loaded():
    filters = entry_filters(entry(), ["s3_path", "fltLaionAesthScore"])
    assert [f.reason for f in filters] == ["filter:aes_cutoff"]
    assert "5.0" in filters[0].description and "implicit" in filters[0].description


def test_no_aesthetic_filter_when_the_score_column_is_not_loaded():
    assert entry_filters(entry(), ["s3_path", "caption"]) == []


def test_explicit_cutoff_replaces_the_implicit_one():
    (aes,) = entry_filters(entry(aes_cutoff=5.67), ["fltLaionAesthScore"])
    assert "5.67" in aes.description and "implicit" not in aes.description


def test_filters_apply_in_lavida_order():
    filters = entry_filters(
        entry(min_size=512, max_enc_images=MaxEncImages(column="image", value=1)),
        ["fltLaionAesthScore", "intHeight", "intWidth", "image"],
    )
    assert [f.reason for f in filters] == ["filter:aes_cutoff", "filter:min_size", "filter:max_enc_images"]
