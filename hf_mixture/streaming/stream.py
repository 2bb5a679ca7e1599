"""`MixtureStream`: a `datasets.IterableDataset` of unified rows made ready for a PyTorch DataLoader
(what `stream_stage` returns; a built stage is read by `StageStream`, stage_stream.py).

On top of the Hugging Face stream (already split by node) it adds, per DataLoader worker:
- a seeded shuffle in windows of `shuffle_buffer` rows (rows are held undecoded);
- image decoding after the shuffle, then an optional row transform with `row_rng(seed, epoch, id)`;
- `state_dict()` / `load_state_dict()` that resume *exactly*: the state is the Hugging Face
  stream's state at the start of the current window plus how many rows of the window were
  yielded, so a resume re-reads that window, draws the same permutation and skips what was seen
  (datasets' own shuffle buffer loses its content on resume, hub.md 3.4);
- `set_epoch`: the epoch changes the shard order (datasets), the window permutations and the
  transforms' random draws.
It is a `torch.utils.data.IterableDataset` whenever torch is installed, and a plain iterable otherwise.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from itertools import islice

import datasets
import numpy as np

from hf_mixture.streaming import rows as row_stream
from hf_mixture.streaming.rows import RowPreparer, worker_info
from hf_mixture.streaming.transforms import RowTransform

STATE_VERSION = 1


class MixtureStream(RowPreparer):
    """Rows of one stage, shuffled, decoded and transformed; resumable.

    Args:
        dataset: the Hugging Face stream (already split by node), images undecoded or decoded.
        seed: seed of the window shuffle and of the transforms.
        shuffle_buffer: rows per shuffle window (1 keeps the stream order).
        transform: `fn(row, rng) -> row` applied after decoding (e.g. `TrainTransform(size=256)`).
        decode: decode images to PIL (False keeps `{"bytes", "path"}` dicts).
        rank: this process's rank (part of the shuffle seed).
        epoch: the starting epoch.
    """

    def __init__(
        self,
        dataset: datasets.IterableDataset,
        *,
        seed: int = 42,
        shuffle_buffer: int = 1000,
        transform: RowTransform | None = None,
        decode: bool = True,
        rank: int = 0,
        epoch: int = 0,
    ):
        if shuffle_buffer < 1:
            raise ValueError(f"shuffle_buffer must be >= 1 (1 = no shuffle), got {shuffle_buffer}")
        super().__init__(dataset.features, seed=seed, transform=transform, decode=decode)
        self.dataset = dataset.decode(False)
        self.shuffle_buffer, self.rank = int(shuffle_buffer), int(rank)
        self._pending: dict | None = None
        self._state: dict | None = None
        self.entry_probabilities: dict[str, float] | None = None  # set by stream_stage
        self.entry_sizes: dict[str, int] | None = None  # set by stream_stage
        self.dataset.set_epoch(int(epoch))

    # ---- epochs and shards -------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """The current epoch."""
        return self.dataset.epoch

    def set_epoch(self, epoch: int) -> None:
        """Start epoch `epoch` at the next iteration (shared with persistent DataLoader workers).
        A state loaded for another epoch is dropped; one loaded for this epoch is kept."""
        if int(epoch) != self.epoch:
            self._state = None
            if self._pending is not None and self._pending["epoch"] != int(epoch):
                self._pending = None
        self.dataset.set_epoch(int(epoch))

    @property
    def num_shards(self) -> int:
        """Shards this rank reads (DataLoader workers split them)."""
        return self.dataset.num_shards

    @property
    def features(self) -> datasets.Features | None:
        return self.dataset.features

    # ---- state -------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Where the stream is: epoch, the Hugging Face stream's state at the start of the current
        window, the window's index and how many of its rows were yielded."""
        if self._pending is not None:
            return copy.deepcopy(self._pending)
        if self._state is None:
            return self._fresh_state(self.epoch)
        return {**self._state, "inner": copy.deepcopy(self._state["inner"])}

    def _fresh_state(self, epoch: int) -> dict:
        return self._position(epoch, None, 0, 0)

    def _position(self, epoch: int, inner: dict | None, window: int, yielded: int) -> dict:
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "shuffle_buffer": self.shuffle_buffer,
            "epoch": epoch,
            "inner": inner,
            "window": window,
            "yielded": yielded,
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume at the row after the one the state was saved at (its epoch is adopted). A state
        saved at the end of epoch `e` into a stream already set to epoch `e + 1` is a no-op."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError(
                f"not a MixtureStream state (expected a dict with version {STATE_VERSION}, got "
                f"{type(state).__name__} {str(state)[:80]}); save it with state_dict() of this version"
            )
        saved = (state.get("seed"), state.get("shuffle_buffer"))
        if saved != (self.seed, self.shuffle_buffer):
            raise ValueError(
                f"the state was saved with seed={saved[0]}, shuffle_buffer={saved[1]}; this stream has "
                f"seed={self.seed}, shuffle_buffer={self.shuffle_buffer}: resume with the same values"
            )
        if state.get("ended") and int(state["epoch"]) + 1 == self.epoch:
            self._pending = None
            return
        self.set_epoch(int(state["epoch"]))
        self._pending = copy.deepcopy(state)

    # ---- iteration ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[dict]:
        worker_id = worker_info()[0]
        epoch = self.epoch
        start = self._pending or self._fresh_state(epoch)
        self._pending, self._state = None, start
        self.dataset.load_state_dict(start["inner"])
        window, skip, inner_state = int(start["window"]), int(start["yielded"]), start["inner"]
        rows_iter = iter(self.dataset)
        try:
            while True:
                rows = list(islice(rows_iter, self.shuffle_buffer))
                if not rows:
                    self._state = {**self._state, "ended": True}  # the epoch's end: see load_state_dict
                    return
                order = self._permutation(epoch, worker_id, window, len(rows))
                for position in range(skip, len(rows)):
                    self._state = self._position(epoch, inner_state, window, position + 1)
                    yield self._prepare(rows[order[position]], epoch)
                skip, window = 0, window + 1
                inner_state = self.dataset.state_dict()
        finally:
            close = getattr(rows_iter, "close", None)
            if close is not None:
                close()

    def _permutation(self, epoch: int, worker_id: int, window: int, n: int) -> np.ndarray:
        if self.shuffle_buffer == 1:
            return np.arange(n)
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, epoch, self.rank, worker_id, window])
        return rng.permutation(n)


def new_stream(dataset: datasets.IterableDataset, **kwargs) -> MixtureStream:
    """A `MixtureStream`, a torch `IterableDataset` too when torch can be imported."""
    return row_stream.new_stream(MixtureStream, dataset, **kwargs)
