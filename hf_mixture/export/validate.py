"""Check a built folder against what the Hub, `load_dataset` and the dataset viewer need
(/work/shared/spec/hub.md section 4), before it is pushed.

Folder checks: no dataset script, README YAML parses, exactly one default config, config count,
`get_dataset_config_names(folder)` lists every stage, one file format. Per stage (validate_stage.py):
split count, one schema matching the README features, column count, page index, bytes the first
100 rows need, `num_examples`, embedded decodable images, and the schema invariants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datasets import get_dataset_config_names
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard

from hf_mixture.export.folder import disk_stages
from hf_mixture.export.readme import README
from hf_mixture.export.validate_stage import (
    SCAN_LIMIT,
    Check,
    StageContext,
    stage_checks,
)

MAX_CONFIGS = 4000
FOLDER = "folder"


@dataclass
class ValidationReport:
    """Every check run on a folder, grouped by stage (`folder` for folder-level ones)."""

    out_dir: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No check failed."""
        return all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        """The failed checks."""
        return [c for c in self.checks if not c.ok]

    def format(self) -> str:
        """One verdict line per stage, then its checks."""
        lines = []
        for scope in dict.fromkeys(c.scope for c in self.checks):
            checks = [c for c in self.checks if c.scope == scope]
            verdict = "PASS" if all(c.ok for c in checks) else "FAIL"
            lines.append(f"{verdict} {scope if scope != FOLDER else str(self.out_dir)}")
            lines += [f"  {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.message}" for c in checks]
        lines.append(f"verdict: {'PASS' if self.ok else 'FAIL'} ({len(self.failures())} failed check(s))")
        return "\n".join(lines)


def validate_folder(
    out_dir: str | Path, *, scan_limit: int = SCAN_LIMIT, sample_images: int = 16
) -> ValidationReport:
    """Run every check on a built folder; never raises for a broken folder, reports it."""
    out_dir = Path(out_dir).absolute()  # datasets reads a relative "." as a Hub repo id
    report = ValidationReport(out_dir)
    add = report.checks.append
    add(_no_dataset_script(out_dir))
    card, parse_check = _parse_readme(out_dir)
    add(parse_check)
    if card is None:
        return report
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    add(_one_default(configs))
    add(Check(FOLDER, "config count", len(configs) <= MAX_CONFIGS, f"{len(configs)} (limit {MAX_CONFIGS})"))
    add(_config_names(out_dir, configs))
    add(_one_file_format(out_dir, configs))
    for stage in sorted(configs):
        context = StageContext(out_dir, stage, configs[stage], infos.get(stage), scan_limit, sample_images)
        report.checks.extend(stage_checks(context))
    return report


def _no_dataset_script(out_dir: Path) -> Check:
    scripts = sorted(p.name for p in out_dir.glob("*.py"))
    if scripts:
        return Check(
            FOLDER,
            "no dataset script",
            False,
            f"{', '.join(scripts)} at the root: `datasets` refuses a folder/repo with `<name>.py` "
            "(DatasetWithScriptNotSupportedError); move or rename it out of the published folder",
        )
    return Check(FOLDER, "no dataset script", True, "no .py file at the root")


def _parse_readme(out_dir: Path) -> tuple[DatasetCard | None, Check]:
    path = out_dir / README
    if not path.exists():
        return None, Check(FOLDER, "README YAML", False, f"{path} is missing; build a stage into the folder")
    try:
        card = DatasetCard.load(path)
        MetadataConfigs.from_dataset_card_data(card.data)
        DatasetInfosDict.from_dataset_card_data(card.data)
    except Exception as err:  # noqa: BLE001 - any parse failure is the finding
        message = f"{path}: {type(err).__name__}: {err}. Rebuild a stage to rewrite the header"
        return None, Check(FOLDER, "README YAML", False, message)
    if not card.data.get("configs"):
        return None, Check(FOLDER, "README YAML", False, f"{path}: no `configs:` in the YAML header")
    return card, Check(FOLDER, "README YAML", True, "parses (DatasetCard, configs, dataset_info)")


def _one_default(configs: MetadataConfigs) -> Check:
    defaults = sorted(name for name, c in configs.items() if c.get("default"))
    ok = len(defaults) == 1 or (len(configs) == 1 and not defaults)
    message = (
        f"default config: {defaults[0] if defaults else next(iter(configs))}"
        if ok
        else f"{len(defaults)} configs marked `default: true` ({defaults}); mark exactly one"
    )
    return Check(FOLDER, "one default config", ok, message)


def _config_names(out_dir: Path, configs: MetadataConfigs) -> Check:
    try:
        names = sorted(get_dataset_config_names(str(out_dir)))
    except Exception as err:  # noqa: BLE001 - what `datasets` raises is the finding
        return Check(FOLDER, "config names", False, f"get_dataset_config_names failed: {err}")
    missing = sorted(set(disk_stages(out_dir)) - set(names))
    if names != sorted(configs) or missing:
        return Check(
            FOLDER,
            "config names",
            False,
            f"get_dataset_config_names lists {names}; README declares {sorted(configs)}; stages on disk "
            f"not declared: {missing}. Rebuild the missing stages (the build adds them to the README)",
        )
    return Check(FOLDER, "config names", True, f"get_dataset_config_names lists {names}")


def _one_file_format(out_dir: Path, configs: MetadataConfigs) -> Check:
    others = sorted(
        path.relative_to(out_dir).as_posix()
        for config in configs.values()
        for entry in config.get("data_files", [])
        for pattern in _patterns(entry)
        for path in out_dir.glob(pattern)
        if path.is_file() and path.suffix != ".parquet"
    )
    if others:
        return Check(
            FOLDER,
            "one file format",
            False,
            f"non-parquet files match the data_files globs: {others}. `datasets` picks one builder for all "
            "configs from the first config's files, so these break every config; keep sidecar files out of "
            "`<stage>/train-*`",
        )
    return Check(FOLDER, "one file format", True, "every data file is parquet")


def _patterns(entry) -> list[str]:
    paths = entry.get("path") if isinstance(entry, dict) else entry
    return [paths] if isinstance(paths, str) else list(paths)
