"""The `webdataset` builder (BLIP3o shards) and builder selection in the stage YAML."""

from __future__ import annotations

import datasets
import pytest
from builder_helpers import SOURCES, build_and_load, builder_for, entry, source_rows, write_stage_yaml
from factories import write_tar

from hf_mixture.config.load import load_stage_config
from hf_mixture.errors import ConfigError

T2I = "preproces_text_to_image_generation_s3"
SHARDS = SOURCES / "blip3o" / "BLIP3o-60k" / "*.tar"
ECHO = SOURCES / "echo4o" / "Echo-4o-Image" / "Surrel-Fantasy-Image" / "conflict.jsonl"


def test_samples_become_rows_with_archive_references(tmp_path):
    rows, _ = source_rows(tmp_path, entry(SHARDS, "webdataset", T2I))
    first = rows[0]
    assert first["__key__"] == "sa_000000_00000000"
    assert first["caption"].startswith("A weathered wooden fishing boat")
    assert first["s3_path"] == f"tar://sa_000000_00000000.jpg::{SOURCES}/blip3o/BLIP3o-60k/00000.tar"


def test_sample_without_image_member_is_dropped_and_counted(tmp_path):
    rows, drops = source_rows(tmp_path, entry(SHARDS, "webdataset", T2I))
    assert len(rows) == 4
    assert drops == {"source:no_image_member": 1}


def test_caption_bytes_that_are_not_utf8_are_replaced(tmp_path):
    shard = write_tar(tmp_path / "0.tar", {"k1.jpg": b"jpeg", "k1.txt": b"caf\xe9 au lait"})
    rows, _ = source_rows(tmp_path, entry(shard, "webdataset", T2I))
    assert rows[0]["caption"] == "caf\ufffd au lait"


def test_key_is_the_name_up_to_the_first_dot(tmp_path):
    shard = write_tar(tmp_path / "0.tar", {"dir/a.b.png": b"png", "dir/a.txt": b"x"})
    rows, _ = source_rows(
        tmp_path, entry(shard, "webdataset", T2I, builder_options={"image_exts": ["b.png"]})
    )
    assert rows[0]["__key__"] == "dir/a" and rows[0]["s3_path"].startswith("tar://dir/a.b.png::")


def test_webdataset_and_echo4o_mix_into_one_loadable_stage(tmp_path):
    entries = [
        entry(SHARDS, "webdataset", T2I, name="blip3o-60k"),
        entry(ECHO, "echo4o", T2I, name="echo-t2i"),
    ]
    result, dataset = build_and_load(tmp_path, entries, stopping_strategy="all_exhausted")
    counts = {e.name: e for e in result.entries}
    assert counts["blip3o-60k"].rows == 4
    assert counts["echo-t2i"].rows == 3 and counts["echo-t2i"].dropped["media:missing"] == 1
    assert all(e.balance() == 0 for e in result.entries)
    assert set(dataset["source"]) == {"blip3o-60k", "echo-t2i"}
    assert all(len(row["image_gen"]) == 1 and row["image_gen"][0].size == (40, 40) for row in dataset)
    stored = dataset.cast_column("image_gen", datasets.List(datasets.Image(decode=False)))
    assert "00000.jpg" in {cell["path"] for row in stored["image_gen"] for cell in row}


def test_stage_with_archives_loads_streaming(tmp_path):
    entries = [
        entry(SHARDS, "webdataset", T2I, name="blip3o-60k"),
        entry(ECHO, "echo4o", T2I, name="echo-t2i"),
    ]
    build_and_load(tmp_path, entries)
    streamed = datasets.load_dataset(str(tmp_path / "out"), "test-stage", split="train", streaming=True)
    rows = list(streamed)
    assert rows and {r["source"] for r in rows} <= {"blip3o-60k", "echo-t2i"}
    assert rows[0]["image_gen"][0].size == (40, 40)


def test_builder_streams_unified_rows(tmp_path):
    builder = builder_for(tmp_path, entry(SHARDS, "webdataset", T2I))
    rows = list(builder.as_streaming_dataset(split="train"))
    assert len(rows) == 4
    assert rows[0]["conversations"][0]["value"].startswith("Generate an image with the caption: A weathered")
    assert rows[0]["image_gen"][0].size == (40, 40)


def test_unknown_builder_lists_the_known_ones(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_stage_config(write_stage_yaml(tmp_path, [entry(SHARDS, "webdatset", T2I)]))
    assert "unknown builder 'webdatset'" in str(caught.value) and "webdataset" in str(caught.value)


def test_unknown_builder_option_lists_the_allowed_ones(tmp_path):
    item = entry(SHARDS, "webdataset", T2I, builder_options={"caption": "txt"})
    with pytest.raises(ConfigError) as caught:
        load_stage_config(write_stage_yaml(tmp_path, [item]))
    assert (
        "unknown option 'caption' for builder 'webdataset'; allowed options: image_exts, caption_ext"
        in str(caught.value)
    )


def test_json_path_must_have_a_type_the_builder_reads(tmp_path):
    item = entry(
        SOURCES / "coyo" / "data" / "part-00000-17da4908-939c-46e5-91d0-15f256041956-c000.snappy.parquet",
        "webdataset",
        T2I,
    )
    with pytest.raises(ConfigError) as caught:
        load_stage_config(write_stage_yaml(tmp_path, [item]))
    assert "must end in .tar, .tar.gz or .tgz" in str(caught.value)
