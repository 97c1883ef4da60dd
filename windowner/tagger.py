"""Tagging raw text from Python: ``windowner.load(dir)("Obama visited Paris on 5 May.")``."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .decode import spans
from .errors import ModelError
from .ner import NERModel

DEFAULT_MODEL_DIR = Path("models") / "default"
MAX_SENTENCE_TOKENS = 256  # longer runs without sentence punctuation are cut into pieces
_SENTENCE_END = frozenset({".", "!", "?", "…"})


@dataclass(frozen=True)
class Entity:
    """An entity span: ``doc.text[start_char:end_char] == text``; ``start``/``end`` are token indices."""

    text: str
    label: str
    start_char: int
    end_char: int
    score: float
    start: int
    end: int


@dataclass(frozen=True)
class Token:
    text: str
    start_char: int
    end_char: int
    tag: str
    score: float


@dataclass
class Doc:
    text: str
    tokens: list[Token] = field(default_factory=list)
    ents: list[Entity] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"text": self.text, "ents": [asdict(e) for e in self.ents]}

    def __iter__(self):
        return iter(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)


def _tokenizer():
    import spacy

    return spacy.blank("en").tokenizer


def _check_text(text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"windowner tags str, got {type(text).__name__}; decode bytes first (text.decode('utf-8'))")
    return text


class Tagger:
    """Raw text in, entities with labels, character offsets and scores out.

    >>> tagger = windowner.load("model/")
    >>> [(e.text, e.label) for e in tagger("Obama visited Paris on 5 May.").ents]
    """

    def __init__(self, model: NERModel, path: str | os.PathLike | None = None):
        self.model = model
        self.path = None if path is None else Path(path)
        self._tok = None

    # -- construction and files -----------------------------------------------------------------

    @classmethod
    def from_disk(cls, path: str | os.PathLike) -> "Tagger":
        return cls(NERModel.from_disk(path), path)

    def to_disk(self, path: str | os.PathLike) -> Path:
        self.path = self.model.to_disk(path)
        return self.path

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    @property
    def tokenizer(self):
        if self._tok is None:
            self._tok = _tokenizer()
        return self._tok

    # -- pre-tokenized input --------------------------------------------------------------------

    def tag_tokens(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Pre-tokenized sentences -> BIO2 tags, one list per sentence."""
        if isinstance(sentences, (str, bytes)) or (sentences and isinstance(sentences[0], str)):
            raise TypeError("tag_tokens takes a list of sentences, each a list of token strings, "
                            "e.g. [['Obama', 'visited', 'Paris']]")
        return self.model.predict([list(s) for s in sentences])

    # -- raw text -------------------------------------------------------------------------------

    def __call__(self, text: str) -> Doc:
        return next(self.pipe([text]))

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        """Tag a stream of texts lazily: one model call per batch of texts."""
        texts = iter(texts)
        while True:
            batch = list(islice(texts, batch_size))
            if not batch:
                return
            yield from self._tag_batch([_check_text(t) for t in batch])

    def _split(self, text: str):
        """Tokens of one text (spaCy's English tokenizer, whitespace tokens dropped) cut into sentences."""
        words, starts, cuts = [], [], [0]
        for tok in self.tokenizer(text):
            if tok.is_space:
                if "\n\n" in tok.text and len(words) > cuts[-1]:
                    cuts.append(len(words))
                continue
            words.append(tok.text)
            starts.append(tok.idx)
            if (tok.text in _SENTENCE_END or len(words) - cuts[-1] >= MAX_SENTENCE_TOKENS) and len(words) > cuts[-1]:
                cuts.append(len(words))
        if cuts[-1] != len(words):
            cuts.append(len(words))
        return words, starts, cuts

    def _tag_batch(self, texts: list[str]) -> list[Doc]:
        pieces = [self._split(t) for t in texts]
        sentences = [words[a:b] for words, _, cuts in pieces for a, b in zip(cuts, cuts[1:])]
        tags, proba = self.model.predict(sentences, with_proba=True)
        docs, s = [], 0
        for text, (words, starts, cuts) in zip(texts, pieces):
            n_sent = len(cuts) - 1
            doc_tags = [t for sent in tags[s:s + n_sent] for t in sent]
            doc_proba = np.concatenate(proba[s:s + n_sent]) if n_sent else np.zeros(0)
            s += n_sent
            docs.append(self._make_doc(text, words, starts, doc_tags, doc_proba))
        return docs

    @staticmethod
    def _make_doc(text: str, words, starts, tags, proba) -> Doc:
        ends = [a + len(w) for a, w in zip(starts, words)]
        tokens = [Token(w, a, e, t, float(p)) for w, a, e, t, p in zip(words, starts, ends, tags, proba)]
        ents = [Entity(text[starts[a]:ends[b - 1]], label, starts[a], ends[b - 1], float(np.mean(proba[a:b])), a, b)
                for label, a, b in spans(tags)]
        return Doc(text, tokens, ents)


def load(path: str | os.PathLike | None = None) -> Tagger:
    """Load a model directory written by ``windowner train`` (default: the one ``make demo`` trains)."""
    if path is None:
        path = Path(os.environ.get("WINDOWNER_MODEL", DEFAULT_MODEL_DIR))
        if not Path(path).is_dir():
            raise ModelError(f"{path}: no default model yet; run `make demo` to train it, or pass a model "
                             "directory written by `windowner train`")
    return Tagger.from_disk(path)
