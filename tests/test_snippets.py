"""Every Python snippet we print works: the fenced `python` blocks (and `python -c "..."` lines) of
README.md and docs/*.md, and those of the dataset card hf-mixture writes, run against a built demo
folder. The folder names the docs use are substituted; blocks that need the Hub or a torch training
loop are skipped, each listed in SKIPPED with why.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hf_mixture.export.readme import README

pytest_plugins = ["publish_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCED = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PYTHON_C = re.compile(r"""^\s*python3? -c "([^"]+)"\s*$""", re.M)
# (file, text the block contains): why it does not run here
SKIPPED = {
    ("docs/streaming.md", "StatefulDataLoader"): "a torch training loop (my_collate, epochs, checkpoints)",
}
# placeholders in the docs' snippets -> the built folder / a demo stage file
STAGE_FILE = str(ROOT / "configs" / "demo" / "s2-256.yaml")
PRELUDE = "rank, world_size = 0, 1\n"  # what a training script has in scope


def snippets(path: Path) -> list[str]:
    """The Python code of a Markdown file: fenced python blocks, then `python -c` lines."""
    text = path.read_text(encoding="utf-8")
    return [m.group(1) for m in FENCED.finditer(text)] + [m.group(1) for m in PYTHON_C.finditer(text)]


def doc_snippets() -> list:
    cases = []
    for path in DOCS:
        name = path.relative_to(ROOT).as_posix()
        for i, code in enumerate(snippets(path)):
            skip = next((why for (f, needle), why in SKIPPED.items() if f == name and needle in code), None)
            marks = [pytest.mark.skip(reason=skip)] if skip else []
            cases.append(pytest.param(code, id=f"{name}#{i}", marks=marks))
    return cases


def run_snippet(code: str, folder: Path, cwd: Path) -> None:
    for placeholder in ("out/mixture", "org/mixture"):
        code = code.replace(f'"{placeholder}"', repr(str(folder))).replace(
            f"'{placeholder}'", repr(str(folder))
        )
    code = code.replace('"configs/stage.yaml"', repr(STAGE_FILE))
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + code], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"snippet failed:\n{code}\n{done.stderr[-3000:]}"


def test_the_docs_have_snippets():
    assert len(doc_snippets()) >= 4


@pytest.mark.parametrize("code", doc_snippets())
def test_doc_snippet_runs_against_a_built_folder(code, demo_folder, tmp_path):
    run_snippet(code, demo_folder, tmp_path)


def test_every_card_snippet_runs_against_its_folder(demo_folder, tmp_path):
    codes = snippets(demo_folder / README)
    assert codes and any("filters=" in code for code in codes)
    for code in codes:
        run_snippet(code, demo_folder, tmp_path)
