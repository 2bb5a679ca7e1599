"""The per-stage checks of `validate` (hub.md section 4): each returns one `Check`."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets import DatasetInfo, load_dataset_builder
from datasets.packaged_modules.parquet.parquet import Parquet
from datasets.table import cast_table_to_schema
from datasets.utils.py_utils import convert_file_size_to_int
from PIL import Image

from hf_mixture.records import invariant_reasons
from hf_mixture.schema import FEATURES, IMAGE_COLUMNS
from hf_mixture.sources.tables import parquet_file_for_streaming

SCAN_LIMIT = 300_000_000  # the viewer's rowsIndex.maxArrowDataInMemory
# datasets' MAX_ROW_GROUP_SIZE (100MB): what `to_parquet` / `push_to_hub` aim at; our writer stays
# below it (hub_folder.ROW_GROUP_BYTES), a streaming reader holds one row group per source
ROW_GROUP_BOUND = convert_file_size_to_int(datasets.config.MAX_ROW_GROUP_SIZE)
FIRST_ROWS = 100  # rows the viewer's first page reads
MAX_SPLITS = 30
MAX_COLUMNS = 1000
DECODABLE_FORMATS = ("JPEG", "PNG")
INVARIANT_COLUMNS = [
    "conversations", "task", "image_gen_enc", "images.list.element.path", "image_gen.list.element.path",
]  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One check's outcome: where (`scope`), what, and a message saying what was found."""

    scope: str
    name: str
    ok: bool
    message: str


@dataclass(frozen=True)
class StageContext:
    """What the stage checks need: the stage's README entries and the limits."""

    out_dir: Path
    stage: str
    config: dict
    info: DatasetInfo | None
    scan_limit: int
    sample_images: int

    def split_files(self) -> dict[str, list[Path]]:
        """Files per split, from the config's `data_files` globs."""
        result = {}
        for entry in self.config.get("data_files", []):
            split = entry.get("split", "train") if isinstance(entry, dict) else "train"
            paths = entry.get("path") if isinstance(entry, dict) else entry
            patterns = [paths] if isinstance(paths, str) else list(paths)
            files = {p for pattern in patterns for p in self.out_dir.glob(pattern) if p.is_file()}
            result[split] = sorted(files)
        return result

    def check(self, name: str, ok: bool, message: str) -> Check:
        """A Check scoped to this stage."""
        return Check(f"stage {self.stage}", name, ok, message)


def stage_checks(context: StageContext) -> list[Check]:
    """Every check of one stage; data checks are skipped when the stage has no files."""
    splits = context.split_files()
    checks = [_split_count(context, splits), _files_present(context, splits), _parquet_builder(context)]
    splits = {split: [f for f in files if f.suffix == ".parquet"] for split, files in splits.items()}
    files = [f for fs in splits.values() for f in fs]
    if not files:
        return checks
    checks.append(_footers(context, files))
    if not checks[-1].ok:
        return checks
    checks += [
        _one_schema(context, files),
        _column_count(context, files),
        _page_index(context, files),
        _row_group_sizes(context, files),
        _first_rows_bytes(context, splits),
        _num_examples(context, splits),
        _images(context, files),
        _invariants(context, files),
    ]
    return checks


def _split_count(context: StageContext, splits: dict) -> Check:
    ok = 0 < len(splits) <= MAX_SPLITS
    return context.check("split count", ok, f"{len(splits)} split(s) {sorted(splits)} (limit {MAX_SPLITS})")


def _files_present(context: StageContext, splits: dict) -> Check:
    empty = sorted(split for split, files in splits.items() if not files)
    if empty:
        return context.check(
            "data files", False, f"no file matches the data_files of split(s) {empty}; rebuild the stage"
        )
    return context.check("data files", True, ", ".join(f"{s}: {len(f)} file(s)" for s, f in splits.items()))


def _footers(context: StageContext, files: list[Path]) -> Check:
    bad = []
    for path in files:
        try:
            pq.read_metadata(path)
        except (OSError, pa.ArrowInvalid) as err:
            bad.append(f"{path.name} ({err})")
    if bad:
        return context.check("parquet footers", False, f"unreadable: {'; '.join(bad)}; rebuild the stage")
    return context.check("parquet footers", True, f"{len(files)} readable parquet file(s)")


def _parquet_builder(context: StageContext) -> Check:
    try:
        builder = load_dataset_builder(str(context.out_dir), context.stage)
    except Exception as err:  # noqa: BLE001 - what `datasets` raises is the finding
        return context.check("loads", False, f"load_dataset_builder fails: {type(err).__name__}: {err}")
    if not isinstance(builder, Parquet):
        return context.check(
            "loads",
            False,
            f"`datasets` picks the {type(builder).__name__} builder, not Parquet; see one file format",
        )
    return context.check("loads", True, "load_dataset_builder(folder, stage) resolves a Parquet builder")


def _expected_schema(context: StageContext) -> pa.Schema:
    features = context.info.features if context.info and context.info.features else FEATURES
    return features.arrow_schema


def _one_schema(context: StageContext, files: list[Path]) -> Check:
    expected = _expected_schema(context)
    problems = []
    for path in files:
        schema = pq.read_schema(path)
        problems += [f"{path.name}: {p}" for p in _schema_differences(schema, expected)]
        try:
            cast_table_to_schema(schema.empty_table(), expected)
        except Exception as err:  # noqa: BLE001 - the cast failure is the finding
            problems.append(f"{path.name}: cannot cast to the README features ({type(err).__name__})")
    if problems:
        return context.check(
            "one schema",
            False,
            "; ".join(dict.fromkeys(problems)) + ". Every shard must have exactly the README features "
            "(mixed schemas -> DatasetGenerationCastError / SplitParquetSchemaMismatchError); "
            "rebuild the stage",
        )
    return context.check("one schema", True, f"{len(files)} file(s) match the README features")


def _schema_differences(schema: pa.Schema, expected: pa.Schema) -> list[str]:
    found, wanted = set(schema.names), set(expected.names)
    problems = [f"extra column {n!r}" for n in schema.names if n not in wanted]
    problems += [f"missing column {n!r}" for n in expected.names if n not in found]
    for name in sorted(found & wanted):
        if not schema.field(name).type.equals(expected.field(name).type):
            problems.append(
                f"column {name!r} is {schema.field(name).type}, README declares {expected.field(name).type}"
            )
    return problems


def _column_count(context: StageContext, files: list[Path]) -> Check:
    widest = max(len(pq.read_schema(f).names) for f in files)
    return context.check("column count", widest <= MAX_COLUMNS, f"{widest} (viewer limit {MAX_COLUMNS})")


def _page_index(context: StageContext, files: list[Path]) -> Check:
    missing = []
    for path in files:
        metadata = pq.read_metadata(path)
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            if not all(group.column(c).has_offset_index for c in range(group.num_columns)):
                missing.append(f"{path.name} row group {g}")
    if missing:
        return context.check(
            "page index",
            False,
            f"no page index in {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}: the viewer then "
            "reads whole column chunks; write with `datasets` or pq.ParquetWriter(write_page_index=True)",
        )
    return context.check("page index", True, "present in every row group")


def first_rows_bytes(files: list[Path], rows: int = FIRST_ROWS) -> int:
    """Bytes of the row groups the first `rows` rows live in (what a reader without page index must
    fetch; an upper bound with one)."""
    total, seen = 0, 0
    for path in files:
        metadata = pq.read_metadata(path)
        for g in range(metadata.num_row_groups):
            if seen >= rows:
                return total
            group = metadata.row_group(g)
            total += sum(group.column(c).total_compressed_size for c in range(group.num_columns))
            seen += group.num_rows
    return total


def _first_rows_bytes(context: StageContext, splits: dict) -> Check:
    needed = max(first_rows_bytes(files) for files in splits.values() if files)
    message = f"the first {FIRST_ROWS} rows need {needed:,} bytes (scan limit {context.scan_limit:,})"
    if needed > context.scan_limit:
        message += "; write smaller row groups (hf_mixture.export.hub_folder.ROW_GROUP_BYTES)"
    return context.check("first rows scan size", needed <= context.scan_limit, message)


def _num_examples(context: StageContext, splits: dict) -> Check:
    declared = (
        {name: s.num_examples for name, s in (context.info.splits or {}).items()} if context.info else {}
    )
    actual = {split: sum(pq.read_metadata(f).num_rows for f in files) for split, files in splits.items()}
    if not declared:
        return context.check("num_examples", True, f"no dataset_info for the stage; files hold {actual}")
    if declared != actual:
        return context.check(
            "num_examples",
            False,
            f"README dataset_info says {declared}, files hold {actual}: a non-streaming load raises "
            "NonMatchingSplitsSizesError; rebuild the stage (it rewrites both)",
        )
    return context.check("num_examples", True, f"{actual} match the files")


def _row_group_sizes(context: StageContext, files: list[Path]) -> Check:
    """Every row group of every shard (footers only) against the scan limit and the bound."""
    bound = min(context.scan_limit, ROW_GROUP_BOUND)
    sizes = []
    for path in files:
        metadata = pq.read_metadata(path)
        sizes += [
            (metadata.row_group(g).total_byte_size, f"{path.name} row group {g}")
            for g in range(metadata.num_row_groups)
        ]
    largest, where = max(sizes, default=(0, "none"))
    over = [f"{name} ({size:,} bytes)" for size, name in sizes if size > bound]
    if over:
        return context.check(
            "row group sizes",
            False,
            f"{len(over)} row group(s) above {bound:,} uncompressed bytes: {', '.join(over[:5])}. The viewer "
            f"refuses scans above {context.scan_limit:,} bytes and streaming readers hold a whole row group; "
            "rebuild the stage (row groups are cut by bytes, hf_mixture.export.hub_folder.ROW_GROUP_BYTES)",
        )
    message = f"{len(sizes)} row group(s), largest {largest:,} bytes ({where}); bound {bound:,}"
    return context.check("row group sizes", True, message)


def image_rows(files: list[Path]) -> list[tuple[Path, int, int]]:
    """`(file, row group, row)` of every row holding at least one image, read from the small
    `path` fields of the image lists (no image bytes are read)."""
    found = []
    columns = [f"{column}.list.element.path" for column in IMAGE_COLUMNS]
    for path in files:
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=columns)
            counts = sum(
                pc.list_value_length(table[c]).fill_null(0).to_numpy(zero_copy_only=False)
                for c in IMAGE_COLUMNS
            )
            found += [(path, group, int(row)) for row in np.flatnonzero(counts)]
    return found


def _images(context: StageContext, files: list[Path]) -> Check:
    """Up to `sample_images` rows with images, evenly spread over the whole stage, decoded."""
    candidates = image_rows(files)
    if not candidates:
        return context.check("images", True, "the stage holds no image (text-only rows)")
    picks = np.unique(np.linspace(0, len(candidates) - 1, max(1, context.sample_images)).astype(int))
    by_group: dict = {}
    for index in picks:
        path, group, row = candidates[index]
        by_group.setdefault((path, group), []).append(row)
    problems, checked = [], 0
    for (path, group), rows in by_group.items():
        table = pq.ParquetFile(path).read_row_group(group, columns=["id", *IMAGE_COLUMNS])
        for row in table.take(pa.array(rows, pa.int64())).to_pylist():
            for column in IMAGE_COLUMNS:
                for k, image in enumerate(row[column] or []):
                    checked += 1
                    problem = _image_problem(image)
                    if problem:
                        problems.append(f"{path.name} row {row['id']!r} {column}[{k}]: {problem}")
    if problems or not checked:
        detail = "; ".join(problems[:5]) or "rows hold images but none could be sampled"
        return context.check("images", False, f"{detail} ({len(problems)} of {checked} sampled images)")
    return context.check(
        "images",
        True,
        f"{checked} image(s) from {len(by_group)} row group(s) across the stage: embedded, JPEG/PNG",
    )


def _image_problem(image: dict | None) -> str | None:
    if not image or image.get("bytes") is None:
        path = (image or {}).get("path")
        return f"not embedded (path {path!r}, no bytes): the viewer shows null; rebuild with embedded images"
    try:
        with Image.open(io.BytesIO(image["bytes"])) as decoded:
            decoded.load()
            if decoded.format not in DECODABLE_FORMATS:
                return f"{decoded.format} bytes; the viewer and trainers expect JPEG or PNG"
    except Exception as err:  # noqa: BLE001 - undecodable bytes are the finding
        return f"does not decode ({type(err).__name__}: {err})"
    return None


def _invariants(context: StageContext, files: list[Path]) -> Check:
    reasons: Counter = Counter()
    for path in files:
        for batch in parquet_file_for_streaming(path).iter_batches(
            batch_size=1024, columns=INVARIANT_COLUMNS
        ):
            found = invariant_reasons(pa.Table.from_batches([batch]))
            reasons.update(r for r in found if r is not None)
    if reasons:
        listed = ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items()))
        return context.check("schema invariants", False, f"rows break the invariants of schema.md: {listed}")
    return context.check("schema invariants", True, "every row keeps the token/list and turn invariants")
