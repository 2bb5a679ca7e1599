"""`hf-mixture preview`: a self-contained HTML page with every source, escaped text, thumbnails."""

import re
import shutil
import subprocess

import pytest
from factories import t2i_entry, t2i_table, write_stage
from PIL import Image

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.export.folder import read_stage_columns
from hf_mixture.export.preview import preview_rows
from hf_mixture.export.report import load_report

pytest_plugins = ["publish_fixtures"]


@pytest.fixture(scope="module")
def page(demo_folder, tmp_path_factory):
    path = tmp_path_factory.mktemp("preview") / "page.html"
    assert main(["preview", str(demo_folder), "--stage", "s3-unified", "--rows-per-source", "2",
                 "--to", str(path)]) == 0  # fmt: skip
    return path


def test_preview_shows_every_source_with_its_share(demo_folder, page):
    html = page.read_text()
    sources = set(read_stage_columns(demo_folder, "s3-unified", ["source"])["source"].to_pylist())
    assert set(re.findall(r"<section class='source' id='source-([^']+)'>", html)) == sources
    for entry in load_report(demo_folder, "s3-unified")["entries"]:
        assert f"<td>{entry['realised_share']:.1%}</td>" in html


def test_preview_is_self_contained_and_escaped(page):
    html = page.read_text()
    assert "&lt;image&gt;" in html and "&lt;image_gen&gt;" in html and "<image>" not in html
    assert "src='http" not in html and "href=" not in html
    assert html.count("src='data:image/") >= 6
    assert "input 0" in html and "target 0" in html


def test_preview_rows_per_source(page):
    html = page.read_text()
    sections = re.findall(r"<section class='source'.*?</section>", html, re.S)
    assert all(1 <= s.count("<div class='row'>") <= 2 for s in sections)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_preview_renders_in_headless_chromium(page, tmp_path):
    shot = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
         "--window-size=1000,1400", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    with Image.open(shot) as image:
        colors = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert image.size == (1000, 1400) and len(colors) > 50  # text, tables and thumbnails, not a blank page


def test_rows_the_mix_repeats_are_shown_once(tmp_path):
    small, large = t2i_table(tmp_path, 2, name="small"), t2i_table(tmp_path, 12, name="large")
    config = write_stage(
        tmp_path / "s.yaml",
        [t2i_entry(small, name="small", length_group="a"), t2i_entry(large, name="large", length_group="b")],
        weights={"a": 100, "b": 100},
    )
    build_stage(config, tmp_path / "out", echo=lambda *_: None)
    ids = [row["id"] for row in preview_rows(tmp_path / "out", "s", rows_per_source=5)["small"]]
    assert sorted(ids) == ["small/0", "small/1"]


def test_copies_dup_k_makes_are_shown_once(tmp_path):
    table = t2i_table(tmp_path, 2, name="copied")
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(table, name="copied", sampling_strategy="dup:3")])
    build_stage(config, tmp_path / "out", echo=lambda *_: None)
    ids = [row["id"] for row in preview_rows(tmp_path / "out", "s", rows_per_source=5)["copied"]]
    assert ids == ["copied/0#0", "copied/1#0"]
