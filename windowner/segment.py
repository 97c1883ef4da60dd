"""Raw text to sentences of tokens (spaCy's English tokenizer, then sentence cuts), and tags back onto spaCy Docs.

The tokenizer is non-destructive (every token knows its character offset); whitespace tokens are
dropped and the rest is cut into sentences at ``. ! ? …``, at blank lines and after
:data:`MAX_SENTENCE_TOKENS` tokens.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from .doc import span_scores
from .tags import bio2_spans

SCORE_ATTR = "windowner_score"  # spaCy Span extension holding an entity's score
MAX_SENTENCE_TOKENS = 256  # longer runs without sentence punctuation are cut into pieces
SENTENCE_END = frozenset({".", "!", "?", "…"})
_SURROGATE = re.compile("[\ud800-\udfff]")


class Segmentation(NamedTuple):
    """The tokens of one text that get tagged: ``words[i]`` starts at character ``starts[i]`` and is token
    ``index[i]`` of the spaCy Doc; sentence j is ``words[cuts[j]:cuts[j + 1]]``."""

    words: list[str]
    starts: list[int]
    index: list[int]
    cuts: list[int]

    def sentences(self) -> list[list[str]]:
        """The words of each sentence."""
        return [self.words[a:b] for a, b in zip(self.cuts, self.cuts[1:])]


def segment_doc(tokens, text: str | None = None) -> Segmentation:
    """Drop the whitespace tokens of a spaCy Doc and cut the rest into sentences.

    Sentences end after ``. ! ? …``, at whitespace holding a blank line, and every MAX_SENTENCE_TOKENS
    tokens. ``text``: the text to slice words from (the original, when the Doc was made from a copy with
    lone surrogates replaced; same length). Reads plain integer rows, never spaCy Token objects.
    """
    from spacy.attrs import IDX, IS_SPACE, LENGTH, ORTH

    src = tokens.text if text is None else text
    ends = {tokens.vocab.strings.add(mark) for mark in SENTENCE_END}
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
    return Segmentation(words, starts, index, cuts)


def english_tokenizer():
    """spaCy's English tokenizer (a blank English pipeline's)."""
    import spacy

    return spacy.blank("en").tokenizer


def check_text(text, where: str = "text") -> str:
    """``text`` if it is a str; TypeError naming ``where`` (and how to decode bytes) otherwise."""
    if not isinstance(text, str):
        hint = "; decode bytes first (text.decode('utf-8'))" if isinstance(text, (bytes, bytearray)) else ""
        raise TypeError(f"windowner tags str, but {where} is {type(text).__name__}{hint}")
    return text


def tokenizable(text: str) -> str:
    """``text`` with lone surrogates (which spaCy cannot hash) replaced by U+FFFD, keeping every offset."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def segment_text(tokenizer, text: str) -> Segmentation:
    """Tokenize ``text`` with ``tokenizer`` and cut it into sentences; offsets index ``text`` itself."""
    return segment_doc(tokenizer(tokenizable(text)), text)


def set_spacy_entities(doc, seg: Segmentation, tags: list[str], proba: np.ndarray):
    """Set ``doc.ents`` of the spaCy Doc ``doc`` from the BIO2 ``tags`` of its tagged tokens ``seg`` and put
    each entity's score (mean probability, (n,) ``proba``) in ``span._.windowner_score``; replaces
    entities set before. Returns ``doc``."""
    from spacy.tokens import Span

    if not Span.has_extension(SCORE_ATTR):
        Span.set_extension(SCORE_ATTR, default=None)
    index = seg.index
    found = bio2_spans(tags)
    ents = []
    for (label, a, b), score in zip(found, span_scores(proba, found)):
        span = Span(doc, index[a], index[b - 1] + 1, label=label)
        span._.set(SCORE_ATTR, score)
        ents.append(span)
    doc.ents = ents
    return doc
