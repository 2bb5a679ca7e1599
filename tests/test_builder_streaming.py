"""Every source builder yields unified rows map-style and streaming, on its demo sample."""

from __future__ import annotations

import pytest
from builder_helpers import SOURCES, builder_for, entry

T2I = "preproces_text_to_image_generation_s3"
CASES = {
    "laion": (SOURCES / "laion" / "shards" / "00000.tar", T2I, {}),
    "webdataset": (SOURCES / "blip3o" / "BLIP3o-60k" / "*.tar", T2I, {}),
    "reflect_dit": (
        SOURCES / "reflect_dit" / "data" / "dit" / "object_self_correct_cleaned.csv",
        T2I,
        {"image_folder": str(SOURCES / "reflect_dit")},
    ),
    "sharegpt4o": (SOURCES / "sharegpt4o" / "text_to_image.json", T2I, {}),
    "echo4o": (
        SOURCES / "echo4o" / "Echo-4o-Image" / "Multi-Reference-Image" / "hum_obj.jsonl",
        "process_gpt_edit",
        {},
    ),
    "gpt_image_edit": (
        SOURCES / "gpt_image_edit" / "gpt-edit" / "hqedit" / "edit" / "metadata" / "hqedit_edit.json",
        "process_gpt_edit",
        {},
    ),
    "mammoth": (
        SOURCES / "mammoth" / "mammoth_si_10M.json",
        "preproces_und_mammoth_si_10M",
        {"image_folder": str(SOURCES / "mammoth" / "single_image_data")},
    ),
    "grand": (
        SOURCES / "grand" / "GranDf" / "annotations" / "train" / "GranDf_HA_GCG_train.json",
        "grandf_annotations",
        {"image_folder": str(SOURCES / "grand" / "images")},
    ),
    "visualwebinstruct": (
        SOURCES / "visualwebinstruct" / "visualwebinstruct_conversation.jsonl",
        "preproces_vw_instruct",
        {"image_folder": str(SOURCES / "visualwebinstruct" / "imgs")},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_map_style_and_streaming_give_the_same_rows(tmp_path, name):
    path, function, options = CASES[name]
    item = entry(path, name, function, builder_options=options) if options else entry(path, name, function)
    mapped = builder_for(tmp_path / "map", item)
    mapped.download_and_prepare()
    ids = mapped.as_dataset(split="train")["id"]
    streamed = [
        row["id"] for row in builder_for(tmp_path / "stream", item).as_streaming_dataset(split="train")
    ]
    assert ids and streamed == ids
