"""Shared fixtures; the real-server ones live in ``servers.py``."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from servers import *  # noqa: E402,F401,F403
