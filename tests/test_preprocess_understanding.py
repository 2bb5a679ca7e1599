"""Understanding, judge and LOC-string grounding preprocess functions: exact records."""

import json

import numpy as np
import pytest

from hf_mixture.errors import SkipRow
from hf_mixture.preprocess.registry import get_preprocess

TURNS = [{"from": "human", "value": "<image>\nWhat is shown?"}, {"from": "gpt", "value": "A chart."}]


def call(name, row, seed=0, **kwargs):
    return get_preprocess(name).row(row, rng=np.random.default_rng(seed), **kwargs)


def test_mammoth_reads_json_turns_and_joins_the_prefix():
    record = call(
        "preproces_und_mammoth_si_10M",
        {"image": "chartqa/1.jpg", "conversations": json.dumps(TURNS)},
        s3_prefix="s3://mammoth/",
    )
    assert record == {
        "task": "understanding",
        "conversations": TURNS,
        "images": ["s3://mammoth/chartqa/1.jpg"],
    }


def test_mammoth_text_only_row_has_no_image_and_bad_json_is_skipped():
    assert call("preproces_und_mammoth_si_10M", {"image": None, "conversations": TURNS})["images"] == []
    with pytest.raises(SkipRow, match="conversations_not_json"):
        call("preproces_und_mammoth_si_10M", {"image": None, "conversations": "{oops"})


def test_vw_instruct_short_answer_is_unchanged():
    record = call(
        "preproces_vw_instruct", {"image": ["a.png", "b.png"], "conversations": TURNS}, s3_prefix="s3://vw"
    )
    assert record == {
        "task": "understanding",
        "conversations": TURNS,
        "images": ["s3://vw/a.png", "s3://vw/b.png"],
    }


def test_vw_instruct_long_answer_asks_for_reasoning_traces():
    long = [{"from": "human", "value": "<image>\nSolve it."}, {"from": "gpt", "value": "word " * 151}]
    record = call("preproces_vw_instruct", {"image": ["a.png"], "conversations": long})
    assert record["conversations"][0]["value"] == (
        "<image>\nSolve it.\n Please also perform detailed reasoning for this problem and provide detailed "
        "reasoning traces."
    )
    exactly_150 = [long[0], {"from": "gpt", "value": "word " * 150}]
    assert (
        call("preproces_vw_instruct", {"image": None, "conversations": exactly_150})["conversations"]
        == exactly_150
    )


def test_reflection_judge_row():
    record = call(
        "preprocess_reflection_und",
        {"image": "g/1.png", "prompts": "a red cube", "results": "Wrong colour."},
        s3_prefix="s3://rd",
    )
    assert record == {
        "task": "reflection",
        "conversations": [
            {
                "from": "human",
                "value": (
                    "<image>\nPlease evaluate this generated image based "
                    "on the following prompt: a red cube "
                    "Focus on text alignment and compositionality."
                ),
            },
            {"from": "gpt", "value": "Wrong colour."},
        ],
        "images": ["s3://rd/g/1.png"],
    }


def test_grandf_loc_caption_is_the_answer_verbatim():
    caption = "<box_p> a dog </box_p><LOC_BEGIN><LOC_0><LOC_0><LOC_512><LOC_512><LOC_END> runs."
    assert call("preproces_grandf", {"s3_path": "s3://g/1.jpg", "loc_caption": caption}) == {
        "task": "grounding",
        "conversations": [
            {
                "from": "human",
                "value": "<image>\n Generate a dense image caption with bounding boxes in LOC format.",
            },
            {"from": "gpt", "value": caption},
        ],
        "images": ["s3://g/1.jpg"],
    }


def test_refcoco_rec_loc_string_is_the_answer_verbatim():
    loc = "<LOC_BEGIN><LOC_1><LOC_2><LOC_3><LOC_4><LOC_END>"
    assert call(
        "preproces_refcoco_rec", {"s3_path": "r.jpg", "label": "the left dog", "loc_string": loc}
    ) == {
        "task": "grounding",
        "conversations": [
            {
                "from": "human",
                "value": (
                    "<image>\n Please locate the left dog in this image. Give bounding boxes in LOC format."
                ),
            },
            {"from": "gpt", "value": loc},
        ],
        "images": ["r.jpg"],
    }
