"""Export a stage as LLaVA / LaViDa-O records plus a LaViDa-O style YAML that reads them.

Records: `id`, `source`, `task`, `conversations`, `image`, `image_gen`, `image_gen_enc` (lists of
paths relative to the export folder; `image_gen_enc` holds the paths of the `image` entries the
generation encoder also gets), `is_edit`, `pad_image_gen`, `do_not_mask_text`, `reweight`,
`gen_score`/`hpsv2` (one-item lists, as LaViDa-O records hold them) and the original target size.
One data file per length group (`data/<group>.<fmt>`); the YAML has one `datasets:` entry per file
with `preprocess_fn: process_uniworld` (LaViDa-O's reader of exactly these columns, `folder` = the
export folder), its `length_group`, and `weights` from `mixing.probabilities.lavida_export_weights`
(rows per group / rows per step of the group), so LaViDa-O's group sampler, which applies
`batch_sizes` again, shows the groups in the stage's realised proportions.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import yaml

from hf_mixture.export.exporter import Exporter, ExportResult, MediaWriter
from hf_mixture.export.report import load_report
from hf_mixture.mixing.probabilities import lavida_export_weights

_TURN = pa.struct([("from", pa.string()), ("value", pa.string())])
PREPROCESS_FN = "process_uniworld"


class LlavaExporter(Exporter):
    """Stage -> LLaVA / LaViDa-O JSON(L)/parquet records and a stage YAML."""

    name = "llava"
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("source", pa.string()),
            ("task", pa.string()),
            ("conversations", pa.list_(_TURN)),
            ("image", pa.list_(pa.string())),
            ("image_gen", pa.list_(pa.string())),
            ("image_gen_enc", pa.list_(pa.string())),
            ("is_edit", pa.bool_()),
            ("pad_image_gen", pa.bool_()),
            ("do_not_mask_text", pa.bool_()),
            ("reweight", pa.bool_()),
            ("gen_score", pa.list_(pa.float32())),
            ("hpsv2", pa.list_(pa.float32())),
            ("original_width", pa.int32()),
            ("original_height", pa.int32()),
        ]
    )

    def convert(self, row: dict, media: MediaWriter) -> dict:
        images = [media.path_for(image) for image in row["images"] or []]
        return {
            "id": row["id"],
            "source": row["source"],
            "task": row["task"],
            "conversations": [{"from": t["from"], "value": t["value"]} for t in row["conversations"]],
            "image": images,
            "image_gen": [media.path_for(image) for image in row["image_gen"] or []],
            "image_gen_enc": [images[i] for i in row["image_gen_enc"] or []],
            "is_edit": row["task"] == "edit",
            "pad_image_gen": bool(row["pad_image_gen"]),
            "do_not_mask_text": bool(row["do_not_mask_text"]),
            "reweight": row["reweight"],
            "gen_score": _one_item(row["gen_score"]),
            "hpsv2": _one_item(row["hpsv2"]),
            "original_width": row["original_width"],
            "original_height": row["original_height"],
        }

    def file_key(self, row: dict) -> str:
        return row.get("length_group") or "default"

    def data_path(self, key: str) -> Path:
        return self.to_dir / "data" / f"{key}.{self.fmt}"

    def finish(self, result: ExportResult) -> None:
        path = self.to_dir / f"{self.stage}.yaml"
        path.write_text(self.stage_yaml(result), encoding="utf-8")

    def stage_yaml(self, result: ExportResult) -> str:
        """The LaViDa-O style YAML over the exported files (absolute paths: any working directory)."""
        report = load_report(self.out_dir, self.stage) or {}
        groups = sorted(result.data_files)
        batch_sizes = {g: f for g, f in (report.get("batch_sizes") or {}).items() if g in groups}
        rows = {group: result.rows[group] for group in groups}
        document = {
            "stage": _stage_block(self.stage, report),
            "datasets": [self._entry(group, result.data_files[group]) for group in groups],
            "weights": lavida_export_weights(rows, batch_sizes, report.get("batch_size")),
        }
        if batch_sizes:
            document["batch_sizes"] = batch_sizes
        header = (
            f"# Stage {self.stage} exported by `hf-mixture export llava` from {self.out_dir}.\n"
            "# One entry per length group; weights = rows per group / rows per step of the group\n"
            "# (batch_sizes), so LaViDa-O's sampler shows the stage's realised mixture.\n"
            "# Image paths in the records are relative to process_fn_kwargs.folder.\n"
        )
        return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)

    def _entry(self, group: str, data_file: Path) -> dict:
        return {
            "name": f"{self.stage}-{group}",
            "json_path": str(data_file),
            "sampling_strategy": "all",
            "preprocess_fn": PREPROCESS_FN,
            "process_fn_kwargs": {"folder": str(self.to_dir)},
            "length_group": group,
        }


def _stage_block(stage: str, report: dict) -> dict:
    """The exported YAML's `stage:`: name, seed and (when the build had it) the per-device batch size."""
    block = {"name": stage, "seed": report.get("seed", 42)}
    if report.get("batch_size"):
        block["batch_size"] = report["batch_size"]
    return block


def _one_item(value: float | None) -> list[float] | None:
    return None if value is None else [value]
