"""Grounding from raw boxes (GranD, GranD-f, RefCOCO layouts) in every box_format: exact records."""

from types import SimpleNamespace

import numpy as np
import pytest

from hf_mixture.errors import SkipRow
from hf_mixture.preprocess.registry import get_preprocess

DENSE_PROMPT = "<image>\n Generate a dense image caption with bounding boxes in {}."
CAPTION = "A dog chases a red ball."


def call(name, row, seed=0, **kwargs):
    return get_preprocess(name).row(row, rng=np.random.default_rng(seed), **kwargs)


GRAND_ROW = {  # as the `grand` builder yields a GranD-f record (boxes = bounds of the RLE masks)
    "s3_path": "sa_1.jpg",
    "caption": CAPTION,
    "phrases": ["A dog", "a red ball"],
    "tokens_positive": [[0, 5], [13, 23]],
    "boxes": [[[0.0, 0.0, 50.0, 100.0]], [[150.0, 40.0, 170.0, 60.0]]],
    "width": 200,
    "height": 100,
}


def test_grandf_annotations_loc():
    # 200x100 image: padded 50 px top and bottom, LOC = (pixel + pad) * 5.12
    assert call("grandf_annotations", GRAND_ROW, s3_prefix="s3://sa") == {
        "task": "grounding",
        "conversations": [
            {"from": "human", "value": DENSE_PROMPT.format("LOC format")},
            {
                "from": "gpt",
                "value": (
                    "<box_p> A dog </box_p><LOC_BEGIN><LOC_0><LOC_256><LOC_256><LOC_768><LOC_END> "
                    "chases <box_p> a red ball </box_p>"
                    "<LOC_BEGIN><LOC_768><LOC_461><LOC_870><LOC_563><LOC_END>."
                ),
            },
        ],
        "images": ["s3://sa/sa_1.jpg"],
    }


def test_grandf_annotations_qwen_and_pixels():
    qwen = call("grandf_annotations", GRAND_ROW, box_format="qwen")
    assert qwen["conversations"][0]["value"] == DENSE_PROMPT.format("normalized 0-1000 coordinates")
    assert qwen["conversations"][1]["value"] == (
        "<|object_ref_start|>A dog<|object_ref_end|><|box_start|>(0,0),(250,1000)<|box_end|> chases "
        "<|object_ref_start|>a red ball<|object_ref_end|><|box_start|>(750,400),(850,600)<|box_end|>."
    )
    pixels = call("grandf_annotations", GRAND_ROW, box_format="pixels")
    assert pixels["conversations"][1]["value"] == (
        "<box_p> A dog </box_p>[0, 0, 50, 100] chases <box_p> a red ball </box_p>[150, 40, 170, 60]."
    )


def test_grandf_annotations_finds_phrases_without_span_and_keeps_boxless_phrases_plain():
    row = {**GRAND_ROW, "tokens_positive": [None, None], "boxes": [[], [[150, 40, 170, 60]]]}
    answer = call("grandf_annotations", row, box_format="pixels")["conversations"][1]["value"]
    assert answer == "A dog chases <box_p> a red ball </box_p>[150, 40, 170, 60]."


def test_grandf_annotations_several_boxes_for_one_phrase():
    row = {
        "s3_path": "sa_2.jpg",
        "caption": "Two cups on a table.",
        "phrases": ["Two cups", "a table"],
        "tokens_positive": [[0, 8], [12, 19]],
        "boxes": [[[0, 0, 16, 16], [32, 32, 64, 48]], [[0, 40, 64, 64]]],
        "width": 64,
        "height": 64,
    }
    assert call("grandf_annotations", row)["conversations"][1]["value"] == (
        "<box_p> Two cups </box_p><LOC_BEGIN><LOC_0><LOC_0><LOC_256><LOC_256><LOC_END>"
        "<LOC_BEGIN><LOC_512><LOC_512><LOC_1024><LOC_768><LOC_END> on "
        "<box_p> a table </box_p><LOC_BEGIN><LOC_0><LOC_640><LOC_1024><LOC_1024><LOC_END>."
    )


def test_grandf_annotations_without_any_grounded_phrase_or_size_is_skipped():
    with pytest.raises(SkipRow, match="no_grounded_phrases"):
        call("grandf_annotations", {**GRAND_ROW, "boxes": [[], []]})
    with pytest.raises(SkipRow, match="missing_image_size"):
        call("grandf_annotations", {**GRAND_ROW, "width": None})


REF_ROW = {
    "image": "coco/1.jpg",
    "label": "the dog on the left",
    "bbox": [10, 20, 30, 40],
    "width": 200,
    "height": 100,
}


def test_refcoco_boxes_loc():
    assert call("refcoco_boxes", REF_ROW, bbox_mode="xywh") == {
        "task": "grounding",
        "conversations": [
            {
                "from": "human",
                "value": "<image>\n Please locate the dog on the left in this image. "
                "Give bounding boxes in LOC format.",
            },
            {"from": "gpt", "value": "<LOC_BEGIN><LOC_51><LOC_358><LOC_205><LOC_563><LOC_END>"},
        ],
        "images": ["coco/1.jpg"],
    }


def test_refcoco_boxes_qwen_xyxy_and_a_label_drawn_from_a_list():
    row = {**REF_ROW, "label": ["left dog", "the brown dog", "dog"]}
    record = call("refcoco_boxes", row, seed=3, box_format="qwen")
    label = row["label"][int(np.random.default_rng(3).integers(3))]
    assert record["conversations"][0]["value"] == (
        f"<image>\n Please locate {label} in this image. Give "
        f"bounding boxes in normalized 0-1000 coordinates."
    )
    assert record["conversations"][1]["value"] == "<|box_start|>(50,200),(150,400)<|box_end|>"


def test_refcoco_boxes_bad_box_is_skipped():
    with pytest.raises(SkipRow, match="bad_box"):
        call("refcoco_boxes", {**REF_ROW, "bbox": [30, 0, 10, 5]})


def test_box_format_is_a_stage_option_not_a_process_fn_kwarg():
    function = get_preprocess("refcoco_boxes")
    assert "box_format" not in function.accepted_kwargs()
    assert function.stage_kwargs(SimpleNamespace(box_format="qwen")) == {"box_format": "qwen"}
    assert get_preprocess("preproces_refcoco_rec").stage_kwargs(SimpleNamespace(box_format="qwen")) == {}
