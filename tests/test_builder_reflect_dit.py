"""The `reflect_dit` builder: the XXX-joined CSV and the LLaVA-format VLM JSON."""

from __future__ import annotations

import pytest
from builder_helpers import SOURCES, build_and_load, entry, source_rows

from hf_mixture.errors import SourceError

BASE = SOURCES / "reflect_dit"
CSV = BASE / "data" / "dit" / "object_self_correct_cleaned.csv"
VLM = BASE / "data" / "vlm" / "vllm.json"
T2I = "preproces_text_to_image_generation_s3"
UND = "preproces_und_mammoth_si_10M"


def csv_entry(**keys):
    return entry(CSV, "reflect_dit", T2I, builder_options={"image_folder": str(BASE)}, **keys)


def test_xxx_joined_cells_become_lists(tmp_path):
    rows, _ = source_rows(tmp_path, csv_entry())
    first = rows[0]
    folder = f"{BASE}/data/dit/gen_eval_sana_train"
    assert first["negative_filename"] == [f"{folder}/00001.jpg", f"{folder}/00002.jpg"]
    assert first["negative_reason"] == ["the pear is missing", "the apple is blue"]
    assert first["s3_path"] == f"{folder}/00000.jpg" and first["caption"] == first["prompt"]
    assert first["negative_reasons"] == "the pear is missing;the apple is blue"


def test_row_with_more_negatives_than_reasons_is_dropped_and_counted(tmp_path):
    rows, drops = source_rows(tmp_path, csv_entry())
    assert len(rows) == 2 and drops == {"source:reflect_dit_list_mismatch": 1}


def test_row_without_positive_is_dropped_and_counted(tmp_path):
    path = tmp_path / "self_correct.csv"
    path.write_text("prompt,positive_filename,negative_filename,negative_reason\na cat,,n.jpg,wrong\n")
    rows, drops = source_rows(tmp_path, entry(path, "reflect_dit", T2I))
    assert rows == [] and drops == {"source:reflect_dit_no_positive": 1}


def test_csv_positives_build_as_text_to_image_rows(tmp_path):
    result, dataset = build_and_load(tmp_path, [csv_entry(name="reflect-dit")])
    assert len(dataset) == 2 and result.entries[0].balance() == 0


def test_vlm_json_rows_are_llava_conversations(tmp_path):
    options = {"part": "vlm", "image_folder": str(BASE / "data" / "dit" / "gen_eval_sana_train")}
    rows, _ = source_rows(tmp_path, entry(VLM, "reflect_dit", UND, builder_options=options))
    assert rows[0]["id"] == "0" and rows[0]["image"].endswith("gen_eval_sana_train/00001.jpg")
    assert rows[0]["conversations"][1] == {"from": "gpt", "value": "The pear is missing."}


def test_part_must_match_the_file(tmp_path):
    with pytest.raises(SourceError, match="set part: csv for this file"):
        source_rows(tmp_path, entry(CSV, "reflect_dit", UND, builder_options={"part": "vlm"}))
