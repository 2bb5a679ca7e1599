"""Export a stage as LaViDa-O payload records plus a LaViDa-O data YAML that reads them.

Design (docs/exports.md): every record is the *payload* LaViDa-O's preprocess function made for the
row (the dict `_get_item` consumes), and the YAML's entries name **no** `preprocess_fn`, so
LaViDa-O's loader hands each record to `_get_item` unchanged (lavida-o-loader.md section 7). Going
through a LaViDa-O function instead would lose what the stage holds: `process_uniworld` reads
`folder` from the record, always sets `reweight` (rows without a generation target then crash
`_get_item`) and drops `gen_score`, `hpsv2` and `do_not_mask_text`; the source functions redo their
random caption truncation and feedback draws.

Record keys, each present only when it carries a value (a key holding null crashes `_get_item`):
`id`, `source`, `task`, `conversations`; `image`, `image_gen`, `image_gen_enc` (lists of image paths
relative to the export folder; `image_gen_enc` repeats the paths of the `image` entries the generation
encoder also gets); `pad_image_gen`, `do_not_mask_text` (bools); `reweight` (only with a generation
target: LaViDa-O builds token weights from the targets whenever the key exists); `gen_score`,
`hpsv2` (one float per generation target, as LaViDa-O's functions hold them); `original_width`,
`original_height`. One JSON / JSONL data file per length group (`data/<group>.<fmt>`), `weights`
from `mixing.probabilities.lavida_export_weights` (rows per group / rows per step of the group), so
LaViDa-O's group sampler, which applies `batch_sizes` again, shows the groups in the stage's
realised proportions; parquet is
refused (pandas turns lists into arrays and absent keys into nulls, which `_get_item` cannot read).
Every path, in the YAML and in the records, is relative to the export folder: run LaViDa-O with the
export folder as its working directory.
"""

from __future__ import annotations

from numbers import Real
from pathlib import Path

import yaml

from hf_mixture.export.exporter import Exporter, ExportError, ExportResult, MediaWriter
from hf_mixture.export.report import load_report
from hf_mixture.mixing.probabilities import lavida_export_weights

IMAGE_KEYS = ("image", "image_gen", "image_gen_enc")
FLAG_KEYS = ("pad_image_gen", "do_not_mask_text", "reweight")
SCORE_KEYS = ("gen_score", "hpsv2")
LLAVA_FORMATS = ("json", "jsonl")
# schemes LaViDa-O hands to Adobe-internal readers instead of opening the file
INTERNAL_SCHEMES = ("s3://", "piat://")


def lavida_payload(row: dict, media: MediaWriter) -> dict:
    """The LaViDa-O payload of a stored row: keys with values only (see the module docstring)."""
    images = [media.path_for(image) for image in row["images"] or []]
    targets = [media.path_for(image) for image in row["image_gen"] or []]
    record = {
        "id": row["id"],
        "source": row["source"],
        "task": row["task"],
        "conversations": [{"from": t["from"], "value": t["value"]} for t in row["conversations"]],
        "image": images,
        "image_gen": targets,
        "image_gen_enc": [images[i] for i in row["image_gen_enc"] or []],
        "pad_image_gen": bool(row["pad_image_gen"]),
        "do_not_mask_text": bool(row["do_not_mask_text"]),
        "reweight": row["reweight"] if targets else None,
        "original_width": row["original_width"],
        "original_height": row["original_height"],
    }
    for key in SCORE_KEYS:
        record[key] = None if row[key] is None else [row[key]] * max(len(targets), 1)
    return {key: value for key, value in record.items() if value is not None and value != []}


def lavida_payload_problem(record: dict) -> str | None:
    """What in a payload record LaViDa-O's `_get_item` (commit e3a80df) cannot read, or None."""
    nulls = sorted(key for key, value in record.items() if value is None)
    if nulls:
        return f"keys {nulls} hold null (LaViDa-O formats or iterates them: drop the key instead)"
    turns = record.get("conversations")
    if not turns or not all(_text_turn(t) for t in turns):
        return "conversations must be a non-empty list of {from, value} strings"
    for key in IMAGE_KEYS:
        paths = record.get(key, [])
        if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
            return f"{key} must be a list of image paths"
        if any(p.startswith(INTERNAL_SCHEMES) or Path(p).is_absolute() for p in paths):
            return f"{key} holds {paths}: paths must be relative to the export folder"
    for key in FLAG_KEYS:
        if key in record and not isinstance(record[key], bool):
            return f"{key} must be a bool, got {record[key]!r}"
    targets = record.get("image_gen", [])
    if "reweight" in record and not targets:
        return "reweight without image_gen: _get_item builds token weights from the generation targets"
    for key in SCORE_KEYS:
        scores = record.get(key)
        if scores is not None and (not all(_number(s) for s in scores) or len(scores) < len(targets)):
            return f"{key} {scores!r} must hold one number per generation target ({len(targets)})"
    return None


class LlavaExporter(Exporter):
    """Stage -> LaViDa-O payload records (JSON / JSONL) and a LaViDa-O data YAML."""

    name = "llava"

    def __init__(self, out_dir: str | Path, stage: str, to_dir: str | Path, fmt: str = "jsonl"):
        if fmt not in LLAVA_FORMATS:
            raise ExportError(
                f"--format {fmt!r}: LaViDa-O payload records must be json or jsonl (LaViDa-O reads "
                "parquet through pandas: lists arrive as arrays and absent keys as nulls, which its "
                "_get_item cannot read without a preprocess function)"
            )
        super().__init__(out_dir, stage, to_dir, fmt)

    def convert(self, row: dict, media: MediaWriter) -> dict:
        return lavida_payload(row, media)

    def check(self, record: dict) -> str | None:
        return lavida_payload_problem(record)

    def file_key(self, row: dict) -> str:
        return row.get("length_group") or "default"

    def data_path(self, key: str) -> Path:
        return self.to_dir / "data" / f"{key}.{self.fmt}"

    def finish(self, result: ExportResult) -> None:
        path = self.to_dir / f"{self.stage}.yaml"
        path.write_text(self.stage_yaml(result), encoding="utf-8")

    def stage_yaml(self, result: ExportResult) -> str:
        """The LaViDa-O data YAML over the exported files (paths relative to the export folder)."""
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
            "# Records are LaViDa-O payloads (no preprocess_fn: _get_item reads them as they are).\n"
            "# Every path is relative to this folder: start training with this folder as the working\n"
            "# directory, e.g. `cd EXPORT && bash scripts/train/s3-unified.sh --data_path "
            f"{self.stage}.yaml`.\n"
        )
        return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)

    def _entry(self, group: str, data_file: Path) -> dict:
        return {
            "name": f"{self.stage}-{group}",
            "json_path": data_file.relative_to(self.to_dir).as_posix(),
            "sampling_strategy": "all",
            "length_group": group,
        }


def _stage_block(stage: str, report: dict) -> dict:
    """The exported YAML's `stage:`: name, seed and (when the build had it) the per-device batch size."""
    block = {"name": stage, "seed": report.get("seed", 42)}
    if report.get("batch_size"):
        block["batch_size"] = report["batch_size"]
    return block


def _text_turn(turn: dict) -> bool:
    return isinstance(turn.get("from"), str) and isinstance(turn.get("value"), str)


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)
