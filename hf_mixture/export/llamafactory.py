"""Export a stage for LLaMA-Factory: ShareGPT rows + image files + `dataset_info.json`.

Which rows (llamafactory.md): LLaMA-Factory's multimodal SFT learns text answers from text and
`<image>` inputs; it reads no generation target and trains on whatever text it is given. By default
only rows of `DEFAULT_TASKS` without a generation part are exported; the others are counted in
`export_report.json` as `task:<task>` (task not chosen with `--tasks`) or `generation:not_requested`
(the row asks for an image: an `image_gen` target or an `<image_gen>` / `<image_gen_fake>` /
`<image_gen_enc>` token). `generation=True` (`--generation`) exports those too, with LaViDa-O's
`[[micro_conds_texts]]` placeholder filled from the stored micro-conditions (`ORIGINAL WIDTH`,
`ORIGINAL HEIGHT`, `TOP : 0`, `LEFT : 0` for a cropped target, `SCORE`, `HPS`, as LaViDa-O formats
them) or removed when nothing is stored: no placeholder is ever exported.

Each row: `conversations` (`from`/`value`, `human`/`gpt`), `images` (paths relative to the export
folder, LLaMA-Factory's default `media_dir`), plus `image_gen` (generation targets, relative paths),
`image_gen_enc`, `id`, `source`, `task`. LLaMA-Factory reads only the columns `dataset_info.json`
maps (`conversations`, `images`): generation targets are never counted as `<image>`. Every row is
checked before it is written: `<image>` count == len(images), an even number of turns alternating
human/gpt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from hf_mixture.export.exporter import Exporter, ExportError, ExportResult, MediaWriter
from hf_mixture.schema import IMAGE_TOKEN, MICRO_CONDITIONS, TASKS
from hf_mixture.streaming.transforms import Crop, micro_condition_text

DEFAULT_TASKS = ("understanding", "grounding", "reflection")
GENERATION_TOKENS = ("<image_gen>", "<image_gen_fake>", "<image_gen_enc>")
_PLACEHOLDER = re.compile(r"\s*" + re.escape(MICRO_CONDITIONS))

ROLES = ("human", "gpt")
_TURN = pa.struct([("from", pa.string()), ("value", pa.string())])


def sharegpt_problem(record: dict) -> str | None:
    """LLaMA-Factory's rules for a ShareGPT row: what breaks, or None."""
    turns = record["conversations"]
    if not turns or len(turns) % 2:
        return f"{len(turns)} turns; LLaMA-Factory needs human/gpt pairs"
    roles = [t["from"] for t in turns]
    if any(role != ROLES[i % 2] for i, role in enumerate(roles)):
        return f"roles {roles} do not alternate human, gpt, ..."
    tokens = sum((t["value"] or "").count(IMAGE_TOKEN) for t in turns)
    if tokens != len(record["images"]):
        return f"{tokens} {IMAGE_TOKEN} token(s) for {len(record['images'])} image(s)"
    return None


def is_generation_row(row: dict) -> bool:
    """The row asks for an image: a generation target, or a generation token in its text."""
    text = " ".join(t["value"] or "" for t in row["conversations"])
    return bool(row["image_gen"]) or any(token in text for token in GENERATION_TOKENS)


def stored_micro_conditions(row: dict) -> str:
    """LaViDa-O's micro-condition text from what the row stores: the target uncropped (`TOP : 0`,
    `LEFT : 0`; no geometry for padded targets), no luminance/contrast, then SCORE and HPS."""
    width, height = row.get("original_width"), row.get("original_height")
    crop = None
    if width and height and not row.get("pad_image_gen"):
        crop = Crop(width, height, width, height, top=0, left=0, size=min(width, height))
    rng = np.random.default_rng(0)  # unused: luma_prob 0
    return micro_condition_text(
        rng, crop=crop, gen_score=row.get("gen_score"), hpsv2=row.get("hpsv2"), luma_prob=0
    )


def fill_placeholder(text: str, micro: str) -> str:
    """Every `[[micro_conds_texts]]` replaced by `micro`, or removed with the space before it."""
    return _PLACEHOLDER.sub(lambda m: m.group(0)[: -len(MICRO_CONDITIONS)] + micro if micro else "", text)


class LlamaFactoryExporter(Exporter):
    """Stage -> LLaMA-Factory ShareGPT dataset folder."""

    name = "llamafactory"
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("source", pa.string()),
            ("task", pa.string()),
            ("conversations", pa.list_(_TURN)),
            ("images", pa.list_(pa.string())),
            ("image_gen", pa.list_(pa.string())),
            ("image_gen_enc", pa.list_(pa.int32())),
        ]
    )

    def __init__(
        self,
        out_dir: str | Path,
        stage: str,
        to_dir: str | Path,
        fmt: str = "jsonl",
        *,
        tasks: Sequence[str] | None = None,
        generation: bool = False,
    ):
        super().__init__(out_dir, stage, to_dir, fmt)
        self.tasks = tuple(tasks) if tasks else DEFAULT_TASKS
        unknown = sorted(set(self.tasks) - set(TASKS))
        if unknown:
            raise ExportError(f"--tasks: unknown task(s) {unknown}; tasks are {', '.join(TASKS)}")
        self.generation = generation

    def skip_reason(self, row: dict) -> str | None:
        if row["task"] not in self.tasks:
            return f"task:{row['task']}"
        if not self.generation and is_generation_row(row):
            return "generation:not_requested"
        return None

    def summary(self) -> dict:
        return {**super().summary(), "tasks": list(self.tasks), "generation": self.generation}

    def empty_hint(self) -> str:
        return (
            f"Choose tasks with --tasks (now {','.join(self.tasks)}) and add --generation to export "
            "rows that ask for an image"
        )

    def convert(self, row: dict, media: MediaWriter) -> dict:
        micro = stored_micro_conditions(row)
        turns = [
            {"from": t["from"], "value": fill_placeholder(t["value"], micro)} for t in row["conversations"]
        ]
        return {
            "id": row["id"],
            "source": row["source"],
            "task": row["task"],
            "conversations": turns,
            "images": [media.path_for(image) for image in row["images"] or []],
            "image_gen": [media.path_for(image) for image in row["image_gen"] or []],
            "image_gen_enc": list(row["image_gen_enc"] or []),
        }

    def check(self, record: dict) -> str | None:
        if any(MICRO_CONDITIONS in t["value"] for t in record["conversations"]):
            return f"{MICRO_CONDITIONS} left in the text"
        return sharegpt_problem(record)

    def finish(self, result: ExportResult) -> None:
        info = {
            self.stage: {
                "file_name": result.data_files[self.stage].name,
                "formatting": "sharegpt",
                "columns": {"messages": "conversations", "images": "images"},
            }
        }
        (self.to_dir / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        (self.to_dir / "README.md").write_text(self._readme(result), encoding="utf-8")

    def _readme(self, result: ExportResult) -> str:
        file_name = result.data_files[self.stage].name
        left_out = ", ".join(f"{reason} {n}" for reason, n in sorted(result.tally.reasons().items()))
        return f"""# `{self.stage}` for LLaMA-Factory

Exported by `hf-mixture export llamafactory` from `{self.out_dir}`: {result.total_rows} of
{result.tally.read} rows in `{file_name}`, {result.images_written} image files under `images/`.
Tasks: {", ".join(self.tasks)}; rows that ask for an image: {"exported" if self.generation else "left out"}.
Not exported: {left_out or "none"} (per source in `export_report.json`).

Use it as is: `dataset_dir: {self.to_dir}` and `dataset: {self.stage}`. Image paths are relative to
this folder, which is LLaMA-Factory's default `media_dir` (set `media_dir` to this folder if you
point `dataset_dir` elsewhere).

- `conversations` (ShareGPT `from`/`value`, roles `human`/`gpt`) and `images` are the columns
  `dataset_info.json` maps. Every row has exactly one `<image>` token per entry of `images`
  (checked for every row before writing).
- LaViDa-O's `[[micro_conds_texts]]` placeholder is never exported: it is filled from the stored
  micro-conditions (`ORIGINAL WIDTH`, `ORIGINAL HEIGHT`, `TOP : 0`, `LEFT : 0`, `SCORE`, `HPS`) or
  removed when the row stores none.
- Generation targets (rows exported with `--generation`) are **not** LLaMA-Factory inputs: they are
  in the `image_gen` column (paths relative to this folder, one per `<image_gen>` token, in token
  order), which LLaMA-Factory does not read; `<image_gen>` / `<image_gen_enc>` tokens are literal
  text there. `image_gen_enc` holds indices into `images` (editing sources).
- `source` and `task` say where each row came from.
"""
