"""The README.md YAML header that makes `load_dataset(folder_or_repo, stage)` work.

It holds `configs:` (one per stage, `data_files` -> `<stage>/train-*`, one `default: true`) and
`dataset_info:` (features and exact split sizes), written with the same `datasets` and
`huggingface_hub` classes `push_to_hub` uses. Other stages' entries are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from datasets import DatasetInfo, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from hf_mixture.export.hub_folder import SPLIT, WrittenStage, data_glob
from hf_mixture.schema import FEATURES

README = "README.md"


def read_card(out_dir: str | Path) -> DatasetCard:
    """The folder's dataset card, or an empty one."""
    path = Path(out_dir) / README
    if path.exists():
        return DatasetCard.load(path)
    return DatasetCard(f"---\n{DatasetCardData().to_yaml()}\n---\n")


def update_readme(
    out_dir: str | Path,
    stage: str,
    written: WrittenStage,
    *,
    body: Callable[[DatasetCardData], str] | None = None,
) -> Path:
    """Add or replace `stage` in the README header; the first stage built becomes the default.
    `body` renders the card text below the header (default: keep the existing text)."""
    card = read_card(out_dir)
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    has_default = any(c.get("default") for name, c in configs.items() if name != stage)
    entry = {"data_files": [{"split": SPLIT, "path": data_glob(stage)}]}
    if not has_default:
        entry["default"] = True
    configs[stage] = entry
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    infos[stage] = _stage_info(stage, written)
    configs.to_dataset_card_data(card.data)
    infos.to_dataset_card_data(card.data)
    text = body(card.data) if body else (card.text or "")
    path = Path(out_dir) / README
    path.write_text(f"---\n{card.data.to_yaml()}\n---\n{text}", encoding="utf-8")
    return path


def _stage_info(stage: str, written: WrittenStage) -> DatasetInfo:
    splits = SplitDict()
    splits.add(SplitInfo(name=SPLIT, num_bytes=written.num_bytes, num_examples=written.num_examples))
    return DatasetInfo(
        features=FEATURES,
        splits=splits,
        download_size=written.download_size,
        dataset_size=written.num_bytes,
        config_name=stage,
    )
