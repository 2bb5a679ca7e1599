"""Security: image references stay in their roots, YAML is loaded safely, schemes are limited,
and the Hub token never appears in anything printed or written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import jpeg_bytes, write_image, write_parquet, write_stage

from hf_mixture.config.load import load_stage_config
from hf_mixture.errors import ConfigError
from hf_mixture.media.fetch import ImageFetcher, image_name
from hf_mixture.media.images import MediaError
from hf_mixture.redact import MASK, redact
from hf_mixture.storage import DEFAULT_SCHEMES, PathMapping, Storage

BAD = Path(__file__).parent / "configs" / "bad"
FAKE_TOKEN = "hf_FakeTokenForTestsOnly0123456789abcdef"
REPO = Path(__file__).parents[1]


@pytest.fixture
def layout(tmp_path):
    """A root with one image, a secret file beside the root, and a fetcher confined to the root."""
    root = tmp_path / "root"
    write_image(root / "img" / "ok.jpg")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    storage = Storage(base_dir=root)
    return root, secret, ImageFetcher(storage, str(root), [str(root)])


def _reason(fetcher: ImageFetcher, ref: str) -> str:
    with pytest.raises(MediaError) as raised:
        fetcher.read(ref)
    return raised.value.reason


def test_reference_inside_the_root_is_read(layout):
    root, _, fetcher = layout
    assert fetcher.read("img/ok.jpg") == (root / "img" / "ok.jpg").read_bytes()
    assert fetcher.read(str(root / "img" / "ok.jpg")) == (root / "img" / "ok.jpg").read_bytes()


@pytest.mark.parametrize("ref", ["../secret.txt", "img/../../secret.txt", "img/../../root/../secret.txt"])
def test_dot_dot_out_of_the_root_is_refused(layout, ref):
    assert _reason(layout[2], ref) == "media:outside_root"


def test_absolute_and_file_uri_outside_the_root_are_refused(layout):
    _, secret, fetcher = layout
    assert _reason(fetcher, str(secret)) == "media:outside_root"
    assert _reason(fetcher, f"file://{secret}") == "media:outside_root"
    assert _reason(fetcher, "/etc/passwd") == "media:outside_root"


def test_symlink_out_of_the_root_is_refused(layout):
    root, secret, fetcher = layout
    (root / "img" / "link.jpg").symlink_to(secret)
    (root / "escape").symlink_to(secret.parent, target_is_directory=True)
    assert _reason(fetcher, "img/link.jpg") == "media:outside_root"
    assert _reason(fetcher, "escape/secret.txt") == "media:outside_root"


def test_symlink_inside_the_root_is_followed(layout):
    root, _, fetcher = layout
    (root / "alias.jpg").symlink_to(root / "img" / "ok.jpg")
    assert fetcher.read("alias.jpg") == (root / "img" / "ok.jpg").read_bytes()


def test_fifo_inside_the_root_is_not_read(layout):
    root, _, fetcher = layout
    os.mkfifo(root / "pipe.jpg")
    assert _reason(fetcher, "pipe.jpg") == "media:unreadable"


def test_mapping_target_is_a_root_but_cannot_be_climbed_out_of(tmp_path):
    images = tmp_path / "mirror"
    write_image(images / "a.jpg")
    (tmp_path / "secret.txt").write_text("x")
    storage = Storage(base_dir=tmp_path / "yaml", mappings=(PathMapping("s3://bucket/", f"{images}/"),))
    fetcher = ImageFetcher(storage, str(tmp_path / "yaml"), [str(tmp_path / "yaml"), f"{images}/"])
    assert fetcher.read("s3://bucket/a.jpg") == (images / "a.jpg").read_bytes()
    assert _reason(fetcher, "s3://bucket/../secret.txt") == "media:outside_root"


def test_relative_reference_cannot_climb_out_of_a_remote_root(http_server):
    http_server.write("pub/a.jpg", b"A")
    http_server.write("private/key.txt", b"K")
    storage = Storage(base_dir=Path("."))
    fetcher = ImageFetcher(storage, http_server.url_for("pub/"), [])
    assert fetcher.read("a.jpg") == b"A"
    assert _reason(fetcher, "../private/key.txt") == "media:outside_root"
    assert http_server.requests == ["/pub/a.jpg"]


def test_archive_outside_the_root_is_refused(layout):
    _, secret, fetcher = layout
    assert _reason(fetcher, f"tar://member.jpg::{secret.parent}/x.tar") == "media:outside_root"


@pytest.mark.parametrize("ref", ["ftp://example.org/a.jpg", "sftp://host/a.jpg", "data://text/plain,x"])
def test_unlisted_schemes_are_refused(layout, ref):
    assert _reason(layout[2], ref) == "media:scheme_not_allowed"


def test_allowed_schemes_can_be_narrowed_and_widened(tmp_path, http_server):
    http_server.write("a.jpg", b"A")
    narrow = ImageFetcher(
        Storage(base_dir=tmp_path, allowed_schemes=("file",)), str(tmp_path), [str(tmp_path)]
    )
    assert _reason(narrow, http_server.url_for("a.jpg")) == "media:scheme_not_allowed"
    no_local = ImageFetcher(Storage(base_dir=tmp_path, allowed_schemes=("https",)), str(tmp_path), [])
    assert _reason(no_local, "a.jpg") == "media:scheme_not_allowed"
    wide = Storage(base_dir=tmp_path, allowed_schemes=(*DEFAULT_SCHEMES, "memory"))
    wide.filesystem("memory://x").pipe("memory://x/a.jpg", b"M")
    assert ImageFetcher(wide, str(tmp_path), []).read("memory://x/a.jpg") == b"M"


def test_stored_image_name_never_holds_a_folder():
    assert image_name("/home/user/data/img/a.jpg") == "a.jpg"
    assert image_name("https://host/x/b.png?token=abc") == "b.png"


# ------------------------------------------------------------------------------------- YAML


def test_python_tags_are_refused_and_never_run():
    marker = Path("/tmp/hf_mixture_pwned")
    marker.unlink(missing_ok=True)
    with pytest.raises(ConfigError, match=r"python_tag.yaml:3: .*python/object/apply.*safe YAML loader"):
        load_stage_config(BAD / "python_tag.yaml")
    assert not marker.exists()


def test_module_function_preprocess_runs_only_the_named_function(tmp_path, monkeypatch):
    module = tmp_path / "my_preprocess.py"
    module.write_text(
        "def caption_only(row, *, rng):\n"
        "    return {'task': 't2i', 'conversations': [{'from': 'human', 'value': row['caption']},"
        " {'from': 'gpt', 'value': '<image_gen>'}], 'image_gen': [row['s3_path']]}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    source = write_parquet(tmp_path / "t.parquet", {"s3_path": ["a.jpg"], "caption": ["c"]})
    entry = {"name": "mine", "json_path": str(source), "preprocess_fn": "my_preprocess:caption_only"}
    config = load_stage_config(write_stage(tmp_path / "s.yaml", [entry]))
    assert config.entries[0].preprocess_fn == "my_preprocess:caption_only"
    entry["preprocess_fn"] = "my_preprocess:absent"
    with pytest.raises(ConfigError, match="cannot import 'absent' from 'my_preprocess'"):
        load_stage_config(write_stage(tmp_path / "s.yaml", [entry]))


# ---------------------------------------------------------------------------------- secrets


def test_redact_masks_tokens_credentials_and_secret_keys(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "plainsecretvalue")
    text = (
        "env plainsecretvalue; hub hf_abcdefghijklmnopqrstuvwxyz; "
        "https://user:pass@host/a.jpg?X-Amz-Signature=abc&x=1\n  token: tok123\n  secret: s3cr3t # note\n"
    )
    masked = redact(text)
    for secret in (
        "plainsecretvalue",
        "hf_abcdefghijklmnopqrstuvwxyz",
        "user:pass",
        "abc&",
        "tok123",
        "s3cr3t",
    ):
        assert secret not in masked
    assert f"https://{MASK}@host/a.jpg?X-Amz-Signature={MASK}&x=1" in masked
    assert "# note" in masked


def _cli(*argv: str, env_token: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_TOKEN": env_token, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "hf_mixture.cli.main", "-v", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )


def _t2i_stage(tmp_path: Path, **stage) -> Path:
    write_image(tmp_path / "img" / "0.jpg")
    source = write_parquet(tmp_path / "t.parquet", {"s3_path": ["img/0.jpg"], "caption": ["a cat"]})
    entry = {"name": "t", "json_path": str(source), "preprocess_fn": "preproces_text_to_image_generation_s3"}
    return write_stage(tmp_path / "s.yaml", [entry], stage={"name": "s", **stage})


def test_token_never_reaches_output_files_or_logs(tmp_path):
    config = _t2i_stage(tmp_path, storage_options={"hf": {"token": FAKE_TOKEN}})
    done = _cli("build", str(config), "--out", str(tmp_path / "out"), env_token=FAKE_TOKEN)
    assert done.returncode == 0, done.stderr
    assert FAKE_TOKEN not in done.stdout + done.stderr
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"README.md", "build_report.json", "train-00000-of-00001.parquet"}
    for path in written:
        assert FAKE_TOKEN.encode() not in path.read_bytes(), path


def test_token_never_reaches_an_error_message(tmp_path):
    config = _t2i_stage(tmp_path, allowed_schemes=FAKE_TOKEN)
    text = config.read_text() + f"weights:\n  {FAKE_TOKEN}: 1\n"
    config.write_text(
        text.replace("json_path: ", f"json_path: https://me:{FAKE_TOKEN}@127.0.0.1:9/x.parquet#", 1)
    )
    for command in ("check", "build"):
        done = _cli(command, str(config), "--out", str(tmp_path / "out"), env_token=FAKE_TOKEN)
        assert done.returncode != 0
        assert "error" in done.stderr
        assert FAKE_TOKEN not in done.stdout + done.stderr


def test_build_never_embeds_a_local_file_a_row_points_at(tmp_path):
    from hf_mixture.build import build_stage

    secret = tmp_path / "outside" / "secret.jpg"
    secret.parent.mkdir()
    secret.write_bytes(jpeg_bytes((8, 8), (1, 2, 3)) + b"TOP-SECRET")
    stage_dir = tmp_path / "stage"
    write_image(stage_dir / "ok.jpg")
    refs = ["ok.jpg", str(secret), "../outside/secret.jpg", f"file://{secret}"]
    source = write_parquet(stage_dir / "t.parquet", {"s3_path": refs, "caption": ["c"] * 4})
    entry = {"name": "t", "json_path": str(source), "preprocess_fn": "preproces_text_to_image_generation_s3"}
    config = write_stage(stage_dir / "s.yaml", [entry], stage={"name": "s"})
    result = build_stage(config, tmp_path / "out", echo=lambda *_: None)
    report = json.loads(result.report_path.read_text())
    assert report["entries"][0]["dropped"] == {"media:outside_root": 3}
    for shard in result.written.files:
        assert b"TOP-SECRET" not in shard.read_bytes()
