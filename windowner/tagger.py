"""Tagging raw text from Python: ``windowner.load(dir)("Obama visited Paris on 5 May.")``.

Text is tokenized with spaCy's English tokenizer (non-destructive: every token knows its character
offset), whitespace tokens are dropped, and the rest is cut into sentences at ``. ! ? …``, at blank
lines and after :data:`MAX_SENTENCE_TOKENS` tokens. Sentences of many texts are tagged together, in
model calls of at most :data:`MAX_CALL_TOKENS` tokens (bounded memory, whatever the text length).
"""

from __future__ import annotations

import os
import re

from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

import numpy as np

from .conll import bio2_spans as spans
from .errors import ModelError, WindownerError
from .ner import NERModel

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "default"  # written by `make demo`
MAX_SENTENCE_TOKENS = 256  # longer runs without sentence punctuation are cut into pieces
MAX_CALL_TOKENS = 100_000  # tokens per model call; the model works through them in small chunks
_SENTENCE_END = frozenset({".", "!", "?", "…"})
_SURROGATE = re.compile("[\ud800-\udfff]")


class Entity(NamedTuple):
    """An entity span: ``doc.text[start_char:end_char] == text``; ``start``/``end`` are token indices
    into ``doc.tokens``; ``score`` is the mean probability of the chosen tags over its tokens."""

    text: str
    label: str
    start_char: int
    end_char: int
    score: float
    start: int
    end: int


class Token(NamedTuple):
    """A non-whitespace token: ``doc.text[start_char:end_char] == text``, its BIO2 tag and that tag's probability."""

    text: str
    start_char: int
    end_char: int
    tag: str
    score: float


class Doc:
    """A tagged text: ``tokens`` (whitespace dropped) and ``ents``, both with character offsets into ``text``.

    ``tokens`` is built on first access, so tagging many texts only pays for what is read.
    """

    def __init__(self, text: str, tokens: list[Token] | None = None, ents: list[Entity] | None = None, *,
                 _columns: tuple | None = None):
        self.text, self.ents = text, list(ents or [])
        self._tokens = None if _columns is not None else list(tokens or [])
        self._columns = _columns  # (words, starts, ends, tags, scores)

    @property
    def tokens(self) -> list[Token]:
        if self._tokens is None:
            self._tokens = [Token(*row) for row in zip(*self._columns)]
            self._columns = None
        return self._tokens

    def __eq__(self, other) -> bool:
        return isinstance(other, Doc) and (self.text, self.tokens, self.ents) == (other.text, other.tokens, other.ents)

    @property
    def tags(self) -> list[str]:
        """The BIO2 tag of every token."""
        return list(self._columns[3]) if self._tokens is None else [t.tag for t in self.tokens]

    def to_dict(self) -> dict:
        return {"text": self.text, "ents": [e._asdict() for e in self.ents]}

    def __iter__(self) -> Iterator[Token]:
        return iter(self.tokens)

    def __len__(self) -> int:
        return len(self._columns[0]) if self._tokens is None else len(self._tokens)

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"Doc({text!r}, {len(self)} tokens, ents={[(e.text, e.label) for e in self.ents][:10]})"


class _Segments(NamedTuple):
    """The tokens of one text that get tagged: ``words[i]`` starts at character ``starts[i]`` and is token
    ``index[i]`` of the spaCy Doc; sentence j is ``words[cuts[j]:cuts[j + 1]]``."""

    words: list[str]
    starts: list[int]
    index: list[int]
    cuts: list[int]


def _segment(tokens, text: str | None = None) -> _Segments:
    """Drop whitespace tokens of a spaCy Doc and cut the rest into sentences.

    Sentences end after ``. ! ? …``, at whitespace holding a blank line, and every MAX_SENTENCE_TOKENS
    tokens. ``text``: the text to slice words from (the original, when the Doc was made from a copy with
    lone surrogates replaced; same length). Reads plain integer rows, never spaCy Token objects.
    """
    from spacy.attrs import IDX, IS_SPACE, LENGTH, ORTH

    src = tokens.text if text is None else text
    ends = {tokens.vocab.strings.add(mark) for mark in _SENTENCE_END}
    words: list[str] = []
    starts: list[int] = []
    index: list[int] = []
    cuts = [0]
    for i, (a, n, space, orth) in enumerate(tokens.to_array([IDX, LENGTH, IS_SPACE, ORTH]).tolist()):
        if space:
            if len(words) > cuts[-1] and src.count("\n", a, a + n) >= 2:  # a blank line ends a sentence
                cuts.append(len(words))
            continue
        words.append(src[a:a + n])
        starts.append(a)
        index.append(i)
        if orth in ends or len(words) - cuts[-1] >= MAX_SENTENCE_TOKENS:
            cuts.append(len(words))
    if cuts[-1] != len(words):
        cuts.append(len(words))
    return _Segments(words, starts, index, cuts)


def _tokenizer():
    import spacy

    return spacy.blank("en").tokenizer


def _check_text(text, where: str = "text") -> str:
    if not isinstance(text, str):
        hint = "; decode bytes first (text.decode('utf-8'))" if isinstance(text, (bytes, bytearray)) else ""
        raise TypeError(f"windowner tags str, but {where} is {type(text).__name__}{hint}")
    return text


def _tokenizable(text: str) -> str:
    """``text`` with lone surrogates (which spaCy cannot hash) replaced by U+FFFD, keeping every offset."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


class Tagger:
    """Raw text in, entities with labels, character offsets and scores out.

    >>> tagger = windowner.load("model/")
    >>> [(e.text, e.label) for e in tagger("Obama visited Paris on 5 May.").ents]
    """

    def __init__(self, model: NERModel, path: str | os.PathLike | None = None):
        self.model = model
        self.path = None if path is None else Path(path)
        self._tok = None

    def __repr__(self) -> str:
        where = f"path={str(self.path)!r}, " if self.path is not None else ""
        return f"Tagger({where}labels={self.labels}, window={self.model.window})"

    # -- construction and files -----------------------------------------------------------------

    @classmethod
    def from_disk(cls, path: str | os.PathLike) -> "Tagger":
        """Load a model directory written by :meth:`to_disk` or ``windowner train``."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"a model path is a str or os.PathLike, got {type(path).__name__}")
        try:
            model = NERModel.from_disk(path)
        except WindownerError:  # ModelError, or DataError from the model's vectors: already says what to do
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ModelError(_diagnose(Path(path), exc)) from exc
        return cls(model, path)

    def to_disk(self, path: str | os.PathLike) -> Path:
        """Write the model directory (atomically); ``windowner.load(path)`` gives identical predictions."""
        self.path = self.model.to_disk(path)
        return self.path

    @property
    def labels(self) -> list[str]:
        """Entity types, e.g. ["DATE", "LOC", "PER"]."""
        return self.model.labels

    @property
    def tags(self) -> list[str]:
        """The BIO2 tags the model predicts ("O" first)."""
        return list(self.model.tags)

    @property
    def tokenizer(self):
        """The spaCy tokenizer used for raw text (a blank English pipeline's)."""
        if self._tok is None:
            self._tok = _tokenizer()
        return self._tok

    # -- pre-tokenized input --------------------------------------------------------------------

    def tag_tokens(self, sentences: Iterable[Sequence[str]]) -> list[list[str]]:
        """Pre-tokenized sentences -> BIO2 tags, one list per sentence (same lengths)."""
        if isinstance(sentences, (str, bytes)):
            raise TypeError("tag_tokens takes a list of sentences, each a list of token strings, "
                            "e.g. [['Obama', 'visited', 'Paris']]; for raw text call tagger(text)")
        checked = []
        for i, sent in enumerate(sentences):
            if type(sent) is not list and (isinstance(sent, (str, bytes)) or not isinstance(sent, Iterable)):
                raise TypeError(f"tag_tokens takes a list of sentences, each a list of token strings, but sentence {i} "
                                f"is {type(sent).__name__}; e.g. [['Obama', 'visited', 'Paris']]")
            checked.append(sent if type(sent) is list else list(sent))
        try:  # token types are checked where a token is first seen (the lexicon), not once per token here
            return self._predict(checked)
        except TypeError:
            for i, sent in enumerate(checked):
                for j, tok in enumerate(sent):
                    if not isinstance(tok, str):
                        raise TypeError(f"sentence {i}, token {j} is {type(tok).__name__}; tokens must be str") from None
            raise

    def _predict(self, sentences: list[list[str]], with_proba: bool = False):
        """``model.predict`` in calls of at most MAX_CALL_TOKENS tokens (whole sentences)."""
        if sum(map(len, sentences)) <= MAX_CALL_TOKENS:
            return self.model.predict(sentences, with_proba=with_proba)
        tags: list = []
        proba: list = []
        lo, count = 0, 0
        for hi in range(len(sentences) + 1):
            n = len(sentences[hi]) if hi < len(sentences) else 0
            if hi == len(sentences) or (count + n > MAX_CALL_TOKENS and hi > lo):
                out = self.model.predict(sentences[lo:hi], with_proba=with_proba)
                if with_proba:
                    tags += out[0]
                    proba += out[1]
                else:
                    tags += out
                lo, count = hi, 0
            count += n
        return (tags, proba) if with_proba else tags

    # -- raw text -------------------------------------------------------------------------------

    def __call__(self, text: str) -> Doc:
        """Tag one text. Empty or whitespace-only text gives a Doc without tokens."""
        return self._tag_batch([_check_text(text)])[0]

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        """Tag a stream of texts lazily (a generator), sentences of ``batch_size`` texts tagged together."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("pipe takes an iterable of texts (e.g. a list of str); to tag one text call tagger(text)")
        if not isinstance(texts, Iterable):
            raise TypeError(f"pipe takes an iterable of texts, got {type(texts).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        return self._pipe(iter(texts), batch_size)

    def _pipe(self, texts: Iterator[str], batch_size: int) -> Iterator[Doc]:
        done = 0
        while True:
            batch = list(islice(texts, batch_size))
            if not batch:
                return
            for i, t in enumerate(batch):
                _check_text(t, f"text {done + i} of the stream")
            done += len(batch)
            yield from self._tag_batch(batch)

    def explain(self, text: str, **kwargs):
        """Per token, how much each window position drives its class score (∂s_c/∂x); see :mod:`windowner.explain`."""
        from .explain import explain

        return explain(self, text, **kwargs)

    def to_spacy(self, text: str):
        """Tag ``text`` into a spaCy ``Doc`` (same tokenizer) with ``doc.ents`` set and each entity's score
        in ``span._.windowner_score``. Lone surrogates, which spaCy cannot hold, become U+FFFD."""
        from .spacy_component import set_entities

        doc = self.tokenizer(_tokenizable(_check_text(text)))
        seg = _segment(doc)
        [(tags, proba)] = self._tag_segments([seg])
        return set_entities(doc, seg, tags, proba)

    def _split(self, text: str) -> tuple[list[str], list[int], list[int]]:
        """(words, start offsets, sentence cuts) of a text, as :meth:`__call__` tags it."""
        seg = self._segments([text])[0]
        return seg.words, seg.starts, seg.cuts

    def _segments(self, texts: list[str]) -> list[_Segments]:
        out = []
        for text in texts:
            clean = _tokenizable(text)
            out.append(_segment(self.tokenizer(clean), text))
        return out

    def _tag_segments(self, segs: list[_Segments]) -> list[tuple[list[str], np.ndarray]]:
        """One (tags, probabilities) pair per text, all sentences of all texts tagged together."""
        sentences = [seg.words[a:b] for seg in segs for a, b in zip(seg.cuts, seg.cuts[1:])]
        tags, proba = self._predict(sentences, with_proba=True)
        out, s = [], 0
        for seg in segs:
            n = len(seg.cuts) - 1
            doc_tags = [t for sent in tags[s:s + n] for t in sent]
            doc_proba = np.concatenate(proba[s:s + n]) if n else np.zeros(0)
            out.append((doc_tags, doc_proba))
            s += n
        return out

    def _tag_batch(self, texts: list[str]) -> list[Doc]:
        segs = self._segments(texts)
        return [_make_doc(text, seg, tags, proba)
                for text, seg, (tags, proba) in zip(texts, segs, self._tag_segments(segs))]


def _make_doc(text: str, seg: _Segments, tags: list[str], proba: np.ndarray) -> Doc:
    words, starts = seg.words, seg.starts
    ends = [a + len(w) for a, w in zip(starts, words)]
    found = spans(tags)
    ents = [Entity(text[starts[a]:ends[b - 1]], label, starts[a], ends[b - 1], score, a, b)
            for (label, a, b), score in zip(found, span_scores(proba, found))]
    return Doc(text, ents=ents, _columns=(words, starts, ends, tags, proba.tolist()))


def span_scores(proba: np.ndarray, found: list[tuple[str, int, int]]) -> list[float]:
    """Mean of ``proba`` (n,) over each (label, start, end) span, in one vectorised pass."""
    if not found:
        return []
    bounds = np.array([(a, b) for _, a, b in found], dtype=np.int64).ravel()
    sums = np.add.reduceat(np.append(proba.astype(np.float64), 0.0), bounds)[::2]
    return (sums / (bounds[1::2] - bounds[::2])).tolist()


def _diagnose(path: Path, exc: Exception) -> str:
    """Which file of a model directory made loading fail with ``exc``, and what to do."""
    fix = "retrain the model or copy the whole directory again"
    for name in ("config.json", "vocab.txt", "suffixes.txt", "pretrained.txt"):
        f = path / name
        if f.exists():
            try:
                f.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                return f"{f}: not valid UTF-8 ({err.reason}); the file is corrupt — {fix}"
    if isinstance(exc, KeyError):
        return f"{path / 'config.json'}: the entry {exc.args[0]!r} is missing; the file is incomplete or corrupt — {fix}"
    return (f"{path}: the model files are inconsistent ({type(exc).__name__}: {exc}); config.json, vocab.txt, "
            f"suffixes.txt and weights.npz must come from one `windowner train` run — {fix}")


def load(path: str | os.PathLike | None = None) -> Tagger:
    """Load a model directory written by ``windowner train`` or ``Tagger.to_disk`` (default: the one ``make demo``
    trains, or ``$WINDOWNER_MODEL``)."""
    if path is None:
        path = Path(os.environ.get("WINDOWNER_MODEL", "") or DEFAULT_MODEL_DIR)
        if not Path(path).is_dir():
            raise ModelError(f"{path}: no default model yet; run `make demo` to train it, or pass a model "
                             "directory written by `windowner train`")
    return Tagger.from_disk(path)
