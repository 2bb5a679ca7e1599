"""`hf-mixture preview`: a self-contained HTML page with every source, escaped text, thumbnails."""

import base64
import io
import re
import shutil
import subprocess

import pytest
from factories import jpeg_bytes, t2i_entry, t2i_table, write_stage
from PIL import Image, ImageColor

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.export.boxes import text_boxes
from hf_mixture.export.charts import EXPECTED, REALISED
from hf_mixture.export.folder import CHARTS, read_stage_columns
from hf_mixture.export.preview import preview_rows, render_preview, thumbnail_uri
from hf_mixture.export.report import load_report
from hf_mixture.grounding import grounded_phrase

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
def test_preview_renders_in_headless_chromium_with_its_charts(page, tmp_path):
    shot = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
         "--window-size=1000,1400", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        colors = dict((color, n) for n, color in rgb.getcolors(maxcolors=1_000_000))
    assert image.size == (1000, 1400) and len(colors) > 50  # text, tables and thumbnails, not a blank page
    # the composition chart's bars (expected and realised share) are on screen
    for bar in (EXPECTED, REALISED):
        assert colors.get(ImageColor.getrgb(bar), 0) > 500


def test_preview_embeds_the_charts_and_the_drops(demo_folder, page):
    html = page.read_text()
    assert html.count("<img class='chart' src='data:image/png;base64,") == len(CHARTS)
    assert all(f"alt='{alt}'" in html for alt in CHARTS.values())
    assert "<th>kept</th><th>dropped</th>" in html
    for entry in load_report(demo_folder, "s3-unified")["entries"]:
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(entry["dropped"].items())) or "none"
        assert f"<td>{entry['name']}</td><td>{entry['read']}</td>" in html and f"<td>{reasons}</td>" in html


def test_preview_draws_charts_from_the_report_when_the_files_are_absent(demo_copy, tmp_path):
    for name in CHARTS:
        (demo_copy / "s2-256" / name).unlink()
    html = render_preview(demo_copy, "s2-256")
    assert all(f"alt='{alt}'" in html for alt in CHARTS.values())


def test_dup_copies_are_shown_once(demo_folder):
    ids = [row["id"] for row in preview_rows(demo_folder, "s3-unified", rows_per_source=10)["grand-f"]]
    assert ids == [f"grand-f/{i}#0" for i in range(6)]  # dup:3 of 6 rows: each source row once


@pytest.mark.parametrize("fmt", ["loc", "qwen", "pixels"])
def test_boxes_in_each_box_format_come_back_on_the_image(fmt):
    box, width, height = [12, 20, 50, 70], 80, 100
    text = "<image>\n" + grounded_phrase("dog", box, width, height, fmt) + " on grass"
    [(phrase, found)] = text_boxes(text, width, height)
    assert phrase == "dog" and found == pytest.approx(box, abs=0.6)


def test_boxes_are_drawn_over_the_thumbnail():
    image = {"bytes": jpeg_bytes((64, 48), (250, 250, 250)), "path": "x.jpg"}
    text = grounded_phrase("thing", [16, 12, 48, 36], 64, 48, "loc")
    plain, boxed = thumbnail_uri(image), thumbnail_uri(image, lambda w, h: text_boxes(text, w, h))
    assert plain != boxed
    with Image.open(io.BytesIO(base64.b64decode(boxed.split(",", 1)[1]))) as drawn:
        scale = drawn.width / 64
        red = drawn.convert("RGB").getpixel((int(16 * scale), int(24 * scale)))  # on the left edge
    assert red[0] > 180 and red[1] < 120  # the first box colour, not the white background


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
