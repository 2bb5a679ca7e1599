"""Every write into the output folder goes through here: paths proven inside `--out`, files written
under a temporary name and renamed into place, shared files changed under one folder lock.

- `out_path(out_dir, *parts)`: the path of `parts` under `out_dir`, or OutputError when it would
  resolve outside it (`..`, an absolute part, a symlink out of the folder).
- `atomic_write(out_dir, relative, data)`: write `<name>.tmp-<pid>-<random>` beside the target,
  fsync it, `os.replace` it over the target, fsync the folder. A process killed at any point leaves
  either the previous version or the new one, never a truncated file (POSIX rename is atomic on
  one filesystem).
- `publish_file(tmp, target)`: the same rename for a file written elsewhere in the folder (shards).
- `folder_lock(out_dir)`: a `filelock.FileLock` on `<out>/.hf-mixture.lock` (a `datasets`
  dependency; works across processes on one machine and on NFS with lockd). Read-modify-write of a
  shared file (the README) and the renaming of a stage's shards happen inside it.

Test-only hooks (read from the environment, so real processes can be stopped at real writes):
`HF_MIXTURE_TEST_KILL_AT=<file name>[#N]` SIGKILLs the process halfway through writing the temporary
file of that name (its N-th write; `shard` for a shard's rename), `HF_MIXTURE_TEST_PAUSE=<folder>` makes
`pause_point` create `<folder>/<pid>` and wait (up to 60 s) for `<folder>/go`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path

from filelock import FileLock

from hf_mixture.errors import OutputError

LOCK_NAME = ".hf-mixture.lock"
LOCK_TIMEOUT_SECONDS = 600
KILL_AT_ENV = "HF_MIXTURE_TEST_KILL_AT"
PAUSE_ENV = "HF_MIXTURE_TEST_PAUSE"
TMP_MARK = ".tmp-"


def out_path(out_dir: str | Path, *parts: str) -> Path:
    """`out_dir/parts...`, proven to stay inside `out_dir` once symlinks and `..` are resolved;
    OutputError naming the path otherwise."""
    root = Path(out_dir).resolve()
    path = root.joinpath(*parts)
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise OutputError(
            f"{Path(out_dir) / Path(*parts)}: resolves to {resolved}, outside the output folder {root}; "
            "stage names are single path segments (letters, digits, `-`, `_`, `.`)"
        )
    return path


def atomic_write(out_dir: str | Path, relative: str | Path, data: bytes | str) -> Path:
    """Write `data` (text is UTF-8) to `out_dir/relative` atomically (see the module docstring);
    folders are created. Returns the path written."""
    path = out_path(out_dir, *Path(relative).parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as file:
            half = len(payload) // 2
            file.write(payload[:half])
            _kill_point(path.name, file)
            file.write(payload[half:])
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_folder(path.parent)
    return path


def publish_file(
    tmp: str | Path, out_dir: str | Path, relative: str | Path, *, kill_label: str = "shard"
) -> Path:
    """Rename the complete file `tmp` (in `out_dir`, same filesystem) to `out_dir/relative`, proven
    inside `out_dir`; its bytes are synced first, the folder after. Returns the path."""
    target = out_path(out_dir, *Path(relative).parts)
    with open(tmp, "rb+") as file:
        os.fsync(file.fileno())
    _kill_point(kill_label)
    os.replace(tmp, target)
    fsync_folder(target.parent)
    return target


def fsync_folder(folder: Path) -> None:
    """Make renames in `folder` durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def folder_lock(out_dir: str | Path) -> FileLock:
    """The lock every read-modify-write of a shared file of `out_dir` holds; one instance per
    folder in a process, re-entrant (a writer holding it may call another that takes it)."""
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    return FileLock(str((path / LOCK_NAME).resolve()), timeout=LOCK_TIMEOUT_SECONDS, is_singleton=True)


def remove_dead_temporaries(folder: Path) -> None:
    """Remove `atomic_write` temporaries in `folder` whose process is gone."""
    for path in folder.glob(f"*{TMP_MARK}*"):
        pid = path.name.split(TMP_MARK, 1)[1].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_WRITES: dict[str, int] = {}


def _kill_point(name: str, file=None) -> None:
    """SIGKILL this process at the write `HF_MIXTURE_TEST_KILL_AT` names: `NAME` (its first write)
    or `NAME#N` (its N-th write in this process)."""
    wanted = os.environ.get(KILL_AT_ENV)
    if not wanted:
        return
    _WRITES[name] = _WRITES.get(name, 0) + 1
    target, _, count = wanted.partition("#")
    if target == name and _WRITES[name] == int(count or 1):
        if file is not None:
            file.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def pause_point() -> None:
    """Test hook between reading and writing a shared file (see the module docstring)."""
    folder = os.environ.get(PAUSE_ENV)
    if not folder:
        return
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while not Path(folder, "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
