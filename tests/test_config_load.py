"""Loading stage YAML files: LaViDa-O's keys unchanged, our `stage:` keys optional, and every
problem reported at once with file, line, entry and key."""

import pytest
from factories import t2i_entry, t2i_table, write_stage

from hf_mixture.config.load import ConfigWarning, load_stage_config
from hf_mixture.errors import ConfigError

LAVIDA_FILE = """\
datasets:
  - name: mammoth
    json_path: {data}
    columns: ['s3_path', 'caption', 'fltLaionAesthScore', 'intHeight', 'intWidth']
    sampling_strategy: "first:10%"
    preprocess_fn: preproces_text_to_image_generation_s3
    process_fn_kwargs:
      random_truncate: false
    aes_cutoff: 5.5
    min_size: 256
    length_group: und
    image_root: images
  - name: other
    json_path: {data}
    sampling_strategy: dup:2
    preprocess_fn: preproces_text_to_image_generation_s3
weights:
  und: 250
  default: 100
batch_sizes:
  und: 0.5
"""


def test_a_lavida_file_loads_unchanged_with_every_key(tmp_path):
    data = t2i_table(tmp_path, 3)
    path = tmp_path / "s3_interleaved.yaml"
    path.write_text(LAVIDA_FILE.format(data=data))
    config = load_stage_config(path)
    first, second = config.entries
    assert (first.sampling.kind, first.sampling.percent, first.aes_cutoff, first.min_size) == (
        "first",
        10,
        5.5,
        256,
    )
    assert (first.length_group, first.image_root, first.process_fn_kwargs) == (
        "und",
        "images",
        {"random_truncate": False},
    )
    assert (second.length_group, second.sampling.dup_factor) == ("default", 2)
    assert config.weights == {"und": 250.0, "default": 100.0} and config.batch_sizes == {"und": 0.5}


def test_stage_keys_default_when_absent(tmp_path):
    config = load_stage_config(write_stage(tmp_path / "s2-256.yaml", [t2i_entry(t2i_table(tmp_path, 1))]))
    settings = config.settings
    assert (settings.name, settings.seed, settings.resolution, settings.stopping_strategy) == (
        "s2-256",
        42,
        None,
        None,
    )


def test_overrides_replace_stage_keys(tmp_path):
    path = write_stage(
        tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 1))], stage={"seed": 1, "name": "a"}
    )
    settings = load_stage_config(path, overrides={"seed": 7, "name": None}).settings
    assert (settings.seed, settings.name) == (7, "a")


def problems(path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stage_config(path)
    return caught.value.problems


def test_every_problem_in_the_file_is_reported_at_once(tmp_path):
    data = t2i_table(tmp_path, 1)
    path = write_stage(
        tmp_path / "s.yaml",
        [
            t2i_entry(data, name="a", sampling_strategy="random:12.5.3"),
            t2i_entry(data, name="b", preprocess_fn="preprocess_t2i"),
            t2i_entry(tmp_path / "absent.parquet", name="c"),
        ],
    )
    found = problems(path)
    assert len(found) == 3
    assert any("datasets[0] (a): sampling_strategy" in p for p in found)
    assert any("datasets[1] (b): preprocess_fn" in p for p in found)
    assert any("datasets[2] (c): json_path: no file" in p for p in found)


def test_messages_name_the_file_and_line(tmp_path):
    path = write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 1), sampling_strategy="sample:3")])
    (message,) = problems(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "sampling_strategy" in text)
    assert message.startswith(f"{path}:{line}: ")


def test_unknown_key_suggests_the_close_one(tmp_path):
    entry = t2i_entry(t2i_table(tmp_path, 1), sampling_stratgy="all")
    (message,) = problems(write_stage(tmp_path / "s.yaml", [entry]))
    assert "unknown key 'sampling_stratgy'; did you mean 'sampling_strategy'?" in message


def test_unknown_preprocess_fn_lists_the_known_ones(tmp_path):
    (message,) = problems(
        write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 1), preprocess_fn="nope")])
    )
    assert "unknown preprocess_fn 'nope'" in message and "preproces_text_to_image_generation_s3" in message


def test_columns_absent_from_the_file_are_named_with_what_the_file_has(tmp_path):
    data = t2i_table(tmp_path, 1)
    (message,) = problems(write_stage(tmp_path / "s.yaml", [t2i_entry(data, columns=["s3_path", "text"])]))
    assert "columns: ['text'] not in" in message and "the file has: s3_path, caption" in message


def test_filters_need_their_columns_loaded(tmp_path):
    entry = t2i_entry(t2i_table(tmp_path, 1), columns=["s3_path", "caption"], aes_cutoff=5.0, min_size=10)
    found = problems(write_stage(tmp_path / "s.yaml", [entry]))
    assert any("aes_cutoff needs column 'fltLaionAesthScore'" in p for p in found)
    assert any("min_size needs columns 'intHeight' and 'intWidth'" in p for p in found)


def test_the_preprocess_function_columns_must_be_loaded(tmp_path):
    entry = t2i_entry(t2i_table(tmp_path, 1), columns=["s3_path", "fltLaionAesthScore"])
    (message,) = problems(write_stage(tmp_path / "s.yaml", [entry]))
    assert "preproces_text_to_image_generation_s3 reads ['caption']" in message


def test_unknown_process_fn_kwargs_warn_with_the_closest_name_and_are_not_passed(tmp_path):
    entry = t2i_entry(t2i_table(tmp_path, 1), process_fn_kwargs={"caption_keys": "x"})
    path = write_stage(tmp_path / "s.yaml", [entry])
    with pytest.warns(ConfigWarning, match="takes no 'caption_keys', ignored; did you mean 'caption_key'"):
        config = load_stage_config(path)
    assert config.entries[0].process_fn_kwargs == {}
    with pytest.raises(ConfigError, match="takes no 'caption_keys'.*--strict"):
        load_stage_config(path, strict=True)


def test_unknown_stopping_strategy_lists_the_allowed(tmp_path):
    path = write_stage(
        tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 1))], stage={"stopping_strategy": "forever"}
    )
    (message,) = problems(path)
    assert "all_exhausted_without_replacement" in message


def test_image_check_is_a_stage_key_with_three_levels(tmp_path):
    entry = t2i_entry(t2i_table(tmp_path, 1))
    assert load_stage_config(write_stage(tmp_path / "a.yaml", [entry])).settings.image_check == "draft"
    config = load_stage_config(write_stage(tmp_path / "b.yaml", [entry], stage={"image_check": "full"}))
    assert config.settings.image_check == "full"
    (message,) = problems(write_stage(tmp_path / "c.yaml", [entry], stage={"image_check": "none"}))
    assert "stage.image_check: 'none' is not one of full, draft, header" in message


def test_an_unreachable_json_path_is_a_config_problem_of_its_entry(tmp_path):
    entry = t2i_entry("hf://datasets/org/private/data/*.parquet", name="remote")  # the suite runs offline
    (message,) = problems(write_stage(tmp_path / "s.yaml", [entry]))
    assert "datasets[0] (remote): json_path: cannot list 'hf://datasets/org/private/" in message
    assert "could not be reached" in message
