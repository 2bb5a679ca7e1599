"""The README.md YAML header that makes `load_dataset(folder_or_repo, stage)` work.

It holds `configs:` (one per stage, `data_files` -> `<stage>/train-*`, one `default: true`) and
`dataset_info:` (features and exact split sizes), written with the same `datasets` and
`huggingface_hub` classes `push_to_hub` uses.

A card is *ours* when its body carries `CARD_MARKER` (or a stage section marker of an earlier
version) or its `tags` hold `OUR_TAG` (so a card cut short before its body is still ours), or when
there is none yet: hf-mixture then owns all of it. Any other README (a
hand-written card, a repository's README) is *foreign*: only its `configs:` / `dataset_info:`
entries of our stages are added or replaced; its body and every other metadata key are kept.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from datasets import DatasetInfo, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from hf_mixture.export.hub_folder import SPLIT, WrittenStage, data_glob
from hf_mixture.schema import FEATURES

README = "README.md"
CARD_MARKER = "<!-- hf-mixture:card -->"
OUR_TAG = "hf-mixture"
_OUR_MARKS = (CARD_MARKER, "<!-- hf-mixture:stage ")


def empty_card() -> DatasetCard:
    """A card with an empty YAML header and no body."""
    return DatasetCard(f"---\n{DatasetCardData().to_yaml()}\n---\n")


def parse_card(text: str, where: str) -> DatasetCard | None:
    """`text` as a dataset card whose `configs` / `dataset_info` parse, or None (with a warning
    naming `where`) when it does not."""
    try:
        if text.startswith("---") and "\n---" not in text[3:]:
            raise ValueError("the YAML header has no closing `---` (a truncated file?)")
        card = DatasetCard(text)
        MetadataConfigs.from_dataset_card_data(card.data)
        DatasetInfosDict.from_dataset_card_data(card.data)
    except Exception as err:  # noqa: BLE001 - any parse failure means: damaged, rebuild it
        warnings.warn(f"{where}: unreadable dataset card ({type(err).__name__}: {err}); it is rebuilt from "
                      "the stages on disk", stacklevel=2)  # fmt: skip
        return None
    return card


def read_card(out_dir: str | Path) -> DatasetCard:
    """The folder's dataset card; an empty one when it is missing or damaged (warning)."""
    path = Path(out_dir) / README
    if not path.exists():
        return empty_card()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        warnings.warn(f"{path}: unreadable ({err}); treated as missing", stacklevel=2)
        return empty_card()
    return parse_card(text, str(path)) or empty_card()


def card_stages(out_dir: str | Path) -> list[str]:
    """The stage (config) names the folder's README declares, sorted."""
    return sorted(MetadataConfigs.from_dataset_card_data(read_card(out_dir).data))


def has_our_marker(text: str | None) -> bool:
    """Whether a card body (or README text) carries hf-mixture's marker."""
    return any(mark in (text or "") for mark in _OUR_MARKS)


def is_ours(card: DatasetCard | None) -> bool:
    """Whether hf-mixture owns the whole card (see the module docstring)."""
    if card is None:
        return True
    tags = card.data.get("tags") or []
    empty = not (card.text or "").strip() and not card.data.to_dict()
    return has_our_marker(card.text) or OUR_TAG in tags or empty


def set_stages(data: DatasetCardData, stages: dict[str, WrittenStage], *, only_these: bool) -> None:
    """Declare `stages` (name -> shards) in `configs` / `dataset_info` of `data`. With `only_these`
    (our card) every other config is dropped (the README follows what is on disk); otherwise (a
    foreign card) other configs are kept. An existing default is kept; else the first stage is."""
    configs = MetadataConfigs.from_dataset_card_data(data)
    infos = DatasetInfosDict.from_dataset_card_data(data)
    if only_these:
        configs = MetadataConfigs({k: v for k, v in configs.items() if k in stages})
        infos = DatasetInfosDict({k: v for k, v in infos.items() if k in stages})
    for stage, written in stages.items():
        default = bool(configs.get(stage, {}).get("default"))
        configs[stage] = {"data_files": [{"split": SPLIT, "path": data_glob(stage)}]}
        if default:
            configs[stage]["default"] = True
        infos[stage] = stage_info(stage, written)
    if stages and not any(c.get("default") for c in configs.values()):
        configs[sorted(stages)[0]]["default"] = True
    data.pop("configs", None)
    data.pop("dataset_info", None)
    configs.to_dataset_card_data(data)
    infos.to_dataset_card_data(data)


def card_text(data: DatasetCardData, body: str) -> str:
    """The README file content: YAML header then body."""
    return f"---\n{data.to_yaml()}\n---\n{body}"


def stage_info(stage: str, written: WrittenStage) -> DatasetInfo:
    """The `dataset_info` entry of a stage: features, split sizes, download and dataset size."""
    splits = SplitDict()
    splits.add(SplitInfo(name=SPLIT, num_bytes=written.num_bytes, num_examples=written.num_examples))
    return DatasetInfo(
        features=FEATURES,
        splits=splits,
        download_size=written.download_size,
        dataset_size=written.num_bytes,
        config_name=stage,
    )
