"""Preprocess functions: source row -> unified record, under LaViDa-O's names."""

from hf_mixture.preprocess.registry import (
    PreprocessFunction,
    get_preprocess,
    known_names,
    preprocess_fn,
)

__all__ = ["PreprocessFunction", "get_preprocess", "known_names", "preprocess_fn"]
