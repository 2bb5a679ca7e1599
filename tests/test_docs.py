"""The docs a fresh clone follows: links resolve inside the repository, the schema page lists the
schema, the quick start is two commands, and the offline recipe (`--map` of hf:// prefixes) works."""

import re
import subprocess
import sys
from pathlib import Path

from factories import write_image, write_parquet, write_stage

from hf_mixture.cli.main import main
from hf_mixture.schema import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_of_the_docs_resolves_in_the_repository():
    broken = []
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            path = target.split("#", 1)[0]
            if path and not re.match(r"^[a-z]+://|^mailto:", path) and not (doc.parent / path).exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert broken == []


def test_no_doc_points_outside_the_repository_for_the_schema():
    for doc in DOCS:
        assert "shared/spec" not in doc.read_text(encoding="utf-8"), doc


def test_the_schema_page_lists_every_column_of_the_schema():
    text = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z0-9_]+)`(?:, `([a-z0-9_]+)`)?", text, re.M))
    listed = {name for pair in listed for name in pair if name}  # one row lists both original sizes
    assert listed == set(COLUMNS)


def test_quick_start_is_exactly_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\n\n```bash\n(.*?)```", readme, re.S).group(1)
    assert len(block.strip().splitlines()) == 2 and "pip install -e ." in block


def test_the_documented_way_to_leave_out_the_ray_tests_deselects_them():
    assert "-m 'not ray'" in (ROOT / "README.md").read_text(encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not ray", "tests/test_ray_engine.py"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert "deselected" in done.stdout and "test_demo_stage_built_with_ray" not in done.stdout


def test_real_config_paths_build_offline_with_map(tmp_path, monkeypatch, capsys):
    """hf:// json_path globs and https image references, mapped to local copies, build offline."""
    local = tmp_path / "hf" / "org" / "name"
    for i in range(3):
        write_image(tmp_path / "mirror" / f"{i}.jpg", color=(60 * i, 80, 20))
    write_parquet(local / "part-0.parquet", {"s3_path": [f"https://mirror.example/{i}.jpg" for i in range(3)],
                                             "caption": [f"caption {i}" for i in range(3)]})  # fmt: skip
    entry = {"name": "t", "json_path": "hf://datasets/org/name/*.parquet",
             "preprocess_fn": "preproces_text_to_image_generation_s3"}  # fmt: skip
    config = write_stage(tmp_path / "s.yaml", [entry], stage={"name": "s"})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    maps = [
        "--map",
        f"hf://datasets/={tmp_path / 'hf'}/",
        "--map",
        f"https://mirror.example/={tmp_path / 'mirror'}/",
    ]
    assert main(["build", str(config), "--out", str(tmp_path / "out"), "--no-progress", *maps]) == 0
    assert "built stage s: 3 rows" in capsys.readouterr().out
