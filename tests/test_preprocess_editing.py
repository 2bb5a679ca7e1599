"""Editing preprocess functions: exact records for known rows."""

import numpy as np
import pytest

from hf_mixture.errors import SkipRow
from hf_mixture.preprocess.registry import get_preprocess


def call(name, row, seed=0, **kwargs):
    return get_preprocess(name).row(row, rng=np.random.default_rng(seed), **kwargs)


def edit(sources, target, human, **extra):
    return {
        "task": "edit",
        "conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": "Sure <image_gen>"}],
        "images": sources,
        "image_gen": [target],
        "image_gen_enc": list(range(len(sources))),
        "pad_image_gen": True,
        **extra,
    }


def test_gpt_edit_pair():
    record = call(
        "process_gpt_edit",
        {"input_paths": "s3://e/in.png", "output_paths": "s3://e/out.png", "instruction": "make it blue"},
    )
    assert record == edit(
        ["s3://e/in.png"],
        "s3://e/out.png",
        "<image> <image_gen_enc>  make it blue",
        reweight=False,
        hpsv2=None,
    )


def test_sharegpt_4o_edit_sets_reweight_from_the_kwarg():
    row = {"input_image": ["in/1.png"], "output_image": "out/1.png", "input_prompt": "add snow"}
    assert call("process_sharegpt_4o_edit", row, s3_prefix="s3://sg", reweight=True) == edit(
        ["s3://sg/in/1.png"], "s3://sg/out/1.png", "<image> <image_gen_enc>  add snow", reweight=True
    )
    assert call("process_sharegpt_4o_edit", row)["reweight"] is False


def test_sharegpt_4o_edit_t2i_appends_the_micro_conditions():
    row = {"input_image": "in/1.png", "output_image": "out/1.png", "input_prompt": "add snow"}
    human = call("process_sharegpt_4o_edit", row, t2i=True)["conversations"][0]["value"]
    assert human == "<image> <image_gen_enc>  add snow [[micro_conds_texts]]"


def test_pica_banana_triplet():
    row = {"local_input_image": "/d/in.png", "local_output_image": "/d/out.png", "text": "add a hat"}
    assert call("process_pica_banana", row) == {
        **edit(["/d/in.png"], "/d/out.png", "<image> <image_gen_enc>  add a hat"),
        "reweight": False,  # LaViDa-O's process_pica_banana always sets it
    }


def test_metaquery_paths_are_relative_to_dir_name_and_the_prompt_is_single_spaced():
    row = {
        "source_images_paths": ["a.png"],
        "tgt_path": "t.png",
        "dir_name": "s3://mq/x",
        "prompt": "same dog, beach",
    }
    assert call("process_metaquery", row) == edit(
        ["s3://mq/x/a.png"], "s3://mq/x/t.png", "<image> <image_gen_enc> same dog, beach"
    )


def test_metaquery_without_sources_is_skipped():
    with pytest.raises(SkipRow, match="no_source_image"):
        call(
            "process_metaquery",
            {"source_images_paths": [], "tgt_path": "t.png", "dir_name": "d", "prompt": "p"},
        )


TURNS = [
    {"from": "human", "value": "<image> <image_gen_enc> add a ball"},
    {"from": "gpt", "value": "<image_gen>"},
]


def test_uniworld_edit_maps_encoder_paths_to_image_indices():
    row = {
        "image": ["in.png"],
        "image_gen": ["out.png"],
        "image_gen_enc": ["in.png"],
        "is_edit": True,
        "conversations": TURNS,
    }
    assert call("process_uniworld", row, folder="/data/uw") == {
        "task": "edit",
        "conversations": TURNS,
        "images": ["/data/uw/in.png"],
        "image_gen": ["/data/uw/out.png"],
        "image_gen_enc": [0],
        "pad_image_gen": True,
        "reweight": False,  # LaViDa-O: is_edit and do_reweight and 2 images
    }


def test_uniworld_takes_folder_from_the_record_as_lavida_o_does():
    row = {"image": ["in.png"], "image_gen": ["/abs/out.png"], "image_gen_enc": ["in.png"], "is_edit": True,
           "conversations": TURNS, "folder": "/rec"}  # fmt: skip
    record = call("process_uniworld", row, folder="/kwarg")
    assert record["images"] == ["/rec/in.png"] and record["image_gen"] == ["/abs/out.png"]


def test_uniworld_do_reweight_sets_reweight_on_a_two_image_edit():
    row = {"image": ["in.png"], "image_gen": ["out.png"], "image_gen_enc": ["in.png"], "is_edit": True,
           "conversations": TURNS}  # fmt: skip
    assert call("process_uniworld", row, do_reweight=True)["reweight"] is True
    turns = [{"from": "human", "value": "<image> what?"}, {"from": "gpt", "value": "a"}]
    understanding = {**row, "image_gen": [], "image_gen_enc": [], "is_edit": False, "conversations": turns}
    assert "reweight" not in call("process_uniworld", understanding, do_reweight=True)


def test_uniworld_pads_when_two_images_in_all_and_crops_a_single_target():
    t2i = {
        "image": [],
        "image_gen": ["g.png"],
        "image_gen_enc": [],
        "is_edit": False,
        "conversations": [{"from": "human", "value": "draw"}, {"from": "gpt", "value": "<image_gen>"}],
    }
    assert call("process_uniworld", t2i)["pad_image_gen"] is False
    assert call("process_uniworld", t2i)["task"] == "t2i"
    two = {
        **t2i,
        "image": ["ref.png"],
        "conversations": [
            {"from": "human", "value": "<image> draw it"},
            {"from": "gpt", "value": "<image_gen>"},
        ],
    }
    assert call("process_uniworld", two)["pad_image_gen"] is True


def test_uniworld_encoder_image_outside_image_list_is_skipped():
    row = {
        "image": ["a.png"],
        "image_gen": ["o.png"],
        "image_gen_enc": ["b.png"],
        "is_edit": True,
        "conversations": TURNS,
    }
    with pytest.raises(SkipRow, match="image_gen_enc_not_in_image"):
        call("process_uniworld", row)
