"""The dataset card (README.md) of a built folder: Hub metadata in the YAML header, and a body that
says what each stage holds, per-source rows/shares/licenses/drops, the YAML that built it, and how to
load and stream it.

`configs:` and `dataset_info:` stay as `readme.py` writes them. Each stage's part of the body sits
between `<!-- hf-mixture:stage NAME -->` markers, so a push of one stage can keep the other stages'
parts of the card already on the Hub (`merge_card`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from hf_mixture.export.card_data import StageSummary, stage_summary
from hf_mixture.export.card_text import loading_section, stage_section, stages_table
from hf_mixture.export.folder import built_stages, disk_stages, stage_files
from hf_mixture.export.hub_folder import written_stage
from hf_mixture.export.licenses import UNKNOWN
from hf_mixture.export.readme import CARD_MARKER, OUR_TAG, README, card_text, is_ours, read_card, set_stages
from hf_mixture.export.readme_update import rebuild_readme

TAGS = ["multimodal", "mixture", "image-text", "lavida-o", OUR_TAG]
ALWAYS_TASKS = ["image-text-to-text"]
# Our row tasks -> task ids shown in the Hub's dataset filter.
VISIBLE_TASKS = {
    "t2i": "text-to-image",
    "edit": "image-to-image",
    "understanding": "visual-question-answering",
    "reflection": "visual-question-answering",
    "planning": "text-to-image",
    "grounding": "image-to-text",
}
SIZE_CATEGORIES = [
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
]  # fmt: skip
MIXED_LICENSE_NAME = "mixture-of-source-licenses"
_SECTION = re.compile(r"<!-- hf-mixture:stage (\S+) -->\n.*?<!-- hf-mixture:end \1 -->\n", re.S)


def size_category(rows: int) -> str:
    """The Hub `size_categories` value for a total row count."""
    for bound, name in SIZE_CATEGORIES:
        if rows < bound:
            return name
    return "1B<n<10B"


def stage_sections(text: str) -> dict[str, str]:
    """The per-stage parts of a card body, by stage name."""
    return {m.group(1): m.group(0) for m in _SECTION.finditer(text or "")}


def set_header(
    data: DatasetCardData,
    summaries: Iterable[StageSummary],
    *,
    keep: DatasetCardData | None = None,
    repo_id: str | None = None,
    pretty_name: str | None = None,
) -> None:
    """Fill the Hub metadata of `data` from the stages; `keep` holds metadata of stages not summarised
    (the card on the Hub) to merge in."""
    summaries = list(summaries)
    licenses = {i for s in summaries for i in s.license_ids} | _listed(keep, "license")
    _set_license(data, licenses, repo_id)
    tasks = {VISIBLE_TASKS[t] for s in summaries for t in s.tasks if t in VISIBLE_TASKS}
    data.task_categories = sorted(tasks | set(ALWAYS_TASKS) | _listed(keep, "task_categories"))
    repos = {src.repo_id for s in summaries for src in s.sources if src.repo_id}
    data.source_datasets = sorted(repos | _listed(keep, "source_datasets")) or None
    data.tags = sorted(set(TAGS) | _listed(keep, "tags"))
    infos = DatasetInfosDict.from_dataset_card_data(data)
    total = sum(split.num_examples for info in infos.values() for split in (info.splits or {}).values())
    data.size_categories = [size_category(total)]
    data.pretty_name = (
        pretty_name
        or data.get("pretty_name")
        or _listed_first(keep, "pretty_name")
        or (f"{repo_id.split('/')[-1]} (hf-mixture)" if repo_id else "hf-mixture training mixture")
    )


def render_body(data: DatasetCardData, sections: dict[str, str], repo_id: str | None, local_path: str) -> str:
    """The card body: stage table, loading, licenses, then each stage's section in config order."""
    configs = MetadataConfigs.from_dataset_card_data(data)
    infos = DatasetInfosDict.from_dataset_card_data(data)
    default = configs.get_default_config_name() if configs else None
    target = repo_id or local_path
    parts = [
        CARD_MARKER,
        f"# {data.pretty_name}\n",
        "Training-stage mixtures of public multimodal corpora, built with "
        "hf-mixture from LaViDa-O style YAML configs. One config per training stage; "
        "every row keeps its `source`, `task` and `license`.\n",
        stages_table(configs, infos, default),
        loading_section(target, default or next(iter(configs), "STAGE")),
        _licenses_section(data),
        *(sections[name] for name in sorted(configs) if name in sections),
    ]
    return "\n".join(parts)


def card_body(out_dir: str | Path, repo_id: str | None = None) -> Callable[[DatasetCardData], str]:
    """The `body=` callable for `rebuild_readme`: sets the Hub metadata and renders every stage of the
    folder (run after the stage's report and YAML are saved)."""

    def render(data: DatasetCardData) -> str:
        built = set(disk_stages(out_dir))
        stages = [s for s in sorted(MetadataConfigs.from_dataset_card_data(data)) if s in built]
        summaries = [stage_summary(out_dir, s) for s in stages]
        name = None if data.get("pretty_name") else f"{Path(out_dir).absolute().name} (hf-mixture)"
        set_header(data, summaries, repo_id=repo_id, pretty_name=name)
        sections = {s.name: stage_section(s) for s in summaries}
        return render_body(data, sections, repo_id, str(Path(out_dir).absolute()))

    return render


def render_card(out_dir: str | Path, repo_id: str | None = None) -> Path:
    """Re-render the README of a built folder in place (header metadata and body; a foreign README
    only gets its `configs`/`dataset_info`)."""
    if not built_stages(out_dir):
        raise FileNotFoundError(f"{out_dir}/{README}: no built stage found; build a stage first")
    return rebuild_readme(out_dir, body=card_body(out_dir, repo_id))


def merge_card(
    out_dir: str | Path,
    stages: list[str],
    remote: DatasetCard | None,
    repo_id: str | None,
    *,
    location: str | None = None,
) -> str:
    """The README to push when `stages` of the folder are uploaded: the card on the Hub (`remote`) with
    those stages' `configs`/`dataset_info`/sections replaced by the local ones, others kept. A
    foreign card (on the Hub, or locally when the Hub has none) keeps its body and metadata: only
    the stages' `configs`/`dataset_info` are merged into it. `location` is where the card tells
    users to load from when there is no `repo_id` (default: the local folder)."""
    local = read_card(out_dir)
    base = remote if remote is not None else (None if is_ours(local) else local)
    if base is not None and not is_ours(base):
        data = DatasetCardData(**base.data.to_dict())
        set_stages(data, {s: written_stage(tuple(stage_files(out_dir, s))) for s in stages}, only_these=False)
        return card_text(data, base.text or "")
    data = DatasetCardData(**(remote.data.to_dict() if remote else {}))
    configs = MetadataConfigs.from_dataset_card_data(data)
    infos = DatasetInfosDict.from_dataset_card_data(data)
    local_configs = MetadataConfigs.from_dataset_card_data(local.data)
    local_infos = DatasetInfosDict.from_dataset_card_data(local.data)
    for stage in stages:
        configs[stage] = {k: v for k, v in local_configs[stage].items() if k != "default"}
        infos[stage] = local_infos[stage]
    _keep_one_default(configs, local_configs, stages)
    data.pop("configs", None)
    data.pop("dataset_info", None)
    configs.to_dataset_card_data(data)
    infos.to_dataset_card_data(data)
    summaries = [stage_summary(out_dir, s) for s in stages]
    set_header(data, summaries, keep=remote.data if remote else None, repo_id=repo_id)
    sections = stage_sections(remote.text if remote else "")
    sections.update({s.name: stage_section(s) for s in summaries})
    body = render_body(data, sections, repo_id, location or str(Path(out_dir).absolute()))
    return card_text(data, body)


def _keep_one_default(configs: MetadataConfigs, local: MetadataConfigs, stages: list[str]) -> None:
    if any(c.get("default") for c in configs.values()):
        return
    pushed_default = [s for s in stages if local[s].get("default")]
    configs[(pushed_default or sorted(stages))[0]]["default"] = True


def _set_license(data: DatasetCardData, ids: set[str], repo_id: str | None) -> None:
    ids = {i for i in ids if i}
    for key in ("license_name", "license_link"):
        data.pop(key, None)
    if not ids or UNKNOWN in ids or "other" in ids:
        data.license = "other"
        data.license_name = MIXED_LICENSE_NAME
        if repo_id:
            data.license_link = f"https://huggingface.co/datasets/{repo_id}#source-licenses"
    else:
        data.license = sorted(ids)


def _licenses_section(data: DatasetCardData) -> str:
    licenses = data.license if isinstance(data.license, list) else [data.license]
    note = (
        "At least one source has no known Hub license id, so the card says `license: other`; check the "
        "per-source tables below and each source's own terms."
        if data.license == "other"
        else "The card lists the Hub license id of every source present."
    )
    return (
        "## Source licenses\n\n"
        f"Licenses: {', '.join(f'`{x}`' for x in licenses)}. {note} Every row carries its source's "
        "license in the `license` column (null: none given in the YAML), so you can filter on it.\n"
    )


def _listed(data: DatasetCardData | None, key: str) -> set[str]:
    value = data.get(key) if data is not None else None
    if value is None:
        return set()
    values = {value} if isinstance(value, str) else set(value)
    return {"unknown" if v == "other" else v for v in values} if key == "license" else values


def _listed_first(data: DatasetCardData | None, key: str):
    return data.get(key) if data is not None else None
