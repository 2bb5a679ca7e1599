"""Bad stage files: one file per case in tests/configs/bad/, each one clear message, exit 2, no traceback."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from hf_mixture.cli.main import EXIT_ERROR, main
from hf_mixture.config.load import ConfigWarning, load_stage_config
from hf_mixture.errors import ConfigError

BAD = Path(__file__).parent / "configs" / "bad"
LABEL = "datasets[0] (blip3o-60k)"

# file -> fragments its message must hold (file:line, entry, key, what is wrong / allowed)
CASES = {
    "syntax_error.yaml": [
        "syntax_error.yaml:7: YAML syntax error: expected ',' or ']'",
        "flow sequence that began on line 6",
    ],
    "wrong_types.yaml": [
        "wrong_types.yaml:3: stage.seed: expected a whole number, got 'forty-two'",
        f"wrong_types.yaml:9: {LABEL}: aes_cutoff: expected a number, got 'high'",
        f"wrong_types.yaml:10: {LABEL}: min_size: expected a whole number, got 512.5",
        f"wrong_types.yaml:11: {LABEL}: columns: expected a list of column names, got 's3_path'",
    ],
    "unknown_keys.yaml": [
        f"unknown_keys.yaml:6: {LABEL}: unknown key 'sampling_stratgy'; did you mean 'sampling_strategy'?",
        "unknown_keys.yaml:7: unknown top-level key 'weight'; did you mean 'weights'?",
    ],
    "empty_datasets.yaml": ["empty_datasets.yaml:4: datasets: expected a non-empty list of dataset entries"],
    "unknown_preprocess.yaml": [
        f"unknown_preprocess.yaml:5: {LABEL}: preprocess_fn: unknown preprocess_fn "
        "'preprocess_text_to_image_generation_s3'; known: ",
        "preproces_text_to_image_generation_s3",
        "(or 'module:function')",
    ],
    "random_no_count.yaml": [
        f"random_no_count.yaml:6: {LABEL}: sampling_strategy: 'random:': '' is not a number or percent",
        "forms: all, full, first:N",
    ],
    "dup_negative.yaml": [f"dup_negative.yaml:6: {LABEL}: sampling_strategy: 'dup:-1'", "dup:K"],
    "first_150_percent.yaml": [
        f"first_150_percent.yaml:6: {LABEL}: sampling_strategy: 'first:150%': "
        "a percent must be above 0 and at most 100"
    ],
    "random_two_dots.yaml": [
        f"random_two_dots.yaml:6: {LABEL}: sampling_strategy: 'random:12.5.3': '12.5.3' is not a number",
        "random:N, random:P%",
    ],
    "columns_not_in_file.yaml": [
        f"columns_not_in_file.yaml:7: {LABEL}: columns: ['aesthetic_score'] not in ",
        "the file has: s3_path, caption, fltLaionAesthScore",
    ],
    "json_path_absent.yaml": [f"json_path_absent.yaml:3: {LABEL}: json_path: required (a .parquet, .json"],
    "json_path_no_file.yaml": [
        f"json_path_no_file.yaml:4: {LABEL}: json_path: no file at '../../../demo/data/no_such_file.parquet'",
        "relative paths are relative to the YAML file",
    ],
}


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_names_every_problem_without_traceback(name, capsys):
    code, out, err = _run(capsys, "check", str(BAD / name))
    assert code == EXIT_ERROR
    assert err.startswith("error: ") and "Traceback" not in err + out
    for fragment in CASES[name]:
        assert fragment in err


@pytest.mark.parametrize("name", sorted(CASES))
def test_build_fails_the_same_way_and_writes_nothing(name, capsys, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, "build", str(BAD / name), "--out", str(out_dir))
    assert code == EXIT_ERROR
    assert "Traceback" not in err + out
    assert CASES[name][0] in err
    assert not list(out_dir.rglob("*.parquet"))


def test_all_problems_of_a_file_come_in_one_error():
    with pytest.raises(ConfigError) as raised:
        load_stage_config(BAD / "wrong_types.yaml")
    assert len(raised.value.problems) == 4
    assert str(raised.value).startswith(f"4 problem(s) in {BAD / 'wrong_types.yaml'}:")


def test_duplicate_key_loads_last_value_with_a_warning_naming_both_lines():
    with pytest.warns(ConfigWarning, match=r"duplicate_key.yaml:11: .*appears twice \(lines 9 and 11\)"):
        config = load_stage_config(BAD / "duplicate_key.yaml")
    assert config.entries[0].sampling.text == "first:3"


def test_unused_group_weights_and_batch_sizes_load_with_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = load_stage_config(BAD / "unused_groups.yaml")
    messages = [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]
    assert messages == [
        f"{BAD / 'unused_groups.yaml'}:14: weights.und: no entry has length_group 'und'; it is unused",
        f"{BAD / 'unused_groups.yaml'}:17: batch_sizes.und: no entry has length_group 'und'; it is unused",
    ]
    assert config.weights == {"t2i": 60.0, "und": 40.0}


@pytest.mark.parametrize("name", ["duplicate_key.yaml", "unused_groups.yaml"])
def test_strict_turns_warnings_into_errors(name, capsys, tmp_path):
    code, _, err = _run(capsys, "check", str(BAD / name), "--strict")
    assert code == EXIT_ERROR
    assert "(--strict)" in err and "Traceback" not in err
    code, _, err = _run(capsys, "build", str(BAD / name), "--strict", "--out", str(tmp_path))
    assert code == EXIT_ERROR and "(--strict)" in err


def test_warned_file_builds_and_report_keeps_the_warnings(capsys, tmp_path):
    code, _, err = _run(capsys, "build", str(BAD / "unused_groups.yaml"), "--out", str(tmp_path))
    assert code == 0, err
    assert "warning: " in err and "weights.und" in err
    report = json.loads((tmp_path / "unused-groups" / "build_report.json").read_text())
    assert [w.split(": ", 1)[1] for w in report["warnings"]] == [
        "weights.und: no entry has length_group 'und'; it is unused",
        "batch_sizes.und: no entry has length_group 'und'; it is unused",
    ]
    assert report["rows"] == 3


@pytest.mark.parametrize(
    ("stage", "fragment"),
    [
        ({"http_timeout": 0}, "stage.http_timeout: must be seconds above 0, got 0.0"),
        ({"http_retries": -1}, "stage.http_retries: must be a whole number from 0 to 20, got -1"),
        ({"media_budget_seconds": "soon"}, "stage.media_budget_seconds: expected a number, got 'soon'"),
        ({"allowed_schemes": "s3"}, "stage.allowed_schemes: expected a list of URI schemes"),
    ],
)
def test_bad_stage_keys(stage, fragment, tmp_path):
    text = (BAD / "unused_groups.yaml").read_text().replace("name: unused-groups", "name: s")
    path = tmp_path / "stage.yaml"
    path.write_text(text.replace("../../../demo", str(Path(__file__).parents[1] / "demo")))
    data_path = tmp_path / "with_stage.yaml"
    extra = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in stage.items())
    data_path.write_text(path.read_text().replace("stage:\n", "stage:\n" + extra, 1))
    with pytest.raises(ConfigError, match="with_stage.yaml:[0-9]+: " + fragment.replace(".", r"\.")):
        load_stage_config(data_path)
