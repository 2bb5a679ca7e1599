"""hf-mixture: LaViDa-O style training-stage mixtures, built and published as Hugging Face datasets.

from hf_mixture import build_stage, load_stage_config, load_mixture
build_stage("configs/demo/s2-256.yaml", "out/mixture")
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "build_stage": "hf_mixture.build",
    "load_stage_config": "hf_mixture.config.load",
    "load_mixture": "hf_mixture.streaming",
    "stream_stage": "hf_mixture.streaming",
    "HfMixtureError": "hf_mixture.errors",
    "ConfigError": "hf_mixture.errors",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    """Import public names on first use, so `import hf_mixture` stays light (no torch, no datasets)."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hf_mixture' has no attribute {name!r}")
