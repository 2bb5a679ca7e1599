"""The output folder is a safe store: no secret written or printed, no path outside --out, foreign
READMEs kept, damaged shared files regenerated, and the card agreeing with the report entry by entry."""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import pytest
import yaml
from datasets import load_dataset
from factories import run_cli, write_image, write_parquet
from huggingface_hub import DatasetCard

from hf_mixture.build import build_stage
from hf_mixture.config.load import load_stage_config
from hf_mixture.errors import ConfigError, OutputError
from hf_mixture.export.card import merge_card, stage_sections
from hf_mixture.export.card_data import stage_summary
from hf_mixture.export.out_folder import atomic_write, out_path
from hf_mixture.export.report import load_report

ENTRY = {"preprocess_fn": "preproces_text_to_image_generation_s3", "sampling_strategy": "all"}

# Every secret spelling a user may put in a stage YAML or the environment.
FLOW_KEY, FLOW_SECRET = "AKIAFLOWSTYLE0000001", "flowStyleSecretValue01"
BLOCK_TOKEN = "blockStyleTokenValue02"
BEARER = "bearerHeaderSecret03"
URL_PASSWORD, URL_TOKEN, AMZ_SIGNATURE = "urlPassword04", "urlQueryToken05", "amzSignature06"
ENV_AWS, ENV_HF = "envAwsSecretValue07", "hf_EnvTokenValue08abcdefghijklmnop"
SECRETS = (
    FLOW_KEY,
    FLOW_SECRET,
    BLOCK_TOKEN,
    BEARER,
    URL_PASSWORD,
    URL_TOKEN,
    AMZ_SIGNATURE,
    ENV_AWS,
    ENV_HF,
)


def _source(folder: Path, name: str = "t", rows: int = 2) -> Path:
    refs = [str(write_image(folder / "img" / name / f"{i}.jpg", color=(i * 40, 90, 30))) for i in range(rows)]
    return write_parquet(
        folder / f"{name}.parquet", {"s3_path": refs, "caption": [f"c {i}" for i in range(rows)]}
    )


def _stage_yaml(folder: Path, stage: str, entries: list[dict] | None = None, **settings) -> Path:
    entries = entries or [{"name": "t", "json_path": str(_source(folder)), **ENTRY}]
    path = folder / f"{stage}.yaml"
    path.write_text(
        yaml.safe_dump({"datasets": entries, "stage": {"name": stage, **settings}}, sort_keys=False)
    )
    return path


def _build(config: Path, out: Path):
    return build_stage(config, out, echo=lambda *_: None)


def _loads(out: Path, stage: str) -> int:
    cache = tempfile.mkdtemp(dir=out.parent, prefix="cache-")  # never another folder's cached copy
    return len(load_dataset(str(out), stage, split="train", cache_dir=cache))


# 1. secrets


def _secret_yaml(tmp_path: Path) -> Path:
    """A stage whose `storage_options` mix flow style (`s3: {key: ..}`, an Authorization header in
    client_kwargs) and block style (`gcs:` / `token:`), with a signed, credentialed URL as a path
    mapping that also carries the environment's secret."""
    mapping = (
        f"https://user:{URL_PASSWORD}@img.example.com/a/?token={URL_TOKEN}&X-Amz-Signature={AMZ_SIGNATURE}"
        f"&p={ENV_AWS}"
    )
    path = tmp_path / "s.yaml"
    path.write_text(f"""datasets:
- name: t
  json_path: {_source(tmp_path)}
  sampling_strategy: all
  preprocess_fn: preproces_text_to_image_generation_s3
stage:
  name: s
  storage_options:
    s3: {{key: {FLOW_KEY}, secret: {FLOW_SECRET},
      client_kwargs: {{headers: {{Authorization: "Bearer {BEARER}"}}}}}}
    gcs:
      token: {BLOCK_TOKEN}
  path_mappings:
    "{mapping}": {tmp_path / "img"}
""")
    return path


def test_no_secret_of_any_spelling_reaches_an_output_file_or_what_is_printed(tmp_path):
    config = _secret_yaml(tmp_path)
    out = tmp_path / "out"
    env = {"AWS_SECRET_ACCESS_KEY": ENV_AWS, "HF_TOKEN": ENV_HF}
    runs = [
        run_cli("check", str(config), env=env),
        run_cli("build", str(config), "--out", str(out), env=env),
        run_cli("push", str(out), "org/mixture", "--dry-run", env=env),
        run_cli("validate", str(out), env=env),
    ]
    assert all(r.returncode == 0 for r in runs[:3]), [r.stderr for r in runs]
    printed = "".join(r.stdout + r.stderr for r in runs)
    assert "stage.yaml" in runs[2].stdout and "README.md" in runs[2].stdout
    files = [p for p in out.rglob("*") if p.is_file()]
    for secret in SECRETS:
        assert secret not in printed, secret
        for path in files:
            assert secret.encode() not in path.read_bytes(), (secret, path)
    saved = yaml.safe_load((out / "s" / "stage.yaml").read_text())
    assert saved["stage"]["storage_options"]["s3"]["key"] == "***"  # the shape stays readable
    assert saved["datasets"][0]["preprocess_fn"] == "preproces_text_to_image_generation_s3"


# 2. stage names


@pytest.mark.parametrize("name", ["..", ".", "../x", "a/b", ".hidden", "x*", "data", "a b"])
def test_a_stage_name_that_is_not_a_path_segment_is_a_config_error(tmp_path, name):
    config = _stage_yaml(tmp_path, "ok")
    config.write_text(config.read_text().replace("name: ok", f"name: '{name}'"))
    with pytest.raises(ConfigError, match=r"s\.yaml|ok\.yaml") as raised:
        load_stage_config(config)
    assert "stage.name (from stage.name)" in str(raised.value)


def test_check_exits_2_naming_the_bad_stage_name(tmp_path):
    config = _stage_yaml(tmp_path, "ok")
    config.write_text(config.read_text().replace("name: ok", "name: '..'"))
    done = run_cli("check", str(config))
    assert done.returncode == 2 and "stage.name" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_name_from_the_option_or_the_file_name_stops_the_build_before_writing(tmp_path):
    config = _stage_yaml(tmp_path, "ok")
    out = tmp_path / "deep" / "out"
    done = run_cli("build", str(config), "--out", str(out), "--name", "../x")
    assert done.returncode == 2 and "--name" in done.stderr
    text = yaml.safe_load(config.read_text())
    del text["stage"]["name"]
    bad_file = tmp_path / "bad name.yaml"
    bad_file.write_text(yaml.safe_dump(text))
    with pytest.raises(ConfigError, match="the YAML file name"):
        _build(bad_file, out)
    assert not (tmp_path / "deep").exists() and not (tmp_path / "x").exists()


def test_every_write_is_proven_inside_the_output_folder(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / "s").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutputError, match="outside the output folder"):
        atomic_write(out, "s/build_report.json", "{}")
    with pytest.raises(OutputError):
        out_path(out, "..", "x")
    with pytest.raises(OutputError):
        _build(_stage_yaml(tmp_path, "s"), out)
    assert list(outside.iterdir()) == []


# 4. damaged shared files


def test_a_damaged_readme_and_report_of_another_stage_warn_and_are_regenerated(tmp_path):
    out = tmp_path / "out"
    _build(_stage_yaml(tmp_path, "a"), out)
    (out / "README.md").write_bytes(b"")
    (out / "a" / "build_report.json").write_bytes(b"")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _build(_stage_yaml(tmp_path, "b"), out)
    assert any("a/build_report.json" in str(w.message) for w in caught)
    card = DatasetCard.load(out / "README.md")
    assert sorted(c["config_name"] for c in card.data.configs) == ["a", "b"]
    assert _loads(out, "a") == 2 and _loads(out, "b") == 2


def test_a_readme_that_is_not_yaml_does_not_stop_a_build(tmp_path):
    out = tmp_path / "out"
    _build(_stage_yaml(tmp_path, "a"), out)
    text = (out / "README.md").read_text()
    (out / "README.md").write_text(text[:300])  # cut inside the YAML header
    with pytest.warns(UserWarning, match="README.md"):
        _build(_stage_yaml(tmp_path, "b"), out)
    assert _loads(out, "a") == 2 and _loads(out, "b") == 2


def test_a_card_cut_in_its_body_is_still_ours_and_rebuilt(tmp_path):
    out = tmp_path / "out"
    _build(_stage_yaml(tmp_path, "a"), out)
    text = (out / "README.md").read_text()
    (out / "README.md").write_text(text[: text.index("<!--")])  # the header and nothing of the body
    _build(_stage_yaml(tmp_path, "b"), out)
    assert sorted(stage_sections(DatasetCard.load(out / "README.md").text)) == ["a", "b"]


def test_a_damaged_foreign_readme_is_set_aside_not_lost(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text("---\nlicense: mit\n")
    with pytest.warns(UserWarning, match="README.md"):
        _build(_stage_yaml(tmp_path, "a"), out)
    assert (out / "README.md.damaged").read_text() == "---\nlicense: mit\n"
    assert _loads(out, "a") == 2


def test_a_damaged_report_is_ignored_with_a_warning_by_readers(tmp_path):
    out = tmp_path / "out"
    _build(_stage_yaml(tmp_path, "a"), out)
    (out / "a" / "build_report.json").write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable build report"):
        assert load_report(out, "a") is None


# 5. a folder that is not ours


FOREIGN = """---
license: mit
pretty_name: My hand-written dataset
---
# My dataset

Written by hand; please keep this text.
"""


def test_a_readme_without_our_marker_keeps_its_body_and_metadata(tmp_path):
    out = tmp_path / "repo"
    out.mkdir()
    (out / "README.md").write_text(FOREIGN)
    _build(_stage_yaml(tmp_path, "s"), out)
    card = DatasetCard.load(out / "README.md")
    assert card.data.license == "mit" and card.data.pretty_name == "My hand-written dataset"
    assert "Written by hand; please keep this text." in card.text and "hf-mixture:card" not in card.text
    assert [c["config_name"] for c in card.data.configs] == ["s"]
    assert _loads(out, "s") == 2


def test_push_merges_only_configs_into_a_foreign_card_on_the_hub(tmp_path):
    out = tmp_path / "out"
    _build(_stage_yaml(tmp_path, "s"), out)
    remote = DatasetCard(
        FOREIGN.replace("---\n#", "configs:\n- config_name: theirs\n  data_files: t/*\n---\n#")
    )
    merged = DatasetCard(merge_card(out, ["s"], remote, "org/x"))
    assert merged.data.license == "mit" and "Written by hand" in merged.text
    assert sorted(c["config_name"] for c in merged.data.configs) == ["s", "theirs"]
    assert (
        [i["config_name"] for i in merged.data.dataset_info] == ["s"]
        if isinstance(merged.data.dataset_info, list)
        else merged.data.dataset_info["config_name"] == "s"
    )


# 7. duplicate entry names


def test_two_entries_with_one_name_are_two_card_lines_that_match_the_report(tmp_path):
    entries = [
        {"name": "same", "json_path": str(_source(tmp_path, "a", rows=3)), **ENTRY},
        {"name": "same", "json_path": str(_source(tmp_path, "b", rows=5)), **ENTRY},
    ]
    out = tmp_path / "out"
    _build(_stage_yaml(tmp_path, "s", entries), out)
    report = json.loads((out / "s" / "build_report.json").read_text())
    summary = stage_summary(out, "s")
    assert [(e["key"], e["written"]) for e in report["entries"]] == [(s.key, s.rows) for s in summary.sources]
    assert [s.rows for s in summary.sources] == [3, 5]
    section = stage_sections(DatasetCard.load(out / "README.md").text)["s"]
    assert "| same | t2i | default | 3 |" in section and "| same (`same~2`) | t2i | default | 5 |" in section
