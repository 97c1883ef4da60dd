"""Tagged text: :class:`Doc` holds the tokens and entities of one text, with exact character offsets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from .tags import bio2_spans


class Entity(NamedTuple):
    """An entity span: ``doc.text[start_char:end_char] == text``; ``start``/``end`` are token indices
    into ``doc.tokens``; ``score`` is the probability that exactly this span with this label is right
    (calibrated on held-out sentences when the model is; :mod:`windowner.evaluation.confidence`)."""

    text: str
    label: str
    start_char: int
    end_char: int
    score: float
    start: int
    end: int


class Token(NamedTuple):
    """A non-whitespace token: ``doc.text[start_char:end_char] == text``, its BIO2 tag and the probability that
    this tag is right (its marginal under the tag lattice, calibrated when the model is)."""

    text: str
    start_char: int
    end_char: int
    tag: str
    score: float


class Doc:
    """A tagged text: ``tokens`` (whitespace dropped) and ``ents``, both with character offsets into ``text``.

    ``tokens`` is built on first access, so tagging many texts only pays for what is read.
    """

    def __init__(self, text: str, tokens: list[Token] | None = None, ents: list[Entity] | None = None):
        self.text, self.ents = text, list(ents or [])
        self._tokens: list[Token] | None = list(tokens or [])
        self._columns: tuple | None = None  # (words, starts, ends, tags, scores) until tokens are asked for

    @classmethod
    def from_tags(
        cls,
        text: str,
        words: list[str],
        starts: list[int],
        tags: list[str],
        proba: np.ndarray,
        scored: list[tuple[str, int, int, float]] | None = None,
    ) -> Doc:
        """The Doc of ``text`` whose non-whitespace tokens ``words`` start at ``starts`` and are tagged ``tags``
        (BIO2) with probabilities ``proba`` (n,). Entities: ``scored`` (label, start token, end token, score),
        the BIO2 spans of ``tags`` with their scores; without it the spans scored by their mean probability."""
        ends = [a + len(w) for a, w in zip(starts, words)]
        if scored is None:
            found = bio2_spans(tags)
            scored = [(label, a, b, score) for (label, a, b), score in zip(found, span_scores(proba, found))]
        ents = [
            Entity(text[starts[a] : ends[b - 1]], label, starts[a], ends[b - 1], score, a, b)
            for label, a, b, score in scored
        ]
        doc = cls(text, ents=ents)
        doc._tokens, doc._columns = None, (words, starts, ends, tags, proba.tolist())
        return doc

    @property
    def tokens(self) -> list[Token]:
        if self._tokens is None:
            self._tokens = [Token(*row) for row in zip(*self._lazy_columns())]
            self._columns = None
        return self._tokens

    def _lazy_columns(self) -> tuple:
        """The columns of a Doc whose tokens are not built yet (one of the two is always set)."""
        assert self._columns is not None
        return self._columns

    def __eq__(self, other) -> bool:
        return isinstance(other, Doc) and (self.text, self.tokens, self.ents) == (other.text, other.tokens, other.ents)

    @property
    def tags(self) -> list[str]:
        """The BIO2 tag of every token."""
        return list(self._lazy_columns()[3]) if self._tokens is None else [t.tag for t in self.tokens]

    def to_dict(self) -> dict:
        return {"text": self.text, "ents": [e._asdict() for e in self.ents]}

    def __iter__(self) -> Iterator[Token]:
        return iter(self.tokens)

    def __len__(self) -> int:
        return len(self._lazy_columns()[0]) if self._tokens is None else len(self._tokens)

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"Doc({text!r}, {len(self)} tokens, ents={[(e.text, e.label) for e in self.ents][:10]})"


def span_scores(proba: np.ndarray, found: list[tuple[str, int, int]]) -> list[float]:
    """Mean of ``proba`` (n,) over each (label, start, end) span, in one vectorised pass."""
    if not found:
        return []
    bounds = np.array([(a, b) for _, a, b in found], dtype=np.int64).ravel()
    sums = np.add.reduceat(np.append(proba.astype(np.float64), 0.0), bounds)[::2]
    return (sums / (bounds[1::2] - bounds[::2])).tolist()
