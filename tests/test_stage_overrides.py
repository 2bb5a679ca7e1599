"""Command-line overrides of `stage:` keys reach everything the build writes: report, saved stage
file, card (the StageConfig carries them, its text included)."""

from __future__ import annotations

import json

import yaml
from factories import t2i_entry, t2i_table, write_stage

from hf_mixture.cli.main import main
from hf_mixture.config.load import load_stage_config
from hf_mixture.export.folder import stage_yaml_path


def test_seed_override_is_the_seed_of_the_saved_stage_file_report_and_card(tmp_path):
    config = write_stage(
        tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 3))], stage={"name": "s", "seed": 42}
    )
    assert main(["build", str(config), "--out", str(tmp_path / "out"), "--seed", "7"]) == 0
    saved = stage_yaml_path(tmp_path / "out", "s").read_text()
    assert yaml.safe_load(saved)["stage"]["seed"] == 7
    assert json.loads((tmp_path / "out" / "s" / "build_report.json").read_text())["seed"] == 7
    card = (tmp_path / "out" / "README.md").read_text()
    assert "seed `7`" in card and "seed: 7" in card and "seed: 42" not in card


def test_without_overrides_the_text_is_the_file_as_written(tmp_path):
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 3))], stage={"seed": 42})
    config.write_text("# my comment\n" + config.read_text())
    assert load_stage_config(config).text == config.read_text()
    overridden = load_stage_config(config, overrides={"seed": 7, "name": None})
    assert overridden.settings.seed == 7 and yaml.safe_load(overridden.text)["stage"]["seed"] == 7
