"""Export a stage for LLaMA-Factory: ShareGPT rows + image files + `dataset_info.json`.

Each row: `conversations` (`from`/`value`, `human`/`gpt`), `images` (paths relative to the export
folder, LLaMA-Factory's default `media_dir`), plus `image_gen` (generation targets, relative paths),
`image_gen_enc`, `id`, `source`, `task`. LLaMA-Factory reads only the columns `dataset_info.json`
maps (`conversations`, `images`): generation targets are never counted as `<image>`, and their
`<image_gen>` tokens stay in the text. Every row is checked before it is written: `<image>` count
== len(images), an even number of turns alternating human/gpt.
"""

from __future__ import annotations

import json

import pyarrow as pa

from hf_mixture.export.exporter import Exporter, ExportResult, MediaWriter
from hf_mixture.schema import IMAGE_TOKEN

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

    def convert(self, row: dict, media: MediaWriter) -> dict:
        return {
            "id": row["id"],
            "source": row["source"],
            "task": row["task"],
            "conversations": [{"from": t["from"], "value": t["value"]} for t in row["conversations"]],
            "images": [media.path_for(image) for image in row["images"] or []],
            "image_gen": [media.path_for(image) for image in row["image_gen"] or []],
            "image_gen_enc": list(row["image_gen_enc"] or []),
        }

    def check(self, record: dict) -> str | None:
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
        return f"""# `{self.stage}` for LLaMA-Factory

Exported by `hf-mixture export llamafactory` from `{self.out_dir}`: {result.total_rows} rows in
`{file_name}`, {result.images_written} image files under `images/`.

Use it as is: `dataset_dir: {self.to_dir}` and `dataset: {self.stage}`. Image paths are relative to
this folder, which is LLaMA-Factory's default `media_dir` (set `media_dir` to this folder if you
point `dataset_dir` elsewhere).

- `conversations` (ShareGPT `from`/`value`, roles `human`/`gpt`) and `images` are the columns
  `dataset_info.json` maps. Every row has exactly one `<image>` token per entry of `images`
  (checked for every row before writing).
- Generation targets are **not** LLaMA-Factory inputs: they are in the `image_gen` column (paths
  relative to this folder, one per `<image_gen>` token, in token order), which LLaMA-Factory does
  not read. `<image_gen>` / `<image_gen_enc>` tokens are left in the text as literal strings; they are
  never counted as `<image>`. `image_gen_enc` holds indices into `images` (editing sources).
- `source` and `task` say where each row came from (`t2i` rows ask for an image as the answer: filter
  them out with `task` if your model does not generate images).
"""
