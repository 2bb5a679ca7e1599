"""Shared fixtures; the real-server ones live in ``servers.py``.

Every test session gets its own `datasets` cache and build work folder (a local folder's cached
Arrow copy is keyed by its README, not its files, so a shared cache would hide rebuilt data) and
runs offline.
"""

import os
import sys
import tempfile

os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="hf-mixture-tests-cache-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_MIXTURE_WORK_DIR"] = tempfile.mkdtemp(prefix="hf-mixture-tests-work-")  # CLI --work-dir
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

sys.path.insert(0, os.path.dirname(__file__))

from servers import *  # noqa: E402,F401,F403
