"""Lower layers never import upper ones."""

from __future__ import annotations

import subprocess
import sys


def test_storage_imports_nothing_from_media():
    code = (
        "import sys, hf_mixture.storage\n"
        "print(sorted(m for m in sys.modules if m.startswith('hf_mixture.media')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
