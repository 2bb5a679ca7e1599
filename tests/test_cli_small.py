"""Small command-line behaviours a new user meets: default stage, `functions`, help texts."""

import pytest
from factories import t2i_entry, t2i_table, write_stage

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.export.folder import read_stage_columns
from hf_mixture.export.report import load_report
from hf_mixture.preprocess.registry import get_preprocess, known_names
from hf_mixture.schema import TASKS
from hf_mixture.work_dir import default_work_dir

pytest_plugins = ["publish_fixtures"]


@pytest.fixture
def one_stage_folder(tmp_path):
    config = write_stage(tmp_path / "only.yaml", [t2i_entry(t2i_table(tmp_path, 3))])
    build_stage(config, tmp_path / "out", echo=lambda *_: None)
    return tmp_path / "out"


def test_export_uses_the_only_stage_when_none_is_given(one_stage_folder, tmp_path, capsys):
    assert main(["export", "llava", str(one_stage_folder), "--to", str(tmp_path / "lv"),
                 "--no-progress"]) == 0  # fmt: skip
    assert "exported 3 rows of only to" in capsys.readouterr().out


def test_export_without_stage_names_the_stages_when_there_are_several(demo_folder, tmp_path, capsys):
    assert main(["export", "llava", str(demo_folder), "--to", str(tmp_path / "x")]) == 2
    assert "holds 3 stages (s1-gnd, s2-256, s3-unified); pick one with --stage" in capsys.readouterr().err


def test_preview_uses_the_only_stage_when_none_is_given(one_stage_folder, tmp_path):
    assert main(["preview", str(one_stage_folder), "--to", str(tmp_path / "p.html")]) == 0
    assert "Stage <code>only</code>" in (tmp_path / "p.html").read_text()


def test_functions_shows_the_task_and_kwarg_defaults(capsys):
    assert main(["functions"]) == 0
    out = capsys.readouterr().out
    assert "preproces_text_to_image_generation_s3_loc\n    task: planning | t2i | reflection" in out
    assert "caption_key='caption'" in out and "plan_only=False" in out


def test_every_function_declares_tasks_of_the_schema():
    for name in known_names():
        tasks = get_preprocess(name).tasks
        assert tasks and set(tasks) <= set(TASKS), name


def test_demo_rows_have_a_task_their_function_declares(demo_folder):
    for stage in ("s1-gnd", "s2-256", "s3-unified"):
        functions = {e["name"]: e["preprocess_fn"] for e in load_report(demo_folder, stage)["entries"]}
        rows = read_stage_columns(demo_folder, stage, ["source", "task"]).to_pylist()
        for source, task in {(r["source"], r["task"]) for r in rows}:
            assert task in get_preprocess(functions[source]).tasks, (stage, source, task)


def test_seed_and_work_dir_help_say_their_real_defaults(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no line wrapping inside the path
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: stage.seed, else 42)" in text and "--seed SEED" in text
    assert f"now {default_work_dir()})" in text  # the work folder kept between builds
