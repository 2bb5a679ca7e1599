"""The `sharegpt4o` builder: paths next to the JSON, records with absent files dropped."""

from __future__ import annotations

from builder_helpers import SOURCES, build_and_load, entry, source_rows

BASE = SOURCES / "sharegpt4o"
EDIT = BASE / "text_and_image_to_image.json"
T2I_JSON = BASE / "text_to_image.json"
T2I = "preproces_text_to_image_generation_s3"
EDIT_FN = "process_sharegpt_4o_edit"


def test_paths_are_resolved_next_to_the_json_file(tmp_path):
    rows, _ = source_rows(tmp_path, entry(EDIT, "sharegpt4o", EDIT_FN))
    assert rows[0]["output_image"] == f"{BASE}/text_and_image_to_image/output/00000.png"
    assert rows[0]["input_image"] == [f"{BASE}/text_and_image_to_image/input/00000.png"]
    assert rows[0]["kind"] == "edit"


def test_record_with_an_absent_file_is_dropped_and_counted(tmp_path):
    rows, drops = source_rows(tmp_path, entry(EDIT, "sharegpt4o", EDIT_FN))
    assert len(rows) == 2 and drops == {"source:missing_file": 1}


def test_file_check_can_be_left_to_the_media_stage(tmp_path):
    rows, drops = source_rows(
        tmp_path, entry(EDIT, "sharegpt4o", EDIT_FN, builder_options={"check_files": False})
    )
    assert len(rows) == 3 and drops == {}


def test_text_to_image_records_build(tmp_path):
    result, dataset = build_and_load(tmp_path, [entry(T2I_JSON, "sharegpt4o", T2I, name="sharegpt4o")])
    assert len(dataset) == 2 and dataset[0]["conversations"][0]["value"].startswith(
        "Generate an image with the caption: A cozy reading nook"
    )


def test_edit_records_build_with_the_edit_function(tmp_path):
    result, dataset = build_and_load(tmp_path, [entry(EDIT, "sharegpt4o", EDIT_FN, name="sharegpt4o-edit")])
    stats = result.entries[0]
    assert len(dataset) == 2 and stats.dropped["source:missing_file"] == 1 and stats.balance() == 0
    assert len(dataset[0]["images"]) == 1 and len(dataset[0]["image_gen"]) == 1
