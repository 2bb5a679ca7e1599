"""`hf-mixture push` / push_to_hub.py: everything before the upload runs on a real built folder;
only `HfApi` methods (the Hub boundary) are replaced, and their calls are pinned."""

import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import DatasetCard, HfApi
from huggingface_hub.errors import HfHubHTTPError, RemoteEntryNotFoundError

from hf_mixture.cli.main import main
from hf_mixture.export.folder import stage_num_rows
from hf_mixture.export.push import PushError, plan_push, push

FAKE_TOKEN = "hf_FakeTokenValue1234567890abcdef"
REMOTE_README = """---
pretty_name: Team mixture
license: apache-2.0
configs:
- config_name: s0-old
  data_files:
  - split: train
    path: s0-old/train-*
  default: true
- config_name: s2-256
  data_files:
  - split: train
    path: s2-256/train-*
dataset_info:
- config_name: s0-old
  splits:
  - name: train
    num_examples: 7
- config_name: s2-256
  splits:
  - name: train
    num_examples: 999
---
# Team mixture

<!-- hf-mixture:stage s0-old -->
## Stage `s0-old`
kept from the Hub
<!-- hf-mixture:end s0-old -->
"""

pytest_plugins = ["publish_fixtures"]
ROOT = Path(__file__).resolve().parent.parent


class HubRecorder:
    """Stands in for the Hub at the HfApi boundary; records calls and what the upload folder held."""

    def __init__(self, tmp_path: Path, remote_readme: str | None):
        self.calls, self.uploaded, self.tmp_path, self.remote_readme = [], {}, tmp_path, remote_readme

    def create_repo(self, api, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def hf_hub_download(self, api, repo_id, filename, **kwargs):
        self.calls.append(("hf_hub_download", repo_id, filename, kwargs))
        if self.remote_readme is None:
            request = httpx2.Request(
                "GET", f"https://huggingface.co/datasets/{repo_id}/resolve/main/README.md"
            )
            raise RemoteEntryNotFoundError(
                "404 entry not found", response=httpx2.Response(404, request=request)
            )
        path = self.tmp_path / "remote-README.md"
        path.write_text(self.remote_readme, encoding="utf-8")
        return str(path)

    def upload_folder(self, api, **kwargs):
        folder = Path(kwargs["folder_path"])
        self.uploaded = {
            p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
        }
        self.calls.append(("upload_folder", {k: v for k, v in kwargs.items() if k != "folder_path"}))
        return "https://huggingface.co/datasets/org/mix/commit/abc"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    recorder = HubRecorder(tmp_path, REMOTE_README)
    for name in ("create_repo", "hf_hub_download", "upload_folder"):
        bound = getattr(recorder, name)
        monkeypatch.setattr(HfApi, name, lambda api, *a, _f=bound, **k: _f(api, *a, **k))
    return recorder


def test_push_one_stage_uploads_its_files_deletes_its_stale_shards_and_merges_the_readme(demo_folder, hub):
    push(plan_push(demo_folder, "org/mix", stage="s2-256"), demo_folder)

    assert hub.calls[0] == (
        "create_repo",
        "org/mix",
        {"repo_type": "dataset", "private": None, "exist_ok": True},
    )
    assert hub.calls[1] == (
        "hf_hub_download",
        "org/mix",
        "README.md",
        {"repo_type": "dataset", "revision": None},
    )
    assert hub.calls[2] == (
        "upload_folder",
        {
            "repo_id": "org/mix",
            "repo_type": "dataset",
            "allow_patterns": [
                "README.md",
                "s2-256/train-*.parquet",
                "s2-256/build_report.json",
                "s2-256/stage.yaml",
                "s2-256/composition.png",
                "s2-256/drops.png",
            ],
            "ignore_patterns": [".*", "*/.*", "**/.cache/**"],
            "delete_patterns": ["s2-256/train-*"],
            "revision": None,
            "create_pr": False,
            "commit_message": "hf-mixture: push s2-256",
        },
    )
    assert sorted(hub.uploaded) == [
        "README.md",
        "s2-256/build_report.json",
        "s2-256/composition.png",
        "s2-256/drops.png",
        "s2-256/stage.yaml",
        "s2-256/train-00000-of-00002.parquet",
        "s2-256/train-00001-of-00002.parquet",
    ]
    assert (
        hub.uploaded["s2-256/train-00000-of-00002.parquet"]
        == (demo_folder / "s2-256/train-00000-of-00002.parquet").read_bytes()
    )


def test_pushed_readme_keeps_other_stages_and_the_hub_default(demo_folder, hub, tmp_path):
    push(plan_push(demo_folder, "org/mix", stage="s2-256"), demo_folder)

    (tmp_path / "pushed.md").write_bytes(hub.uploaded["README.md"])
    card = DatasetCard.load(tmp_path / "pushed.md")
    configs = {c["config_name"]: c for c in card.data.configs}
    assert sorted(configs) == ["s0-old", "s2-256"]  # s1-gnd / s3-unified are not pushed: not listed
    assert configs["s0-old"].get("default") is True and "default" not in configs["s2-256"]
    infos = {i["config_name"]: i for i in card.data.dataset_info}
    assert infos["s0-old"]["splits"][0]["num_examples"] == 7
    assert infos["s2-256"]["splits"][0]["num_examples"] == stage_num_rows(demo_folder, "s2-256")
    assert "kept from the Hub" in card.text and "## Stage `s2-256`" in card.text
    assert card.data.pretty_name == "Team mixture"
    assert 'load_dataset("org/mix", "s0-old"' in card.text


def test_first_push_to_a_repo_without_readme_makes_one_default(demo_folder, hub, tmp_path):
    hub.remote_readme = None
    push(plan_push(demo_folder, "org/mix", stage="s3-unified"), demo_folder)

    (tmp_path / "pushed.md").write_bytes(hub.uploaded["README.md"])
    card = DatasetCard.load(tmp_path / "pushed.md")
    assert card.data.configs == [
        {"config_name": "s3-unified", "data_files": [{"split": "train", "path": "s3-unified/train-*"}],
         "default": True}
    ]  # fmt: skip
    assert card.data.pretty_name == "mix (hf-mixture)"


def test_push_all_stages_deletes_each_stages_stale_shards_only(demo_folder, hub):
    push(plan_push(demo_folder, "org/mix", revision="v2"), demo_folder)

    upload = hub.calls[-1][1]
    assert upload["delete_patterns"] == ["s1-gnd/train-*", "s2-256/train-*", "s3-unified/train-*"]
    assert upload["revision"] == "v2"
    assert hub.calls[1][3]["revision"] == "v2"
    assert len([p for p in hub.uploaded if p.endswith(".parquet")]) == 6  # 3 stages of 2 shards


def test_create_pr_reads_the_card_of_main(demo_folder, hub):
    push(plan_push(demo_folder, "org/mix", stage="s1-gnd", create_pr=True, private=True), demo_folder)
    assert hub.calls[0][2]["private"] is True
    assert hub.calls[1][3]["revision"] is None
    assert hub.calls[2][1]["create_pr"] is True


def test_hub_error_messages_are_scrubbed_of_the_token(demo_folder, hub, monkeypatch, capsys):
    def refuse(api, **kwargs):
        request = httpx2.Request("POST", "https://huggingface.co/api/datasets/org/mix/commit/main")
        raise HfHubHTTPError(
            f"403 Forbidden: token {FAKE_TOKEN} cannot write to org/mix",
            response=httpx2.Response(403, request=request),
        )

    monkeypatch.setattr(HfApi, "upload_folder", refuse)
    with pytest.raises(PushError) as caught:
        push(plan_push(demo_folder, "org/mix", stage="s2-256"), demo_folder)
    assert FAKE_TOKEN not in str(caught.value)
    assert "hf_*** cannot write to org/mix" in str(caught.value)

    assert main(["push", str(demo_folder), "org/mix", "--stage", "s2-256"]) == 2
    out = capsys.readouterr()
    assert FAKE_TOKEN not in out.out + out.err and "403 Forbidden" in out.err


def test_dry_run_lists_uploads_and_deletions_without_calling_the_hub(demo_folder, hub, capsys):
    assert main(["push", str(demo_folder), "org/mix", "--stage", "s1-gnd", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert hub.calls == []
    assert "upload s1-gnd/train-00000-of-00002.parquet" in out
    assert "delete remote files matching s1-gnd/train-*" in out
    assert "s2-256" not in out and FAKE_TOKEN not in out


def test_push_to_hub_script_takes_the_same_arguments(demo_folder):
    result = subprocess.run(
        [sys.executable, str(ROOT / "push_to_hub.py"), str(demo_folder), "org/mix", "--stage", "s2-256",
         "--dry-run"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "upload s2-256/stage.yaml" in result.stdout and "dry run" in result.stdout


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stage": "s9-missing"}, "stage 's9-missing' is not built there"),
        ({"create_pr": True, "revision": "dev"}, "drop --revision dev"),
    ],
)
def test_bad_push_arguments_are_refused_before_any_hub_call(demo_folder, hub, kwargs, message):
    with pytest.raises(PushError, match=message):
        plan_push(demo_folder, "org/mix", **kwargs)
    with pytest.raises(PushError, match="expected `org/name`"):
        plan_push(demo_folder, "not a repo")
    assert hub.calls == []


def test_push_without_a_token_says_how_to_log_in(demo_folder, hub, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-login"))
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(tmp_path / "no-login" / "token"))
    with pytest.raises(PushError, match="HF_TOKEN or run `hf auth login`"):
        push(plan_push(demo_folder, "org/mix", stage="s2-256"), demo_folder)
    assert hub.calls == []


def test_dry_run_prints_each_file_size_the_total_and_that_a_token_is_found(demo_folder, hub, capsys):
    assert main(["push", str(demo_folder), "org/mix", "--stage", "s2-256", "--dry-run"]) == 0
    out = capsys.readouterr().out
    shard = demo_folder / "s2-256" / "train-00000-of-00002.parquet"
    assert f"upload s2-256/train-00000-of-00002.parquet ({shard.stat().st_size:,} bytes)" in out
    files = plan_push(demo_folder, "org/mix", stage="s2-256").files
    total = sum((demo_folder / f).stat().st_size for f in files)
    assert f"{len(files)} files, {total:,} bytes in total" in out
    assert "Hub login: a token is available" in out and FAKE_TOKEN not in out


def test_dry_run_says_when_no_token_is_available(demo_folder, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))  # no saved login either
    assert main(["push", str(demo_folder), "org/mix", "--dry-run"]) == 0
    assert "Hub login: no token found" in capsys.readouterr().out
