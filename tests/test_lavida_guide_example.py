"""The example entry of the LaViDa-O data guide (../shared/seeds), unchanged, with its images
served by an S3 server: it yields exactly the rows its filters keep, in LaViDa-O's row format."""

from pathlib import Path

import pandas as pd
import pytest
from datasets import load_dataset
from PIL import Image

from hf_mixture.build import build_stage

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "demo" / "data" / "laion_sample.parquet"

GUIDE_ENTRY = """\
datasets:
  - name: our-dataset
    json_path: {json_path}
    sampling_strategy: all
    preprocess_fn: preproces_text_to_image_generation_s3
    columns: ['s3_path', 'caption', 'fltLaionAesthScore','intHeight','intWidth']
    aes_cutoff: 5.67
    min_size: 512
"""


def upload_sample_images(s3_env) -> None:
    s3_env.make_bucket("lavida-demo")
    for image in sorted((REPO / "demo" / "images" / "t2i" / "laion").glob("*.jpg")):
        s3_env.put(f"s3://lavida-demo/t2i/laion/{image.name}", image.read_bytes())


def expected_rows() -> pd.DataFrame:
    frame = pd.read_parquet(SAMPLE)
    keep = (frame.fltLaionAesthScore > 5.67) & (frame.intHeight >= 512) & (frame.intWidth >= 512)
    return frame[keep]


def test_guide_entry_yields_exactly_the_rows_its_filters_keep(tmp_path, s3_env):
    upload_sample_images(s3_env)
    config = tmp_path / "guide.yaml"
    config.write_text(GUIDE_ENTRY.format(json_path=SAMPLE), encoding="utf-8")
    result = build_stage(config, tmp_path / "out", echo=lambda *_: None)
    rows = load_dataset(str(tmp_path / "out"), "guide", split="train")
    expected = expected_rows()
    assert sorted(rows["id"]) == sorted(f"our-dataset/{i}" for i in expected.index)
    assert sorted(r[0]["value"] for r in rows["conversations"]) == sorted(
        f"Generate an image with the caption: {c} [[micro_conds_texts]]" for c in expected.caption
    )
    assert all(r[1] == {"from": "gpt", "value": "Sure <image_gen>"} for r in rows["conversations"])
    (stats,) = result.entries
    assert stats.read == 10 and stats.written == len(expected)
    assert stats.dropped["filter:aes_cutoff"] + stats.dropped["filter:min_size"] == 10 - len(expected)


def test_guide_entry_images_come_from_the_s3_server(tmp_path, s3_env):
    upload_sample_images(s3_env)
    config = tmp_path / "guide.yaml"
    config.write_text(GUIDE_ENTRY.format(json_path=SAMPLE), encoding="utf-8")
    build_stage(config, tmp_path / "out", echo=lambda *_: None)
    row = load_dataset(str(tmp_path / "out"), "guide", split="train")[0]
    frame = pd.read_parquet(SAMPLE)
    position = int(row["id"].split("/")[1])
    local = REPO / "demo" / "images" / frame.s3_path[position].removeprefix("s3://lavida-demo/")
    assert row["image_gen"][0].size == Image.open(local).size
    assert row["gen_score"] == pytest.approx(frame.fltLaionAesthScore[position], abs=1e-5)
