"""Every `except` that catches broadly turns the error into a counted reason or a named error:
a scan of the package (each broad handler says what it turns the error into), and one input per
class of failure that reaches those handlers in a build."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from factories import t2i_entry, write_image, write_parquet, write_stage

from hf_mixture.build import build_stage
from hf_mixture.media.archives import archive_ref

REPO = Path(__file__).resolve().parent.parent
BROAD = {"Exception", "BaseException"}


def broad_handlers():
    """(file, line, source line) of every `except`, `except Exception` and `except BaseException`
    that does not end by re-raising what it caught (a clean-up handler changes nothing)."""
    for path in sorted([*(REPO / "hf_mixture").rglob("*.py"), *(REPO / "builders").rglob("*.py")]):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.ExceptHandler):
                continue
            caught = node.type
            names = [caught] if not isinstance(caught, ast.Tuple) else list(caught.elts)
            reraises = isinstance(node.body[-1], ast.Raise) and node.body[-1].exc is None
            if (
                caught is None or any(isinstance(n, ast.Name) and n.id in BROAD for n in names)
            ) and not reraises:
                yield path.relative_to(REPO), node.lineno, lines[node.lineno - 1]


def test_every_broad_except_says_what_the_error_becomes():
    """A handler that catches everything and does not re-raise it must say, on its line, what the
    error becomes (a counted reason, a config error naming the key, a finding)."""
    unexplained = [
        f"{path}:{line}: {source.strip()}"
        for path, line, source in broad_handlers()
        if "# noqa: BLE001 - " not in source
    ]
    assert not unexplained, "broad `except` without `# noqa: BLE001 - <what it becomes>`:\n" + "\n".join(
        unexplained
    )


def test_no_bare_except():
    assert not [f"{p}:{n}" for p, n, source in broad_handlers() if source.strip().startswith("except:")]


def test_an_archive_that_is_not_a_tar_is_a_counted_fetch_error_with_its_cause(tmp_path):
    write_image(tmp_path / "ok.jpg")
    (tmp_path / "fake.tar").write_bytes(b"this is not a tar archive" * 40)
    refs = [str(tmp_path / "ok.jpg"), archive_ref("a.jpg", str(tmp_path / "fake.tar"))]
    table = write_parquet(tmp_path / "t.parquet", {"s3_path": refs, "caption": ["a", "b"]})
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(table)])
    result = build_stage(config, tmp_path / "out", echo=lambda *_: None)
    entry = json.loads(result.report_path.read_text())["entries"][0]
    assert entry["written"] == 1 and entry["dropped"] == {"media:fetch_error": 1}
    assert "ReadError" in entry["examples"]["media:fetch_error"][0]["message"]
