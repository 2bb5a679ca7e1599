"""A user's `module:function` preprocess_fn: found beside the stage YAML, and every output that is
not a record counted as `preprocess:output_wrong_type` (docs/failure-modes.md)."""

from __future__ import annotations

import sys

import pytest
from factories import build_quietly, source_entry, write_image, write_json, written_rows

from hf_mixture.cli.main import main

ROW_FN = """
def fn(row, *, rng):
    if row["caption"] == "none":
        return None
    if row["caption"] == "text":
        return "not a record"
    turns = [{{"from": "human", "value": row["caption"]}}, {{"from": "gpt", "value": "<image_gen>"}}]
    return {{"task": "t2i", "image_gen": [row["s3_path"]], "conversations": turns}}
"""

BATCH_FN = (
    ROW_FN
    + """

def _batch(table, **kwargs):
    return {batch_returns}


fn.batch = _batch
"""
)


@pytest.fixture
def stage_dir(tmp_path):
    for i in range(3):
        write_image(tmp_path / "img" / f"{i}.jpg")
    rows = [{"s3_path": f"img/{i}.jpg", "caption": c} for i, c in enumerate(["ok", "none", "text"])]
    write_json(tmp_path / "rows.jsonl", rows, lines=True)
    return tmp_path


def _user_module(folder, name: str, text: str) -> str:
    (folder / f"{name}.py").write_text(text.format(batch_returns="None"))
    return f"{name}:fn"


def _dropped(result) -> dict:
    return {k: v for k, v in result.entries[0].dropped.items() if v}


def test_row_function_returning_none_or_a_string_counts_the_row_as_output_wrong_type(stage_dir):
    function = _user_module(stage_dir, "wrong_row_fns", ROW_FN)
    result = build_quietly(stage_dir, source_entry(stage_dir / "rows.jsonl", function))
    assert [r["id"] for r in written_rows(result)] == ["e/0"]
    assert _dropped(result) == {"preprocess:output_wrong_type": 2}


@pytest.mark.parametrize("returns", ["'a string'", "{'task': ['t2i']}", "table.slice(0, 1)"])
def test_batch_form_returning_no_table_of_one_row_each_counts_its_rows_as_output_wrong_type(
    stage_dir, returns
):
    name = f"wrong_batch_fns_{abs(hash(returns))}"
    (stage_dir / f"{name}.py").write_text(BATCH_FN.format(batch_returns=returns))
    kept = source_entry(stage_dir / "rows.jsonl", name="kept")  # a stage needs one row
    result = build_quietly(stage_dir, source_entry(stage_dir / "rows.jsonl", f"{name}:fn"), kept)
    assert {r["source"] for r in written_rows(result)} == {"kept"}
    assert _dropped(result) == {"preprocess:output_wrong_type": 3}


def test_module_beside_the_stage_yaml_is_found_by_check_and_build(stage_dir, capsys):
    function = _user_module(stage_dir, "beside_yaml_fns", ROW_FN)
    result = build_quietly(stage_dir, source_entry(stage_dir / "rows.jsonl", function))
    assert main(["check", str(stage_dir / "s.yaml")]) == 0
    assert [r["id"] for r in written_rows(result)] == ["e/0"]


def test_importing_a_module_beside_the_yaml_leaves_sys_path_as_it_was(stage_dir):
    before = list(sys.path)
    function = _user_module(stage_dir, "path_kept_fns", ROW_FN)
    build_quietly(stage_dir, source_entry(stage_dir / "rows.jsonl", function))
    assert "path_kept_fns" in sys.modules and sys.path == before
