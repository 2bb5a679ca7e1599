"""Load a stage YAML file and check all of it before any data is read.

Every problem in the file is collected and raised together as one ConfigError; each message
names the file and line, the entry (index and name) and the key, and says what is allowed.
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Mapping
from pathlib import Path

import yaml

from hf_mixture.archive_refs import split_archive_ref
from hf_mixture.config.model import (
    STOPPING_STRATEGIES,
    EntryConfig,
    MaxEncImages,
    StageConfig,
    StageSettings,
)
from hf_mixture.config.names import stage_name_problem
from hf_mixture.config.sampling_strategy import parse_sampling_strategy
from hf_mixture.config.value_types import describe, matches
from hf_mixture.config.yaml_source import YamlDocument, read_yaml
from hf_mixture.errors import ConfigError, SourceError
from hf_mixture.grounding import BOX_FORMATS, DEFAULT_BOX_FORMAT
from hf_mixture.media.images import CHECKS, DEFAULT_CHECK
from hf_mixture.preprocess.registry import STAGE_OPTIONS, get_preprocess
from hf_mixture.redact import config_secrets, register_secrets
from hf_mixture.sources.schemas import files_lacking
from hf_mixture.sources.tables import TableReader
from hf_mixture.storage import DEFAULT_SCHEMES, Storage, mappings_from, scheme_of

TOP_KEYS = ("datasets", "weights", "batch_sizes", "stage")
ENTRY_KEYS = (
    "name",
    "json_path",
    "columns",
    "sampling_strategy",
    "preprocess_fn",
    "process_fn_kwargs",
    "aes_cutoff",
    "min_size",
    "max_enc_images",
    "length_group",
    "image_root",
    "license",
    "score_column",
    "builder",
    "builder_options",
)
STAGE_KEYS = (
    "name",
    "batch_size",
    "resolution",
    "seed",
    "stopping_strategy",
    "num_samples",
    "num_shards",
    "path_mappings",
    "storage_options",
    "allowed_schemes",
    "image_workers",
    "license",
    "http_timeout",
    "http_retries",
    "media_budget_seconds",
    "box_format",
    "image_check",
)


MAX_SEED = 2**32 - 1  # numpy's legacy seeding bound; LaViDa-O seeds torch / numpy with the stage seed
MAX_SHARDS = 100_000  # the Hub recommends under 100k files per repository (shared/spec/hub.md)
MAX_HTTP_RETRIES = 20  # at the 8 s backoff cap, ~2.5 minutes per image before it is counted


class ConfigWarning(UserWarning):
    """Something a LaViDa-O file does that loads but deserves a look (duplicate keys, unused groups)."""


class _Problems:
    """Collects messages that point at a key path of the document."""

    def __init__(self, document: YamlDocument):
        self.document = document
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def where(self, key_path: tuple) -> str:
        line = self.document.line_of(key_path)
        return f"{self.document.path}:{line}" if line else str(self.document.path)

    def error(self, key_path: tuple, message: str) -> None:
        self.errors.append(f"{self.where(key_path)}: {message}")

    def warn(self, key_path: tuple, message: str) -> None:
        self.warnings.append(f"{self.where(key_path)}: {message}")


def load_stage_config(
    path: str | Path, *, strict: bool = False, overrides: Mapping | None = None, check_files: bool = True
) -> StageConfig:
    """Read and check `path`. `overrides` replace `stage:` keys (e.g. from the command line);
    `strict` turns warnings into errors; `check_files` looks for files and columns (without it
    nothing is read: paths are resolved, not listed, so remote configs validate offline)."""
    document = read_yaml(path)
    problems = _Problems(document)
    data = document.data
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{document.path}: expected a mapping with a `datasets:` list at the top"], str(document.path)
        )
    _check_unknown(problems, data, TOP_KEYS, (), "top-level key")
    _check_duplicates(problems)
    settings = _stage_settings(problems, data.get("stage") or {}, document.path.absolute(), overrides or {})
    storage = Storage(
        base_dir=document.path.absolute().parent,
        mappings=settings.path_mappings,
        storage_options=settings.storage_options,
        allowed_schemes=settings.allowed_schemes,
    )
    _check_mapping_drivers(problems, settings, storage)
    entries = _entries(problems, data.get("datasets"), storage, check_files)
    _check_image_root_drivers(problems, entries, storage)
    weights = _group_map(problems, data, "weights", entries)
    batch_sizes = _group_map(problems, data, "batch_sizes", entries)
    _check_group_shares(problems, weights, batch_sizes, settings.batch_size, entries)
    if strict:
        problems.errors.extend(f"{w} (--strict)" for w in problems.warnings)
    if problems.errors:
        raise ConfigError(problems.errors, str(document.path))
    for message in problems.warnings:
        warnings.warn(message, ConfigWarning, stacklevel=2)
    return StageConfig(
        path=document.path,
        entries=tuple(entries),
        settings=settings,
        weights=weights,
        batch_sizes=batch_sizes,
        warnings=tuple(problems.warnings),
        text=_text_with_overrides(document, overrides or {}),
    )


def image_driver_problem(storage: Storage, uri: str) -> str | None:
    """What is missing to read images at `uri`: http(s) images are read with urllib
    (hf_mixture/media/http_policy.py), anything else remote (and archive members) through fsspec."""
    if not split_archive_ref(uri) and scheme_of(uri) in ("file", "http", "https"):
        return None
    return storage.driver_problem(uri)


def _check_mapping_drivers(problems: _Problems, settings: StageSettings, storage: Storage) -> None:
    for mapping in settings.path_mappings:
        missing = image_driver_problem(storage, mapping.target)
        if missing:
            key = ("stage", "path_mappings", mapping.prefix)
            problems.error(key, f"stage.path_mappings: {mapping.prefix!r} -> {mapping.target!r}: {missing}")


def _check_image_root_drivers(problems: _Problems, entries: list[EntryConfig], storage: Storage) -> None:
    for entry in entries:
        missing = image_driver_problem(storage, entry.image_root) if entry.image_root else None
        if missing:
            key = ("datasets", entry.index, "image_root")
            problems.error(key, f"{entry.label}: image_root: {entry.image_root!r}: {missing}")


def _text_with_overrides(document: YamlDocument, overrides: Mapping) -> str:
    """The YAML text the stage was built from: the file as written, or, when `overrides` set
    `stage:` keys, the file's data with them applied (so a saved stage file and the card say
    `seed: 7` after `--seed 7`), under a comment naming them."""
    text = document.path.read_text(encoding="utf-8")
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given or not isinstance(document.data, dict):
        return text
    data = {**document.data, "stage": {**(document.data.get("stage") or {}), **given}}
    header = f"# {document.path.name} with overrides: {', '.join(f'{k}={v}' for k, v in given.items())}\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _check_unknown(problems: _Problems, mapping: dict, allowed, key_path: tuple, what: str) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
            problems.error((*key_path, key), f"{_name(key_path)}unknown {what} {key!r}{hint}")


def _name(key_path: tuple, label: str | None = None) -> str:
    """The prefix a message about `key_path` starts with: `stage.seed: ` or, inside an entry,
    `datasets[0] (name): min_size: `."""
    if label:
        return f"{label}: {'.'.join(str(k) for k in key_path[2:])}: "
    text = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in key_path).lstrip(".")
    return f"{text}: " if text else ""


def _check_duplicates(problems: _Problems) -> None:
    for key_path, first, second in problems.document.duplicates:
        problems.warn(
            key_path,
            f"key {'.'.join(map(str, key_path))!r} appears twice (lines {first} and "
            f"{second}); the last value wins, as in PyYAML",
        )


def _stage_settings(problems: _Problems, raw, yaml_path: Path, overrides: Mapping) -> StageSettings:
    if not isinstance(raw, dict):
        problems.error(("stage",), "stage: expected a mapping of stage keys")
        raw = {}
    raw = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    _check_unknown(problems, raw, STAGE_KEYS, ("stage",), "stage key")
    kwargs = {"name": _stage_name(problems, raw, overrides, yaml_path)}
    for key in ("resolution", "num_samples", "num_shards", "image_workers", "batch_size"):
        if raw.get(key) is not None:
            kwargs[key] = _positive_int(problems, ("stage", key), raw[key])
    if raw.get("seed") is not None:
        kwargs["seed"] = _bounded_int(problems, ("stage", "seed"), raw["seed"], 0, MAX_SEED)
    if kwargs.get("num_shards") is not None and kwargs["num_shards"] > MAX_SHARDS:
        problems.error(
            ("stage", "num_shards"),
            f"stage.num_shards: {kwargs['num_shards']} is above {MAX_SHARDS} (the Hub recommends fewer files "
            "per repository); leave it out to size shards at 500 MB",
        )
    kwargs.update(_http_settings(problems, raw))
    if raw.get("box_format") is not None:
        kwargs["box_format"] = _box_format(problems, raw["box_format"])
    if raw.get("image_check") is not None:
        kwargs["image_check"] = _image_check(problems, raw["image_check"])
    strategy = raw.get("stopping_strategy")
    if strategy is not None and (not isinstance(strategy, str) or strategy not in STOPPING_STRATEGIES):
        problems.error(
            ("stage", "stopping_strategy"),
            f"stage.stopping_strategy: {strategy!r} is not one of {', '.join(STOPPING_STRATEGIES)}",
        )
    kwargs["stopping_strategy"] = strategy
    kwargs["path_mappings"] = mappings_from(_mapping(problems, raw, "path_mappings"), yaml_path.parent)
    kwargs["storage_options"] = _mapping(problems, raw, "storage_options")
    register_secrets(config_secrets(kwargs["storage_options"]))  # masked in every message from now on
    if raw.get("allowed_schemes") is not None:
        kwargs["allowed_schemes"] = _schemes(problems, raw["allowed_schemes"])
    if raw.get("license") is not None:
        kwargs["license"] = str(raw["license"])
    return StageSettings(**kwargs)


def _stage_name(problems: _Problems, raw: dict, overrides: Mapping, yaml_path: Path) -> str:
    """`stage.name`, `--name` or the file name, checked to be a Hub config name and a path segment."""
    name = str(raw.get("name") or yaml_path.stem)
    problem = stage_name_problem(name)
    if problem:
        origin = (
            "--name" if overrides.get("name") else "stage.name" if raw.get("name") else "the YAML file name"
        )
        problems.error(("stage", "name"), f"stage.name (from {origin}): {problem}")
    return name


def _http_settings(problems: _Problems, raw: dict) -> dict:
    """`http_timeout` and `media_budget_seconds` (seconds, > 0) and `http_retries` (>= 0)."""
    found = {}
    for key in ("http_timeout", "media_budget_seconds"):
        if raw.get(key) is not None:
            number = _number(problems, ("stage", key), raw[key])
            if number is not None and number <= 0:
                problems.error(("stage", key), f"stage.{key}: must be seconds above 0, got {number}")
            found[key] = number
    if raw.get("http_retries") is not None:
        found["http_retries"] = _bounded_int(
            problems, ("stage", "http_retries"), raw["http_retries"], 0, MAX_HTTP_RETRIES
        )
    return found


def _schemes(problems: _Problems, value) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        problems.error(
            ("stage", "allowed_schemes"),
            f"stage.allowed_schemes: expected a list of URI schemes such as [file, s3, https], got {value!r}",
        )
        return DEFAULT_SCHEMES
    return tuple(s.lower() for s in value)


def _mapping(problems: _Problems, raw: dict, key: str) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        problems.error(("stage", key), f"stage.{key}: expected a mapping, got {type(value).__name__}")
        return {}
    return value


def _int(problems: _Problems, key_path: tuple, value, label: str | None = None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.error(key_path, f"{_name(key_path, label)}expected a whole number, got {value!r}")
        return None
    return value


def _bounded_int(problems: _Problems, key_path: tuple, value, low: int, high: int) -> int | None:
    number = _int(problems, key_path, value)
    if number is not None and not low <= number <= high:
        problems.error(
            key_path, f"{_name(key_path)}must be a whole number from {low} to {high}, got {number}"
        )
    return number


def _positive_int(problems: _Problems, key_path: tuple, value) -> int | None:
    number = _int(problems, key_path, value)
    if number is not None and number < 1:
        problems.error(key_path, f"{_name(key_path)}must be at least 1, got {number}")
    return number


def _number(problems: _Problems, key_path: tuple, value, label: str | None = None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.error(key_path, f"{_name(key_path, label)}expected a number, got {value!r}")
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range
        number = math.inf
    if not math.isfinite(number):
        problems.error(key_path, f"{_name(key_path, label)}expected a finite number, got {value!r}")
        return None
    return number


def _entries(problems: _Problems, raw, storage: Storage, check_files: bool) -> list[EntryConfig]:
    if not isinstance(raw, list) or not raw:
        problems.error(("datasets",), "datasets: expected a non-empty list of dataset entries")
        return []
    entries, keys = [], set()
    for index, item in enumerate(raw):
        entry = _entry(problems, index, item, storage, check_files, keys)
        if entry is not None:
            entries.append(entry)
            keys.add(entry.key)
    return entries


def _entry_key(name: str, taken: set) -> str:
    key = name.replace("/", "_")
    suffix = 2
    while key in taken:
        key, suffix = f"{name.replace('/', '_')}~{suffix}", suffix + 1
    return key


def _entry(problems: _Problems, index: int, item, storage: Storage, check_files: bool, taken: set):
    path = ("datasets", index)
    if not isinstance(item, dict):
        problems.error(path, f"datasets[{index}]: expected a mapping with json_path, preprocess_fn, ...")
        return None
    name = str(item.get("name", "none"))
    label = f"datasets[{index}] ({name})"
    before = len(problems.errors)
    for key in item:
        if key not in ENTRY_KEYS:
            close = difflib.get_close_matches(str(key), ENTRY_KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(ENTRY_KEYS)}"
            problems.error((*path, key), f"{label}: unknown key {key!r}; {hint}")
    fields = _entry_fields(problems, path, label, item)
    files = _entry_files(problems, path, label, item, storage, check_files)
    if files and check_files:
        _check_columns(problems, path, label, storage, files, fields)
    if len(problems.errors) > before:
        return None
    return EntryConfig(
        index=index,
        name=name,
        key=_entry_key(name, taken),
        json_path=str(item["json_path"]),
        files=tuple(files),
        **fields,
    )


def _entry_fields(problems: _Problems, path: tuple, label: str, item: dict) -> dict:
    fields: dict = {}
    try:
        fields["sampling"] = parse_sampling_strategy(item.get("sampling_strategy", "all"))
    except ValueError as err:
        problems.error((*path, "sampling_strategy"), f"{label}: sampling_strategy: {err}")
    fields["preprocess_fn"] = _entry_preprocess(problems, path, label, item)
    fields.update(_entry_builder(problems, path, label, item))
    kwargs = item.get("process_fn_kwargs") or {}
    if not isinstance(kwargs, dict):
        problems.error((*path, "process_fn_kwargs"), f"{label}: process_fn_kwargs: expected a mapping")
        kwargs = {}
    fields["process_fn_kwargs"] = _check_kwargs(problems, path, label, fields["preprocess_fn"], kwargs)
    columns = item.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
    ):
        problems.error(
            (*path, "columns"), f"{label}: columns: expected a list of column names, got {columns!r}"
        )
        columns = None
    fields["columns"] = tuple(columns) if columns is not None else None
    if item.get("aes_cutoff") is not None:
        fields["aes_cutoff"] = _number(problems, (*path, "aes_cutoff"), item["aes_cutoff"], label)
    if item.get("min_size") is not None:
        fields["min_size"] = _int(problems, (*path, "min_size"), item["min_size"], label)
    fields["max_enc_images"] = _max_enc_images(problems, path, label, item.get("max_enc_images"))
    for key in ("length_group", "image_root", "license", "score_column"):
        if item.get(key) is not None:
            if not isinstance(item[key], str):
                problems.error((*path, key), f"{label}: {key}: expected a string, got {item[key]!r}")
            fields[key] = str(item[key])
    return fields


def _entry_builder(problems: _Problems, path: tuple, label: str, item: dict) -> dict:
    """`builder` (default `tabular`, checked against the registry) and its `builder_options`."""
    from builders import builder_problems  # builders import the pipeline: load them lazily

    name = item.get("builder", "tabular")
    options = item.get("builder_options") or {}
    for key, message in builder_problems(name, options):
        problems.error((*path, key), f"{label}: {key}: {message}")
    return {"builder": str(name), "builder_options": dict(options) if isinstance(options, dict) else {}}


def _builder_file_types(item: dict) -> tuple[str, ...]:
    from builders import builder_file_types

    return builder_file_types(item.get("builder", "tabular"))


def _builder_columns(fields: dict) -> list[str] | None:
    """The columns a source builder declares; None for `tabular` (read from the files)."""
    from builders import declared_columns

    return declared_columns(fields["builder"], fields["builder_options"])


def _entry_preprocess(problems: _Problems, path: tuple, label: str, item: dict) -> str:
    from builders import default_preprocess_fn

    name = item.get("preprocess_fn") or default_preprocess_fn(item.get("builder"))
    if not isinstance(name, str) or not name:
        problems.error(
            (*path, "preprocess_fn"),
            f"{label}: preprocess_fn: required; name one of the "
            "registered functions (hf-mixture functions lists them)",
        )
        return ""
    try:
        get_preprocess(name)
    except KeyError as err:
        problems.error((*path, "preprocess_fn"), f"{label}: preprocess_fn: {err.args[0]}")
    return name


def _image_check(problems: _Problems, value) -> str:
    if not isinstance(value, str) or value not in CHECKS:
        problems.error(
            ("stage", "image_check"),
            f"stage.image_check: {value!r} is not one of {', '.join(CHECKS)} (full: every pixel decoded; "
            "draft: JPEGs decoded at reduced scale, still catches truncation; header: size only)",
        )
        return DEFAULT_CHECK
    return value


def _box_format(problems: _Problems, value) -> str:
    """`stage.box_format`: one of hf_mixture.grounding.BOX_FORMATS."""
    if not isinstance(value, str) or value not in BOX_FORMATS:
        problems.error(
            ("stage", "box_format"),
            f"stage.box_format: {value!r} is not one of {', '.join(BOX_FORMATS)} "
            "(loc: LaViDa-O <LOC_n> tokens; qwen: Qwen2-VL 0-1000 boxes; pixels: absolute)",
        )
        return DEFAULT_BOX_FORMAT
    return value


def _check_kwargs(problems: _Problems, path: tuple, label: str, fn_name: str, kwargs: dict) -> dict:
    """The kwargs the function is called with. A keyword LaViDa-O's function declares that changes
    nothing here (`no_effect_kwargs`) is accepted and left out; an unknown one is a warning with
    the closest known name (an error under --strict) and left out; a stage option is an error."""
    try:
        function = get_preprocess(fn_name) if fn_name else None
    except KeyError:
        return kwargs
    accepted = function.accepted_kwargs() if function else None
    no_effect = function.no_effect_kwargs() if function else {}
    kept = {}
    for key, value in kwargs.items():
        if key in STAGE_OPTIONS:
            problems.error(
                (*path, "process_fn_kwargs", key),
                f"{label}: process_fn_kwargs: {key!r} is a stage option; set it once under `stage:`",
            )
        elif key in no_effect:
            continue
        elif accepted is not None and key not in accepted:
            known = [*accepted, *no_effect]
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.warn(
                (*path, "process_fn_kwargs", key),
                f"{label}: process_fn_kwargs: {fn_name} takes no {key!r}, ignored; {hint}"
                f"it takes: {', '.join(known) or 'nothing'}",
            )
        else:
            kept[key] = value
    hints = function.kwarg_hints() if function else {}
    for key, value in kept.items():
        if key in hints and not matches(value, hints[key]):
            problems.error(
                (*path, "process_fn_kwargs", key),
                f"{label}: process_fn_kwargs: {key}: expected {describe(hints[key])}, got {value!r}",
            )
    return kept


def _max_enc_images(problems: _Problems, path: tuple, label: str, raw) -> MaxEncImages | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"column", "value"} or not isinstance(raw["value"], int):
        problems.error(
            (*path, "max_enc_images"),
            f"{label}: max_enc_images: expected {{column: <list column>, value: <int>}}, got {raw!r}",
        )
        return None
    return MaxEncImages(column=str(raw["column"]), value=raw["value"])


def _entry_files(
    problems: _Problems, path: tuple, label: str, item: dict, storage: Storage, check_files: bool = True
) -> list[str]:
    """The files `json_path` names, listed and checked to exist; without `check_files` only
    resolved (no file system or network access: a glob stays a glob)."""
    raw = item.get("json_path")
    if not isinstance(raw, str) or not raw:
        problems.error(
            (*path, "json_path"),
            f"{label}: json_path: required (a .parquet, .json, .jsonl or "
            ".csv file or glob, local or s3://, https://, hf://)",
        )
        return []
    suffixes = _builder_file_types(item)
    if not raw.split("?")[0].lower().endswith(suffixes) and not any(ch in raw for ch in "*?["):
        names = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
        problems.error((*path, "json_path"), f"{label}: json_path: {raw!r} must end in {names}")
        return []
    try:
        resolved = storage.resolve(raw)
        missing = storage.driver_problem(resolved)
        if missing:
            problems.error((*path, "json_path"), f"{label}: json_path: {raw!r}: {missing}")
            return []
        if not check_files:
            return [resolved]
        files = storage.expand(resolved)
        if not files or not storage.exists(files[0]):
            shown = resolved if resolved == raw else f"{raw!r} (resolved to {resolved})"
            problems.error(
                (*path, "json_path"),
                f"{label}: json_path: no file at {shown}; check the "
                "path (relative paths are relative to the YAML file)",
            )
            return []
    except Exception as err:  # noqa: BLE001 - any filesystem's failure (network included) is this key's problem
        problems.error((*path, "json_path"), f"{label}: json_path: cannot list {raw!r}: {_reach_error(err)}")
        return []
    return files


def _reach_error(err: Exception) -> str:
    """`err` as text, with a hint when the storage could not be reached at all."""
    text = (
        f"{type(err).__name__}: {err}"
        if not isinstance(err, (SourceError, OSError, ValueError))
        else str(err)
    )
    unreachable = ("Name or service not known", "ConnectError", "OfflineModeIsEnabled", "Connection refused")
    if any(word in f"{type(err).__name__}: {text}" for word in unreachable):
        text += " (the storage could not be reached: check the network, the endpoint and your login)"
    return text


def _check_columns(
    problems: _Problems, path: tuple, label: str, storage: Storage, files: list[str], fields: dict
) -> None:
    try:
        available = _builder_columns(fields)
    except (KeyError, ValueError):  # a wrong builder or builder_options: reported already
        return
    try:
        if available is None:
            available = TableReader(storage, files).column_names()
    except Exception as err:  # noqa: BLE001 - as above: reading the first file's columns
        problems.error((*path, "json_path"), f"{label}: json_path: {_reach_error(err)}")
        return
    columns = fields.get("columns")
    if columns:
        missing = [c for c in columns if c not in available]
        if missing:
            problems.error(
                (*path, "columns"),
                f"{label}: columns: {missing} not in {files[0]}; the file has: {', '.join(available)}",
            )
            return
    loaded = list(columns) if columns else available
    _check_filter_columns(problems, path, label, fields, loaded)
    _check_needed_columns(problems, path, label, fields, loaded)
    if _builder_columns(fields) is None and len(files) > 1:
        _check_glob_columns(problems, path, label, storage, files, fields, loaded)


def _check_glob_columns(
    problems: _Problems, path: tuple, label: str, storage: Storage, files: list, fields: dict, loaded: list
) -> None:
    """Every later file of the glob has the columns the entry reads: those the preprocess function
    needs (an error naming the file), and the filter or listed columns (a warning: the file's rows
    hold nulls there and count under the filter or preprocess reason)."""
    try:
        needed = set(get_preprocess(fields["preprocess_fn"]).needs(fields.get("process_fn_kwargs") or {}))
    except KeyError:
        needed = set()
    wanted = [c for c in loaded if c in needed or c in _filter_columns(fields) or fields.get("columns")]
    try:
        lacking = files_lacking(storage, files[1:], wanted)
    except Exception as err:  # noqa: BLE001 - as above: a later file of the glob cannot be read
        problems.error((*path, "json_path"), f"{label}: json_path: {_reach_error(err)}")
        return
    for file, missing in lacking:
        required = [c for c in missing if c in needed]
        where = f"{label}: json_path: {file} lacks column(s) {missing} that {files[0]} has"
        if required:
            problems.error((*path, "json_path"), f"{where}; {fields['preprocess_fn']} reads {required}")
        else:
            problems.warn((*path, "json_path"), f"{where}; its rows hold null there (counted where used)")


def _filter_columns(fields: dict) -> set:
    enc = fields.get("max_enc_images")
    return {fields.get("score_column", "fltLaionAesthScore"), "intHeight", "intWidth"} | (
        {enc.column} if enc is not None else set()
    )


def _check_filter_columns(problems: _Problems, path: tuple, label: str, fields: dict, loaded: list) -> None:
    score = fields.get("score_column", "fltLaionAesthScore")
    if fields.get("aes_cutoff") is not None and score not in loaded:
        problems.error(
            (*path, "aes_cutoff"),
            f"{label}: aes_cutoff needs column {score!r}, which is not "
            "loaded; add it to columns (or set score_column)",
        )
    if fields.get("min_size") is not None and not {"intHeight", "intWidth"} <= set(loaded):
        problems.error(
            (*path, "min_size"),
            f"{label}: min_size needs columns 'intHeight' and 'intWidth', "
            "which are not loaded; add them to columns",
        )
    enc = fields.get("max_enc_images")
    if enc is not None and enc.column not in loaded:
        problems.error(
            (*path, "max_enc_images"), f"{label}: max_enc_images: column {enc.column!r} is not loaded"
        )


def _check_needed_columns(problems: _Problems, path: tuple, label: str, fields: dict, loaded: list) -> None:
    try:
        function = get_preprocess(fields["preprocess_fn"])
    except KeyError:
        return
    try:
        needed = function.needs(fields.get("process_fn_kwargs") or {})
    except (TypeError, ValueError, KeyError, AttributeError) as err:  # a kwarg of the wrong shape
        problems.error(
            (*path, "process_fn_kwargs"),
            f"{label}: process_fn_kwargs: {fields['preprocess_fn']} cannot use "
            f"{fields.get('process_fn_kwargs')!r} ({err}); see `hf-mixture functions`",
        )
        return
    missing = [c for c in needed if c not in loaded]
    if missing:
        key = "columns" if fields.get("columns") else "json_path"
        problems.error(
            (*path, key),
            f"{label}: {fields['preprocess_fn']} reads {missing}, which the entry "
            f"does not load (loaded: {', '.join(loaded)})",
        )


def _group_map(problems: _Problems, data: dict, key: str, entries: list[EntryConfig]) -> dict[str, float]:
    """`weights` / `batch_sizes`: finite numbers >= 0 per length_group (`_check_group_shares`
    checks what they give together)."""
    raw = data.get(key)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.error((key,), f"{key}: expected a mapping from length_group to a number, got {raw!r}")
        return {}
    groups = {e.length_group for e in entries}
    result = {}
    for group, value in raw.items():
        number = _number(problems, (key, group), value)
        if number is not None and number < 0:
            problems.error((key, group), f"{key}.{group}: must not be negative, got {number}")
        if group not in groups and entries:
            problems.warn((key, group), f"{key}.{group}: no entry has length_group {group!r}; it is unused")
        if number is not None:
            result[str(group)] = number
    return result


def _check_group_shares(
    problems: _Problems, weights: dict, batch_sizes: dict, batch_size: int | None, entries: list
) -> None:
    """With `weights:`, a group's share of rows is weight x rows per step (mixing/probabilities.py):
    0 when its weight is 0, or its `batch_sizes` factor is 0 without `stage.batch_size` (with it,
    LaViDa-O still takes max(int(bs * 0), 1) = 1 row). Such a group is left out of the mix (a
    warning; its rows count as `mixing:not_drawn`); every group at 0 is an error."""
    groups = sorted({e.length_group for e in entries})
    if not weights or not groups:
        return
    zero = []
    for group in groups:
        if weights.get(group, 1.0) == 0:
            zero.append(group)
            why = f"weights.{group}: 0"
        elif batch_size is None and batch_sizes.get(group, 1.0) == 0:
            zero.append(group)
            why = f"batch_sizes.{group}: 0 without stage.batch_size"
        else:
            continue
        key = why.split(":")[0].split(".")
        problems.warn(
            tuple(key),
            f"{why}, so entries of length_group {group!r} are left out of the mix "
            "(their rows are counted as mixing:not_drawn)",
        )
    if len(zero) == len(groups):
        problems.error(
            ("weights",),
            f"weights: every length_group the entries use ({', '.join(groups)}) has a share of 0 "
            "(a weight of 0, or a batch_sizes factor of 0 without stage.batch_size); give one a share",
        )
