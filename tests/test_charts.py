"""Charts of a built stage: written next to its shards, shown by the card, pushed with the stage."""

from pathlib import Path

import pytest
from PIL import Image

from hf_mixture.export.charts import composition_png, drops_png, task_rows, write_charts
from hf_mixture.export.folder import CHARTS
from hf_mixture.export.push import plan_push
from hf_mixture.export.report import load_report

pytest_plugins = ["publish_fixtures"]
STAGES = ("s1-gnd", "s2-256", "s3-unified")


@pytest.mark.parametrize("stage", STAGES)
def test_each_built_stage_has_its_charts_as_png_files(demo_folder, stage):
    for name in CHARTS:
        with Image.open(demo_folder / stage / name) as chart:
            assert chart.format == "PNG" and chart.width >= 800 and chart.height >= 250


def test_the_card_shows_the_charts_by_relative_path(demo_folder):
    readme = (demo_folder / "README.md").read_text()
    for stage in STAGES:
        for name, alt in CHARTS.items():
            assert f"![{alt}]({stage}/{name})" in readme
            assert (demo_folder / stage / name).is_file()  # the link resolves from README.md's folder


def test_push_uploads_the_charts_the_card_links_to(demo_folder):
    files = plan_push(demo_folder, "org/mix", stage="s3-unified").files
    assert {"s3-unified/composition.png", "s3-unified/drops.png"} <= set(files)


def test_charts_are_the_same_bytes_when_redrawn(demo_copy):
    before = {name: (demo_copy / "s2-256" / name).read_bytes() for name in CHARTS}
    paths = write_charts(demo_copy, "s2-256")
    assert {p.name: p.read_bytes() for p in paths} == before


def test_charts_change_with_what_they_show(demo_folder):
    report = load_report(demo_folder, "s2-256")
    tasks = task_rows(demo_folder, "s2-256")
    assert tasks == {"t2i": report["rows"]}
    changed = {**report, "entries": [{**e, "realised_share": 0.0} for e in report["entries"]]}
    assert composition_png(changed, tasks) != composition_png(report, tasks)
    fewer = {**report, "entries": [{**e, "dropped": {}} for e in report["entries"]]}
    assert drops_png(fewer) != drops_png(report)


def test_a_stage_without_report_gets_no_chart(tmp_path):
    assert write_charts(tmp_path, "nothing") == [] and not Path(tmp_path / "nothing").exists()
