"""Where a build is: one line across the stage's entries (elapsed time, ETA), and its closing line.

The overall bar counts entries done and shows the one being built; its ETA is the mean time per
entry so far times the entries left (`tqdm`'s estimate). The per-entry bars (rows read, from the
builders) stay below it. `quiet_progress()` turns every bar off, ours, `datasets`' and Ray Data's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import datasets
from tqdm.auto import tqdm

BAR_FORMAT = "{desc}: {n_fmt}/{total_fmt} entries |{bar:20}| elapsed {elapsed}, ETA {remaining}"


class StageProgress:
    """The overall line of a build of `total` entries (disabled: no output at all)."""

    def __init__(self, stage: str, total: int, *, enabled: bool = True):
        self.started, self.stage = time.perf_counter(), stage
        self._bar = tqdm(total=total, desc=f"stage {stage}", bar_format=BAR_FORMAT, disable=not enabled,
                         position=0, leave=True)  # fmt: skip

    def start_entry(self, name: str) -> None:
        """Show the entry being built."""
        self._bar.set_description_str(f"stage {self.stage} [{name}]", refresh=True)

    def entry_done(self) -> None:
        self._bar.update(1)

    def close(self) -> None:
        self._bar.set_description_str(f"stage {self.stage}", refresh=False)
        self._bar.close()

    @property
    def elapsed(self) -> float:
        """Seconds since the build started."""
        return time.perf_counter() - self.started


@contextlib.contextmanager
def quiet_progress(quiet: bool = True) -> Iterator[None]:
    """While open (when `quiet`), no progress bar: `datasets`' bars, which the per-entry bars
    follow (hf_mixture.build.build_entry), and Ray Data's, which the Ray engine ties to them."""
    was_enabled = not datasets.utils.are_progress_bars_disabled()
    if quiet:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        if quiet and was_enabled:
            datasets.enable_progress_bars()


def progress_enabled() -> bool:
    """Whether progress bars are on (`datasets`' switch, which `quiet_progress` turns off)."""
    return not datasets.utils.are_progress_bars_disabled()


def closing_line(stage: str, out_dir: Path, rows: int, files, elapsed: float) -> str:
    """The build's last line: rows, bytes on disk, shards, where, and the elapsed time."""
    size = sum(Path(f).stat().st_size for f in files)
    return (
        f"built stage {stage}: {rows} rows, {human_bytes(size)} in {len(files)} shard(s) under "
        f"{Path(out_dir) / stage}; elapsed {human_seconds(elapsed)}"
    )


def human_bytes(n: float) -> str:
    """`n` bytes as B / kB / MB / GB / TB (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def human_seconds(seconds: float) -> str:
    """A duration as `12.3 s`, `4.5 min` or `1.2 h`."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
