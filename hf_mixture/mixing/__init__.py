"""Mixing a stage's entries: probabilities from the YAML, `datasets.interleave_datasets` to apply them."""
