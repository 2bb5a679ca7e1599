"""A demo folder built once per test session (all three demo stages), for the publishing tests.

Tests that change a folder copy it first (`demo_copy`).
"""

import shutil
from pathlib import Path

import pytest

from hf_mixture.build import build_stage

ROOT = Path(__file__).resolve().parent.parent
DEMO_STAGES = ("s1-gnd", "s2-256", "s3-unified")


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory) -> Path:
    """A folder holding the three demo stages, as `hf-mixture build` writes it; do not modify."""
    out = tmp_path_factory.mktemp("published") / "demo-mixture"
    for stage in DEMO_STAGES:
        build_stage(ROOT / "configs" / "demo" / f"{stage}.yaml", out, echo=lambda *_: None)
    return out


@pytest.fixture
def demo_copy(demo_folder, tmp_path) -> Path:
    """A private copy of the demo folder that a test may change."""
    return Path(shutil.copytree(demo_folder, tmp_path / demo_folder.name))
