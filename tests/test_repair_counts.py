"""`repaired` counts the rows that reach the entry's output after a fix (README, Output): rows
fixed and then dropped (a missing image, a broken invariant) are counted under their drop only."""

from __future__ import annotations

from factories import llava_stage_with_dropped_repairs

from hf_mixture.build import build_stage


def test_image_token_repairs_count_only_rows_that_are_written(tmp_path):
    result = build_stage(llava_stage_with_dropped_repairs(tmp_path), tmp_path / "out", echo=lambda *_: None)
    stats = result.entries[0]
    assert stats.written == 3
    assert stats.repaired == {"repair:image_token_added": 2}
    assert sum(n for n in stats.dropped.values()) == 2
