"""`--out` on any fsspec filesystem that is not local (`s3://bucket/prefix`, `gs://`, ...).

A build writes its stage into a local folder first (the same writer and checks as a local
`--out`), then `publish_stage` puts it in place on the remote folder:

1. under the folder lock, the stage's `dataset_info` is withdrawn from the remote README (as a
   local build does before replacing shards);
2. each file (shards, then `build_report.json`, `stage.yaml`) is uploaded to a temporary key
   `<key>.tmp-<pid>-<random>`, copied to its key and the temporary key deleted, so a reader never
   sees a partial object (object stores replace a key atomically); stale shards are deleted after
   the new ones are in place;
3. the README last: the card on the remote (its other stages' sections kept, as `push` merges the
   Hub's card), with `configs` / `dataset_info` rebuilt from what is on the remote (every stage
   folder with shards and a report or stage YAML, sizes from the parquet footers).

The lock is best-effort on object storage: a `filelock` on this machine, keyed by the URL, so builds
from one machine are serialised; builds from several machines into one remote folder at once can
still interleave their README updates (the next build repairs the README from what is stored).
`validate`, `push`, `export` and `preview` of a remote folder run on a local copy (`local_copy`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
from filelock import FileLock
from huggingface_hub import DatasetCard

from hf_mixture.config.names import stage_name_problem
from hf_mixture.errors import HfMixtureError, OutputError
from hf_mixture.export.card import merge_card
from hf_mixture.export.folder import CHARTS, STAGE_YAML
from hf_mixture.export.hub_folder import SPLIT, WrittenStage
from hf_mixture.export.out_folder import LOCK_TIMEOUT_SECONDS, TMP_MARK
from hf_mixture.export.readme import README, card_text, is_ours, parse_card, set_stages
from hf_mixture.export.report import REPORT_NAME


def is_remote(out: str | Path) -> bool:
    """Whether `out` names a non-local fsspec location (`scheme://...` other than `file://`)."""
    text = str(out)
    return "://" in text and not text.startswith("file://")


@dataclass
class RemoteFolder:
    """An output folder at an fsspec URL; `storage_options` are the filesystem's arguments."""

    url: str
    storage_options: Mapping = field(default_factory=dict)

    def __post_init__(self):
        self.url = self.url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url, **dict(self.storage_options))
        except ImportError as err:
            raise ImportError(f"--out {self.url}: {err} (e.g. pip install 'hf-mixture[s3]')") from err
        self.root = self.root.rstrip("/")

    def check_writable(self) -> None:
        """Write, list and delete a temporary key under the folder, so a missing bucket, credentials or
        permission fails before a build starts; OutputError naming --out otherwise."""
        probe = self.key(f".hf-mixture-probe{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            self.fs.pipe_file(probe, b"")
            self.fs.invalidate_cache(self.root)
            self.fs.ls(self.root, detail=False)
            self.fs.rm_file(probe)
        except Exception as err:  # noqa: BLE001 - any failure here means the folder is unusable
            raise storage_failure(self.url, "--out", "write to", err) from None

    def key(self, *parts: str) -> str:
        """The key of `parts` under the folder; OutputError when it would leave it."""
        relative = posixpath.normpath("/".join(parts)) if parts else "."
        if relative.startswith(("../", "/")) or relative == "..":
            raise OutputError(f"{self.url}/{'/'.join(parts)}: outside the output folder {self.url}")
        return self.root if relative == "." else f"{self.root}/{relative}"

    def read_bytes(self, *parts: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        try:
            return self.fs.cat_file(self.key(*parts))
        except FileNotFoundError:
            return None

    def put_bytes(self, relative: str, data: bytes | str) -> None:
        """Write an object through a temporary key (see the module docstring)."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        self._through_temporary(relative, lambda tmp: self.fs.pipe_file(tmp, payload))

    def put_file(self, local: str | Path, relative: str) -> None:
        """Upload a local file through a temporary key."""
        self._through_temporary(relative, lambda tmp: self.fs.put_file(str(local), tmp))

    def _through_temporary(self, relative: str, write) -> None:
        target = self.key(relative)
        tmp = f"{target}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            write(tmp)
            self.fs.copy(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(tmp)
        self.fs.invalidate_cache(posixpath.dirname(target))

    def shards(self, stage: str) -> list[str]:
        """The keys of `stage`'s shards, sorted."""
        self.fs.invalidate_cache(self.key(stage))
        return sorted(k for k in self.fs.glob(self.key(stage, f"{SPLIT}-*.parquet")) if TMP_MARK not in k)

    def built_stages(self) -> list[str]:
        """Stage folders holding shards and a build report or stage YAML, sorted."""
        self.fs.invalidate_cache(self.root)
        try:
            entries = self.fs.ls(self.root, detail=True)
        except FileNotFoundError:
            return []
        names = [posixpath.basename(e["name"].rstrip("/")) for e in entries if e["type"] == "directory"]
        return sorted(
            name
            for name in names
            if stage_name_problem(name) is None
            and self.shards(name)
            and (self.fs.exists(self.key(name, REPORT_NAME)) or self.fs.exists(self.key(name, STAGE_YAML)))
        )

    def written(self, stage: str) -> WrittenStage:
        """Rows and sizes of a stored stage, from its footers."""
        keys = self.shards(stage)
        metadata = []
        for key in keys:
            with self.fs.open(key, "rb") as file:
                metadata.append(pq.read_metadata(file))
        return WrittenStage(
            files=tuple(keys),
            num_examples=sum(m.num_rows for m in metadata),
            num_bytes=sum(m.row_group(i).total_byte_size for m in metadata for i in range(m.num_row_groups)),
            download_size=sum(self.fs.size(k) for k in keys),
        )

    def card(self) -> DatasetCard | None:
        """The stored README as a card; None when missing or damaged (a warning then)."""
        raw = self.read_bytes(README)
        if raw is None:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return parse_card(text, f"{self.url}/{README}")

    def lock(self) -> FileLock:
        """The best-effort lock of this remote folder (one machine; see the module docstring)."""
        folder = Path(tempfile.gettempdir()) / "hf-mixture-locks"
        folder.mkdir(exist_ok=True)
        name = hashlib.sha256(self.url.encode()).hexdigest()[:24]
        return FileLock(str(folder / f"{name}.lock"), timeout=LOCK_TIMEOUT_SECONDS, is_singleton=True)

    def download(self, to: Path, stages: list[str] | None = None) -> Path:
        """Copy the README and `stages` (default: all built ones) into the local folder `to`."""
        to.mkdir(parents=True, exist_ok=True)
        readme = self.read_bytes(README)
        if readme is not None:
            (to / README).write_bytes(readme)
        for stage in self.built_stages() if stages is None else stages:
            for key in self.fs.ls(self.key(stage), detail=False):
                name = posixpath.basename(key)
                if TMP_MARK not in name and self.fs.isfile(key):
                    (to / stage).mkdir(exist_ok=True)
                    self.fs.get_file(key, str(to / stage / name))
        return to


def publish_stage(remote: RemoteFolder, local_dir: str | Path, stage: str) -> None:
    """Put `stage` of the local folder `local_dir` in place on `remote` (see the module docstring)."""
    local_dir = Path(local_dir)
    names = sorted(p.name for p in (local_dir / stage).glob(f"{SPLIT}-*.parquet"))
    with remote.lock():
        _withdraw_sizes(remote, stage)
        stale = [k for k in remote.shards(stage) if posixpath.basename(k) not in names]
        for name in names:
            remote.put_file(local_dir / stage / name, f"{stage}/{name}")
        for key in stale:
            remote.fs.rm_file(key)
        for name in (REPORT_NAME, STAGE_YAML, *CHARTS):  # the card links the charts
            if (local_dir / stage / name).exists():
                remote.put_file(local_dir / stage / name, f"{stage}/{name}")
        remote.put_bytes(README, _merged_readme(remote, local_dir, stage))


def _withdraw_sizes(remote: RemoteFolder, stage: str) -> None:
    card = remote.card()
    if card is None or not any(i.get("config_name") == stage for i in _infos(card)):
        return
    kept = [i for i in _infos(card) if i.get("config_name") != stage]
    card.data.pop("dataset_info", None)
    if kept:
        card.data["dataset_info"] = kept
    remote.put_bytes(README, card_text(card.data, card.text or ""))


def _infos(card: DatasetCard) -> list[dict]:
    infos = card.data.get("dataset_info") or []
    return [infos] if isinstance(infos, dict) else list(infos)


def _merged_readme(remote: RemoteFolder, local_dir: Path, stage: str) -> str:
    """The stored card with `stage` merged in, then `configs`/`dataset_info` rebuilt from storage."""
    stored = remote.card()
    merged = DatasetCard(merge_card(local_dir, [stage], stored, None, location=remote.url))
    stages = {name: remote.written(name) for name in remote.built_stages()}
    set_stages(merged.data, stages, only_these=is_ours(merged))
    return card_text(merged.data, merged.text or "")


def storage_failure(url: str, what: str, action: str, err: BaseException) -> OutputError:
    """The OutputError for a remote folder that cannot be used: names it and says what to check."""
    return OutputError(
        f"{what} {url}: cannot {action} it ({type(err).__name__}: {err}); check the bucket exists, the "
        "credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, or the stage's "
        "storage_options.<scheme>: key, secret, endpoint_url) and that they may write there"
    )


def existing_folder(out: str | Path) -> Path:
    """`out` as an absolute path (`datasets` mistakes a relative `.` for a Hub id); OutputError when
    it is not a folder."""
    folder = Path(out).absolute()
    if not folder.is_dir():
        what = "is a file, not a built folder" if folder.exists() else "does not exist"
        raise OutputError(
            f"{out}: {what}; give the folder `hf-mixture build <stage.yaml> --out {out}` wrote "
            "(or an s3://... URL of one)"
        )
    return folder


@contextlib.contextmanager
def local_copy(out: str | Path, stages: list[str] | None = None) -> Iterator[Path]:
    """`out` itself when it is local; else a temporary local copy of the remote folder (README and
    `stages`, default all), removed afterwards. Options come from the environment / fsspec config."""
    if not is_remote(out):
        yield existing_folder(out)
        return
    folder = Path(tempfile.mkdtemp(prefix="hf-mixture-remote-"))
    try:
        try:
            copy = RemoteFolder(str(out)).download(folder / "out", stages)
        except (ImportError, HfMixtureError):
            raise
        except Exception as err:  # noqa: BLE001 - credentials, bucket, network: the user's to fix
            raise storage_failure(str(out), "the folder", "read", err) from None
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)
