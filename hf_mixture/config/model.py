"""A stage config in memory: what a LaViDa-O YAML file says, plus our optional `stage:` block."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hf_mixture.config.sampling_strategy import SamplingStrategy
from hf_mixture.redact import redact
from hf_mixture.storage import PathMapping, Storage

STOPPING_STRATEGIES = ("first_exhausted", "all_exhausted", "all_exhausted_without_replacement")


@dataclass(frozen=True, kw_only=True)
class MaxEncImages:
    """LaViDa-O's `max_enc_images`: keep rows whose list column `column` has at most `value` items."""

    column: str
    value: int


@dataclass(frozen=True, kw_only=True)
class EntryConfig:
    """One item of `datasets:`. `json_path` is as written; `files` are resolved and expanded."""

    index: int
    name: str
    key: str
    json_path: str
    files: tuple[str, ...]
    sampling: SamplingStrategy
    preprocess_fn: str
    process_fn_kwargs: dict = field(default_factory=dict)
    columns: tuple[str, ...] | None = None
    aes_cutoff: float | None = None
    min_size: int | None = None
    max_enc_images: MaxEncImages | None = None
    length_group: str = "default"
    image_root: str | None = None
    license: str | None = None
    score_column: str = "fltLaionAesthScore"
    builder: str = "tabular"
    builder_options: dict = field(default_factory=dict)
    module_dir: str | None = None  # where a `module:function` preprocess_fn is looked up first

    @property
    def label(self) -> str:
        """How messages name the entry: `datasets[2] (blip3o-60k)`."""
        return f"datasets[{self.index}] ({self.name})"

    def row_settings(self) -> dict:
        """The keys that decide which rows the entry yields, JSON-ready (the build report keeps
        them, so sizes taken from a report can be checked against an edited YAML); the resolved
        file list as its count and a digest."""
        files = hashlib.sha1("\n".join(sorted(self.files)).encode("utf-8")).hexdigest()[:16]
        settings = {
            "json_path": self.json_path,
            "files": f"{len(self.files)} file(s), sha1 {files}",
            "columns": list(self.columns) if self.columns is not None else None,
            "sampling_strategy": self.sampling.text,
            "preprocess_fn": self.preprocess_fn,
            "process_fn_kwargs": self.process_fn_kwargs,
            "aes_cutoff": self.aes_cutoff,
            "min_size": self.min_size,
            "max_enc_images": asdict(self.max_enc_images) if self.max_enc_images else None,
            "score_column": self.score_column,
            "image_root": self.image_root,
            "builder": self.builder,
            "builder_options": self.builder_options,
        }
        return _redacted(json.loads(json.dumps(settings, default=str)))


def _redacted(value):
    """`value` (JSON data) with every string passed through `redact` (it goes into the report)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class StageSettings:
    """Our optional `stage:` block; every key has a default."""

    name: str
    batch_size: int | None = None  # LaViDa-O's per-device batch: hf_mixture/mixing/probabilities.py
    resolution: int | None = None
    seed: int = 42
    stopping_strategy: str | None = None
    num_samples: int | None = None
    num_shards: int | None = None
    path_mappings: tuple[PathMapping, ...] = ()
    storage_options: dict = field(default_factory=dict)
    allowed_schemes: tuple[str, ...] = ("file", "s3", "gs", "http", "https", "hf")
    image_workers: int = 8
    license: str | None = None
    http_timeout: float = 30.0
    http_retries: int = 3
    media_budget_seconds: float | None = None
    image_check: str = "draft"  # full / draft / header: hf_mixture/media/images.py
    box_format: str = "loc"  # how preprocess functions write boxes: hf_mixture/grounding.py BOX_FORMATS


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """A validated stage file."""

    path: Path
    entries: tuple[EntryConfig, ...]
    settings: StageSettings
    weights: dict[str, float] = field(default_factory=dict)
    batch_sizes: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    text: str = ""

    @property
    def grouped(self) -> bool:
        """Whether LaViDa-O's group-weighted sampling applies (a `weights:` map is given)."""
        return bool(self.weights)

    def storage(self) -> Storage:
        """The Storage that resolves this stage's paths."""
        return Storage(
            base_dir=self.path.absolute().parent,
            mappings=self.settings.path_mappings,
            storage_options=self.settings.storage_options,
            allowed_schemes=self.settings.allowed_schemes,
        )
