"""Unified records: LaViDa-O's `<image>` fix at build time and the schema invariants, per row."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_mixture.preprocess.common import turns
from hf_mixture.records import (
    IMAGE_TOKENS,
    image_token_hits,
    invariant_reasons,
    prepend_missing_image_tokens,
    records_to_table,
)


def reasons(*records) -> list:
    return invariant_reasons(records_to_table(list(records))).tolist()


def t2i(**keys) -> dict:
    return {
        "task": "t2i",
        "conversations": turns("draw [[micro_conds_texts]]", "Sure <image_gen>"),
        "image_gen": ["t.jpg"],
        **keys,
    }


def test_a_valid_row_breaks_no_invariant():
    assert reasons(t2i()) == [None]


def test_missing_image_token_is_prepended_to_the_first_turn():
    table = prepend_missing_image_tokens(
        records_to_table(
            [{"task": "understanding", "conversations": turns("What is it?", "A cat."), "images": ["a.jpg"]}]
        )
    )
    assert table["conversations"][0][0]["value"].as_py() == "<image>\nWhat is it?"
    assert invariant_reasons(table).tolist() == [None]


def test_rows_without_images_are_not_given_a_token():
    table = prepend_missing_image_tokens(
        records_to_table([{"task": "understanding", "conversations": turns("2+2?", "4")}])
    )
    assert table["conversations"][0][0]["value"].as_py() == "2+2?"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (
            {"task": "understanding", "conversations": turns("<image> <image> hi", "x"), "images": ["a"]},
            "invariant:image_token_count",
        ),
        (
            {"task": "understanding", "conversations": turns("hi", "a literal <image> in the answer")},
            "invariant:image_token_count",
        ),
        (t2i(image_gen=[]), "invariant:image_gen_token_count"),
        (
            {
                "task": "edit",
                "conversations": turns("<image> edit", "Sure <image_gen>"),
                "images": ["s"],
                "image_gen": ["t"],
                "image_gen_enc": [0],
            },
            "invariant:image_gen_enc_token_count",
        ),
        (
            {
                "task": "edit",
                "conversations": turns("<image> <image_gen_enc> edit", "Sure <image_gen>"),
                "images": ["s"],
                "image_gen": ["t"],
                "image_gen_enc": [1],
            },
            "invariant:image_gen_enc_index",
        ),
        (
            {"task": "t2i", "conversations": [{"from": "gpt", "value": "x"}]},
            "invariant:turns_not_alternating",
        ),
        (
            {"task": "t2i", "conversations": turns("a", "b", "c", "d")[:1] + turns("a", "b")[:1]},
            "invariant:turns_not_alternating",
        ),
        ({"task": "t2i", "conversations": turns("hello", "   ")}, "invariant:empty_turn"),
        ({"task": "t2i", "conversations": []}, "invariant:no_turns"),
        (t2i(task="captioning"), "invariant:unknown_task"),
    ],
)
def test_each_broken_invariant_has_its_reason(record, reason):
    assert reasons(record) == [reason]


def test_reasons_are_per_row():
    assert reasons(t2i(), t2i(image_gen=[]), t2i()) == [None, "invariant:image_gen_token_count", None]


TOKEN_PARTS = ["<image>", "<image_gen>", "<image_gen_enc>", "<image", "_gen>", "<", ">", "é", " ", "x"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.lists(st.sampled_from(TOKEN_PARTS), max_size=8).map("".join)), max_size=20
    ),
    st.integers(0, 3),
    st.booleans(),
)
def test_image_token_hits_count_what_count_substring_counts(strings, skip, large):
    values = pa.array(strings, type=pa.large_string() if large else pa.string()).slice(skip)
    rows, kinds = image_token_hits(values)
    for k, token in enumerate(IMAGE_TOKENS):
        expected = pc.fill_null(pc.count_substring(values, token), 0).to_numpy(zero_copy_only=False)
        assert np.bincount(rows[kinds == k], minlength=len(values)).tolist() == expected.tolist()
