"""A stage config in memory: what a LaViDa-O YAML file says, plus our optional `stage:` block."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hf_mixture.config.sampling_strategy import SamplingStrategy
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

    @property
    def label(self) -> str:
        """How messages name the entry: `datasets[2] (blip3o-60k)`."""
        return f"datasets[{self.index}] ({self.name})"


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
