"""The `gpt_image_edit` builder: per-task metadata JSON and the training-JSON form."""

from __future__ import annotations

import json

from builder_helpers import SOURCES, build_and_load, entry, source_rows

BASE = SOURCES / "gpt_image_edit"
TASK = BASE / "gpt-edit" / "hqedit" / "edit"
METADATA = TASK / "metadata" / "hqedit_edit.json"
TRAINING = BASE / "training_json" / "hqedit_gpt_edit.json"
EDIT = "process_gpt_edit"


def test_metadata_paths_are_relative_to_the_task_folder(tmp_path):
    rows, _ = source_rows(tmp_path, entry(METADATA, "gpt_image_edit", EDIT))
    assert rows[0]["input_paths"] == [f"{TASK}/input/00070858.png"]
    assert rows[0]["output_paths"] == f"{TASK}/output/00070858.png"
    assert rows[0]["id"] == "hqedit_edit_00070858" and rows[0]["instruction_type"] == "original"


def test_training_json_instruction_is_the_question_without_image_tokens(tmp_path):
    options = {"image_folder": str(BASE / "gpt-edit")}
    rows, _ = source_rows(tmp_path, entry(TRAINING, "gpt_image_edit", EDIT, builder_options=options))
    assert rows[0]["instruction"] == "Turn the daytime sky into a starry night."
    assert rows[0]["input_paths"] == [f"{TASK}/input/00070858.png"]
    assert rows[0]["conversations"][1]["value"] == "<gen_image>"


def test_record_with_an_absent_file_is_dropped_and_counted(tmp_path):
    records = json.loads(METADATA.read_text())
    records.append({**records[0], "id": "gone", "output": "output/99999999.png"})
    task = tmp_path / "hqedit" / "edit"
    (task / "metadata").mkdir(parents=True)
    for sub in ("input", "output"):
        (task / sub).symlink_to(TASK / sub)
    path = task / "metadata" / "hqedit_edit.json"
    path.write_text(json.dumps(records))
    rows, drops = source_rows(tmp_path, entry(path, "gpt_image_edit", EDIT))
    assert len(rows) == 2 and drops == {"source:missing_file": 1}


def test_pairs_build_as_edits(tmp_path):
    result, dataset = build_and_load(tmp_path, [entry(METADATA, "gpt_image_edit", EDIT, name="hqedit")])
    assert len(dataset) == 2 and dataset[0]["task"] == "edit"
    assert len(dataset[0]["images"]) == 1 and dataset[0]["image_gen_enc"] == [0]
