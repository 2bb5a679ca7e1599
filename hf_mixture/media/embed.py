"""Turn a table's image references into embedded, checked image bytes.

Reading is I/O: it runs in the caller's thread pool (through `ImageFetcher.read`, so its
resolution, root containment and error mapping apply). Decoding and resizing is CPU work: each
reading thread hands its bytes to `decoder`, a process pool when one is given (`decode_pool`),
and waits for the result, so the number of images in flight is bounded by the thread count.
"""

from __future__ import annotations

import atexit
import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections import Counter
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import pyarrow as pa

from hf_mixture.media.fetch import ImageFetcher, image_name
from hf_mixture.media.images import (
    DEFAULT_CHECK,
    CheckedImage,
    MediaError,
    check_image,
    check_image_returning_changes,
)
from hf_mixture.media.resize import use_libvips
from hf_mixture.schema import FEATURES

IMAGE_LIST_TYPE = FEATURES.arrow_schema.field("images").type
_POOLS: dict[int, ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()
_POOL_REQUESTS: queue.SimpleQueue = queue.SimpleQueue()  # (processes, Future) for the pool keeper
_KEEPER: list[threading.Thread] = []  # the one pool keeper thread, once started
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def default_decode_processes() -> int:
    """Processes for decoding: the CPUs this process may use (1 means decode in the I/O threads).
    1 in a daemonic process (e.g. a PyTorch DataLoader worker streaming a stage from its sources,
    hf_mixture/streaming/reweight.py), which may not start children."""
    if multiprocessing.current_process().daemon:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def decode_pool(processes: int) -> ProcessPoolExecutor | None:
    """A shared process pool of `processes` workers (None for 0 or 1: decode in threads).

    Workers are forked (on Linux) and started at once, when the pool is made: forking never
    re-imports the user's `__main__` (spawn and forkserver do, which runs an unguarded script's
    code again in every worker), and the workers only run PIL and libvips on bytes they are sent.

    One pool per size per process, made under a lock (threads asking at once share it) and remade
    when a worker died (a broken pool). The workers are forked by one daemon thread that lives as
    long as the process (`_keep_pools`): Linux's parent-death signal fires when the *thread* that
    forked a worker ends, so a pool made from a short-lived thread (a DataLoader's, a stream's
    reader) would lose its workers with that thread."""
    if processes <= 1:
        return None
    with _POOLS_LOCK:
        pool = _POOLS.get(processes)
        if pool is None or getattr(pool, "_broken", False):
            made: Future = Future()
            _POOL_REQUESTS.put((processes, made))
            if not _KEEPER:
                _KEEPER.append(
                    threading.Thread(target=_keep_pools, name="hf-mixture-decode-pools", daemon=True)
                )
                _KEEPER[0].start()
            pool = _POOLS[processes] = made.result()
    return pool


def _keep_pools() -> None:
    """The pool keeper thread: makes each pool asked for, then waits (it never ends, so the
    workers' parent-death signal fires only when the process ends)."""
    while True:
        processes, made = _POOL_REQUESTS.get()
        try:
            made.set_result(_new_pool(processes))
        except BaseException as err:  # noqa: BLE001 - handed to the thread that asked
            made.set_exception(err)


def _new_pool(processes: int) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_start_worker)
    for started in [pool.submit(os.getpid) for _ in range(processes)]:
        started.result()
    return pool


def _start_worker() -> None:
    """In a new decode worker: end with the build process, resize with libvips (resize.py: safe
    here because a decode worker never forks)."""
    _die_with_parent()
    use_libvips()


def _die_with_parent() -> None:
    """In a decode worker: ask Linux to end this process when the build process dies, even by
    SIGKILL (which runs no cleanup), so no orphaned decoder outlives a killed build."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _forget_pools_in_child() -> None:
    """In a forked child: the parent's pools and keeper thread are not this process's."""
    global _POOLS_LOCK, _POOL_REQUESTS
    _POOLS.clear()
    _KEEPER.clear()
    _POOLS_LOCK, _POOL_REQUESTS = threading.Lock(), queue.SimpleQueue()


os.register_at_fork(after_in_child=_forget_pools_in_child)


@atexit.register
def _shutdown_pools() -> None:
    with _POOLS_LOCK:
        for pool in _POOLS.values():
            pool.shutdown(wait=False, cancel_futures=True)
        _POOLS.clear()


def embed_images(
    table: pa.Table,
    fetcher: ImageFetcher,
    *,
    short_side: int | None,
    executor: Executor,
    decoder: Executor | None = None,
    check: str = DEFAULT_CHECK,
    repairs: Counter | None = None,
    messages: dict[int, str] | None = None,
) -> tuple[pa.Table, np.ndarray]:
    """`table` with `images` / `image_gen` as embedded bytes and `original_*` set, and per row the
    reason it must be dropped (None to keep). Targets (`image_gen`) are resized to `short_side`.
    `executor` reads (threads); `decoder` checks and resizes (None: in the reading thread).
    `repairs` counts, per fix, the kept rows whose images were normalised; `messages` receives,
    per dropped row index, what failed (the reference tried, the status or exception text)."""
    images, targets = table["images"].to_pylist(), table["image_gen"].to_pylist()
    wanted = list({(ref, None) for refs in images for ref in refs or []})
    wanted += list({(ref, short_side) for refs in targets for ref in refs or []})
    results = dict(zip(wanted, executor.map(lambda key: _fetch(fetcher, *key, decoder, check), wanted)))
    reasons = np.full(len(table), None, dtype=object)
    image_cells, target_cells, widths, heights = [], [], [], []
    for row, (row_images, row_targets) in enumerate(zip(images, targets)):
        found = [results[(r, None)] for r in row_images or []]
        made = [results[(r, short_side)] for r in row_targets or []]
        refs = [*(row_images or []), *(row_targets or [])]
        failed = next(((r, x) for r, x in zip(refs, found + made) if isinstance(x, MediaError)), None)
        reasons[row] = failed[1].reason if failed else None
        if failed and messages is not None:
            messages[row] = f"{failed[0]}: {failed[1]}"
        ok = failed is None
        if ok and repairs is not None:
            repairs.update({change for checked in found + made for change in checked.changes})
        image_cells.append(_cells(row_images, found) if ok else [])
        target_cells.append(_cells(row_targets, made) if ok else [])
        widths.append(made[0].width if ok and made else None)
        heights.append(made[0].height if ok and made else None)
    return _with_columns(table, image_cells, target_cells, widths, heights), reasons


def _fetch(
    fetcher: ImageFetcher, ref: str, short_side: int | None, decoder: Executor | None, check: str
) -> CheckedImage | MediaError:
    try:
        data = fetcher.read(ref)
        if decoder is None:
            return check_image(data, short_side, check)
        checked = decoder.submit(check_image_returning_changes, data, short_side, check).result()
        return checked if checked.data is not None else replace(checked, data=data)
    except MediaError as err:
        return err


def _cells(refs, checked: list[CheckedImage]) -> list[dict]:
    return [{"bytes": c.data, "path": image_name(r)} for r, c in zip(refs or [], checked)]


def _with_columns(table: pa.Table, images, targets, widths, heights) -> pa.Table:
    columns = {
        "images": pa.array(images, type=IMAGE_LIST_TYPE),
        "image_gen": pa.array(targets, type=IMAGE_LIST_TYPE),
        "original_width": pa.array(widths, type=pa.int32()),
        "original_height": pa.array(heights, type=pa.int32()),
    }
    for name, column in columns.items():
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table
