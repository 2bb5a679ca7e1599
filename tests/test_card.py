"""The dataset card every build renders: Hub metadata in the header, per-stage body, still loadable."""

from pathlib import Path

import pytest
import yaml
from datasets import load_dataset
from huggingface_hub import DatasetCard

from hf_mixture.build import build_stage
from hf_mixture.export.card import render_card, size_category, stage_sections
from hf_mixture.export.folder import safe_stage_yaml, stage_num_rows
from hf_mixture.export.licenses import hub_license_id
from hf_mixture.export.report import load_report

pytest_plugins = ["publish_fixtures"]
ROOT = Path(__file__).resolve().parent.parent


def test_card_header_has_the_hub_metadata_and_keeps_configs(demo_folder):
    card = DatasetCard.load(demo_folder / "README.md")
    data = card.data
    assert data.license == "other" and data.license_name == "mixture-of-source-licenses"
    # s3-unified (all_exhausted) alone holds ~1,200 rows: its 32 grounding rows have a 2.9 % row share
    # once batch_sizes count (LaViDa-O's rows-seen shares), so every group is exhausted after ~1,100
    assert data.size_categories == ["1K<n<10K"]
    assert data.task_categories == [
        "image-text-to-text", "image-to-image", "image-to-text", "text-to-image", "visual-question-answering",
    ]  # fmt: skip
    assert "MAmmoTH-VL/MAmmoTH-VL-Instruct-12M" in data.source_datasets
    assert "UCSC-VLAA/GPT-Image-Edit-1.5M" in data.source_datasets
    assert data.pretty_name == "demo-mixture (hf-mixture)"
    assert {"multimodal", "mixture"} <= set(data.tags)
    assert [c["config_name"] for c in data.configs] == ["s1-gnd", "s2-256", "s3-unified"]
    assert [c.get("default") for c in data.configs] == [True, None, None]
    rows = {i["config_name"]: i["splits"][0]["num_examples"] for i in data.dataset_info}
    assert rows == {s: stage_num_rows(demo_folder, s) for s in ("s1-gnd", "s2-256", "s3-unified")}


def test_card_body_describes_each_stage_with_sources_yaml_and_loading(demo_folder):
    text = DatasetCard.load(demo_folder / "README.md").text
    assert sorted(stage_sections(text)) == ["s1-gnd", "s2-256", "s3-unified"]
    s3 = stage_sections(text)["s3-unified"]
    report = load_report(demo_folder, "s3-unified")
    assert f"{report['rows']} rows in 2 parquet shard(s)" in s3
    omniedit = next(e for e in report["entries"] if e["name"] == "omniedit")
    assert (
        "| [omniedit](https://huggingface.co/datasets/UCSC-VLAA/GPT-Image-Edit-1.5M) | edit | edit_gpt "
        f"| {omniedit['written']} | {omniedit['realised_share']:.1%} | {omniedit['expected_share']:.1%} "
        f"| cc-by-4.0 (as published) | {omniedit['read']} | 0 |"
    ) in s3
    blip = next(e for e in report["entries"] if e["name"] == "blip3o-60k")
    drops = ", ".join(f"{k} {n}" for k, n in sorted(blip["dropped"].items()) if n)
    assert (
        f"| [blip3o-60k](https://huggingface.co/datasets/BLIP3o/BLIP3o-60k) | t2i | t2i | {blip['written']} "
        in s3
    )
    assert drops and drops in s3
    saved = safe_stage_yaml((ROOT / "configs/demo/s3-unified.yaml").read_text())
    assert saved.strip() in s3 and "weights:" in saved
    assert "split_dataset_by_node(stream, rank=0, world_size=8)" in text
    assert f'load_dataset("{demo_folder}", "s1-gnd", split="train")' in text


def test_stage_yaml_is_saved_next_to_the_report_outside_the_data_glob(demo_folder):
    saved = demo_folder / "s2-256" / "stage.yaml"
    source = yaml.safe_load((ROOT / "configs/demo/s2-256.yaml").read_text())
    assert yaml.safe_load(saved.read_text()) == source  # re-serialised: same data, no secret in the demo
    assert sorted(p.name for p in (demo_folder / "s2-256").glob("train-*")) == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]


def test_folder_with_the_card_still_loads(demo_folder):
    assert load_dataset(str(demo_folder), "s2-256", split="train").num_rows == stage_num_rows(
        demo_folder, "s2-256"
    )


def test_row_licenses_from_the_yaml_become_hub_license_ids(tmp_path):
    out = tmp_path / "licensed"
    build_stage(
        ROOT / "configs/demo/s2-256.yaml", out, overrides={"license": "Apache 2.0"}, echo=lambda *_: None
    )
    card = DatasetCard.load(out / "README.md")
    assert card.data.license == ["apache-2.0"] and card.data.get("license_name") is None
    assert "| Apache 2.0 |" in card.text and "(as published)" not in card.text


def test_render_card_is_stable_and_takes_a_repo_id(demo_copy):
    before = DatasetCard.load(demo_copy / "README.md").data
    render_card(demo_copy, repo_id="org/mix")
    after = DatasetCard.load(demo_copy / "README.md")
    assert after.data.configs == before.configs and after.data.dataset_info == before.dataset_info
    assert 'load_dataset("org/mix", "s1-gnd"' in after.text
    assert after.data.license_link == "https://huggingface.co/datasets/org/mix#source-licenses"


@pytest.mark.parametrize(
    ("text", "hub_id"),
    [("CC-BY 4.0", "cc-by-4.0"), ("Apache License 2.0", "apache-2.0"), ("MIT", "mit"), ("odc-by", "odc-by"),
     ("cc by-nc 4.0", "cc-by-nc-4.0"), ("proprietary", "unknown"), (None, "unknown")],
)  # fmt: skip
def test_free_text_licenses_map_to_hub_ids(text, hub_id):
    assert hub_license_id(text) == hub_id


@pytest.mark.parametrize(
    ("rows", "category"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (25_000_000, "10M<n<100M")]
)
def test_size_category(rows, category):
    assert size_category(rows) == category
