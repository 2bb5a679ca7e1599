"""The `echo4o` builder: logical /Echo-4o-Image/ paths mapped to members of its tar.gz shards."""

from __future__ import annotations

import pytest
from builder_helpers import SOURCES, build_and_load, entry, source_rows

from hf_mixture.errors import SourceError

ROOT = SOURCES / "echo4o" / "Echo-4o-Image"
SURREAL = ROOT / "Surrel-Fantasy-Image" / "conflict.jsonl"
MULTI = ROOT / "Multi-Reference-Image" / "hum_obj.jsonl"
T2I = "preproces_text_to_image_generation_s3"


def test_key_picks_the_shard_whose_range_holds_it(tmp_path):
    rows, _ = source_rows(tmp_path, entry(SURREAL, "echo4o", T2I))
    images = f"{ROOT}/Surrel-Fantasy-Image/images"
    assert rows[0]["s3_path"] == f"tar://00000.jpg::{images}/0-5000.tar.gz"
    assert rows[2]["s3_path"] == f"tar://05000.jpg::{images}/5000-10000.tar.gz"
    assert rows[0]["logical_output_image"] == "/Echo-4o-Image/Surrel-Fantasy-Image/images/00000.jpg"


def test_multi_reference_rows_map_every_input_image(tmp_path):
    rows, _ = source_rows(tmp_path, entry(MULTI, "echo4o", "process_gpt_edit"))
    base = f"{ROOT}/Multi-Reference-Image"
    assert rows[1]["input_images"] == [
        f"tar://00001.jpg::{base}/multi_refer_images_input/human/human.tar.gz",
        f"tar://00001.jpg::{base}/multi_refer_images_input/object/object.tar.gz",
    ]
    assert (
        rows[1]["output_paths"] == f"tar://00001.jpg::{base}/multi_refer_images_output/hum_obj/hum_obj.tar.gz"
    )


def test_multi_reference_rows_build_as_edits_with_two_sources(tmp_path):
    result, dataset = build_and_load(
        tmp_path, [entry(MULTI, "echo4o", "process_gpt_edit", name="echo-multi")]
    )
    assert len(dataset) == 2 and [len(r) for r in dataset["images"]] == [2, 2]
    assert dataset[0]["conversations"][0]["value"].count("<image_gen_enc>") == 2


def test_file_missing_from_its_shard_is_counted_by_the_media_stage(tmp_path):
    result, dataset = build_and_load(tmp_path, [entry(SURREAL, "echo4o", T2I, name="echo")])
    stats = result.entries[0]
    assert len(dataset) == 3 and stats.to_dict()["dropped"] == {"media:missing": 1} and stats.balance() == 0


def test_shard_without_a_range_name_is_found_by_its_member_list(tmp_path):
    import gzip
    import io
    import tarfile

    folder = tmp_path / "Echo-4o-Image" / "Sub" / "images"
    folder.mkdir(parents=True)
    for archive, key in (("a.tar.gz", "00001"), ("b.tar.gz", "00002")):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            info = tarfile.TarInfo(f"{key}.jpg")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        (folder / archive).write_bytes(gzip.compress(raw.getvalue()))
    jsonl = tmp_path / "Echo-4o-Image" / "Sub" / "sub.jsonl"
    jsonl.write_text('{"instruction": "x", "output_image": "/Echo-4o-Image/Sub/images/00002.jpg"}\n')
    rows, _ = source_rows(tmp_path, entry(jsonl, "echo4o", T2I))
    assert rows[0]["s3_path"] == f"tar://00002.jpg::{folder}/b.tar.gz"


def test_unfindable_root_names_the_option_to_set(tmp_path):
    jsonl = tmp_path / "lonely.jsonl"
    jsonl.write_text('{"instruction": "x", "output_image": "/Echo-4o-Image/Nowhere/images/00001.jpg"}\n')
    with pytest.raises(SourceError, match="set builder_options.root"):
        source_rows(tmp_path, entry(jsonl, "echo4o", T2I))
