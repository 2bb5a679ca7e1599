"""`hf-mixture export llamafactory`: the exported folder is re-read the way LLaMA-Factory reads it
(a small re-implementation of its dataset_info / ShareGPT / image-count rules, not LLaMA-Factory)."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from hf_mixture.cli.main import main
from hf_mixture.export.export_report import EXPORT_REPORT
from hf_mixture.export.exporter import ExportError
from hf_mixture.export.folder import read_stage_columns, stage_num_rows
from hf_mixture.export.llamafactory import (
    DEFAULT_TASKS,
    LlamaFactoryExporter,
    fill_placeholder,
    stored_micro_conditions,
)

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


ALL_TASKS = ("t2i", "edit", "understanding", "grounding", "planning", "reflection")


def export_all(demo_folder, to, fmt="jsonl"):
    """Every row of s3-unified, generation rows included."""
    exporter = LlamaFactoryExporter(demo_folder, "s3-unified", to, fmt, tasks=ALL_TASKS, generation=True)
    return exporter.run(progress=False)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_export_reads_back_as_llamafactory_reads_it(demo_folder, tmp_path, fmt):
    result = export_all(demo_folder, tmp_path / "lf", fmt)
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


@pytest.mark.parametrize("stage", ["s1-gnd", "s3-unified"])
def test_default_export_has_no_placeholder_and_no_generation_row(demo_folder, tmp_path, stage):
    LlamaFactoryExporter(demo_folder, stage, tmp_path / "lf").run(progress=False)
    rows = llamafactory_load(tmp_path / "lf", stage)
    assert rows and {r["task"] for r in rows} <= set(DEFAULT_TASKS)
    text = [m["value"] for r in rows for m in r["conversations"]]
    assert not [t for t in text if "[[" in t or "<image_gen" in t]
    assert all(r["image_gen"] == [] for r in rows)


def test_export_report_adds_up_by_source_and_reason(demo_folder, tmp_path, capsys):
    args = ["export", "llamafactory", str(demo_folder), "--stage", "s3-unified", "--to", str(tmp_path / "lf")]
    assert main([*args, "--no-progress"]) == 0
    report = json.loads((tmp_path / "lf" / EXPORT_REPORT).read_text())
    stored = read_stage_columns(demo_folder, "s3-unified", ["source", "task"]).to_pylist()
    assert report["read"] == len(stored)
    assert report["exported"] == len(read_rows(tmp_path / "lf/s3-unified.jsonl"))
    assert report["exported"] + sum(report["not_exported"].values()) == report["read"]
    for name, source in report["sources"].items():
        assert source["read"] == sum(r["source"] == name for r in stored)
        assert source["exported"] + sum(source["not_exported"].values()) == source["read"]
    assert report["not_exported"]["task:t2i"] == sum(r["task"] == "t2i" for r in stored)
    assert report["not_exported"]["generation:not_requested"] > 0  # feedback-conditioned generation rows
    table = capsys.readouterr().out
    assert f"{report['exported']} of {report['read']} rows exported" in table and "task:t2i" in table


def test_a_stage_with_nothing_exportable_is_an_error(demo_folder, tmp_path, capsys):
    args = ["export", "llamafactory", str(demo_folder), "--stage", "s2-256", "--to", str(tmp_path / "lf")]
    assert main([*args, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "nothing to export for llamafactory" in err and "task:t2i" in err and "--generation" in err
    assert "Traceback" not in err and not (tmp_path / "lf" / "dataset_info.json").exists()


def test_tasks_choose_the_rows(demo_folder, tmp_path):
    exporter = LlamaFactoryExporter(demo_folder, "s3-unified", tmp_path / "lf", tasks=["grounding"])
    result = exporter.run(progress=False)
    rows = llamafactory_load(tmp_path / "lf", "s3-unified")
    assert {r["task"] for r in rows} == {"grounding"} and result.tally.reasons()["task:understanding"] > 0


def test_unknown_task_is_refused():
    with pytest.raises(ExportError, match="unknown task"):
        LlamaFactoryExporter("x", "s", "y", tasks=["captioning"])


def test_generation_rows_only_when_asked_with_the_placeholder_filled(demo_folder, tmp_path):
    export_all(demo_folder, tmp_path / "lf")
    rows = llamafactory_load(tmp_path / "lf", "s3-unified")
    stored = read_stage_columns(demo_folder, "s3-unified", ["original_width", "original_height", "gen_score"])
    first = stored.to_pylist()
    t2i = next((r, s) for r, s in zip(rows, first) if r["task"] == "t2i")
    prompt = t2i[0]["conversations"][0]["value"]
    assert "[[" not in prompt
    assert (
        f"ORIGINAL WIDTH : {t2i[1]['original_width']}; ORIGINAL HEIGHT : {t2i[1]['original_height']}"
        in prompt
    )
    assert f"SCORE : {t2i[1]['gen_score']:.3f}" in prompt


def test_placeholder_is_removed_when_nothing_is_stored():
    assert (
        fill_placeholder("Generate a cat [[micro_conds_texts]]. Plan it.", "") == "Generate a cat. Plan it."
    )
    assert fill_placeholder("a cat [[micro_conds_texts]]", "SCORE : 6.000") == "a cat SCORE : 6.000"
    row = {"original_width": None, "original_height": None, "gen_score": None, "hpsv2": None}
    assert stored_micro_conditions(row) == ""


def test_generation_targets_are_a_separate_column_never_counted_as_image(demo_folder, tmp_path):
    export_all(demo_folder, tmp_path / "lf")
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
    result = export_all(demo_folder, tmp_path / "lf")
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
        export_all(demo_copy, tmp_path / "lf")


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
