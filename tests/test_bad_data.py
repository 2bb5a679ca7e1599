"""Bad source data: what is skipped and counted, what is repaired, what is fatal (and says where)."""

from __future__ import annotations

import json
import shutil

import pytest
from factories import build_quietly, source_entry, write_image, write_parquet, write_stage, written_rows

from hf_mixture.build import build_stage
from hf_mixture.config.load import load_stage_config
from hf_mixture.errors import ConfigError, SourceError
from hf_mixture.mixing.interleave import EmptyEntryWarning

T2I = "preproces_text_to_image_generation_s3"
UND = "preproces_und_mammoth_si_10M"


_entry, _build, _rows = source_entry, build_quietly, written_rows


@pytest.fixture
def images(tmp_path):
    for i in range(3):
        write_image(tmp_path / "img" / f"{i}.jpg")
    return tmp_path


def _t2i_parquet(tmp_path, name="t.parquet", n=3):
    return write_parquet(
        tmp_path / name,
        {"s3_path": [f"img/{i}.jpg" for i in range(n)], "caption": [f"c{i}" for i in range(n)]},
    )


# ------------------------------------------------------------------------------- fatal files


def test_truncated_parquet_is_named_when_the_file_is_checked(images):
    data = _t2i_parquet(images).read_bytes()
    (images / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ConfigError, match=r"s\.yaml:3: datasets\[0\] \(e\): json_path: .*cut\.parquet: cannot read"
    ):
        load_stage_config(write_stage(images / "s.yaml", [_entry(images / "cut.parquet")]))


def test_truncated_parquet_later_in_a_glob_is_found_by_the_check_naming_it(images):
    whole = _t2i_parquet(images)
    (images / "parts").mkdir()
    shutil.copy(whole, images / "parts" / "0.parquet")
    (images / "parts" / "1.parquet").write_bytes(whole.read_bytes()[:100])
    with pytest.raises(ConfigError, match=r"datasets\[0\] \(e\): json_path: .*parts/1\.parquet: cannot read"):
        _build(images, _entry(images / "parts" / "*.parquet"))
    assert not list((images / "out").rglob("train-*"))


def test_json_array_with_a_syntax_error_fails_at_its_position(images):
    path = images / "a.json"
    path.write_text(
        '[{"s3_path": "img/0.jpg", "caption": "ok"},\n {"s3_path": "img/1.jpg", "caption": oops}]'
    )
    with pytest.raises(ConfigError) as raised:
        load_stage_config(write_stage(images / "s.yaml", [_entry(path)]))
    message = str(raised.value)
    assert "a.json: cannot read as JSON (IncompleteJSONError" in message
    assert '"caption": oops}]' in message and "(right here)" in message


def test_json_array_with_non_utf8_bytes_is_fatal(images):
    path = images / "a.json"
    path.write_bytes(b'[{"s3_path": "img/0.jpg", "caption": "caf\xe9"}]')
    with pytest.raises(ConfigError, match="a.json: cannot read as JSON .*invalid bytes in UTF8"):
        load_stage_config(write_stage(images / "s.yaml", [_entry(path)]))


# --------------------------------------------------------------------------- skipped rows


def test_invalid_jsonl_lines_are_skipped_and_counted(images):
    lines = [
        json.dumps({"s3_path": "img/0.jpg", "caption": "a"}),
        "{not json",
        "",
        json.dumps({"s3_path": "img/1.jpg", "caption": "b"}),
        "[1, 2]",
        '{"s3_path": "img/2.jpg", "caption": "tr',
    ]
    path = images / "a.jsonl"
    path.write_text("\n".join(lines))
    result = _build(images, _entry(path))
    stats = result.entries[0]
    assert {k: v for k, v in stats.dropped.items() if v} == {
        "source:invalid_json_line": 2,
        "source:not_an_object": 1,
    }
    assert stats.read == 5 and stats.balance() == 0
    assert [r["conversations"][0]["value"].split(": ")[1][0] for r in _rows(result)] == ["a", "b"]


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_non_utf8_text_is_decoded_with_replacement_in_line_formats(images, suffix):
    path = images / f"a.{suffix}"
    if suffix == "jsonl":
        path.write_bytes(b'{"s3_path": "img/0.jpg", "caption": "caf\xe9 au lait"}\n')
    else:
        path.write_bytes(b"s3_path,caption\nimg/0.jpg,caf\xe9 au lait\n")
    (row,) = _rows(_build(images, _entry(path)))
    assert "caf\ufffd au lait" in row["conversations"][0]["value"]


def test_wrong_column_types_are_tolerated(images):
    path = write_parquet(
        images / "t.parquet",
        {
            "s3_path": ["img/0.jpg", "img/1.jpg"],
            "caption": [101, 102],  # integer captions: used as text
            "fltLaionAesthScore": [6, 7],  # integer scores
            "intHeight": [1024.0, 256.0],  # float sizes
            "intWidth": [1024.0, 1024.0],
        },
    )
    result = _build(images, _entry(path, min_size=512))
    (row,) = _rows(result)
    assert "101" in row["conversations"][0]["value"]
    assert result.entries[0].dropped["filter:min_size"] == 1


def test_a_100_kb_caption_is_kept_whole(images):
    caption = "word " * 20_000
    path = write_parquet(images / "t.parquet", {"s3_path": ["img/0.jpg"], "caption": [caption]})
    (row,) = _rows(_build(images, _entry(path)))
    assert caption in row["conversations"][0]["value"]


def _turns(*values: str) -> str:
    return json.dumps([{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(values)])


def test_image_tokens_are_repaired_where_safe_and_dropped_otherwise(images):
    rows = [
        {"id": "ok", "image": "img/0.jpg", "conversations": _turns("<image>\nWhat?", "A cat.")},
        {"id": "no-token", "image": "img/1.jpg", "conversations": _turns("What is this?", "A dog.")},
        {
            "id": "two-tokens",
            "image": "img/0.jpg",
            "conversations": _turns("<image><image> Compare.", "Same."),
        },
        {"id": "token-no-image", "image": None, "conversations": _turns("<image> Describe.", "Nothing.")},
        {"id": "empty-turn", "image": "img/2.jpg", "conversations": _turns("<image> Hi?", "   ")},
        {"id": "no-turns", "image": "img/2.jpg", "conversations": "[]"},
        {"id": "gpt-first", "image": None, "conversations": json.dumps([{"from": "gpt", "value": "x"}])},
    ]
    path = images / "und.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    result = _build(images, _entry(path, UND))
    kept = _rows(result)
    assert [r["conversations"][0]["value"] for r in kept] == ["<image>\nWhat?", "<image>\nWhat is this?"]
    assert all(len(r["images"]) == 1 for r in kept)
    assert {k: v for k, v in result.entries[0].dropped.items() if v} == {
        "invariant:image_token_count": 2,
        "invariant:empty_turn": 1,
        "invariant:no_turns": 1,
        "invariant:turns_not_alternating": 1,
    }
    assert result.entries[0].balance() == 0


# ------------------------------------------------------------------------------ empty sources


def test_entry_with_zero_rows_is_left_out_with_a_warning(images):
    empty = write_parquet(images / "empty.parquet", {"s3_path": [], "caption": []})
    with pytest.warns(EmptyEntryWarning, match="entry 'empty' has no rows"):
        result = _build(images, _entry(_t2i_parquet(images), name="full"), _entry(empty, name="empty"))
    assert result.written.num_examples == 3
    assert [e.written for e in result.entries] == [3, 0]


def test_stage_where_every_entry_is_empty_fails_naming_each_entry(images):
    empty = write_parquet(images / "empty.parquet", {"s3_path": [], "caption": []})
    gone = write_parquet(images / "gone.parquet", {"s3_path": ["img/missing.jpg"], "caption": ["c"]})
    with pytest.warns(EmptyEntryWarning), pytest.raises(SourceError) as raised:
        _build(images, _entry(empty, name="empty"), _entry(gone, name="gone"))
    assert str(raised.value).splitlines()[1:] == [
        "  datasets[0] (empty): read 0 rows; dropped: none",
        "  datasets[1] (gone): read 1 rows; dropped: media:missing 1",
        f"    e.g. media:missing: gone/0: img/missing.jpg: media:missing: {images}/img/missing.jpg",
    ]
    assert "no entry kept any row, so stage 's' cannot be written" in str(raised.value)


def test_skipped_json_lines_are_counted_once_when_sampling_needs_a_counting_pass(images):
    lines = [json.dumps({"s3_path": f"img/{i % 2}.jpg", "caption": f"c{i}"}) for i in range(6)]
    path = images / "d.jsonl"
    path.write_text("\n".join([*lines[:3], "{broken", *lines[3:]]))
    result = build_stage(
        write_stage(images / "s.yaml", [_entry(path, sampling_strategy="random:50%")]),
        images / "out",
        echo=lambda *_: None,
    )
    (stats,) = result.entries
    assert (stats.read, stats.dropped["source:invalid_json_line"], stats.written) == (7, 1, 3)
