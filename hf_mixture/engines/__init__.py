"""Engines: what builds each entry's rows. The mixing, shards, README and report after it are shared.

An engine is used through `open_engine(engine, address)`, a context manager yielding a function
with the signature of `hf_mixture.build.build_entry`:
`(config, entry, cache_dir, *, media_budget) -> (datasets.Dataset, EntryStats)`.

- `local` (default): `build_entry`, Arrow batches in this process (threads + a decode process pool).
- `ray`: `ray_engine.RayEngine`, the same steps as Ray Data operators on a Ray cluster
  (`pip install 'hf-mixture[ray]'`); see docs/cluster.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from hf_mixture.errors import HfMixtureError

ENGINES = ("local", "ray")
RAY_INSTALL_HINT = "pip install 'hf-mixture[ray]'"
EntryFunction = Callable[..., tuple]


class EngineError(HfMixtureError, RuntimeError):
    """An engine cannot run: unknown name, missing optional dependency, cluster not reachable."""


class Engine(Protocol):
    """Anything with a `session()` that yields the per-entry build function while it is open."""

    def session(self) -> AbstractContextManager[EntryFunction]: ...


def open_engine(engine: str | Engine = "local", address: str | None = None) -> AbstractContextManager:
    """The per-entry build function of `engine` (a name in ENGINES or an Engine), open for one build;
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
def _local_session() -> Iterator[EntryFunction]:
    from hf_mixture.build import build_entry  # build.py imports this package: import on use

    yield build_entry
