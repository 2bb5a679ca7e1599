"""LaViDa-O's inputs as LaViDa-O reads them: its published config files, the keywords its functions
declare, and `process_uniworld` records that carry their own `folder`.

Facts from adobe-research/LaVida-O e3a80df (`config/data/*.yaml`, `llava/train/data/*.py`).
"""

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from factories import write_image, write_json, write_stage

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.config.load import ConfigWarning, load_stage_config
from hf_mixture.errors import ConfigError, SkipRow
from hf_mixture.preprocess.registry import get_preprocess

LAVIDA_CONFIGS = Path(__file__).parent / "configs" / "lavida_o"
PUBLISHED = {"s1_und_gnd_data": 7, "s2_t2i_pretrain": 8, "s3_interleaved": 38}

# Every keyword each LaViDa-O preprocess function declares (besides data, *args, **kwargs).
LAVIDA_DECLARED = {
    "preproces_text_to_image_generation_s3": [
        "random_truncate", "caption_key", "no_drop_keys", "random_caption_keys",
    ],
    "preproces_text_to_image_generation_s3_loc": [
        "random_truncate", "caption_key", "no_drop_keys", "random_caption_keys", "plan_only", "add_feedback",
        "s3_prefix_enc", "max_reflection", "do_print", "no_plan",
    ],
    "preproces_text_to_image_generation_piat_hash": ["caption_key", "random_truncate"],
    "preproces_text_to_image_generation_layout_sam": [
        "random_truncate", "caption_key", "caption_drop", "plan_only", "s3_prefix", "do_print", "no_plan",
    ],
    "preproces_und_mammoth_si_10M": ["s3_prefix"],
    "preproces_vw_instruct": ["s3_prefix"],
    "preproces_grandf": ["s3_prefix"],
    "preproces_refcoco_rec": ["s3_prefix"],
    "preprocess_reflection_und": ["s3_prefix"],
    "process_metaquery": ["s3_prefix"],
    "process_uniworld": ["s3_prefix", "pixel_diff", "do_reweight"],
    "process_sharegpt_4o_edit": ["s3_prefix", "no_template", "reweight", "t2i"],
    "process_gpt_edit": ["s3_prefix", "no_template", "reweight", "t2i", "pixel_diff"],
    "process_pica_banana": ["s3_prefix", "no_template", "reweight", "t2i", "pixel_diff"],
    "process_gpt_edit_loc_gnd": [
        "s3_prefix", "no_template", "reweight", "t2i", "task", "plan_only", "pixel_diff",
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(LAVIDA_DECLARED))
def test_every_keyword_a_lavida_o_function_declares_is_accepted(name):
    function = get_preprocess(name)
    known = set(function.accepted_kwargs()) | set(function.no_effect_kwargs())
    assert set(LAVIDA_DECLARED[name]) <= known, set(LAVIDA_DECLARED[name]) - known


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_check_accepts_lavida_o_published_configs_unchanged(name, capsys):
    assert main(["check", "--no-files", str(LAVIDA_CONFIGS / f"{name}.yaml")]) == 0
    out, err = capsys.readouterr()
    assert f"OK, stage '{name}', {PUBLISHED[name]} entries" in out
    assert "error" not in err.lower()


def test_do_print_is_accepted_and_not_passed_on():
    with pytest.warns(ConfigWarning):  # its duplicate keys and unused group weights
        config = load_stage_config(LAVIDA_CONFIGS / "s3_interleaved.yaml", check_files=False)
    loc = [e for e in config.entries if e.preprocess_fn == "preproces_text_to_image_generation_s3_loc"]
    assert loc and all("do_print" not in e.process_fn_kwargs for e in loc)
    assert not [w for w in config.warnings if "do_print" in w]


def test_an_unknown_keyword_is_an_error_under_strict(tmp_path):
    data = write_json(tmp_path / "u.jsonl", [], lines=True)
    entry = {"name": "u", "json_path": str(data), "preprocess_fn": "process_uniworld",
             "process_fn_kwargs": {"do_reweigth": True}}  # fmt: skip
    path = write_stage(tmp_path / "s.yaml", [entry])
    with pytest.raises(ConfigError, match="did you mean 'do_reweight'.*--strict"):
        load_stage_config(path, strict=True)


def test_uniworld_record_with_its_own_folder_builds(tmp_path):
    folder = tmp_path / "uniworld"
    write_image(folder / "in.jpg")
    write_image(folder / "out.jpg", color=(10, 200, 10))
    record = {
        "folder": str(folder),
        "image": ["in.jpg"],
        "image_gen": ["out.jpg"],
        "image_gen_enc": ["in.jpg"],
        "is_edit": True,
        "conversations": [
            {"from": "human", "value": "<image> <image_gen_enc> make it green"},
            {"from": "gpt", "value": "Sure <image_gen>"},
        ],
    }
    data = write_json(tmp_path / "elsewhere" / "uw.jsonl", [record], lines=True)
    entry = {"name": "uw", "json_path": str(data), "preprocess_fn": "process_uniworld",
             "process_fn_kwargs": {"do_reweight": True}}  # fmt: skip
    result = build_stage(write_stage(tmp_path / "s.yaml", [entry]), tmp_path / "out", echo=lambda *_: None)
    (stats,) = result.entries
    assert stats.written == 1 and sum(stats.dropped.values()) == 0
    (row,) = pq.read_table(next((tmp_path / "out" / "s").glob("train-*.parquet"))).to_pylist()
    assert row["reweight"] is True and row["image_gen_enc"] == [0] and row["images"][0]["bytes"]


def test_functions_lists_the_no_effect_keywords_with_why(capsys):
    assert main(["functions"]) == 0
    out = capsys.readouterr().out
    section = out.split("preproces_text_to_image_generation_s3_loc\n", 1)[1].split("\npreproces", 1)[0]
    assert "accepted, no effect here: do_print (LaViDa-O only prints the payload)" in section


def call(name, row, **kwargs):
    return get_preprocess(name).row(row, rng=np.random.default_rng(0), **kwargs)


EDIT_ROW = {
    "input_paths": "in.png",
    "output_paths": "out.png",
    "instruction": "add a hat",
    "grounding_text": "<LOC>",
}


@pytest.mark.parametrize("name", ["process_gpt_edit", "process_pica_banana"])
def test_reweight_keyword_becomes_the_rows_flag(name):
    row = {**EDIT_ROW, "local_input_image": "in.png", "local_output_image": "out.png", "text": "add a hat"}
    assert call(name, row, reweight=True)["reweight"] is True
    assert call(name, row)["reweight"] is False


def test_loc_gnd_t2i_appends_the_micro_condition_placeholder():
    human = call("process_gpt_edit_loc_gnd", EDIT_ROW, t2i=True)["conversations"][0]["value"]
    assert human.endswith("Please first think and plan the layout in LOC format.  [[micro_conds_texts]]")


def test_metaquery_joins_s3_prefix_then_the_rows_folder():
    row = {"source_images_paths": ["a.png"], "tgt_path": "t.png", "dir_name": "d", "prompt": "p"}
    record = call("process_metaquery", row, s3_prefix="s3://b/x")
    assert record["images"] == ["s3://b/x/d/a.png"] and record["image_gen"] == ["s3://b/x/d/t.png"]


def test_s3_loc_random_caption_keys_pick_the_caption_column():
    row = {"s3_path": "a.png", "short": "a cat", "long": "a cat on a mat", "grounding_text": "<LOC>"}
    record = call("preproces_text_to_image_generation_s3_loc", row, random_caption_keys=["short", "long"])
    assert any(f"caption: {c} " in record["conversations"][0]["value"] for c in ("a cat", "a cat on a mat"))


def test_layout_sam_caption_key_and_caption_drop():
    row = {
        "caption": "global",
        "dense": "a red cup",
        "s3_path": "a.png",
        "cap_short": "<L>",
        "cap_detail": "<D>",
    }
    kept = call("preproces_text_to_image_generation_layout_sam", row, caption_key="dense", caption_drop=0.0)
    assert "caption: a red cup " in kept["conversations"][0]["value"]
    dropped = call("preproces_text_to_image_generation_layout_sam", row, caption_drop=1.0)
    assert "caption: an image with region captions. " in dropped["conversations"][0]["value"]


def test_an_entry_without_preprocess_fn_reads_lavida_o_payload_records(tmp_path):
    """LaViDa-O hands such records to _get_item unchanged: scores, flags and encoder paths kept."""
    write_image(tmp_path / "in.jpg")
    write_image(tmp_path / "out.jpg", color=(0, 0, 200))
    edit = {"image": "in.jpg", "image_gen": "out.jpg", "image_gen_enc": ["in.jpg"], "pad_image_gen": True,
            "reweight": True, "hpsv2": [0.31], "conversations": [
                {"from": "human", "value": "<image> <image_gen_enc>  make it blue"},
                {"from": "gpt", "value": "Sure <image_gen>"}]}  # fmt: skip
    data = write_json(tmp_path / "payloads.jsonl", [edit], lines=True)
    config = load_stage_config(write_stage(tmp_path / "s.yaml", [{"name": "p", "json_path": str(data)}]))
    assert config.entries[0].preprocess_fn == "lavida_payload"
    record = call("lavida_payload", edit)
    assert record["task"] == "edit" and record["image_gen_enc"] == [0] and record["reweight"] is True
    assert record["hpsv2"] == pytest.approx(0.31) and record["pad_image_gen"] and record["gen_score"] is None


def test_a_payload_encoder_path_outside_image_is_skipped():
    turns = [{"from": "human", "value": "<image> x"}, {"from": "gpt", "value": "<image_gen>"}]
    row = {"image": ["a.jpg"], "image_gen": ["o.jpg"], "image_gen_enc": ["b.jpg"], "conversations": turns}
    with pytest.raises(SkipRow, match="image_gen_enc_not_in_image"):
        call("lavida_payload", row)
