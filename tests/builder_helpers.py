"""Helpers for the per-source builder tests: run a builder on a YAML entry, get its source rows,
or build a whole stage and load it back with `datasets`."""

from __future__ import annotations

from pathlib import Path

import datasets
import yaml

from builders import builder_class_for
from hf_mixture.build import build_stage
from hf_mixture.config.load import load_stage_config

SOURCES = Path(__file__).resolve().parent.parent / "demo" / "sources"


def write_stage_yaml(tmp_path: Path, entries: list[dict], name: str = "test-stage", **stage) -> Path:
    """A stage YAML in tmp_path with `entries` (paths as given, absolute ones stay absolute)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.yaml"
    data = {"stage": {"name": name, "seed": 7, "image_workers": 2, **stage}, "datasets": entries}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def entry(json_path, builder: str, preprocess_fn: str, name: str = "src", **keys) -> dict:
    """A YAML entry using `builder` on `json_path`."""
    return {
        "name": name,
        "json_path": str(json_path),
        "builder": builder,
        "preprocess_fn": preprocess_fn,
        **keys,
    }


def builder_for(tmp_path: Path, item: dict, **stage):
    """The builder instance for one entry dict (config loaded and checked like a real build)."""
    config = load_stage_config(write_stage_yaml(tmp_path, [item], **stage))
    found = config.entries[0]
    return builder_class_for(found)(
        cache_dir=str(tmp_path / "cache"),
        dataset_name=found.key,
        config_name=f"entry-{found.index}",
        entry=found,
        settings=config.settings,
        yaml_dir=str(config.path.absolute().parent),
    )


def source_rows(tmp_path: Path, item: dict, **stage) -> tuple[list[dict], dict]:
    """The source rows a builder yields for `item` and the drops it counted in that pass."""
    builder = builder_for(tmp_path, item, **stage)
    rows = [row for table in builder.source_tables() for row in table.to_pylist()]
    return rows, builder.take_reader_drops()


def build_and_load(tmp_path: Path, entries: list[dict], name: str = "test-stage", **stage):
    """Build the stage and load it back: (BuildResult, map-style Dataset)."""
    result = build_stage(
        write_stage_yaml(tmp_path, entries, name=name, **stage), tmp_path / "out", echo=lambda *_: None
    )
    return result, datasets.load_dataset(str(tmp_path / "out"), name, split="train")
