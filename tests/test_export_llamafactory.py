"""`hf-mixture export llamafactory`: the exported folder is re-read the way LLaMA-Factory reads it
(a small re-implementation of its dataset_info / ShareGPT / image-count rules, not LLaMA-Factory)."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from hf_mixture.cli.main import main
from hf_mixture.export.exporter import ExportError
from hf_mixture.export.folder import read_stage_columns, stage_num_rows
from hf_mixture.export.llamafactory import LlamaFactoryExporter

DEFAULT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}

pytest_plugins = ["publish_fixtures"]


def read_rows(path: Path) -> list[dict]:
    """A data file as LLaMA-Factory's loader reads it (json array, json lines or parquet)."""
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return [json.loads(line) for line in path.read_text().splitlines()]


def llamafactory_load(dataset_dir: Path, name: str) -> list[dict]:
    """Re-implementation of what LLaMA-Factory does with one ShareGPT dataset: resolve
    `dataset_info.json`, map columns, check roles alternate and `<image>` count == len(images), and
    open every image relative to `media_dir` (= dataset_dir). Raises on the first broken row."""
    attr = json.loads((dataset_dir / "dataset_info.json").read_text())[name]
    assert attr["formatting"] == "sharegpt"
    tags = {**DEFAULT_TAGS, **attr.get("tags", {})}
    columns = attr["columns"]
    examples = []
    for row in read_rows(dataset_dir / attr["file_name"]):
        messages, images = row[columns["messages"]], row[columns["images"]]
        assert isinstance(images, list), "images must be a list, not a string"
        roles = [m[tags["role_tag"]] for m in messages]
        assert len(roles) % 2 == 0 and roles == [tags["user_tag"], tags["assistant_tag"]] * (len(roles) // 2)
        tokens = sum(m[tags["content_tag"]].count("<image>") for m in messages)
        if tokens != len(images):
            raise ValueError("The number of images does not match the number of <image> tokens")
        for image in images:
            assert not Path(image).is_absolute()
            with Image.open(dataset_dir / image) as opened:
                opened.load()
        examples.append(row)
    return examples


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_export_reads_back_as_llamafactory_reads_it(demo_folder, tmp_path, fmt):
    result = LlamaFactoryExporter(demo_folder, "s3-unified", tmp_path / "lf", fmt).run(progress=False)
    rows = llamafactory_load(tmp_path / "lf", "s3-unified")

    assert len(rows) == result.total_rows == stage_num_rows(demo_folder, "s3-unified")
    assert json.loads((tmp_path / "lf/dataset_info.json").read_text()) == {
        "s3-unified": {
            "file_name": f"s3-unified.{fmt}",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "images": "images"},
        }
    }
    stored = read_stage_columns(demo_folder, "s3-unified", ["id", "source", "task"]).to_pylist()
    assert [(r["id"], r["source"], r["task"]) for r in rows] == [tuple(r.values()) for r in stored]


def test_generation_targets_are_a_separate_column_never_counted_as_image(demo_folder, tmp_path):
    LlamaFactoryExporter(demo_folder, "s3-unified", tmp_path / "lf", "jsonl").run(progress=False)
    rows = llamafactory_load(tmp_path / "lf", "s3-unified")
    t2i = [r for r in rows if r["task"] == "t2i"]
    edits = [r for r in rows if r["task"] == "edit"]
    assert t2i and edits
    for row in t2i + edits:
        text = " ".join(m["value"] for m in row["conversations"])
        assert text.count("<image_gen>") == len(row["image_gen"]) == 1
        assert all((tmp_path / "lf" / p).is_file() for p in row["image_gen"])
    assert all(r["images"] == [] for r in t2i)
    assert all(len(r["images"]) == 1 and r["image_gen_enc"] == [0] for r in edits)
    readme = (tmp_path / "lf/README.md").read_text()
    assert "`image_gen` column" in readme and "media_dir" in readme


def test_images_are_written_once_each(demo_folder, tmp_path):
    result = LlamaFactoryExporter(demo_folder, "s3-unified", tmp_path / "lf", "jsonl").run(progress=False)
    files = [p for p in (tmp_path / "lf/images").rglob("*") if p.is_file()]
    rows = read_rows(tmp_path / "lf/s3-unified.jsonl")
    referenced = {p for r in rows for p in r["images"] + r["image_gen"]}
    assert len(files) == result.images_written == len(referenced)


def test_a_row_breaking_the_image_count_stops_the_export_naming_the_row(demo_copy, tmp_path):
    shard = next((demo_copy / "s3-unified").glob("train-*.parquet"))
    table = pq.read_table(shard)
    turns = table["conversations"].to_pylist()
    turns[0][0]["value"] += " and a literal <image> in the text"
    index = table.schema.get_field_index("conversations")
    table = table.set_column(
        index, "conversations", pa.array(turns, table.schema.field("conversations").type)
    )
    pq.write_table(table, shard)
    first_id, n_images = table["id"][0].as_py(), len(table["images"][0])

    expected = rf"row '{first_id}' .* {n_images + 1} <image> token\(s\) for {n_images} image\(s\)"
    with pytest.raises(ExportError, match=expected):
        LlamaFactoryExporter(demo_copy, "s3-unified", tmp_path / "lf", "jsonl").run(progress=False)


def test_cli_export_llamafactory(demo_folder, tmp_path, capsys):
    assert main(["export", "llamafactory", str(demo_folder), "--stage", "s1-gnd", "--to", str(tmp_path / "x"),
                 "--format", "json", "--no-progress"]) == 0  # fmt: skip
    assert "rows of s1-gnd" in capsys.readouterr().out
    assert len(llamafactory_load(tmp_path / "x", "s1-gnd")) == stage_num_rows(demo_folder, "s1-gnd")


def test_unknown_stage_says_which_stages_exist(demo_folder, tmp_path):
    with pytest.raises(
        Exception, match="stage 's9' has no s9/train-\\*.parquet files; stages in this folder"
    ):
        LlamaFactoryExporter(demo_folder, "s9", tmp_path / "x").run(progress=False)
