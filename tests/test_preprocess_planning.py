"""Planning / feedback preprocess functions: exact records for known rows and seeds."""

import numpy as np
import pytest

from hf_mixture.errors import SkipRow
from hf_mixture.preprocess.registry import get_preprocess

S3_LOC = "preproces_text_to_image_generation_s3_loc"
LAYOUT_SAM = "preproces_text_to_image_generation_layout_sam"
EDIT_LOC = "process_gpt_edit_loc_gnd"
PLAN = "<box_p> cat </box_p><LOC_BEGIN><LOC_1><LOC_2><LOC_3><LOC_4><LOC_END>"
ROW = {
    "s3_path": "s3://b/cat.jpg",
    "caption": "a cat",
    "grounding_text": PLAN,
    "negatives": "n0.jpg;n1.jpg;n2.jpg",
    "negative_reasons": "no cat;two cats;blurry",
    "fltLaionAesthScore": 6.25,
}
CAPTION = "Generate an image with the caption: a cat [[micro_conds_texts]]."
PLAN_REQUEST = " Please first think and plan the layout in LOC format."


def call(name, row, seed=0, **kwargs):
    return get_preprocess(name).row(row, rng=np.random.default_rng(seed), **kwargs)


def test_s3_loc_default_plans_then_generates_with_clean_text():
    assert call(S3_LOC, ROW) == {
        "task": "planning",
        "conversations": [
            {"from": "human", "value": CAPTION + PLAN_REQUEST},
            {
                "from": "gpt",
                "value": f"Sure I should place the objects in the following manner {PLAN} <image_gen>",
            },
        ],
        "images": [],
        "image_gen": ["s3://b/cat.jpg"],
        "do_not_mask_text": True,
        "gen_score": 6.25,
        "hpsv2": None,
    }


def test_s3_loc_plan_only_ends_with_the_fake_token_and_no_target():
    record = call(S3_LOC, ROW, plan_only=True)
    assert record["conversations"][1]["value"] == (
        f"Sure I should place the objects in the following manner {PLAN} <image_gen_fake>"
    )
    assert "image_gen" not in record and "do_not_mask_text" not in record
    assert record["conversations"][0]["value"].count("[[micro_conds_texts]]") == 1


def test_s3_loc_feedback_draws_negatives_with_replacement_from_the_row_rng():
    # seed 7: n = 3 of min(3 negatives, 5), picks [1, 2, 2]
    record = call(S3_LOC, ROW, seed=7, add_feedback=True, s3_prefix_enc="s3://neg/")
    feedback = (
        " Please also consider past generations and their feedbacks. Do not repeat these errors "
        "Generation 1: <image>\n Feedback 1: two cats\n"
        "Generation 2: <image>\n Feedback 2: blurry\n"
        "Generation 3: <image>\n Feedback 3: blurry"
    )
    assert record["task"] == "reflection"
    assert record["conversations"][0]["value"] == CAPTION + PLAN_REQUEST + feedback
    assert record["images"] == ["s3://neg/n1.jpg", "s3://neg/n2.jpg", "s3://neg/n2.jpg"]
    assert record["do_not_mask_text"] is True
    assert call(S3_LOC, ROW, seed=7, add_feedback=True, s3_prefix_enc="s3://neg/") == record


def test_s3_loc_feedback_count_is_capped_by_max_reflection():
    counts = {
        len(call(S3_LOC, ROW, seed=s, add_feedback=True, max_reflection=1)["images"]) for s in range(20)
    }
    assert counts == {1}


def test_s3_loc_no_plan_with_feedback():
    record = call(S3_LOC, ROW, seed=7, add_feedback=True, no_plan=True)
    assert record["conversations"][0]["value"].startswith(CAPTION + "  Please also consider")
    assert record["conversations"][1]["value"] == "<image_gen>"
    assert record["do_not_mask_text"] is False and record["image_gen"] == ["s3://b/cat.jpg"]


def test_s3_loc_no_plan_alone_is_plain_t2i_and_needs_no_layout():
    record = call(S3_LOC, {"s3_path": "x.jpg", "caption": "a cat"}, no_plan=True)
    assert record["task"] == "t2i"
    assert record["conversations"][0]["value"] == CAPTION + " "
    assert get_preprocess(S3_LOC).needs({"no_plan": True}) == ["s3_path", "caption"]
    assert get_preprocess(S3_LOC).needs({"add_feedback": True})[-2:] == ["negatives", "negative_reasons"]


@pytest.mark.parametrize(
    "negatives, reasons, reason",
    [("", "", "missing_negatives"), ("a.jpg;b.jpg", "only one", "negatives_reasons_mismatch")],
)
def test_s3_loc_bad_feedback_rows_are_skipped(negatives, reasons, reason):
    row = {**ROW, "negatives": negatives, "negative_reasons": reasons}
    with pytest.raises(SkipRow, match=reason):
        call(S3_LOC, row, add_feedback=True)


def test_s3_loc_plan_only_and_no_plan_conflict():
    with pytest.raises(ValueError, match="plan_only and no_plan"):
        call(S3_LOC, ROW, plan_only=True, no_plan=True)


SAM_ROW = {"caption": "a room", "s3_path": "sam/1.jpg", "cap_short": "SHORT", "cap_detail": "DETAIL"}


def test_layout_sam_short_layout_for_seed_0():
    assert call(LAYOUT_SAM, SAM_ROW, seed=0, s3_prefix="s3://sam") == {
        "task": "planning",
        "conversations": [
            {
                "from": "human",
                "value": "Generate an image with the caption: a room [[micro_conds_texts]]." + PLAN_REQUEST,
            },
            {
                "from": "gpt",
                "value": "Sure I should place the objects in the following manner SHORT <image_gen>",
            },
        ],
        "image_gen": ["s3://sam/sam/1.jpg"],
        "do_not_mask_text": True,
    }


def test_layout_sam_detail_layout_for_seed_2_and_dropped_caption_for_seed_25():
    detail = call(LAYOUT_SAM, SAM_ROW, seed=2)
    assert detail["conversations"][0]["value"].endswith(
        "LOC format. Please plan each region in detail by providing individual descriptions."
    )
    assert "manner DETAIL <image_gen>" in detail["conversations"][1]["value"]
    dropped = call(LAYOUT_SAM, SAM_ROW, seed=25)
    assert dropped["conversations"][0]["value"].startswith(
        "Generate an image with the caption: an image with region captions. [[micro_conds_texts]]."
    )


EDIT_ROW = {
    "input_paths": ["a.png"],
    "output_paths": "b.png",
    "instruction": "add a hat",
    "grounding_text": PLAN,
    "edit_type": None,
}


def test_edit_loc_gnd_plans_the_regions_then_edits():
    assert call(EDIT_LOC, EDIT_ROW, task="add", s3_prefix="s3://e") == {
        "task": "planning",
        "conversations": [
            {
                "from": "human",
                "value": (
                    "<image> <image_gen_enc>  add a hat. Please first think "
                    "and plan the layout in LOC format. "
                ),
            },
            {
                "from": "gpt",
                "value": (
                    f"Sure I should consider adding the objects in these locations :  {PLAN} <image_gen>"
                ),
            },
        ],
        "images": ["s3://e/a.png"],
        "image_gen_enc": [0],
        "pad_image_gen": True,
        "image_gen": ["s3://e/b.png"],
        "do_not_mask_text": True,
    }


@pytest.mark.parametrize(
    "edit_type, task, verb",
    [
        ("remove", "add", "removing"),
        (None, "swap", "replacing"),
        ("replace", "edit", "replacing"),
        ("adjust", "add", "adjusting"),
        ("", "style", "editing"),
    ],
)
def test_edit_loc_gnd_reason_follows_edit_type_over_task(edit_type, task, verb):
    record = call(EDIT_LOC, {**EDIT_ROW, "edit_type": edit_type}, task=task)
    assert record["conversations"][1]["value"].startswith(f"Sure I should consider {verb} the objects")


def test_edit_loc_gnd_plan_only_has_no_target():
    record = call(EDIT_LOC, EDIT_ROW, plan_only=True)
    assert record["conversations"][1]["value"].endswith(f"{PLAN} <image_gen_fake>")
    assert "image_gen" not in record and record["image_gen_enc"] == [0]
    assert "reweight" not in record
