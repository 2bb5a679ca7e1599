"""Streaming a mixture into training: `load_mixture` (a built stage), `stream_stage` (straight from
the sources, weights applied at read time), and the train-time transforms. Names load lazily so
`import hf_mixture.streaming` stays cheap; torch is imported only when a stream is made."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "load_mixture": "loader",
    "StageNotFoundError": "stage_files",
    "stream_stage": "reweight",
    "EntrySizeError": "reweight",
    "MixtureStream": "stream",
    "StageStream": "stage_stream",
    "StateMismatchError": "stage_stream",
    "global_state": "stage_stream",
    "ShardError": "stage_stream",
    "IdleWorkersWarning": "stage_stream",
    "TrainTransform": "transforms",
    "map_function": "transforms",
    "row_rng": "transforms",
    "truncate_caption": "transforms",
    "resize_and_random_crop": "transforms",
    "pad_to_square_and_resize": "transforms",
    "micro_condition_text": "transforms",
    "fill_micro_conditions": "transforms",
    "parse_loc_boxes": "loc",
    "pixel_box_to_loc": "loc",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
