"""Images and data files reached through local paths, S3 (moto server), HTTP (local server) and
path mappings; corrupt and missing images are dropped and counted, and the build goes on."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import load_dataset
from factories import jpeg_bytes, t2i_entry, write_image, write_parquet, write_stage
from PIL import Image

from hf_mixture.build import build_stage


def build(config, out):
    return build_stage(config, out, echo=lambda *_: None)


def t2i_rows(paths: list[str]) -> dict:
    return {"s3_path": paths, "caption": [f"cap {i}" for i in range(len(paths))]}


def test_relative_image_paths_resolve_against_the_yaml_folder(tmp_path):
    write_image(tmp_path / "imgs" / "a.jpg")
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["imgs/a.jpg"]))
    result = build(write_stage(tmp_path / "s.yaml", [t2i_entry(data)]), tmp_path / "out")
    assert result.written.num_examples == 1


def test_relative_image_paths_resolve_against_image_root(tmp_path):
    write_image(tmp_path / "media" / "x" / "a.jpg")
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["x/a.jpg"]))
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(data, image_root="media")])
    assert build(config, tmp_path / "out").written.num_examples == 1


def test_images_and_data_are_read_from_s3(tmp_path, s3_env):
    bucket = s3_env.make_bucket()
    for i in range(3):
        s3_env.put(f"s3://{bucket}/img/{i}.jpg", jpeg_bytes(color=(i * 50, 0, 0)))
    buffer = io.BytesIO()
    pq.write_table(pa.table(t2i_rows([f"s3://{bucket}/img/{i}.jpg" for i in range(3)])), buffer)
    s3_env.put(f"s3://{bucket}/meta/d.parquet", buffer.getvalue())
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(f"s3://{bucket}/meta/*.parquet")])
    result = build(config, tmp_path / "out")
    train = load_dataset(str(tmp_path / "out"), "s", split="train")
    assert result.written.num_examples == 3
    assert train[0]["image_gen"][0].size == (32, 24)


def test_images_are_fetched_over_http(tmp_path, http_server):
    urls = [http_server.write(f"i/{i}.jpg", jpeg_bytes()) for i in range(2)]
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(urls))
    result = build(write_stage(tmp_path / "s.yaml", [t2i_entry(data)]), tmp_path / "out")
    assert result.written.num_examples == 2
    assert any(path.endswith("/i/0.jpg") for path in http_server.requests)


def test_a_path_mapping_runs_a_private_bucket_file_on_a_local_copy(tmp_path):
    write_image(tmp_path / "copy" / "prefix" / "a.jpg")
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["s3://private-bucket/prefix/a.jpg"]))
    config = write_stage(
        tmp_path / "s.yaml", [t2i_entry(data)], stage={"path_mappings": {"s3://private-bucket/": "copy/"}}
    )
    assert build(config, tmp_path / "out").written.num_examples == 1


def test_a_path_mapping_from_the_command_line_overrides(tmp_path):
    write_image(tmp_path / "copy" / "a.jpg")
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["s3://b/a.jpg"]))
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(data)])
    result = build_stage(
        config,
        tmp_path / "out",
        echo=lambda *_: None,
        overrides={"path_mappings": {"s3://b/": str(tmp_path / "copy") + "/"}},
    )
    assert result.written.num_examples == 1


def test_missing_and_corrupt_images_are_dropped_and_counted(tmp_path):
    write_image(tmp_path / "ok.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg at all")
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["ok.jpg", "bad.jpg", "gone.jpg"]))
    result = build(write_stage(tmp_path / "s.yaml", [t2i_entry(data)]), tmp_path / "out")
    (stats,) = result.entries
    assert result.written.num_examples == 1
    assert (stats.dropped["media:corrupt"], stats.dropped["media:missing"]) == (1, 1)
    assert stats.balance() == 0


def test_a_missing_http_image_is_dropped_not_fatal(tmp_path, http_server):
    good = http_server.write("ok.jpg", jpeg_bytes())
    data = write_parquet(tmp_path / "d.parquet", t2i_rows([good, http_server.url_for("nope.jpg")]))
    result = build(write_stage(tmp_path / "s.yaml", [t2i_entry(data)]), tmp_path / "out")
    assert result.written.num_examples == 1
    assert sum(n for r, n in result.entries[0].dropped.items() if r.startswith("media:")) == 1


def test_original_bytes_are_kept_when_no_resize_is_asked(tmp_path):
    original = write_image(tmp_path / "a.jpg", size=(300, 200)).read_bytes()
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["a.jpg"]))
    build(write_stage(tmp_path / "s.yaml", [t2i_entry(data)]), tmp_path / "out")
    stored = pq.read_table(next((tmp_path / "out" / "s").glob("train-*")))["image_gen"][0][0]["bytes"]
    assert stored.as_py() == original


def test_resolution_resizes_targets_to_the_short_side_and_records_the_original_size(tmp_path):
    write_image(tmp_path / "a.jpg", size=(600, 300))
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["a.jpg"]))
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(data)], stage={"resolution": 100})
    build(config, tmp_path / "out")
    row = load_dataset(str(tmp_path / "out"), "s", split="train")[0]
    assert row["image_gen"][0].size == (200, 100)
    assert (row["original_width"], row["original_height"]) == (600, 300)


def test_stored_image_paths_are_file_names_never_local_folders(tmp_path):
    write_image(tmp_path / "deep" / "folder" / "a.jpg")
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["deep/folder/a.jpg"]))
    build(write_stage(tmp_path / "s.yaml", [t2i_entry(data)]), tmp_path / "out")
    stored = pq.read_table(next((tmp_path / "out" / "s").glob("train-*")))["image_gen"][0][0]["path"]
    assert stored.as_py() == "a.jpg"


def test_normalised_images_are_kept_and_counted_as_repairs(tmp_path):
    Image.new("CMYK", (20, 10), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", format="JPEG")
    write_image(tmp_path / "ok.jpg")
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["cmyk.jpg", "ok.jpg"]))
    result = build(write_stage(tmp_path / "s.yaml", [t2i_entry(data)]), tmp_path / "out")
    (stats,) = result.entries
    assert result.written.num_examples == 2
    assert stats.repaired == {"normalise:mode_cmyk": 1}
    assert json.loads(result.report_path.read_text())["entries"][0]["repaired"] == {"normalise:mode_cmyk": 1}


def test_an_added_image_token_is_counted_as_a_repair(tmp_path):
    write_image(tmp_path / "imgs" / "a.jpg")
    rows = {
        "image": ["a.jpg", "a.jpg"],
        "conversations": [
            json.dumps([{"from": "human", "value": "What is it?"}, {"from": "gpt", "value": "Red."}]),
            json.dumps([{"from": "human", "value": "<image>\nAnd this?"}, {"from": "gpt", "value": "Red."}]),
        ],
    }
    data = write_parquet(tmp_path / "d.parquet", rows)
    entry = {
        "name": "und",
        "json_path": str(data),
        "preprocess_fn": "preproces_und_mammoth_si_10M",
        "image_root": "imgs",
    }
    (stats,) = build(write_stage(tmp_path / "s.yaml", [entry]), tmp_path / "out").entries
    assert stats.written == 2 and stats.repaired == {"repair:image_token_added": 1}


def test_json_path_is_read_over_http(tmp_path, http_server):
    urls = [http_server.write(f"i/{i}.jpg", jpeg_bytes()) for i in range(2)]
    lines = "\n".join(json.dumps({"s3_path": url, "caption": f"cap {i}"}) for i, url in enumerate(urls))
    data_url = http_server.write("meta/d.jsonl", lines.encode())
    result = build(write_stage(tmp_path / "s.yaml", [t2i_entry(data_url)]), tmp_path / "out")
    assert result.written.num_examples == 2


def test_stage_image_check_decides_how_deep_images_are_checked(tmp_path):
    noise = Image.frombytes("L", (128, 128), bytes(range(256)) * 64).convert("RGB")
    noise.save(tmp_path / "whole.jpg", format="JPEG", quality=95)
    whole = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) * 2 // 3])  # headers whole, pixels cut
    write_image(tmp_path / "ok.jpg")
    data = write_parquet(tmp_path / "d.parquet", t2i_rows(["cut.jpg", "ok.jpg"]))
    checked = build(write_stage(tmp_path / "a.yaml", [t2i_entry(data)]), tmp_path / "a")
    header_only = build(
        write_stage(tmp_path / "b.yaml", [t2i_entry(data)], stage={"image_check": "header"}), tmp_path / "b"
    )
    assert (checked.entries[0].dropped["media:corrupt"], checked.written.num_examples) == (1, 1)
    assert header_only.written.num_examples == 2
