"""Windows over sentences laid end to end: the ids of positions i-k .. i+k, padded at sentence edges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

BOS_TYPE, EOS_TYPE = 0, 1  # the first two types are the padding types


def window_width(k: int) -> int:
    """Tokens in a window of half-size k: 2k+1."""
    return 2 * int(k) + 1


def _centres(lengths: np.ndarray, k: int) -> np.ndarray:
    """Index of each token in the padded layout: flat index + k pads before + 2k per earlier sentence."""
    sent = np.repeat(np.arange(len(lengths)), lengths)
    return np.arange(int(lengths.sum())) + 2 * k * sent + k


def window_indices(lengths: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """(n_tokens, 2k+1) rows into the padded layout of :func:`pad_flat`, no Python loop per token."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return _centres(lengths, k)[:, None] + np.arange(-k, k + 1)[None, :]


def pad_flat(values: np.ndarray, lengths: Sequence[int] | np.ndarray, k: int, before: Any, after: Any) -> np.ndarray:
    """Sentences laid end to end, values: (n, ...) -> k ``before`` ahead of and k ``after`` behind each."""
    lengths = np.asarray(lengths, dtype=np.int64)
    n_sent = len(lengths)
    out = np.full((len(values) + 2 * k * n_sent,) + values.shape[1:], before, dtype=values.dtype)
    ends = np.cumsum(lengths) + 2 * k * np.arange(n_sent) + k  # first slot after each sentence
    out[(ends[:, None] + np.arange(k)[None, :]).ravel()] = after
    out[_centres(lengths, k)] = values
    return out


def window_types(
    flat_types: np.ndarray, lengths: Sequence[int], k: int, bos: int = BOS_TYPE, eos: int = EOS_TYPE
) -> np.ndarray:
    """(n,) type ids of sentences laid end to end -> (n, 2k+1) window type ids, edges padded."""
    padded = pad_flat(flat_types, lengths, k, bos, eos)
    return padded[window_indices(lengths, k)]
