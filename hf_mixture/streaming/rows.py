"""What every stream of unified rows does per row, and its torch face.

`RowPreparer`: image decoding (after the shuffle, so windows hold bytes, not pixels) and the
train-time transform with `row_rng(seed, epoch, id)`. `new_stream(cls, ...)` makes a stream class
a `torch.utils.data.IterableDataset` too when torch can be imported (a subclass made once per
class, picklable by name), and a plain iterable otherwise.
"""

from __future__ import annotations

import importlib
import sys

import datasets

from hf_mixture.schema import IMAGE_COLUMNS
from hf_mixture.streaming.transforms import RowTransform, row_rng

STREAM_CLASSES = {
    "MixtureStream": "hf_mixture.streaming.stream",
    "StageStream": "hf_mixture.streaming.stage_stream",
}
_TORCH_CLASSES: dict[str, type] = {}


class RowPreparer:
    """Decodes the image columns of `features` (when `decode`) and applies `transform`."""

    def __init__(self, features, *, seed: int, transform: RowTransform | None, decode: bool):
        self.seed, self.transform, self.decode = int(seed), transform, decode
        self._image_features = {name: datasets.Image() for name in IMAGE_COLUMNS if name in (features or {})}

    def _prepare(self, row: dict, epoch: int) -> dict:
        if self.decode:
            for name, feature in self._image_features.items():
                values = row.get(name)
                if values:
                    row[name] = [feature.decode_example(value) for value in values]
        if self.transform is not None:
            row = self.transform(row, row_rng(self.seed, epoch, row["id"]))
        return row


def shared_epoch(epoch: int):
    """The epoch as a torch tensor in shared memory when torch is installed (a persistent
    DataLoader worker then sees `set_epoch` of the main process, as datasets does it), else an
    int in a list; `read_epoch` / `write_epoch` use either."""
    try:
        import torch
    except ImportError:
        return [int(epoch)]
    return torch.tensor([int(epoch)]).share_memory_()


def read_epoch(box) -> int:
    return int(box[0])


def write_epoch(box, epoch: int) -> None:
    box[0] = int(epoch)


def worker_info() -> tuple[int, int]:
    """(worker id, number of workers) of the current DataLoader worker, (0, 1) outside one."""
    info = _torch_worker_info()
    return (info.id, info.num_workers) if info is not None else (0, 1)


def in_worker() -> bool:
    """Whether this is a DataLoader worker process."""
    return _torch_worker_info() is not None


def _torch_worker_info():
    if "torch" not in sys.modules:
        return None
    import torch.utils.data

    return torch.utils.data.get_worker_info()


def torch_class(name: str) -> type:
    """`Torch<name>`: the stream class `name` with `torch.utils.data.IterableDataset` as a base."""
    if name not in _TORCH_CLASSES:
        import torch.utils.data

        base = getattr(importlib.import_module(STREAM_CLASSES[name]), name)
        _TORCH_CLASSES[name] = type(
            f"Torch{name}",
            (base, torch.utils.data.IterableDataset),
            {"__module__": __name__, "__qualname__": f"Torch{name}", "__doc__": base.__doc__},
        )
    return _TORCH_CLASSES[name]


def __getattr__(name: str):
    if name.startswith("Torch") and name[5:] in STREAM_CLASSES:
        return torch_class(name[5:])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def new_stream(cls: type, *args, **kwargs):
    """An instance of the stream class `cls`, a torch `IterableDataset` too when torch imports."""
    try:
        cls = torch_class(cls.__name__)
    except ImportError:
        pass
    return cls(*args, **kwargs)
