"""Property: any value of any stage-file key ends `check` and `build` with exit 0 or 2 (a named
config error), never an internal error or a hang (issue 11, "same for config values")."""

from __future__ import annotations

import math
import os

import pytest
import yaml
from factories import t2i_entry, t2i_table
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from hf_mixture.cli.main import EXIT_ERROR, main
from hf_mixture.config.load import ENTRY_KEYS, STAGE_KEYS
from hf_mixture.preprocess.registry import get_preprocess

T2I = "preproces_text_to_image_generation_s3"  # the entries' function: its keywords are generated too

SCALE = int(os.environ.get("HF_MIXTURE_PROPERTY_SCALE", "1"))  # e.g. 20 for a deep local run
CHECK_EXAMPLES = 120 * SCALE
BUILD_EXAMPLES = 12 * SCALE

NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2**32 - 1, 2**32, 2**63, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e-300, 1e300, 0.5, -0.0]),
)
TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "all",
            "random:5",
            "random:1000",
            "first:0",
            "dup:3",
            "end:50%",
            "*",
            "s3://b/k",
            "../..",
            "é\u200b",
        ]
    ),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(TEXT, st.integers()), inner, max_size=3)
    ),
    max_leaves=6,
)
WHERE = st.one_of(
    st.tuples(st.just("stage"), st.sampled_from(STAGE_KEYS)),
    st.tuples(st.just("entry"), st.sampled_from(ENTRY_KEYS)),
    st.tuples(st.just("top"), st.sampled_from(["weights", "batch_sizes", "stage", "datasets"])),
    st.tuples(st.just("group"), st.sampled_from(["weights", "batch_sizes"])),
    st.tuples(st.just("kwarg"), st.sampled_from(get_preprocess(T2I).accepted_kwargs())),
)


def bounded(examples: int):
    """Hypothesis settings: `examples` cases, no per-case deadline (the test has a timeout)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sources")
    return folder, t2i_table(folder, 4, name="a"), t2i_table(folder, 3, name="b", scores=[6.0, 1.0, 7.0])


def stage_with(sources, where: tuple[str, str], value) -> dict:
    """A valid two-entry stage with the key at `where` set to `value`."""
    _, a, b = sources
    stage = {
        "datasets": [t2i_entry(a, name="a", length_group="ga"), t2i_entry(b, name="b", length_group="gb")],
        "weights": {"ga": 100, "gb": 50},
        "stage": {"name": "p", "seed": 1},
    }
    kind, key = where
    if kind == "stage":
        stage["stage"][key] = value
    elif kind == "entry":
        stage["datasets"][1][key] = value
    elif kind == "top":
        stage[key] = value
    elif kind == "kwarg":
        stage["datasets"][1]["process_fn_kwargs"] = {key: value}
    else:
        stage[key] = {"ga": value, "gb": 50}
    return stage


def run(sources, stage: dict, command: list[str], capsys) -> int:
    folder = sources[0]
    path = folder / "p.yaml"
    try:
        text = yaml.safe_dump(stage, sort_keys=False, allow_unicode=True)
    except (OverflowError, ValueError):
        return EXIT_ERROR  # not writable as YAML: not a stage file anyone can have
    path.write_text(text, encoding="utf-8")
    code = main([command[0], str(path), *command[1:]])
    out = capsys.readouterr()
    assert code in (0, EXIT_ERROR), (stage, out.err[-2000:])
    assert "internal error" not in out.err and "Traceback" not in out.err, out.err[-2000:]
    return code


@pytest.mark.timeout(300 * SCALE)
@bounded(CHECK_EXAMPLES)
@given(where=WHERE, value=VALUES)
@example(where=("stage", "box_format"), value=[])  # was an internal error (unhashable list)
@example(where=("group", "weights"), value=math.nan)  # passed check, crashed build
@example(where=("stage", "seed"), value=-1)  # passed check, crashed build
def test_any_config_value_checks_to_ok_or_a_config_error(sources, capsys, where, value):
    code = run(sources, stage_with(sources, where, value), ["check"], capsys)
    event(f"check exit {code}")  # outcomes: pytest --hypothesis-show-statistics


@pytest.mark.timeout(300 * SCALE)
@bounded(BUILD_EXAMPLES)
@given(where=WHERE, value=VALUES)
def test_any_config_value_that_checks_ok_builds(sources, capsys, where, value):
    stage = stage_with(sources, where, value)
    if run(sources, stage, ["check"], capsys) == 0:
        code = run(sources, stage, ["build", "--out", str(sources[0] / "out")], capsys)
        event(f"build exit {code}")
    else:
        event("check exit 2")
