"""Push a built folder (or one stage of it) to a Hub dataset repo with `HfApi.upload_folder`.

Pushing stage S uploads `S/train-*.parquet`, `S/build_report.json`, `S/stage.yaml` and README.md,
deletes the Hub's stale `S/train-*` shards in the same commit, and leaves other stages alone. The
README uploaded is the card already on the Hub with S's `configs`/`dataset_info`/section replaced.
The token is whatever huggingface_hub resolves (HF_TOKEN, saved login); it is never printed, and
error messages are scrubbed of it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import DatasetCard, HfApi, get_token
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import filter_repo_objects

from hf_mixture.errors import HfMixtureError
from hf_mixture.export.card import merge_card
from hf_mixture.export.folder import CHARTS, STAGE_YAML, disk_stages, readme_stages
from hf_mixture.export.hub_folder import SPLIT
from hf_mixture.export.readme import README
from hf_mixture.export.report import REPORT_NAME
from hf_mixture.failures import hub_endpoint, is_network_error, network_message

REPO_TYPE = "dataset"
IGNORE_PATTERNS = [".*", "*/.*", "**/.cache/**"]
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
_TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9]{8,}")


class PushError(HfMixtureError, ValueError):
    """A push cannot be planned or the Hub refused it (message scrubbed of the token)."""


@dataclass(frozen=True)
class PushPlan:
    """What one push uploads and deletes; computed from the local folder only."""

    repo_id: str
    stages: tuple[str, ...]
    allow_patterns: tuple[str, ...]
    ignore_patterns: tuple[str, ...]
    delete_patterns: tuple[str, ...]
    files: tuple[str, ...]
    revision: str | None = None
    private: bool = False
    create_pr: bool = False

    def describe(self, out_dir: str | Path | None = None) -> str:
        """The plan as text: files to upload (with their sizes and the total when `out_dir`, the
        local folder, is given) and remote files that would be deleted."""
        lines = [f"push to https://huggingface.co/datasets/{self.repo_id} ({', '.join(self.stages)}):"]
        sizes = {path: (Path(out_dir) / path).stat().st_size for path in self.files} if out_dir else {}
        lines += [f"  upload {path}" + (f" ({sizes[path]:,} bytes)" if sizes else "") for path in self.files]
        if sizes:
            lines.append(f"  {len(sizes)} files, {sum(sizes.values()):,} bytes in total")
        lines += [f"  delete remote files matching {p} (unless re-uploaded)" for p in self.delete_patterns]
        where = "a new pull request" if self.create_pr else f"revision {self.revision or 'main'}"
        lines.append(f"  into {where}; README.md merged with the card on the Hub, other stages kept")
        return "\n".join(lines)


def plan_push(
    out_dir: str | Path,
    repo_id: str,
    *,
    stage: str | None = None,
    revision: str | None = None,
    private: bool = False,
    create_pr: bool = False,
) -> PushPlan:
    """Check the folder and arguments and compute the patterns and file list of a push."""
    _check_arguments(repo_id, revision, create_pr)
    stages = _stages_to_push(Path(out_dir), stage)
    allow = [README] + [p for s in stages for p in stage_patterns(s)]
    files = sorted(filter_repo_objects(_local_files(Path(out_dir)), allow_patterns=allow,
                                       ignore_patterns=IGNORE_PATTERNS))  # fmt: skip
    return PushPlan(
        repo_id=repo_id,
        stages=tuple(stages),
        allow_patterns=tuple(allow),
        ignore_patterns=tuple(IGNORE_PATTERNS),
        delete_patterns=tuple(f"{s}/{SPLIT}-*" for s in stages),
        files=tuple(files),
        revision=revision,
        private=private,
        create_pr=create_pr,
    )


def stage_patterns(stage: str) -> list[str]:
    """The files of one stage that are published (its charts: the card shows them)."""
    return [f"{stage}/{SPLIT}-*.parquet", f"{stage}/{REPORT_NAME}", f"{stage}/{STAGE_YAML}"] + [
        f"{stage}/{chart}" for chart in CHARTS
    ]


def push(plan: PushPlan, out_dir: str | Path, *, api: HfApi | None = None):
    """Create the repo if needed, merge the README with the Hub's, and upload in one `upload_folder`
    call; returns its CommitInfo."""
    api = api or HfApi()
    token = get_token()
    if token is None:
        raise PushError("no Hugging Face token found: set HF_TOKEN or run `hf auth login`, then push again")
    try:
        api.create_repo(plan.repo_id, repo_type=REPO_TYPE, private=plan.private or None, exist_ok=True)
        remote = remote_card(api, plan.repo_id, None if plan.create_pr else plan.revision)
        readme = merge_card(out_dir, list(plan.stages), remote, plan.repo_id)
        with _staged_folder(Path(out_dir), plan.files, readme) as folder:
            return api.upload_folder(
                repo_id=plan.repo_id,
                repo_type=REPO_TYPE,
                folder_path=folder,
                allow_patterns=list(plan.allow_patterns),
                ignore_patterns=list(plan.ignore_patterns),
                delete_patterns=list(plan.delete_patterns),
                revision=plan.revision,
                create_pr=plan.create_pr,
                commit_message=f"hf-mixture: push {', '.join(plan.stages)}",
            )
    except (HfHubHTTPError, OSError, ValueError) as err:
        if isinstance(err, HfMixtureError):
            raise
        raise PushError(scrub(f"push to {plan.repo_id} failed: {type(err).__name__}: {err}", token)) from None
    except Exception as err:  # noqa: BLE001 - a network failure becomes PushError (exit 2); others re-raised
        if not is_network_error(err):
            raise
        raise PushError(scrub(network_message(err, f"the Hub ({hub_endpoint()})"), token)) from None


def remote_card(api: HfApi, repo_id: str, revision: str | None) -> DatasetCard | None:
    """The README on the Hub (None for a new repo or one without README)."""
    try:
        path = api.hf_hub_download(repo_id, README, repo_type=REPO_TYPE, revision=revision)
    except (EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError):
        return None
    return DatasetCard.load(path)


def scrub(text: str, token: str | None) -> str:
    """`text` with the token (and anything shaped like a Hub token) replaced by `hf_***`."""
    if token:
        text = text.replace(token, "hf_***")
    return _TOKEN_LIKE.sub("hf_***", text)


def _check_arguments(repo_id: str, revision: str | None, create_pr: bool) -> None:
    if not _REPO_ID.match(repo_id):
        raise PushError(f"repo id {repo_id!r}: expected `org/name` (letters, digits, `-`, `_`, `.`)")
    if create_pr and revision not in (None, "main"):
        raise PushError(
            f"--create-pr opens a pull request against main; drop --revision {revision} (or push to the "
            "branch without --create-pr)"
        )


def _stages_to_push(out_dir: Path, stage: str | None) -> list[str]:
    declared, built = readme_stages(out_dir), disk_stages(out_dir)
    if not declared:
        raise PushError(f"{out_dir}: no README.md with `configs:`; build a stage into it first")
    stages = [stage] if stage else [s for s in declared if s in built]
    for name in stages:
        if name not in declared or name not in built:
            raise PushError(
                f"{out_dir}: stage {name!r} is not built there (README declares {declared}, shards "
                f"on disk for {built}); build it with `hf-mixture build <yaml> --out {out_dir}`"
            )
    return stages


def _local_files(out_dir: Path) -> list[str]:
    return [p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()]


@contextmanager
def _staged_folder(out_dir: Path, files: tuple[str, ...], readme: str) -> Iterator[str]:
    """A temporary folder holding the merged README and links to the planned files."""
    path = Path(tempfile.mkdtemp(prefix="hf-mixture-push-"))
    try:
        (path / README).write_text(readme, encoding="utf-8")
        for rel in files:
            if rel != README:
                _link_or_copy(out_dir / rel, path / rel)
        yield str(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(source.absolute(), target)
    except OSError:
        shutil.copy2(source, target)
