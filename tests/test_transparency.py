"""Transparent images are composited onto white (media/normalise.py), in every image column, with
and without resizing, in the local and the Ray engine, and counted as repairs."""

import glob
import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from factories import t2i_entry, write_parquet, write_stage
from PIL import Image

from hf_mixture.build import build_stage
from hf_mixture.media.images import check_image

ON_WHITE = "normalise:transparency_on_white"
RED, BLUE = (255, 0, 0), (0, 0, 255)


def half_transparent(size=(600, 400), fmt="PNG", mode="RGBA") -> bytes:
    """Left half red with alpha 0 (LaViDa-O's `.convert("RGB")` would show it red, or black for
    most encoders' cleared pixels), right half opaque blue."""
    buffer = io.BytesIO()
    if mode == "P":  # palette: index 0 red (the transparent index), 1 blue
        image = Image.new("P", size, 1)
        image.putpalette([*RED, *BLUE])
        image.paste(0, (0, 0, size[0] // 2, size[1]))
        image.save(buffer, fmt, transparency=0)
        return buffer.getvalue()
    image = Image.new("RGBA", size, (*BLUE, 255))
    image.paste((*RED, 0), (0, 0, size[0] // 2, size[1]))
    image.save(buffer, fmt)
    return buffer.getvalue()


def left_right(data: bytes) -> tuple:
    image = Image.open(io.BytesIO(data))
    assert image.mode == "RGB"
    return image.getpixel((2, image.height // 2)), image.getpixel((image.width - 3, image.height // 2))


def near(pixel, expected, tolerance=6) -> bool:
    return bool(np.abs(np.subtract(pixel, expected)).max() <= tolerance)


@pytest.mark.parametrize("short_side", [None, 256], ids=["kept-size", "resized"])
@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "RGBA"), ("PNG", "P"), ("WEBP", "RGBA"), ("GIF", "P")])
def test_transparent_pixels_become_white_and_opaque_ones_keep_their_colour(fmt, mode, short_side):
    checked = check_image(half_transparent(fmt=fmt, mode=mode), short_side, "draft")
    left, right = left_right(checked.data)
    assert near(left, (255, 255, 255)) and near(right, BLUE), (left, right)
    assert checked.changes == (ON_WHITE,)


def test_an_opaque_png_keeps_its_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), BLUE).save(buffer, "PNG")
    assert check_image(buffer.getvalue(), None, "full").data == buffer.getvalue()


def stage_with_transparent_images(tmp_path: Path) -> Path:
    """A t2i entry (image_gen, resized to 256) and an understanding entry (images, kept size),
    each with one transparent PNG and one opaque JPEG."""
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "clear.png").write_bytes(half_transparent())
    Image.new("RGB", (300, 200), BLUE).save(tmp_path / "imgs" / "opaque.jpg")
    t2i = write_parquet(
        tmp_path / "t2i.parquet", {"s3_path": ["imgs/clear.png", "imgs/opaque.jpg"], "caption": ["a", "b"]}
    )
    turns = [{"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "Blue."}]
    und = write_parquet(
        tmp_path / "und.parquet",
        {"image": ["clear.png", "opaque.jpg"], "conversations": [json.dumps(turns)] * 2},
    )
    entries = [
        t2i_entry(t2i),
        {
            "name": "und",
            "json_path": str(und),
            "preprocess_fn": "preproces_und_mammoth_si_10M",
            "image_root": "imgs",
        },
    ]
    return write_stage(tmp_path / "s.yaml", entries, stage={"name": "s", "resolution": 256})


def test_a_build_stores_transparent_images_on_white_in_both_image_columns_and_counts_them(tmp_path):
    config = stage_with_transparent_images(tmp_path)
    build_stage(config, tmp_path / "out", echo=lambda *_: None)
    train = load_dataset(str(tmp_path / "out"), "s", split="train")
    stored = [image for row in train for image in row["image_gen"] + row["images"]]
    transparent = [image for image in stored if image.size in ((384, 256), (600, 400))]
    assert len(stored) == 4 and len(transparent) == 2  # image_gen resized 384x256, images kept 600x400
    for image in transparent:
        left, right = image.getpixel((2, 100)), image.getpixel((image.width - 3, 100))
        assert image.mode == "RGB" and near(left, (255, 255, 255)) and near(right, BLUE)
    report = json.loads((tmp_path / "out" / "s" / "build_report.json").read_text())
    assert [entry["repaired"] for entry in report["entries"]] == [{ON_WHITE: 1}, {ON_WHITE: 1}]


@pytest.mark.ray
def test_the_ray_engine_stores_the_same_images_and_repairs(tmp_path):
    ray = pytest.importorskip("ray")
    from hf_mixture.engines import make_ray_engine

    config = stage_with_transparent_images(tmp_path)
    build_stage(config, tmp_path / "local", echo=lambda *_: None)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        build_stage(config, tmp_path / "ray", echo=lambda *_: None, engine=make_ray_engine())
    finally:
        ray.shutdown()
    local, remote = (
        pq.read_table(sorted(glob.glob(str(tmp_path / d / "s" / "train-*")))) for d in ("local", "ray")
    )
    assert remote.to_pylist() == local.to_pylist()
    reports = [json.loads((tmp_path / d / "s" / "build_report.json").read_text()) for d in ("local", "ray")]
    assert [e["repaired"] for e in reports[1]["entries"]] == [e["repaired"] for e in reports[0]["entries"]]
