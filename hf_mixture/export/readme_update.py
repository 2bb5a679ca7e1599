"""Rebuild a folder's README.md from what is on disk, under the folder lock, written atomically.

The README is never trusted as the record of which stages exist: every build (and `render_card`)
declares exactly the stages whose folders hold shards with readable footers and a build report or
saved stage YAML (`folder.built_stages`), with sizes read from the footers. So a README that is
missing, truncated, or lost a stage to a concurrent writer is repaired by the next build. A
foreign README (readme.py) keeps its body and metadata; a damaged foreign one is kept as
`README.md.damaged` before it is replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData

from hf_mixture.export.folder import built_stages, stage_files
from hf_mixture.export.hub_folder import written_stage
from hf_mixture.export.out_folder import atomic_write, folder_lock, pause_point, remove_dead_temporaries
from hf_mixture.export.readme import (
    README,
    card_text,
    empty_card,
    has_our_marker,
    is_ours,
    parse_card,
    set_stages,
)

DAMAGED_SUFFIX = ".damaged"


def rebuild_readme(out_dir: str | Path, *, body: Callable[[DatasetCardData], str] | None = None) -> Path:
    """Read, update and rewrite `out_dir/README.md` inside the folder lock. `body` renders the body
    of our card (default: keep the existing text); a foreign card's body is always kept."""
    out_dir = Path(out_dir)
    with folder_lock(out_dir):
        card = _current_card(out_dir)
        pause_point()  # test hook: a concurrent build would interleave here without the lock
        ours = is_ours(card)
        card = card or empty_card()
        stages = {stage: written_stage(tuple(stage_files(out_dir, stage))) for stage in built_stages(out_dir)}
        for folder in (out_dir, *(out_dir / stage for stage in stages)):
            remove_dead_temporaries(folder)  # what writes killed mid-way left
        set_stages(card.data, stages, only_these=ours)
        text = body(card.data) if body and ours else (card.text or "")
        return atomic_write(out_dir, README, card_text(card.data, text))


def withdraw_sizes(out_dir: str | Path, stage: str) -> None:
    """Remove `stage`'s `dataset_info` from the README (its config stays), under the folder lock:
    done before the stage's shards are replaced, so a build killed before its README update leaves
    a README that claims no size the new shards could contradict (`datasets` checks `num_examples`
    on non-streaming loads); the next README rebuild records the sizes again."""
    out_dir = Path(out_dir)
    with folder_lock(out_dir):
        card = _current_card(out_dir)
        if card is None:
            return
        infos = DatasetInfosDict.from_dataset_card_data(card.data)
        if stage not in infos:
            return
        del infos[stage]
        card.data.pop("dataset_info", None)
        if infos:
            infos.to_dataset_card_data(card.data)
        atomic_write(out_dir, README, card_text(card.data, card.text or ""))


def _current_card(out_dir: Path):
    """The README as a card; None when missing or damaged (a damaged foreign one is set aside)."""
    path = out_dir / README
    if not path.exists():
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    card = parse_card(text, str(path)) if text is not None else None
    if card is None and raw.strip() and not has_our_marker(text):
        atomic_write(out_dir, README + DAMAGED_SUFFIX, raw)
    return card
