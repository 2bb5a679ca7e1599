"""The build's work folder: each entry's built rows kept under a key of everything that makes them.

`<work dir>/entries/<key>/` holds one entry's files (export/entry_files.py) and `entry.json`
(file list, row counts, the entry's counts). The key is a SHA-256 of:
- the entry's YAML settings (everything but its position in the file),
- the stage settings that change an entry's rows (all but name, batch_size, stopping_strategy,
  num_samples, num_shards, license, image_workers), the seed included (sampling is seeded per entry),
- the folder of the YAML file (relative paths resolve against it),
- each source file's fingerprint (size and modification time, or the object store's ETag),
- the code version (hash of hf_mixture/ and builders/ sources).
Image files named by the rows are not fingerprinted (there can be hundreds of millions): a changed
image behind an unchanged metadata file is not noticed; build with `--fresh` after editing images.

An entry is built into `<key>.part-<pid>-<random>/` and renamed to `<key>/` once complete, so a
kill leaves at most a `.part` folder, removed by the next build; a finished entry is reused by
every later build with the same key (a re-run after a failure, or after changing only the weights,
the stopping strategy, num_samples, num_shards or another entry).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from hf_mixture.config.model import EntryConfig, StageConfig
from hf_mixture.export.entry_files import EntryFiles
from hf_mixture.export.hub_folder import _process_alive
from hf_mixture.stats import EntryStats

WORK_DIR_ENV = "HF_MIXTURE_WORK_DIR"
MANIFEST = "entry.json"
MIX_ONLY_SETTINGS = (
    "name",
    "batch_size",
    "stopping_strategy",
    "num_samples",
    "num_shards",
    "license",
    "image_workers",
)
_PART = re.compile(r"^[0-9a-f]{64}\.part-(\d+)-")


def default_work_dir() -> Path:
    """`$HF_MIXTURE_WORK_DIR`, else `$XDG_CACHE_HOME/hf-mixture/work` (`~/.cache/hf-mixture/work`)."""
    if os.environ.get(WORK_DIR_ENV):
        return Path(os.environ[WORK_DIR_ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "hf-mixture" / "work"


def entry_key(config: StageConfig, entry: EntryConfig) -> str:
    """The key of `entry`'s built rows (see the module docstring); OSError when a source file
    cannot be inspected."""
    settings = dataclasses.asdict(config.settings)
    for name in MIX_ONLY_SETTINGS:
        settings.pop(name)
    material = {
        "entry": {k: v for k, v in dataclasses.asdict(entry).items() if k != "index"},
        "settings": settings,
        "yaml_dir": str(config.path.absolute().parent),
        "files": [_fingerprint(config, path) for path in entry.files],
        "code": code_version(),
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fingerprint(config: StageConfig, path: str) -> list:
    info = config.storage().filesystem(path).info(path)
    stamp = next(
        (info[k] for k in ("ETag", "etag", "mtime", "LastModified", "last_modified") if k in info), None
    )
    return [path, info.get("size"), str(stamp)]


@functools.cache
def code_version() -> str:
    """SHA-256 of this package's and the builders' Python sources."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for folder in (root, root.parent / "builders"):
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.relative_to(folder.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class EntryCache:
    """Finished entries under `<root>/entries`; `fresh`: never reuse (but still keep new ones)."""

    def __init__(self, root: str | Path, fresh: bool = False):
        self.folder = Path(root) / "entries"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fresh = fresh
        _remove_dead_parts(self.folder)

    def load(self, key: str) -> tuple[EntryFiles, EntryStats] | None:
        """The finished entry of `key`, or None (none, unreadable, or `fresh`)."""
        manifest = self.folder / key / MANIFEST
        if self.fresh or not manifest.is_file():
            return None
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            files = EntryFiles.from_dict(self.folder / key, data["files"])
            stats = _stats_from_dict(data["stats"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not all(os.path.exists(p) for p in files.paths):
            return None
        return files, stats

    def new_folder(self, key: str, keep: bool = False) -> str:
        """A folder to build the entry of `key` in (`commit` renames it into place): a new empty
        one, or with `keep` `<key>.partial`, which holds what a failed build of it finished
        (`--fresh`: emptied first)."""
        if not keep:
            return tempfile.mkdtemp(prefix=f"{key}.part-{os.getpid()}-", dir=self.folder)
        folder = self.folder / f"{key}.partial"
        if self.fresh:
            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(exist_ok=True)
        return str(folder)

    def commit(self, key: str, folder: str, files: EntryFiles, stats: EntryStats) -> EntryFiles:
        """Record the built entry and move `folder` to its key; the files as they now are."""
        data = {"entry": stats.name, "files": files.to_dict(), "stats": stats.to_dict()}
        Path(folder, MANIFEST).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        final = self.folder / key
        if final.exists():
            shutil.rmtree(final)
        os.replace(folder, final)
        return EntryFiles.from_dict(final, files.to_dict())


def _stats_from_dict(data: dict) -> EntryStats:
    names = {f.name for f in dataclasses.fields(EntryStats)}
    stats = EntryStats(**{k: v for k, v in data.items() if k in names})
    stats.dropped, stats.repaired = Counter(stats.dropped), Counter(stats.repaired)
    stats.mixing_added = stats.written = 0
    stats.expected_share = stats.realised_share = 0.0
    return stats


def _remove_dead_parts(folder: Path) -> None:
    """Remove the `.part` folders of builds whose process is gone (killed mid-entry)."""
    for path in folder.iterdir():
        match = _PART.match(path.name)
        if match and not _process_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
