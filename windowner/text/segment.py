"""Raw text to sentences of tokens (the model's tokenizer, then sentence cuts), and tags back onto spaCy Docs.

The tokenizer follows the conventions of the model's training data (:mod:`windowner.text.conventions`;
spaCy's English tokenizer for models without them): spaCy's algorithm in plain Python
(:mod:`windowner.text.tokenizer`), or a spaCy ``Tokenizer`` for spaCy Docs. It is non-destructive: every
token knows its character offset. Whitespace tokens are dropped and the rest is
cut into sentences by :func:`sentence_cuts`: after ``. ! ? …`` (and the quotes or brackets that close
with them) when the next token can start a sentence, at blank lines, and at most every
:data:`MAX_SENTENCE_TOKENS` tokens, never inside a run of capitalised tokens when it can be helped.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .conventions import gives_final_period
from .doc import span_scores
from .tags import bio2_spans
from .tokenizer import Token

SCORE_ATTR = "windowner_score"  # spaCy Span extension holding an entity's score
MAX_SENTENCE_TOKENS = 256  # longer runs without a sentence end are cut into pieces
CAP_LOOKBACK = 64  # a capped sentence may end up to this many tokens early, at a better boundary
MAX_TOKENIZER_WORDS = 200_000  # a raw-text tokenizer whose Vocab holds this many words is replaced (~90 MB)
SENTENCE_END = frozenset({".", "!", "?", "…", "...", "..", "....", "!!", "!!!", "??", "?!", "!?", "。", "！", "？"})
CLOSERS = frozenset({")", "]", "}", "”", "’", "»", "›", "''"})  # always close what a sentence end is inside
QUOTES = frozenset({'"', "'"})  # open or close: decided by the spaces around them, else by parity
OPENERS = frozenset("\"“‘«‹([{'`„")
NOT_STARTS = frozenset(",;:%)]}/")  # a token starting with one of these continues the sentence
CLAUSE_END = SENTENCE_END | CLOSERS | {",", ";", ":", "—", "--"}  # the length cap cuts after these first
_SURROGATE = re.compile("[\ud800-\udfff]")


class Segmentation(NamedTuple):
    """The tokens of one text that get tagged: ``words[i]`` starts at character ``starts[i]`` and is (part of)
    token ``index[i]`` of the tokenizer's output (of the spaCy Doc); sentence j is ``words[cuts[j]:cuts[j + 1]]``."""

    words: list[str]
    starts: list[int]
    index: list[int]  # type: ignore[assignment]  # the field shadows tuple.index: the name is public API
    cuts: list[int]

    def sentences(self) -> list[list[str]]:
        """The words of each sentence."""
        return [self.words[a:b] for a, b in zip(self.cuts, self.cuts[1:])]


def segment_doc(doc, text: str | None = None, final_period: bool = False) -> Segmentation:
    """:func:`segment_tokens` on the tokens of a spaCy Doc (read as plain integer rows, never Token objects);
    ``text``: the text to slice words from (the original, when the Doc was made from a copy with lone
    surrogates replaced; same length)."""
    from spacy.attrs import IDX, IS_SPACE, LENGTH

    rows = doc.to_array([IDX, LENGTH, IS_SPACE]).tolist()
    return segment_tokens(
        [(a, a + n, bool(space)) for a, n, space in rows], doc.text if text is None else text, final_period
    )


def segment_tokens(tokens: Sequence[Token], text: str, final_period: bool = False) -> Segmentation:
    """Drop the whitespace tokens of ``tokens`` ((start, end, is_space) offsets into ``text``, as
    :class:`~windowner.text.tokenizer.Tokenizer` makes them) and cut the rest into sentences (:func:`sentence_cuts`).

    ``final_period``: an abbreviation that ends the text or comes before a blank line (``Lear Corp.``) is
    two words, ``Corp`` and ``.``, both parts of the one token, as in training data whose sentences take
    the period of a final abbreviation.
    """
    words: list[str] = []
    starts: list[int] = []
    index: list[int] = []
    candidates: list[int] = []
    breaks: list[int] = []
    for i, (a, b, space) in enumerate(tokens):
        if space:
            if words and text.count("\n", a, b) >= 2:  # a blank line ends a sentence
                breaks.append(len(words))
            continue
        w = text[a:b]
        if w in SENTENCE_END:
            candidates.append(len(words))
        words.append(w)
        starts.append(a)
        index.append(i)
    if final_period and words:
        for end in sorted({len(words), *breaks}, reverse=True):
            k = end - 1
            while k > 0 and (words[k] in CLOSERS or words[k] in QUOTES):
                k -= 1
            if gives_final_period(words[k]):
                w = words[k]
                words[k : k + 1] = [w[:-1], "."]
                starts.insert(k + 1, starts[k] + len(w) - 1)
                index.insert(k + 1, index[k])
                candidates = [c + (c > k) for c in candidates] + [k + 1]
                breaks = [b + (b > k) for b in breaks]
        candidates.sort()
    return Segmentation(words, starts, index, sentence_cuts(words, starts, text, candidates, breaks))


def sentence_cuts(
    words: Sequence[str],
    starts: Sequence[int],
    text: str,
    candidates: Sequence[int] | None = None,
    breaks: Sequence[int] = (),
) -> list[int]:
    """Sentence boundaries of the tokens ``words`` (at character offsets ``starts`` of ``text``): [0, ..., n].

    A sentence ends after a token of :data:`SENTENCE_END` (``candidates``: their indices, found here when
    None), together with the closing quotes, brackets and further end marks that follow it, if the next
    token can start a sentence: not a lower-case word, not ``, ; : % ) ] } /``, and not a number unless a
    line break comes first. The period of a numbered line (``2.`` at the start of a line) ends nothing. A
    straight quote closes when it is attached to the token before and not to the one after (``said."``),
    opens in the reverse case, and otherwise closes when the sentence holds an odd number of them.
    ``breaks``: indices of tokens that start a sentence anyway (after a blank line).
    Sentences longer than :data:`MAX_SENTENCE_TOKENS` are cut by :func:`cap_sentences`.
    """
    n = len(words)
    if candidates is None:
        candidates = [i for i, w in enumerate(words) if w in SENTENCE_END]
    if not breaks and (not candidates or candidates[0] == n - 1):  # one sentence (the common case: be quick)
        return cap_sentences(words, [0, n]) if n else [0]
    breaks = sorted(b for b in set(breaks) if 0 < b < n)
    forced = set(breaks)
    cuts = [0]
    quotes: dict[str, list[int]] = {}
    for i in candidates:
        if i == n - 1 or i < cuts[-1] or _list_marker(words, starts, text, i):  # text end; absorbed; "1." of a list
            continue
        since = max(cuts[-1], breaks[bisect_right(breaks, i) - 1] if breaks and breaks[0] <= i else 0)
        j = i + 1
        while j < n:
            w = words[j]
            if j in forced:
                break
            if w in SENTENCE_END or w in CLOSERS or (w in QUOTES and _closes(words, starts, j, since, quotes)):
                j += 1
            else:
                break
        if j < n and j not in forced and _can_start(words, starts, text, j):
            cuts.append(j)
    cuts = sorted(set(cuts).union(breaks)) + [n] if n else [0]
    return cap_sentences(words, cuts)


def _attached(starts: Sequence[int], words: Sequence[str], left: int) -> bool:
    """True if token ``left + 1`` follows token ``left`` without whitespace."""
    return starts[left] + len(words[left]) == starts[left + 1]


def _list_marker(words: Sequence[str], starts: Sequence[int], text: str, i: int) -> bool:
    """Is ``words[i]`` the period of a numbered line ("\\n2. Anna won"), not a sentence end?"""
    if i == 0 or words[i] != "." or not words[i - 1].isdigit() or not _attached(starts, words, i - 1):
        return False
    return i == 1 or "\n" in text[starts[i - 2] + len(words[i - 2]) : starts[i - 1]]


def _closes(words: Sequence[str], starts: Sequence[int], j: int, since: int, quotes: dict[str, list[int]]) -> bool:
    """Does the straight quote ``words[j]`` close a quotation (rather than open the next sentence's)?"""
    if j + 1 == len(words):  # nothing left to open
        return True
    before = _attached(starts, words, j - 1)
    after = _attached(starts, words, j)
    if before != after:
        return before
    q = words[j]
    if q not in quotes:
        quotes[q] = [k for k, w in enumerate(words) if w == q]
    at = quotes[q]
    return (bisect_left(at, j) - bisect_left(at, since)) % 2 == 1


def _can_start(words: Sequence[str], starts: Sequence[int], text: str, j: int) -> bool:
    """Can token ``j`` start a sentence (after a sentence-end mark)?"""
    w = words[j]
    c = w[0]
    if c.islower() or c in NOT_STARTS:
        return False
    if c.isdigit():
        return "\n" in text[starts[j - 1] : starts[j]]  # "No. 5" goes on; a numbered line starts anew
    if c in OPENERS and j + 1 < len(words) and len(w) == 1:
        nxt = words[j + 1][0]
        return not (nxt.islower() or nxt in NOT_STARTS)
    return True


def cap_sentences(words: Sequence[str], cuts: list[int], limit: int | None = None) -> list[int]:
    """``cuts`` with every sentence longer than ``limit`` (:data:`MAX_SENTENCE_TOKENS`) cut into pieces.

    Each piece ends at the best boundary among its last :data:`CAP_LOOKBACK` positions: after
    punctuation first, else between two tokens that are not both capitalised or numeric (so that a
    name or a date stays in one piece: cut before ``Kofi Mensah``, not inside it), else at the limit.
    """
    limit = MAX_SENTENCE_TOKENS if limit is None else limit
    if cuts[-1] <= limit:
        return cuts
    out = [0]
    for a, b in zip(cuts, cuts[1:]):
        while b - a > limit:
            best, best_score = a + limit, -1
            for k in range(a + limit, max(a + 1, a + limit - CAP_LOOKBACK), -1):  # cut before words[k]
                left, right = words[k - 1], words[k]
                score = 2 if left in CLAUSE_END else 0 if _capital(left) and _capital(right) else 1
                if score > best_score:
                    best, best_score = k, score
                    if score == 2:
                        break
            out.append(best)
            a = best
        out.append(b)
    return out


def _capital(word: str) -> bool:
    """Could ``word`` be inside a name or a date (capitalised or numeric)?"""
    c = word[0]
    return c.isupper() or c.isdigit()


def tokenizer_is_full(tokenizer) -> bool:
    """True once ``tokenizer``'s Vocab (which spaCy grows by every new word) holds :data:`MAX_TOKENIZER_WORDS`."""
    return len(tokenizer.vocab) >= MAX_TOKENIZER_WORDS


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


def segment_text(tokenizer, text: str, final_period: bool = False) -> Segmentation:
    """Tokenize ``text`` with ``tokenizer`` (a :class:`~windowner.text.tokenizer.Tokenizer`, or a spaCy tokenizer)
    and cut it into sentences (see :func:`segment_tokens`); offsets index ``text`` itself."""
    tokens = tokenizer(tokenizable(text))
    if isinstance(tokens, list):
        return segment_tokens(tokens, text, final_period)
    return segment_doc(tokens, text, final_period)


def set_spacy_entities(doc, seg: Segmentation, tags: list[str], proba: np.ndarray):
    """Set ``doc.ents`` of the spaCy Doc ``doc`` from the BIO2 ``tags`` of its tagged tokens ``seg`` and put
    each entity's score (mean probability, (n,) ``proba``) in ``span._.windowner_score``; replaces
    entities set before (an entity that ends inside a spaCy token, ``Corp`` of ``Corp.``, takes all of it).
    Returns ``doc``."""
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
