"""Engines: where each entry's rows are built and where the output shards are written.

An engine is used through `open_engine(engine, address)`, a context manager yielding a session:
- `session.build_entry(config, entry, folder, *, media_budget) -> (EntryFiles, EntryStats)`: the
  entry's rows as files in `folder` (export/entry_files.py) and its counts;
- `session.run(function, items) -> list`: `function` over `items` (the shard writes), wherever the
  engine runs work. The mixing order and the shard writer are the same code for every engine.

- `local` (default): `local.LocalSession`, Arrow batches in this process (threads + a decode
  process pool), shards written one after the other.
- `ray`: `ray_engine.RayEngine`, the same steps as Ray Data operators on a Ray cluster, one Ray
  task per shard (`pip install 'hf-mixture[ray]'`); see docs/cluster.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from hf_mixture.errors import HfMixtureError

ENGINES = ("local", "ray")
RAY_INSTALL_HINT = "pip install 'hf-mixture[ray]'"
KILL_ONCE_ENV = "HF_MIXTURE_TEST_KILL_ONCE"  # tests: kill a Ray worker once (engines/ray_engine.py)


class EngineError(HfMixtureError, RuntimeError):
    """An engine cannot run: unknown name, missing optional dependency, cluster not reachable."""


class Session(Protocol):
    """An engine open for one build. `keeps_pieces`: an entry's folder keeps the finished parts
    of a failed build for the next build to reuse; `pieces_reused`: entry name -> (piece groups
    reused, piece groups) of the last build of that entry."""

    keeps_pieces: bool
    pieces_reused: dict

    def build_entry(self, config, entry, folder: str, *, media_budget=None) -> tuple: ...

    def run(self, function: Callable, items: list) -> list: ...


class Engine(Protocol):
    """Anything with a `session()` that yields a `Session` while it is open."""

    def session(self) -> AbstractContextManager[Session]: ...


def open_engine(engine: str | Engine = "local", address: str | None = None) -> AbstractContextManager:
    """A `Session` of `engine` (a name in ENGINES or an Engine), open for one build;
    `address` is the Ray cluster (`ray` only; None: RAY_ADDRESS or a new local Ray)."""
    if not isinstance(engine, str):
        return engine.session()
    if engine == "local":
        if address is not None:
            raise EngineError(f"--address {address!r} is only used with --engine ray")
        return _local_session()
    if engine == "ray":
        return make_ray_engine(address).session()
    raise EngineError(f"unknown engine {engine!r}; use one of: {', '.join(ENGINES)}")


def make_ray_engine(address: str | None = None, **options) -> Engine:
    """A `RayEngine` (options: see its docstring); EngineError naming the install command when Ray
    Data is not installed."""
    try:
        from hf_mixture.engines.ray_engine import RayEngine
    except ImportError as err:
        raise EngineError(
            f"--engine ray needs Ray Data, which is not installed ({err}); install it with: "
            f"{RAY_INSTALL_HINT}  (or use the default --engine local)"
        ) from err
    return RayEngine(address, **options)


@contextmanager
def _local_session() -> Iterator[Session]:
    from hf_mixture.engines.local import LocalSession  # imports the builders: on use

    yield LocalSession()
