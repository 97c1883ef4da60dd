"""The casing column (table C): lower, Title, UPPER, digits, ... (Collobert et al. use a similar "caps" feature)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import Feature

CASES = ("<pad>", "lower", "Title", "UPPER", "mixed", "digit", "has_digit", "punct", "other")
PAD, LOWER, TITLE, UPPER, MIXED, DIGIT, HAS_DIGIT, PUNCT, OTHER = range(len(CASES))

_PUNCT = re.compile(r"^[\W_]+$")


def casing(token: str) -> int:
    """The casing class of a token (an index into CASES)."""
    if token.isdigit():
        return DIGIT
    if any(c.isdigit() for c in token):
        return HAS_DIGIT
    if token.islower():
        return LOWER
    if token.isupper():
        return UPPER
    if token.istitle():
        return TITLE
    if any(c.isalpha() for c in token):
        return MIXED
    return PUNCT if _PUNCT.match(token) else OTHER


class CaseFeature(Feature):
    """An index into CASES (padding: ``<pad>``). Config fields: ``case_dim``, ``use_case`` (off: a 0-wide table)."""

    name, title = "C", "case"
    padding = (PAD, PAD)
    core = True

    @property
    def n_rows(self) -> int:
        return len(CASES)

    def dim(self, config: Any) -> int:
        return int(config.case_dim) if config.use_case else 0

    def ids(self, tokens: Sequence[str], earlier: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.array([casing(tok) for tok in tokens], dtype=np.int64)

    def save(self, directory: Path) -> dict[str, Any]:
        return {"cases": list(CASES)}
