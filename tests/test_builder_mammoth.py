"""The `mammoth` builder: MAmmoTH-VL JSON arrays streamed with ijson, and their known breakage."""

from __future__ import annotations

import json

import pytest
from builder_helpers import SOURCES, build_and_load, entry, source_rows

from hf_mixture.errors import SourceError

BASE = SOURCES / "mammoth"
JSON = BASE / "mammoth_si_10M.json"
UND = "preproces_und_mammoth_si_10M"


def rows_by_id(tmp_path, path=JSON, **keys):
    rows, drops = source_rows(tmp_path, entry(path, "mammoth", UND, **keys))
    return {r["id"]: r for r in rows}, drops


def test_non_string_ids_become_text(tmp_path):
    rows, _ = rows_by_id(tmp_path)
    assert "98765" in rows


def test_text_only_row_has_no_image(tmp_path):
    rows, _ = rows_by_id(tmp_path)
    assert rows["text_1"]["image"] is None and rows["text_1"]["images"] == []


def test_multi_image_row_keeps_the_list_and_no_single_image(tmp_path):
    rows, _ = rows_by_id(tmp_path)
    assert rows["multi_1"]["image"] is None and len(rows["multi_1"]["images"]) == 2


def test_video_rows_and_image_tokens_in_answers_are_dropped_and_counted(tmp_path):
    rows, drops = rows_by_id(tmp_path)
    assert "video_1" not in rows and "quote_1" not in rows
    assert drops == {"source:video_row": 1, "source:image_token_in_answer": 1}


def test_empty_turn_pair_is_removed(tmp_path):
    rows, _ = rows_by_id(tmp_path)
    assert [t["from"] for t in rows["98765"]["conversations"]] == ["human", "gpt"]


def test_records_are_parsed_one_at_a_time_before_a_broken_tail(tmp_path):

    from hf_mixture.sources.tables import json_records
    from hf_mixture.stats import ReaderDrops
    from hf_mixture.storage import Storage

    text = json.dumps([{"id": 1, "conversations": []}])
    path = tmp_path / "cut.json"
    path.write_text(text[:-1] + ', {"id": 2, "conv')  # the array never closes
    records = json_records(Storage(base_dir=tmp_path), str(path), ReaderDrops())
    assert next(records)["id"] == 1  # yielded before the parser reaches the end of the file
    with pytest.raises(SourceError, match="cut.json: cannot read as JSON"):
        next(records)


def test_single_image_rows_build_with_the_mammoth_function(tmp_path):
    item = entry(
        JSON,
        "mammoth",
        UND,
        name="mammoth",
        builder_options={"image_folder": str(BASE / "single_image_data")},
        max_enc_images={"column": "images", "value": 1},
    )
    result, dataset = build_and_load(tmp_path, [item])
    stats = result.entries[0]
    assert len(dataset) == 3 and stats.dropped["filter:max_enc_images"] == 1 and stats.balance() == 0
    moved = next(r for r in dataset if "sign" in r["conversations"][0]["value"])
    assert len(moved["images"]) == 1
