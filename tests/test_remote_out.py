"""`--out s3://bucket/prefix` against moto's standalone S3 server: stages published through temporary
keys with the README last, loadable with `load_dataset` + storage_options, and validate / push
--dry-run / export read from it."""

from __future__ import annotations

import datasets
import fsspec
from datasets import load_dataset
from factories import run_cli, small_t2i_stage
from huggingface_hub import DatasetCard

from hf_mixture.build import build_stage
from hf_mixture.export.remote_out import RemoteFolder


def _keys(url: str) -> list[str]:
    fs, root = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    return sorted(k[len(root) + 1 :] for k in fs.find(root))


def test_stages_built_into_s3_load_and_the_readme_declares_each(s3_env, tmp_path, monkeypatch):
    url = f"s3://{s3_env.make_bucket()}/mixture"
    build_stage(small_t2i_stage(tmp_path, "a", 3), url, echo=lambda *_: None)
    build_stage(small_t2i_stage(tmp_path, "b", 2), url, echo=lambda *_: None)
    build_stage(small_t2i_stage(tmp_path, "b", 4), url, echo=lambda *_: None)  # a rebuild replaces b
    keys = _keys(url)
    assert keys == [
        "README.md",
        *(
            f"{s}/{f}"
            for s in "ab"
            for f in (
                "build_report.json",
                "composition.png",
                "drops.png",
                "stage.yaml",
                "train-00000-of-00001.parquet",
            )
        ),
    ]  # no temporary key is left
    card = DatasetCard(RemoteFolder(url).read_bytes("README.md").decode())
    sizes = {i["config_name"]: i["splits"][0]["num_examples"] for i in card.data.dataset_info}
    assert sizes == {"a": 3, "b": 4} and "<!-- hf-mixture:stage a -->" in card.text
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)  # the Hub stays unreachable; S3 is local
    rows = load_dataset(
        "parquet",
        data_files=f"{url}/b/train-*",
        storage_options=s3_env.storage_options,
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    assert len(rows) == 4 and rows[0]["images"] == [] and rows[0]["image_gen"][0] is not None


def test_validate_push_dry_run_and_export_read_an_s3_folder(s3_env, tmp_path):
    url = f"s3://{s3_env.make_bucket()}/mixture"
    done = run_cli("build", str(small_t2i_stage(tmp_path, "a", 2)), "--out", url)
    assert done.returncode == 0, done.stderr
    validated = run_cli("validate", url)
    assert validated.returncode == 0 and "verdict: PASS" in validated.stdout, (
        validated.stdout + validated.stderr
    )
    planned = run_cli("push", url, "org/mixture", "--dry-run")
    assert planned.returncode == 0 and "upload a/train-00000-of-00001.parquet" in planned.stdout, (
        planned.stderr
    )
    exported = run_cli(
        "export", "llamafactory", url, "--stage", "a", "--to", str(tmp_path / "lf"), "--no-progress",
        "--tasks", "t2i", "--generation",  # t2i rows are exported for LLaMA-Factory only when asked
    )  # fmt: skip
    assert exported.returncode == 0 and "exported 2 rows" in exported.stdout, exported.stderr


def test_an_emptied_remote_readme_is_rebuilt_from_the_stored_stages(s3_env, tmp_path):
    url = f"s3://{s3_env.make_bucket()}/mixture"
    build_stage(small_t2i_stage(tmp_path, "a", 3), url, echo=lambda *_: None)
    s3_env.put(f"{url}/README.md", b"")  # e.g. an interrupted upload by another tool
    build_stage(small_t2i_stage(tmp_path, "b", 2), url, echo=lambda *_: None)
    card = DatasetCard(RemoteFolder(url).read_bytes("README.md").decode())
    sizes = {i["config_name"]: i["splits"][0]["num_examples"] for i in card.data.dataset_info}
    assert sizes == {"a": 3, "b": 2}
