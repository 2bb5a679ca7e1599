"""The stage configs: the real ones (public Hub sources) validate offline, every demo stage builds
and loads, the stage `box_format` reaches the rows, and the functions no stage uses build too."""

import runpy
from pathlib import Path

import pytest
import yaml
from datasets import load_dataset

from hf_mixture.build import build_stage
from hf_mixture.config.load import load_stage_config
from hf_mixture.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "demo" / "data"
REAL = ["s1-gnd", "s2-256", "s2-1024", "s3-unified"]


@pytest.fixture(scope="module")
def task_samples():
    """demo/make_task_samples.py output (make_demo_data.py empties demo/data; regenerate if so)."""
    if not (DATA / "task_refcoco_boxes.parquet").exists():
        runpy.run_path(str(ROOT / "demo" / "make_task_samples.py"), run_name="__main__")
    return DATA


def build_and_load(config, out: Path, name: str):
    build_stage(config, out, echo=lambda *args, **kwargs: None)
    return load_dataset(str(out), name, split="train")


@pytest.mark.parametrize("stage", REAL)
def test_real_config_validates_offline(stage):
    config = load_stage_config(ROOT / "configs" / f"{stage}.yaml", check_files=False, strict=True)
    assert config.settings.name == stage
    assert all(e.json_path.startswith("hf://") for e in config.entries)


@pytest.mark.parametrize(
    "stage, tasks",
    [
        ("s1-gnd", {"understanding", "grounding"}),
        ("s2-256", {"t2i"}),
        ("s2-1024", {"t2i"}),
        ("s3-unified", {"t2i", "edit", "understanding", "grounding", "planning", "reflection"}),
    ],
)
def test_demo_stage_builds_and_loads(stage, tasks, tmp_path, task_samples):
    rows = build_and_load(ROOT / "configs" / "demo" / f"{stage}.yaml", tmp_path / "out", stage)
    assert set(rows["task"]) == tasks
    if stage == "s2-1024":
        assert "laion-2b" in set(rows["source"])  # piat:// rows resolved through the path mapping


def grounding_stage(path: Path, box_format: str) -> Path:
    stage = {
        "stage": {
            "name": "gnd",
            "box_format": box_format,
            "path_mappings": {"s3://lavida-demo/tasks/": str(ROOT / "demo" / "task_images") + "/"},
        },
        "datasets": [
            {
                "name": "refcoco",
                "json_path": str(DATA / "task_refcoco_boxes.parquet"),
                "preprocess_fn": "refcoco_boxes",
                "process_fn_kwargs": {"bbox_mode": "xywh"},
            },
            {
                "name": "grand-f",
                "json_path": str(DATA / "task_grandf_gcg.json"),
                "builder": "grand",
                "preprocess_fn": "grandf_annotations",
            },
        ],
    }
    path.write_text(yaml.safe_dump(stage, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "box_format, refcoco_answer, grand_answer",
    [
        (
            "loc",
            "<LOC_BEGIN><LOC_128><LOC_320><LOC_384><LOC_576><LOC_END>",
            "An image with <box_p> a red square "
            "</box_p><LOC_BEGIN><LOC_128><LOC_320><LOC_384><LOC_576><LOC_END> and "
            "<box_p> a blue ball </box_p><LOC_BEGIN><LOC_640><LOC_384><LOC_896><LOC_704><LOC_END>.",
        ),
        (
            "qwen",
            "<|box_start|>(125,125),(375,625)<|box_end|>",
            "An image with <|object_ref_start|>a red square<|object_ref_end|><|box_start|>(125,125),(375,625)"
            "<|box_end|> and <|object_ref_start|>a blue "
            "ball<|object_ref_end|><|box_start|>(625,250),(875,875)"
            "<|box_end|>.",
        ),
        (
            "pixels",
            "[8, 4, 24, 20]",
            "An image with <box_p> a red square </box_p>[8, 4, 24, 20] and "
            "<box_p> a blue ball </box_p>[40, 8, 56, 28].",
        ),
    ],
)
def test_box_format_applies_end_to_end(box_format, refcoco_answer, grand_answer, tmp_path, task_samples):
    # wide.png is 64x32 with a red square at (8, 4)-(24, 20) and a blue ball at (40, 8)-(56, 28)
    rows = build_and_load(grounding_stage(tmp_path / "gnd.yaml", box_format), tmp_path / "out", "gnd")
    answers = {(r["source"], r["conversations"][0]["value"]): r["conversations"][1]["value"] for r in rows}
    assert (
        answers[
            (
                "refcoco",
                "<image>\n Please locate the red square in this image. Give bounding boxes in "
                + {
                    "loc": "LOC format",
                    "qwen": "normalized 0-1000 coordinates",
                    "pixels": "pixel coordinates",
                }[box_format]
                + ".",
            )
        ]
        == refcoco_answer
    )
    wide = [r for r in rows if r["source"] == "grand-f" and r["images"][0].size == (64, 32)]
    assert [r["conversations"][1]["value"] for r in wide] == [grand_answer]


def test_box_format_is_refused_as_a_process_fn_kwarg_and_checked_as_a_stage_key(tmp_path, task_samples):
    path = grounding_stage(tmp_path / "gnd.yaml", "loc")
    stage = yaml.safe_load(path.read_text())
    stage["datasets"][0]["process_fn_kwargs"]["box_format"] = "qwen"
    stage["stage"]["box_format"] = "yolo"
    path.write_text(yaml.safe_dump(stage), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_stage_config(path)
    message = str(err.value)
    assert "'box_format' is a stage option; set it once under `stage:`" in message
    assert "stage.box_format: 'yolo' is not one of loc, qwen, pixels" in message


def test_functions_unused_by_lavida_yamls_build(tmp_path, task_samples):
    prefix = "s3://lavida-demo/tasks/"
    stage = {
        "stage": {"name": "extras", "path_mappings": {prefix: str(ROOT / "demo" / "task_images") + "/"}},
        "datasets": [
            {
                "name": "layout-sam",
                "json_path": str(DATA / "task_layout_sam.parquet"),
                "preprocess_fn": "preproces_text_to_image_generation_layout_sam",
                "process_fn_kwargs": {"s3_prefix": prefix},
            },
            {
                "name": "pica",
                "json_path": str(DATA / "task_pica_banana.parquet"),
                "preprocess_fn": "process_pica_banana",
            },
            {
                "name": "metaquery",
                "json_path": str(DATA / "task_metaquery.parquet"),
                "preprocess_fn": "process_metaquery",
            },
            {
                "name": "uniworld",
                "json_path": str(DATA / "task_uniworld.parquet"),
                "preprocess_fn": "process_uniworld",
                "process_fn_kwargs": {"folder": prefix},
            },
        ],
    }
    path = tmp_path / "extras.yaml"
    path.write_text(yaml.safe_dump(stage, sort_keys=False), encoding="utf-8")
    rows = build_and_load(path, tmp_path / "out", "extras")
    assert sorted(set(rows["source"])) == ["layout-sam", "metaquery", "pica", "uniworld"]
    assert {r["source"]: r["task"] for r in rows if r["source"] != "uniworld"} == {
        "layout-sam": "planning",
        "pica": "edit",
        "metaquery": "edit",
    }
    assert sorted(len(r["image_gen"]) for r in rows) == [1] * len(rows)
