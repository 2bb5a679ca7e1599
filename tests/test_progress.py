"""The build says where it is: an overall line across entries, a closing line; quiet on request."""

import sys
from pathlib import Path

import datasets
import pytest
from factories import t2i_entry, t2i_table, write_stage

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.streaming import stream_stage

ROOT = Path(__file__).resolve().parent.parent


def two_entry_stage(tmp_path):
    a, b = t2i_table(tmp_path, 3, name="a"), t2i_table(tmp_path, 4, name="b")
    return write_stage(tmp_path / "s.yaml", [t2i_entry(a, name="a"), t2i_entry(b, name="b")])


@pytest.fixture
def bars_on(monkeypatch):
    """Progress bars on (conftest turns `datasets`' off for the suite), off again after."""
    tqdm_module = sys.modules["datasets.utils.tqdm"]  # reads HF_DATASETS_DISABLE_PROGRESS_BARS at import
    monkeypatch.setattr(tqdm_module, "HF_DATASETS_DISABLE_PROGRESS_BARS", None)
    datasets.enable_progress_bars()
    yield
    datasets.disable_progress_bars()


def test_build_shows_one_overall_line_with_elapsed_and_eta_and_per_entry_bars(tmp_path, capfd, bars_on):
    build_stage(two_entry_stage(tmp_path), tmp_path / "out", echo=lambda *_: None)
    err = capfd.readouterr().err
    assert "stage s: 2/2 entries" in err and "elapsed 00:0" in err and "ETA" in err
    assert "stage s [a (all)]: 0/2 entries" in err and "stage s [b (all)]: 1/2 entries" in err
    assert "a: 100%" in err and "b: 100%" in err  # the per-entry bars stay


def test_no_progress_prints_no_bar(tmp_path, capfd, bars_on):
    config = two_entry_stage(tmp_path)
    assert main(["build", str(config), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    captured = capfd.readouterr()
    assert "entries |" not in captured.err and "%|" not in captured.err and "\r" not in captured.err
    assert "[1/2] a:" in captured.out  # without bars, one line per entry says where the build is


def test_summary_ends_with_elapsed_time_and_output_size(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(two_entry_stage(tmp_path)), "--out", str(out), "--no-progress"]) == 0
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    size = sum(p.stat().st_size for p in (out / "s").glob("train-*.parquet"))
    assert last.startswith(f"built stage s: 7 rows, {size / 1000:.1f} kB in 1 shard(s) under {out / 's'}")
    assert last.endswith(" s") and "; elapsed " in last


def test_stream_stage_prints_no_progress_unless_asked(capfd):
    rows = list(stream_stage(ROOT / "configs" / "demo" / "s2-256.yaml", decode=False))
    assert len(rows) == 28 and capfd.readouterr().err == ""
    list(stream_stage(ROOT / "configs" / "demo" / "s2-256.yaml", decode=False, progress=True))
    assert "blip3o-60k: 100%" in capfd.readouterr().err
