"""Unified records as Arrow tables: built from preprocess output, normalised, checked.

The invariants of schema.md are checked for a whole table at once: token counts come from
`pyarrow.compute` over the flattened turns, never from a Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hf_mixture.schema import (
    IMAGE_GEN_ENC_TOKEN,
    IMAGE_GEN_TOKEN,
    IMAGE_TOKEN,
    RECORD_DEFAULTS,
    REFERENCE_SCHEMA,
    TASKS,
)


def records_to_table(records: Sequence[dict]) -> pa.Table:
    """A REFERENCE_SCHEMA table from record dicts; absent optional fields take their defaults."""
    columns = {}
    for field in REFERENCE_SCHEMA:
        default = RECORD_DEFAULTS.get(field.name)
        values = [r.get(field.name, default) for r in records]
        columns[field.name] = pa.array(values, type=field.type)
    return pa.table(columns, schema=REFERENCE_SCHEMA)


def conform(partial: pa.Table, n_rows: int) -> pa.Table:
    """`partial` (some REFERENCE_SCHEMA columns) completed with defaults, cast, in schema order."""
    columns = {}
    for field in REFERENCE_SCHEMA:
        if field.name in partial.column_names:
            columns[field.name] = partial[field.name].cast(field.type)
        else:
            columns[field.name] = _constant(RECORD_DEFAULTS.get(field.name), field.type, n_rows)
    return pa.table(columns, schema=REFERENCE_SCHEMA)


def _constant(value, arrow_type: pa.DataType, n_rows: int) -> pa.Array:
    """`n_rows` copies of `value` (an empty list is built from offsets: `pa.repeat` of a list
    scalar costs a Python object per row)."""
    if pa.types.is_list(arrow_type) and value == []:
        offsets = pa.array(np.zeros(n_rows + 1, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, pa.array([], type=arrow_type.value_type))
    return pa.repeat(pa.scalar(value, type=arrow_type), n_rows)


IMAGE_TOKEN_PREFIX = "<image"  # `<image>`, `<image_gen>` and `<image_gen_enc>` all start with it
IMAGE_TOKENS = (IMAGE_TOKEN, IMAGE_GEN_TOKEN, IMAGE_GEN_ENC_TOKEN)


def image_token_hits(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Every image token in a string array, found in one pass over its bytes: (index of the string
    holding it, index of the token in IMAGE_TOKENS), as int64 arrays. Counts what
    `pc.count_substring` counts for each token (the tokens cannot overlap); nulls hold none."""
    values = _combined(values)
    empty = np.zeros(0, dtype=np.int64)
    _, offsets_buffer, data_buffer = values.buffers()
    if data_buffer is None or not len(values):
        return empty, empty
    offset_type = np.int64 if pa.types.is_large_string(values.type) else np.int32
    all_offsets = np.frombuffer(offsets_buffer, dtype=offset_type)
    offsets = all_offsets[values.offset : values.offset + len(values) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    first, end = int(offsets[0]), int(offsets[-1])
    starts = np.flatnonzero(data[first:end] == ord("<")) + first
    last = len(data) - 1
    for i, byte in enumerate(IMAGE_TOKEN_PREFIX.encode()[1:], start=1):  # most `<` are not tokens
        starts = starts[data[np.minimum(starts + i, last)] == byte]
    longest = max(len(t) for t in IMAGE_TOKENS)
    grams = data[np.minimum(starts[:, None] + np.arange(longest), last)]
    owner = np.searchsorted(offsets, starts, side="right") - 1
    room = offsets[owner + 1] - starts  # a token must end inside its own string
    kind = np.full(len(starts), -1, dtype=np.int64)
    for k, token in enumerate(IMAGE_TOKENS):
        pattern = np.frombuffer(token.encode(), dtype=np.uint8)
        kind[(grams[:, : len(pattern)] == pattern).all(axis=1) & (room >= len(pattern))] = k
    hit = kind >= 0
    if values.null_count:
        hit &= _flags(values.is_valid(), False)[owner]
    return owner[hit].astype(np.int64), kind[hit]


def token_counts(conversations: pa.ChunkedArray | pa.Array, token: str) -> np.ndarray:
    """Per row, how often `token` occurs over all turns."""
    return _Turns(conversations).count(token)


class _Turns:
    """The turns of a conversations column, flattened once for every per-row check."""

    def __init__(self, conversations: pa.ChunkedArray | pa.Array):
        conversations = _combined(conversations)
        flat = pc.list_flatten(conversations)
        self.n_rows = len(conversations)
        self.values = pc.struct_field(flat, "value")
        self.roles = pc.struct_field(flat, "from")
        self.parents = pc.list_parent_indices(conversations).to_numpy(zero_copy_only=False)
        starts = conversations.offsets.to_numpy()[:-1] - conversations.offset
        self.positions = np.arange(len(flat)) - starts[self.parents] if len(flat) else self.parents

    def per_row(self, per_turn: np.ndarray) -> np.ndarray:
        """Per row, the sum of a per-turn count."""
        return np.bincount(self.parents, weights=per_turn, minlength=self.n_rows).astype(np.int64)

    def count(self, token: str) -> np.ndarray:
        """Per row, how often `token` occurs. The three image tokens are counted together, in one
        pass over the turns' bytes (`image_token_hits`), the first time one is asked for."""
        if token not in IMAGE_TOKENS:
            return self.per_row(_counts(self.values, token))
        if not hasattr(self, "_image_counts"):
            turns, kinds = image_token_hits(self.values)
            rows = self.parents[turns]
            self._image_counts = [
                np.bincount(rows[kinds == k], minlength=self.n_rows).astype(np.int64)
                for k in range(len(IMAGE_TOKENS))
            ]
        return self._image_counts[IMAGE_TOKENS.index(token)]

    def lengths(self) -> np.ndarray:
        """Turns per row."""
        return np.bincount(self.parents, minlength=self.n_rows)

    def bad_roles(self) -> np.ndarray:
        """Rows whose turns do not alternate human, gpt, human, ..."""
        is_human = _flags(pc.equal(self.roles, "human"), False)
        is_gpt = _flags(pc.equal(self.roles, "gpt"), False)
        return self.per_row(~np.where(self.positions % 2 == 0, is_human, is_gpt)) > 0

    def empty_turn(self) -> np.ndarray:
        """Rows with a null, empty or all-whitespace turn (no string is copied to find them)."""
        empty = pc.or_(pc.equal(pc.binary_length(self.values), 0), pc.utf8_is_space(self.values))
        return self.per_row(_flags(empty, True)) > 0


def _counts(values: pa.Array, token: str) -> np.ndarray:
    return pc.fill_null(pc.count_substring(values, token), 0).to_numpy(zero_copy_only=False)


def _flags(mask, null_as: bool) -> np.ndarray:
    return pc.fill_null(mask, null_as).to_numpy(zero_copy_only=False)


def missing_image_token_rows(table: pa.Table) -> np.ndarray:
    """Per row (bool): it has images and no `<image>` token anywhere, so
    `prepend_missing_image_tokens` gives it one."""
    has_images = _list_lengths(table["images"]) > 0
    if not has_images.any():
        return has_images
    return has_images & (token_counts(table["conversations"], IMAGE_TOKEN) == 0)


def prepend_missing_image_tokens(table: pa.Table, needs: np.ndarray | None = None) -> pa.Table:
    """LaViDa-O's fix, at build time: a row with images and no `<image>` token anywhere gets
    `<image>\\n` in front of its first turn, one `<image>` per image (LaViDa-O adds one, the same
    for the usual single image). `needs`: `missing_image_token_rows(table)`, when already known."""
    needs = missing_image_token_rows(table) if needs is None else needs
    if not needs.any():
        return table
    n_images = _list_lengths(table["images"])
    conversations = table["conversations"].to_pylist()
    for row in np.flatnonzero(needs):
        turns = conversations[row]
        if turns:
            turns[0] = {**turns[0], "value": f"{IMAGE_TOKEN * int(n_images[row])}\n{turns[0]['value'] or ''}"}
    column = pa.array(conversations, type=REFERENCE_SCHEMA.field("conversations").type)
    return table.set_column(table.schema.get_field_index("conversations"), "conversations", column)


def unchecked_template_rows(template_text: pa.Array | pa.ChunkedArray | None) -> np.ndarray | None:
    """Rows a batch form built from a fixed template (registry.TEMPLATE_TEXT) whose inserted text
    holds no image token, which meet every invariant without being checked;
    None when there is no template text."""
    if template_text is None:
        return None
    trusted = np.ones(len(template_text), dtype=bool)
    trusted[image_token_hits(template_text)[0]] = False
    return trusted


def invariant_reasons(table: pa.Table, trusted: np.ndarray | None = None) -> np.ndarray:
    """Per row, the reason code of the first broken invariant (schema.md), or None. Rows where
    `trusted` (unchecked_template_rows) is True are not checked."""
    if trusted is not None:
        reasons = np.full(len(table), None, dtype=object)
        if not trusted.all():
            unchecked = np.flatnonzero(~trusted)
            reasons[unchecked] = invariant_reasons(table.take(pa.array(unchecked)))
        return reasons
    turns = _Turns(table["conversations"])
    reasons = np.full(len(table), None, dtype=object)
    checks = [
        ("invariant:no_turns", turns.lengths() == 0),
        ("invariant:turns_not_alternating", turns.bad_roles()),
        ("invariant:empty_turn", turns.empty_turn()),
        ("invariant:image_token_count", turns.count(IMAGE_TOKEN) != _list_lengths(table["images"])),
        (
            "invariant:image_gen_token_count",
            turns.count(IMAGE_GEN_TOKEN) != _list_lengths(table["image_gen"]),
        ),
        (
            "invariant:image_gen_enc_token_count",
            turns.count(IMAGE_GEN_ENC_TOKEN) != _list_lengths(table["image_gen_enc"]),
        ),
        ("invariant:image_gen_enc_index", _bad_enc_index(table)),
        ("invariant:unknown_task", ~_flags(pc.is_in(table["task"], pa.array(TASKS)), False)),
    ]
    for reason, broken in reversed(checks):
        reasons[broken] = reason
    return reasons


def _combined(array):
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _list_lengths(array) -> np.ndarray:
    return pc.fill_null(pc.list_value_length(_combined(array)), 0).to_numpy(zero_copy_only=False)


def _bad_enc_index(table: pa.Table) -> np.ndarray:
    enc = _combined(table["image_gen_enc"])
    flat = pc.list_flatten(enc).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(enc).to_numpy(zero_copy_only=False)
    n_images = _list_lengths(table["images"])
    bad = (flat < 0) | (flat >= n_images[parents]) if len(flat) else np.zeros(0, dtype=bool)
    return np.bincount(parents, weights=bad, minlength=len(enc)) > 0
