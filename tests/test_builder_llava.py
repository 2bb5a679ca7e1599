"""The user's own data as a source: LLaVA / ShareGPT records (`builder: llava` / `sharegpt`) and
LLaMA-Factory datasets (`builder: llamafactory`), built and exported back to LLaMA-Factory.

The two seed records are those of a user's LLaVA-style file (image as a string, `width`/`height`,
no `<image>` token) and of LLaMA-Factory's multi-image example (`<image><image>`, `images` list).
"""

import json

import pyarrow.parquet as pq
import pytest
from builder_helpers import SOURCES, build_and_load
from factories import write_image, write_json, write_stage
from test_export_llamafactory import llamafactory_load

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.export.llamafactory import LlamaFactoryExporter

QUESTION = "Write a detailed description of this image..."
ANSWER = "The image is of a pair of silver earrings..."


def seed_records(tmp_path):
    write_image(tmp_path / "000443568.jpg")
    second = [str(write_image(tmp_path / f"image{i}.jpg", color=(i * 80, 90, 20))) for i in (2, 3)]
    single = {
        "image": "000443568.jpg",
        "width": 700,
        "height": 700,
        "conversations": [{"from": "human", "value": QUESTION}, {"from": "gpt", "value": ANSWER}],
    }
    double = {
        "conversations": [
            {"from": "human", "value": "<image><image>Compare these two images."},
            {"from": "gpt", "value": "Both images show different aspects..."},
        ],
        "images": second,
    }
    return [single, double]


def build(tmp_path, records, builder="llava", **entry):
    data = write_json(tmp_path / "data.json", records)
    stage = write_stage(
        tmp_path / "s.yaml", [{"name": "mine", "json_path": str(data), "builder": builder, **entry}]
    )
    result = build_stage(stage, tmp_path / "out", echo=lambda *_: None)
    rows = pq.read_table(sorted((tmp_path / "out" / "s").glob("train-*.parquet"))).to_pylist()
    return result.entries[0], rows


def test_seed_records_build_with_the_missing_token_added_as_a_repair(tmp_path):
    stats, rows = build(tmp_path, seed_records(tmp_path))
    assert stats.written == 2 and stats.repaired["repair:image_token_added"] == 1
    assert rows[0]["conversations"][0]["value"] == f"<image>\n{QUESTION}"
    assert [len(r["images"]) for r in rows] == [1, 2] and all(r["task"] == "understanding" for r in rows)


def test_seed_records_export_to_llamafactory_and_load_there(tmp_path):
    build(tmp_path, seed_records(tmp_path))
    LlamaFactoryExporter(tmp_path / "out", "s", tmp_path / "lf").run(progress=False)
    rows = llamafactory_load(tmp_path / "lf", "s")
    assert [m["value"].count("<image>") for r in rows for m in r["conversations"][:1]] == [1, 2]
    assert [len(r["images"]) for r in rows] == [1, 2]


def test_messages_with_role_content_and_a_system_turn_merged(tmp_path):
    write_image(tmp_path / "a.jpg")
    record = {
        "images": ["a.jpg"],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "<image>What is it?"},
            {"role": "assistant", "content": "A red square."},
        ],
    }
    _, rows = build(tmp_path, [record], builder="sharegpt")
    assert rows[0]["conversations"] == [
        {"from": "human", "value": "Be brief.\n\n<image>What is it?"},
        {"from": "gpt", "value": "A red square."},
    ]


def test_two_images_without_tokens_get_one_token_each(tmp_path):
    for name in ("a.jpg", "b.jpg"):
        write_image(tmp_path / name)
    record = {"image": ["a.jpg", "b.jpg"], "conversations": [{"from": "human", "value": "Compare."},
                                                              {"from": "gpt", "value": "Same."}]}  # fmt: skip
    stats, rows = build(tmp_path, [record])
    assert rows[0]["conversations"][0]["value"] == "<image><image>\nCompare."
    assert stats.repaired["repair:image_token_added"] == 1


def turns_of(question, answer, answer_role="gpt"):
    return [{"from": "human", "value": question}, {"from": answer_role, "value": answer}]


@pytest.mark.parametrize(
    ("turns", "reason"),
    [
        (turns_of("<image><image> two?", "no"), "source:image_token_mismatch"),
        (turns_of("<image> hi", "an <image> tag"), "source:image_token_in_answer"),
        (turns_of("<image> hi", "{}", "function_call"), "source:unsupported_role"),
    ],
)
def test_rows_that_cannot_match_are_dropped_with_their_reason(tmp_path, turns, reason):
    write_image(tmp_path / "a.jpg")
    good = {
        "image": "a.jpg",
        "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "ok"}],
    }
    stats, rows = build(tmp_path, [good, {"image": "a.jpg", "conversations": turns}])
    assert stats.written == 1 and stats.dropped[reason] == 1


def llamafactory_dataset(tmp_path):
    """An OpenAI-style LLaMA-Factory dataset (messages/role/content) with images under media/."""
    write_image(tmp_path / "media" / "pic.jpg")
    rows = [
        {"msgs": [{"who": "u", "text": "Describe."}, {"who": "a", "text": "A red square."}],
         "pics": ["pic.jpg"], "sys": "You describe images.", "width": 3},
        {"msgs": [{"who": "u", "text": "Hello"}, {"who": "a", "text": "Hi"}], "pics": []},
    ]  # fmt: skip
    write_json(tmp_path / "lfdata" / "mine.jsonl", rows, lines=True)
    info = {
        "mine": {
            "file_name": "mine.jsonl",
            "formatting": "sharegpt",
            "columns": {"messages": "msgs", "images": "pics", "system": "sys"},
            "tags": {"role_tag": "who", "content_tag": "text", "user_tag": "u", "assistant_tag": "a"},
        }
    }
    return write_json(tmp_path / "lfdata" / "dataset_info.json", info)


def test_a_llamafactory_dataset_is_a_source_with_its_columns_tags_and_media_dir(tmp_path):
    info = llamafactory_dataset(tmp_path)
    entry = {"name": "lf", "json_path": str(info), "builder": "llamafactory",
             "builder_options": {"dataset": "mine", "media_dir": str(tmp_path / "media")}}  # fmt: skip
    result = build_stage(write_stage(tmp_path / "s.yaml", [entry]), tmp_path / "out", echo=lambda *_: None)
    assert result.entries[0].written == 2
    rows = pq.read_table(sorted((tmp_path / "out" / "s").glob("train-*.parquet"))).to_pylist()
    assert rows[0]["conversations"][0]["value"] == "<image>\nYou describe images.\n\nDescribe."
    assert len(rows[0]["images"]) == 1 and rows[1]["images"] == []


def test_a_dataset_name_not_in_dataset_info_stops_the_build_naming_both(tmp_path, capsys):
    info = llamafactory_dataset(tmp_path)
    entry = {
        "name": "lf",
        "json_path": str(info),
        "builder": "llamafactory",
        "builder_options": {"dataset": "other"},
    }
    stage = write_stage(tmp_path / "s.yaml", [entry])
    assert main(["build", str(stage), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "dataset 'other' is not in it; datasets: mine" in err and "Traceback" not in err


def test_llamafactory_builder_requires_a_dataset_name(tmp_path, capsys):
    entry = {"name": "lf", "json_path": str(llamafactory_dataset(tmp_path)), "builder": "llamafactory"}
    assert main(["check", str(write_stage(tmp_path / "s.yaml", [entry]))]) == 2
    assert "builder_options.dataset: required" in capsys.readouterr().err


def test_records_roundtrip_through_json_unchanged(tmp_path):
    """Extra keys are ignored and the text is verbatim (no LaViDa-O rewriting of long answers)."""
    write_image(tmp_path / "a.jpg")
    long_answer = " ".join(["word"] * 200)
    record = {
        "id": 7,
        "image": "a.jpg",
        "extra": {"x": 1},
        "conversations": turns_of("<image>Q", long_answer),
    }
    _, rows = build(tmp_path, [record])
    assert rows[0]["conversations"][1]["value"] == long_answer
    assert json.loads(json.dumps(rows[0]["conversations"])) == record["conversations"]


def test_the_demo_samples_build_in_the_users_layouts(tmp_path):
    """demo/sources/llava_user (the second seed's file) and demo/sources/llamafactory."""
    user = {"name": "mine", "json_path": str(SOURCES / "llava_user" / "data.json"), "builder": "llava",
            "image_root": str(SOURCES / "llava_user" / "images")}  # fmt: skip
    lf = {"name": "lf", "json_path": str(SOURCES / "llamafactory" / "dataset_info.json"),
          "builder": "llamafactory", "builder_options": {"dataset": "my_vlm_dataset"}}  # fmt: skip
    result, ds = build_and_load(tmp_path, [user, lf])
    assert [e.written for e in result.entries] == [2, 1]
    assert sorted(len(images) for images in ds["images"]) == [1, 1, 2]


def test_llamafactory_tags_without_system_tag_make_a_system_message_unknown(tmp_path):
    """LLaMA-Factory unsets every tag `tags` leaves out and skips such a row: so do we, counted."""
    write_image(tmp_path / "lfdata" / "pic.jpg")
    turns = [{"role": "user", "content": "<image>Hi"}, {"role": "assistant", "content": "A square."}]
    system = {"role": "system", "content": "Be brief."}
    records = [
        {"messages": turns, "images": ["pic.jpg"]},
        {"messages": [system, *turns], "images": ["pic.jpg"]},
    ]
    write_json(tmp_path / "lfdata" / "d.json", records)
    tags = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}
    info = {"d": {"file_name": "d.json", "formatting": "sharegpt", "tags": tags,
                  "columns": {"messages": "messages", "images": "images"}}}  # fmt: skip
    path = write_json(tmp_path / "lfdata" / "dataset_info.json", info)
    entry = {
        "name": "lf",
        "json_path": str(path),
        "builder": "llamafactory",
        "builder_options": {"dataset": "d"},
    }
    result = build_stage(write_stage(tmp_path / "s.yaml", [entry]), tmp_path / "out", echo=lambda *_: None)
    assert result.entries[0].written == 1 and result.entries[0].dropped["source:unsupported_role"] == 1
