"""The `visualwebinstruct` builder: image lists, text-only rows, JSONL and parquet."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
from builder_helpers import SOURCES, build_and_load, entry, source_rows

BASE = SOURCES / "visualwebinstruct"
JSONL = BASE / "visualwebinstruct_conversation.jsonl"
FN = "preproces_vw_instruct"


def test_text_only_rows_have_an_empty_image_list(tmp_path):
    rows, _ = source_rows(tmp_path, entry(JSONL, "visualwebinstruct", FN))
    assert [r["image"] for r in rows] == [["visualwebinstruct/3f2a9c.png"], [], []]


def test_parquet_with_json_text_conversations_is_read(tmp_path):
    path = tmp_path / "conversation.parquet"
    turns = '[{"from": "user", "value": "<image>\\nq"}, {"from": "assistant", "value": "a"}]'
    pq.write_table(pa.table({"id": [7], "image": [["a.png"]], "conversations": [turns]}), path)
    rows, _ = source_rows(tmp_path, entry(path, "visualwebinstruct", FN))
    assert rows[0]["id"] == "7" and [t["from"] for t in rows[0]["conversations"]] == ["human", "gpt"]


def test_more_image_tokens_than_images_is_dropped_and_counted(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"image": ["a.png"], "conversations": [{"from": "human", "value": "<image><image> q"},'
        ' {"from": "gpt", "value": "a"}]}\n'
    )
    rows, drops = source_rows(tmp_path, entry(path, "visualwebinstruct", FN))
    assert rows == [] and drops == {"source:image_token_mismatch": 1}


def test_rows_build_with_images_and_text_only(tmp_path):
    item = entry(
        JSONL, "visualwebinstruct", FN, name="vw", builder_options={"image_folder": str(BASE / "imgs")}
    )
    result, dataset = build_and_load(tmp_path, [item])
    assert len(dataset) == 3 and sorted(len(r) for r in dataset["images"]) == [0, 0, 1]
