"""spaCy's tokenizer algorithm in plain Python, over tables saved with the model: raw text → tokens.

Tagging raw text used to build a spaCy ``Tokenizer``: ``import spacy`` alone took about a second and
90 MB, and every new word grew its ``Vocab``. The algorithm itself is small and documented
(https://spacy.io/usage/linguistic-features#how-tokenizer-works), and its regexes are plain ``re``
patterns, so :class:`Tokenizer` runs it on :class:`TokenizerTables` — the prefix, suffix, infix,
token-match and URL patterns and the special cases of the spaCy tokenizer a model was trained with,
read off it once (:func:`windowner.text.conventions.spacy_tables`) and saved in ``tokenizer.json``:

1. the text is cut at whitespace; one space after a token belongs to it, any other whitespace is a token;
2. each piece is a special case, or loses prefixes and suffixes (a special case or a token match stops
   it), and what is left is a special case, a token or URL match, or is split at infixes;
3. special cases that the affixes split (``:)`` in ``a:)``) are put back over the whole text, longest
   first, when the tokens they match are written without spaces between them.

Tokens are ``(start, end, is_space)`` character offsets into the text; the tests check them against
spaCy's own tokenizer on the corpora and on random text. The output does not depend on the cache or on
earlier calls, and a tokenizer may be shared between threads.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import overload

TABLES_FORMAT = 1
MAX_CACHE = 200_000  # pieces of text remembered; the cache is emptied when full (memory stays bounded)
_PATTERNS = ("prefix", "suffix", "infix", "url_match")
_WORD = re.compile(r"\S+")
_HAS_SPACE = re.compile(r"\s")

Token = tuple[int, int, bool]  # (start, end, is_space)


@dataclass(frozen=True)
class TokenizerTables:
    """A spaCy tokenizer's settings as data: ``re`` patterns (source, flags) of its prefix search, suffix
    search, infix finditer and URL match, the patterns of its token match (any of them matches), and its
    special cases (key → the texts of its tokens)."""

    patterns: dict[str, tuple[str, int] | None]
    token_match: tuple[tuple[str, int], ...] = ()
    special: dict[str, tuple[str, ...]] = field(default_factory=dict)
    spacy_version: str = ""

    def to_json(self) -> dict:
        """A JSON-ready dict (the ``tables`` of ``tokenizer.json``), with the SHA-256 of its contents: a damaged
        pattern could still compile and tokenize differently, without a word."""
        data = {
            "format": TABLES_FORMAT,
            "spacy_version": self.spacy_version,
            "patterns": {k: None if v is None else list(v) for k, v in sorted(self.patterns.items())},
            "token_match": [list(p) for p in self.token_match],
            "special": {k: list(v) for k, v in sorted(self.special.items())},
        }
        return {**data, "sha256": _digest(data)}

    @classmethod
    def from_json(cls, data) -> TokenizerTables:
        """Tables from :meth:`to_json`'s dict; ValueError saying what is wrong (the patterns are compiled, and
        checked, by :class:`Tokenizer`: loading a model does not pay for it)."""
        if not isinstance(data, dict):
            raise ValueError(f"the tokenizer tables must be a JSON object, found a {type(data).__name__}")
        fmt = data.get("format")
        if type(fmt) is not int or not 1 <= fmt <= TABLES_FORMAT:
            raise ValueError(
                f"tokenizer tables format {fmt!r} is not supported (this windowner reads format "
                f"{TABLES_FORMAT}); upgrade windowner or retrain the model"
            )
        content = {k: v for k, v in data.items() if k != "sha256"}
        if data.get("sha256") != _digest(content):
            raise ValueError("the tokenizer tables are damaged (their SHA-256 does not match)")
        patterns, token_match, special = data.get("patterns"), data.get("token_match", []), data.get("special")
        if not isinstance(patterns, dict) or sorted(patterns) != sorted(_PATTERNS):
            raise ValueError(f"the tokenizer tables' 'patterns' must name {', '.join(_PATTERNS)}")
        if not isinstance(token_match, list):
            raise ValueError("the tokenizer tables' 'token_match' must be a list of [pattern, flags]")
        parsed = {k: None if v is None else _pattern(v, k) for k, v in patterns.items()}
        matches = tuple(_pattern(p, "token_match") for p in token_match)
        if not isinstance(special, dict) or not all(
            isinstance(k, str)
            and k
            and isinstance(v, list)
            and v
            and all(isinstance(p, str) and p for p in v)
            and "".join(v) == k
            for k, v in special.items()
        ):
            raise ValueError(
                "the tokenizer tables' 'special' must map each text to the non-empty texts of its "
                "tokens, which join to it"
            )
        return cls(parsed, matches, {k: tuple(v) for k, v in special.items()}, str(data.get("spacy_version", "")))


def _digest(data: dict) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    ).hexdigest()


def _pattern(value, name: str) -> tuple[str, int]:
    """A ``[source, flags]`` pair, as a tuple."""
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and type(value[1]) is int):
        raise ValueError(f"the tokenizer pattern {name!r} must be [source, flags]")
    return value[0], value[1]


@overload
def _compiled(pattern: tuple[str, int], name: str) -> re.Pattern: ...
@overload
def _compiled(pattern: tuple[str, int] | None, name: str) -> re.Pattern | None: ...


def _compiled(pattern: tuple[str, int] | None, name: str) -> re.Pattern | None:
    """The compiled pattern; ValueError naming it if it does not compile."""
    if pattern is None:
        return None
    try:
        return re.compile(*pattern)
    except (re.error, ValueError, TypeError) as exc:
        raise ValueError(f"the tokenizer pattern {name!r} does not compile: {exc}") from None


class Tokenizer:
    """spaCy's ``Tokenizer.__call__`` over :class:`TokenizerTables`: ``tokenizer(text)`` → a list of
    ``(start, end, is_space)``, the tokens spaCy would make, whitespace tokens included. ValueError if a
    pattern of ``tables`` does not compile."""

    def __init__(self, tables: TokenizerTables):
        self.tables = tables
        p = {k: _compiled(v, k) for k, v in tables.patterns.items()}
        self._prefix = p["prefix"].search if p["prefix"] else None
        self._suffix = p["suffix"].search if p["suffix"] else None
        self._infix = p["infix"].finditer if p["infix"] else None
        self._url = p["url_match"].match if p["url_match"] else None
        matches = [_compiled(m, "token_match").match for m in tables.token_match]
        self._matches_token = matches[0] if len(matches) == 1 else lambda s: any(match(s) for match in matches)
        self._special = {k: tuple(map(len, v)) for k, v in tables.special.items()}
        self._cache: dict[str, tuple[tuple[int, ...], bool]] = {}  # run -> (token lengths, holds a step 3 case)
        # special cases that the affixes split are matched again over the tokens of the whole text
        # (spaCy's faster_heuristics): key -> the token texts the affixes make of it
        self._merge: dict[str, list[tuple[str, ...]]] = {}
        # a special case that replaces tokens has their text, without whitespace unless its key has some: so it
        # lies inside one run of text, and step 3 runs only for texts with a run that holds one (or always, for
        # keys that mix whitespace and other characters)
        self._across_runs = False
        for key in sorted(tables.special):
            if " " in key or self._prefix_len(key) or self._suffix_len(key) or (self._infix and any(self._infix(key))):
                texts = tuple(key[a:b] for a, b, _ in self._tokens(key, specials=False)[0])
                self._merge.setdefault(texts[0], []).append(texts)
                self._across_runs = self._across_runs or (not key.isspace() and _HAS_SPACE.search(key) is not None)

    def __call__(self, text: str) -> list[Token]:
        tokens, may_merge = self._tokens(text)
        return self._merge_specials(text, tokens) if may_merge or self._across_runs else tokens

    # -- one text -------------------------------------------------------------------------------------

    def _tokens(self, text: str, specials: bool = True) -> tuple[list[Token], bool]:
        """Step 1: the runs of whitespace and of other characters, each cut by :meth:`_run`. Also: does a run
        hold a special case of step 3?"""
        out: list[Token] = []
        append = out.append
        cache = self._cache
        may_merge = False
        pos = 0  # end of the last run
        for m in _WORD.finditer(text):
            a, b = m.span()
            if a > pos and not (a == pos + 1 and pos and text[pos] == " "):  # more than the space after a token
                may_merge = self._run(text, pos, a, True, specials, append) or may_merge
            pos = b
            entry = cache.get(text[a:b]) if specials else None
            if entry is None:  # not seen yet
                may_merge = self._run(text, a, b, False, specials, append) or may_merge
                continue
            lengths, holds_special = entry  # the fast path of _run
            may_merge = may_merge or holds_special
            if len(lengths) == 1:
                append((a, b, False))
                continue
            for n in lengths:
                append((a, a + n, False))
                a += n
        if pos < len(text):
            may_merge = self._run(text, pos, len(text), True, specials, append) or may_merge
        return out, may_merge

    def _run(self, text: str, a: int, b: int, space: bool, specials: bool, append) -> bool:
        """Append the tokens of the run ``text[a:b]`` (all whitespace, or none; one space after a token is
        not part of a run); True if they hold a special case of step 3."""
        if space and a and text[a] == " ":  # the space after a token belongs to it
            a += 1
        run = text[a:b]
        entry = self._cache.get(run) if specials else None
        if entry is None:
            lengths = self._pieces(run, specials)
            entry = lengths, self._holds_special(run, lengths)
            if specials:
                if len(self._cache) >= MAX_CACHE:
                    self._cache.clear()
                self._cache[run] = entry
        for n in entry[0]:
            append((a, a + n, space))
            a += n
        return entry[1]

    def _holds_special(self, run: str, lengths: tuple[int, ...]) -> bool:
        """Do the tokens of ``run`` (their ``lengths``) hold the token texts of a special case of step 3?"""
        merge = self._merge
        ends = list(accumulate(lengths))
        texts = [run[e - n : e] for e, n in zip(ends, lengths)]
        return any(tuple(texts[i : i + len(p)]) == p for i, t in enumerate(texts) for p in merge.get(t, ()))

    def _pieces(self, s: str, specials: bool) -> tuple[int, ...]:
        """Step 2 on one run of text: the lengths of its tokens."""
        special = self._special if specials else {}
        if s in special:
            return special[s]
        prefixes: list[int] = []
        suffixes: list[int] = []
        last = -1
        while s and len(s) != last:
            if self._matches_token(s) or s in special:
                break
            last = len(s)
            pre = self._prefix_len(s)
            if pre and s[pre:] and s[pre:] in special:
                prefixes.append(pre)
                s = s[pre:]
                break
            suf = self._suffix_len(s[pre:])
            if suf and s[:-suf] and s[:-suf] in special:
                suffixes.append(suf)
                s = s[:-suf]
                break
            if pre and suf and pre + suf <= len(s):
                prefixes.append(pre)
                suffixes.append(suf)
                s = s[pre:-suf]
            elif pre:
                prefixes.append(pre)
                s = s[pre:]
            elif suf:
                suffixes.append(suf)
                s = s[:-suf]
        middle: tuple[int, ...] = ()
        if s:
            if s in special:
                middle = special[s]
            elif self._matches_token(s) or (self._url is not None and self._url(s)):
                middle = (len(s),)
            else:
                middle = self._infixes(s)
        return (*prefixes, *middle, *reversed(suffixes))

    def _infixes(self, s: str) -> tuple[int, ...]:
        """Lengths of ``s`` split at its infixes (an infix at the very start is not split off)."""
        if self._infix is None:
            return (len(s),)
        out, start = [], 0
        for m in self._infix(s):
            a, b = m.span()
            if a == 0:
                continue
            if a != start:
                out.append(a - start)
            if a != b:
                out.append(b - a)
            start = b
        if start < len(s):
            out.append(len(s) - start)
        return tuple(out)

    def _prefix_len(self, s: str) -> int:
        m = self._prefix(s) if self._prefix else None
        return m.end() - m.start() if m else 0

    def _suffix_len(self, s: str) -> int:
        m = self._suffix(s) if self._suffix else None
        return m.end() - m.start() if m else 0

    # -- step 3 -----------------------------------------------------------------------------------------

    def _merge_specials(self, text: str, tokens: list[Token]) -> list[Token]:
        """Special cases split by the affixes, put back: every match of their token texts is found, the
        longest (then the earliest) win where they overlap at an end, and a match becomes the special case
        when its text (with what lies between its tokens) is the special case's key."""
        merge = self._merge
        texts = [text[a:b] for a, b, _ in tokens]
        found = []
        for i, t in enumerate(texts):
            for pattern in merge.get(t, ()):
                n = len(pattern)
                if tuple(texts[i : i + n]) == pattern:
                    found.append((i, i + n))
        if not found:
            return tokens
        found.sort(key=lambda span: (span[0] - span[1], span[0]))  # longest first, then leftmost
        seen: set[int] = set()
        keep = []
        for a, b in found:
            if a not in seen and b - 1 not in seen:
                keep.append((a, b))
            seen.update(range(a, b))
        out: list[Token] = []
        done = 0
        for a, b in sorted(keep):
            start, end = tokens[a][0], tokens[b - 1][1]
            lengths = self._special.get(text[start:end])
            if lengths is None:
                continue
            out.extend(tokens[done:a])
            for n in lengths:
                out.append((start, start + n, tokens[a][2]))
                start += n
            done = b
        out.extend(tokens[done:])
        return out


# -- plain-text words (word2vec training text) ---------------------------------------------------------
# Penn-Treebank-ish tokenisation, close to GloVe's and CoNLL's: abbreviations ("U.S.", "e.g."), "n't" and
# "'s"-style clitics split off, words and numbers keep inner - . , : / ("mother-in-law", "12,000", "3.14",
# "10:45"), every other non-space character is a token of its own. Independent of any model's tables.
_PLAIN_TOKEN = re.compile(
    r"""
      (?:[^\W\d_]\.){2,}                 # abbreviations: U.S. e.g.
    | \w+(?=n't\b)                       # "do" of "don't"
    | n't\b
    | '(?:s|re|ve|ll|d|m)\b              # clitics: 's 're 've 'll 'd 'm
    | \w+(?:[-.,:/]\w+)*                 # words, hyphenated words, numbers
    | \S                                 # any other character
""",
    re.VERBOSE | re.IGNORECASE,
)


def tokenize_line(line: str) -> list[str]:
    """Split a line of raw text into word tokens (case kept), as word2vec training reads its text; see
    ``_PLAIN_TOKEN`` for the rules. Not the model's tokenizer (:class:`Tokenizer`), which keeps offsets."""
    return _PLAIN_TOKEN.findall(line)
