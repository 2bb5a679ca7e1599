"""What every benchmark shares: the machine line, a timer, the result lines, temp folders."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python benchmarks/bench_x.py` from a checkout
    sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def machine() -> str:
    """`nproc`, the CPU model, the date and the load average, for the README's results table."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    date = subprocess.run(["date"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{len(os.sched_getaffinity(0))} CPUs ({model}), Python {platform.python_version()}, {date}, "
        f"load average {load} (other work on the machine skews every figure)"
    )


class Timer:
    """Wall-clock seconds of a `with` block, in `.seconds`."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start


def header(title: str, args: argparse.Namespace) -> None:
    """Print what is measured, on which machine, with which arguments."""
    print(f"== {title}")
    print(f"machine: {machine()}")
    print(f"arguments: {vars(args)}")


def add_run_arguments(parser: argparse.ArgumentParser, kept: str) -> None:
    """`--rounds` (baseline / ours pairs, run alternated: A B A B) and `--work-dir` (keep `kept`)."""
    parser.add_argument("--rounds", type=int, default=2, help="baseline / ours pairs, run alternated")
    parser.add_argument("--work-dir", help=f"keep {kept} here (default: a temp folder, removed)")


def report(name: str, measured: float, unit: str, goal_text: str, passed: bool) -> bool:
    """One result line: `name: measured unit  goal ...  PASS|FAIL`."""
    print(f"{name:<44} {measured:>14,.2f} {unit:<10} goal {goal_text:<18} {'PASS' if passed else 'FAIL'}")
    return passed


def pin_to_one_cpu() -> int:
    """Restrict this process (and the Arrow thread pools) to one CPU; returns the CPU."""
    import pyarrow as pa

    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    return cpu


@contextmanager
def work_dir(keep: str | None) -> Iterator[Path]:
    """A scratch folder: `keep` when given (kept), else a temp folder removed afterwards."""
    if keep:
        path = Path(keep)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="hf-mixture-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
