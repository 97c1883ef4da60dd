"""Tokenizer conventions learned from training tokens, and the spaCy tokenizer that follows them.

A model tags raw text best when the text is cut into tokens the way its training data was. Training
data does not keep its original text, but its tokens show the conventions: CoNLL-2003 keeps ``Jong-un``,
``2-1`` and ``1996-08-28`` whole, splits off ``'s`` and ``n't``, and keeps ``Mr.``, ``U.S.`` and ``St.``
with their period. :func:`learn_rules` reads them from the training tokens:

* **infix classes** (:data:`INFIXES`: hyphens between words or numbers, slashes, colons, commas, ...):
  for each, how often the data keeps a token with that character inside whole (``Jong-un``) against how
  often it shows it as a separate token between two word pieces (``Jong - un``); a class with too little
  evidence either way keeps spaCy's English default;
* **affix classes**: is ``'s`` split off, are clitics (``n't``, ``'re``, ``'ll``, ...) split off, are
  abbreviations (``Mr.``, ``U.S.``) single tokens, and does an abbreviation that ends a sentence give its
  period to the sentence (``final_period``: CoNLL-2003 writes ``... Lear Corp .``, GMB ``... the U.S.``);
* **tokens kept whole** (:attr:`TokenizerRules.keep`): training tokens that the tokenizer would still
  split but that the data keeps whole more often than it splits them (``Lt.``, ``90M``, ``vol.``), added
  as spaCy special cases;
* **exceptions dropped** (:attr:`TokenizerRules.drop`): spaCy's one-token exceptions that the data
  splits more often than not inside its sentences, such as the emoticon ``):`` in ``(home team first):``.

:func:`build_tokenizer` turns the rules (or None: spaCy's English tokenizer as it comes, for model
directories written before conventions were learned) into a spaCy ``Tokenizer`` on spaCy's English
prefix, suffix and infix rules and exceptions. The rules are stored as ``tokenizer.json`` in the model
directory (:meth:`TokenizerRules.to_json`). spaCy is imported only when a tokenizer is built or rules
are learned.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .tokenizer import TokenizerTables

RULES_FORMAT = 1
MIN_EVIDENCE = 3  # fewer occurrences than this either way: spaCy's default for the class
KEEP_SHARE = 0.1  # a class is kept whole when at least this share of its occurrences is one token
MAX_KEEP_LENGTH = 40  # longer training tokens are never learned as special cases


@dataclass(frozen=True)
class Infix:
    """A character that may split a token: ``mark`` between a character of ``before`` and one of ``after``
    (regex character classes, with ``{a}`` letters, ``{al}`` lower case, ``{au}`` upper case, ``{q}`` quotes)."""

    name: str
    before: str
    mark: str
    after: str
    spacy_splits: bool  # what spaCy's English tokenizer does

    def pattern(self, chars: dict[str, str]) -> str:
        """The infix regex: the mark, with the neighbours as look-behind and look-ahead."""
        return f"(?<={self.before.format(**chars)})(?:{self.mark})(?={self.after.format(**chars)})"


INFIXES = (
    Infix("hyphen", "[{a}0-9]", "-", "[{a}]", True),  # Jong-un, U.N.-backed, 10-year
    Infix("dash", "[{a}0-9]", "–|—|--|---|——|~", "[{a}]", True),  # word--word
    Infix("number_hyphen", "[0-9]", "-", "[0-9]", True),  # 2-1, 1996-08-28
    Infix("number_operator", "[0-9]", r"[+*^]", "[0-9-]", True),  # 2+2, 10^6
    Infix("slash", "[{a}0-9]", "/", "[{a}]", True),  # and/or
    Infix("number_slash", "[0-9]", "/", "[0-9]", False),  # 1/2, 1996/97
    Infix("colon", "[{a}0-9]", ":", "[{a}]", True),  # Re:Match
    Infix("comparison", "[{a}0-9]", "[<>=]", "[{a}]", True),  # a=b
    Infix("comma", "[{a}]", ",", "[{a}]", True),  # word,word
    Infix("period", "[{al}{q}]", r"\.", "[{au}{q}]", True),  # end.Start
)
POSSESSIVES = ("'s", "'S", "’s", "’S")
CLITICS = ("n't", "'re", "'ve", "'ll", "'m", "'d", "n’t", "’re", "’ve", "’ll", "’m", "’d")
AFFIXES = ("possessive", "clitic", "abbreviation", "final_period")  # True: split off / one token / split off
CLASSES = tuple(i.name for i in INFIXES) + AFFIXES
SPACY_DEFAULTS = {
    **{i.name: i.spacy_splits for i in INFIXES},
    "possessive": True,
    "clitic": True,
    "abbreviation": True,
    "final_period": False,
}
_ABBREVIATION = re.compile(r"^(?=.*[^\W\d_])[\w'&-]+(?:\.[\w'&-]+)*\.$")  # Mr. U.S. a.m. Calif. (a letter)
_PERIOD_FINAL = re.compile(r"^(?=.*\w)\S*[^.\s]\.$")  # Corp. U.S. 4. (not "..", not a lone ".")
_WS = re.compile(r"\s")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class TokenizerRules:
    """What a model's training tokens show about tokenization.

    ``split``: every class of :data:`CLASSES` → True when the tokenizer applies the rule (infixes and
    ``'s``/clitics split, abbreviations are single tokens). ``keep``: tokens kept whole (sorted).
    ``drop``: spaCy exceptions not applied (sorted). ``evidence``: per class, [occurrences as one token,
    occurrences split], as counted in the data.
    """

    split: dict[str, bool] = field(default_factory=lambda: dict(SPACY_DEFAULTS))
    keep: tuple[str, ...] = ()
    evidence: dict[str, list[int]] = field(default_factory=dict)
    drop: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """A JSON-ready dict (what ``tokenizer.json`` holds)."""
        return {
            "format": RULES_FORMAT,
            "split": dict(sorted(self.split.items())),
            "keep": list(self.keep),
            "drop": list(self.drop),
            "evidence": {k: list(v) for k, v in sorted(self.evidence.items())},
        }

    @classmethod
    def from_json(cls, data) -> TokenizerRules:
        """Rules from :meth:`to_json`'s dict; ValueError saying what is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, found a {type(data).__name__}")
        fmt = data.get("format")
        if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt > RULES_FORMAT or fmt < 1:
            raise ValueError(
                f"format {fmt!r} is not supported (this windowner reads format {RULES_FORMAT}); "
                "upgrade windowner or retrain the model"
            )
        split, keep, drop = data.get("split"), data.get("keep"), data.get("drop", [])
        evidence = data.get("evidence", {})
        if not isinstance(split, dict) or not all(isinstance(v, bool) for v in split.values()):
            raise ValueError("'split' must map rule names to true/false")
        unknown = sorted(set(split) - set(CLASSES))
        if unknown:
            raise ValueError(
                f"unknown rule(s) {', '.join(map(repr, unknown))} (known: {', '.join(CLASSES)}); "
                "the model was written by a newer windowner — upgrade windowner"
            )
        for name, tokens in (("keep", keep), ("drop", drop)):
            if not isinstance(tokens, list) or not all(
                isinstance(k, str) and k and not _WS.search(k) and not _SURROGATE.search(k) for k in tokens
            ):
                raise ValueError(f"{name!r} must be a list of non-empty tokens without whitespace or lone surrogates")
        if not isinstance(evidence, dict) or not all(
            isinstance(v, list) and len(v) == 2 and all(type(x) is int for x in v) for v in evidence.values()
        ):
            raise ValueError("'evidence' must map rule names to [whole, split] counts")
        assert isinstance(keep, list)  # checked above, with drop
        return cls(
            {**SPACY_DEFAULTS, **split}, tuple(keep), {str(k): list(v) for k, v in evidence.items()}, tuple(drop)
        )


# -- learning -------------------------------------------------------------------------------------


def learn_rules(sentences: Iterable[Sequence[str]]) -> TokenizerRules:
    """The tokenizer conventions of the token lists ``sentences`` (a model's training data)."""
    sentences = [list(s) for s in sentences if len(s)]
    counts = Counter(t for s in sentences for t in s)
    chars = _chars()
    evidence: dict[str, list[int]] = {}
    marks = {}
    for infix in INFIXES:
        inside = re.compile(infix.pattern(chars))
        evidence[infix.name] = [sum(c for t, c in counts.items() if inside.search(t)), 0]
        marks[infix.name] = (
            re.compile(f"(?:{infix.mark})"),
            re.compile(infix.before.format(**chars)),
            re.compile(infix.after.format(**chars)),
        )
    standalone = {t for t in counts if any(m.fullmatch(t) for m, _, _ in marks.values())}
    abbreviations = _spacy_abbreviations()
    evidence["abbreviation"] = [sum(c for t, c in counts.items() if _ABBREVIATION.match(t)), 0]
    for s in sentences:
        for i in range(1, len(s) - 1):
            t = s[i]
            if t in standalone and s[i - 1] and s[i + 1]:
                for name, (mark, before, after) in marks.items():
                    if mark.fullmatch(t) and before.fullmatch(s[i - 1][-1]) and after.fullmatch(s[i + 1][0]):
                        evidence[name][1] += 1
        for a, b in zip(s, s[1:]):  # "Mr ." / "J ." where the data splits abbreviations
            if b == "." and (a + "." in abbreviations or (len(a) == 1 and a.isupper())):
                evidence["abbreviation"][1] += 1
    evidence["possessive"] = [
        sum(c for t, c in counts.items() if len(t) > 2 and t.endswith(POSSESSIVES)),
        sum(counts[p] for p in POSSESSIVES),
    ]
    evidence["clitic"] = [
        sum(c for t, c in counts.items() if t.endswith(CLITICS) and t not in CLITICS and t[0] not in "'’"),
        sum(counts[p] for p in CLITICS),
    ]
    finals = Counter(s[-1] for s in sentences) + Counter(s[-2] for s in sentences if len(s) > 1 and s[-1] == ".")
    evidence["final_period"] = [
        sum(c for t, c in finals.items() if _PERIOD_FINAL.match(t)),
        sum(
            1
            for s in sentences
            if len(s) > 1 and s[-1] == "." and counts[s[-2] + "."] and _PERIOD_FINAL.match(s[-2] + ".")
        ),
    ]
    split = dict(SPACY_DEFAULTS)
    for name, (whole, apart) in evidence.items():
        if whole >= MIN_EVIDENCE or apart >= MIN_EVIDENCE:
            keeps_whole = whole >= MIN_EVIDENCE and whole >= KEEP_SHARE * (whole + apart)
            split[name] = keeps_whole if name == "abbreviation" else not keeps_whole
    rules = TokenizerRules(split, (), evidence)
    return TokenizerRules(split, _kept_whole(sentences, counts, rules), evidence, _dropped(sentences, counts, rules))


def _kept_whole(sentences: Sequence[Sequence[str]], counts: Counter, rules: TokenizerRules) -> tuple[str, ...]:
    """Training tokens the tokenizer of ``rules`` splits but the data keeps whole more often than split."""
    tokenizer = build_tokenizer(rules)
    exceptions = _english()[2]
    pieces = {}
    for t, c in counts.items():
        if len(t) > MAX_KEEP_LENGTH or _WS.search(t) or _SURROGATE.search(t) or (c < 2 and not _ABBREVIATION.match(t)):
            continue
        if t.isalpha() and t.isascii() and t not in exceptions:  # no affixes, infixes or special cases split it
            continue
        parts = tuple(tok.text for tok in tokenizer(t))
        if len(parts) > 1:
            pieces[t] = parts
    apart = _sequence_counts(sentences, set(pieces.values()))
    final = Counter(s[-1] for s in sentences)
    keep = [
        t
        for t, parts in pieces.items()
        if counts[t] > apart[parts] and not (t.endswith(".") and 2 * final[t] > counts[t])
    ]
    return tuple(sorted(keep))


def _dropped(sentences: Sequence[Sequence[str]], counts: Counter, rules: TokenizerRules) -> tuple[str, ...]:
    """spaCy's one-token exceptions whose pieces the data shows apart, inside sentences, more often than whole
    (at least twice): ``):`` where the data has ``) :``. A sentence's last tokens are no evidence: ``Corp .``
    ends a sentence because the sentence's period took the abbreviation's."""
    from spacy.attrs import ORTH

    plain = build_tokenizer(rules, exceptions=False)
    pieces = {}
    for key, value in _english()[2].items():
        if len(value) == 1 and value[0].get(ORTH) == key and not _WS.search(key):
            parts = tuple(tok.text for tok in plain(key))
            if len(parts) > 1:
                pieces[key] = parts
    apart = _sequence_counts(sentences, set(pieces.values()), inside_only=True)
    return tuple(sorted(k for k, parts in pieces.items() if apart[parts] >= 2 and apart[parts] > counts[k]))


def _sequence_counts(
    sentences: Sequence[Sequence[str]], wanted: set[tuple[str, ...]], inside_only: bool = False
) -> Counter:
    """How often each token sequence in ``wanted`` occurs in ``sentences`` (``inside_only``: not at a sentence end)."""
    found: Counter = Counter()
    if not wanted:
        return found
    lengths = sorted({len(p) for p in wanted})
    firsts = {p[0] for p in wanted}
    for s in sentences:
        last = len(s) - inside_only
        for i, t in enumerate(s):
            if t in firsts:
                for n in lengths:
                    if i + n <= last:
                        gram = tuple(s[i : i + n])
                        if gram in wanted:
                            found[gram] += 1
    return found


# -- the tokenizer --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _chars() -> dict[str, str]:
    from spacy.lang.char_classes import ALPHA, ALPHA_LOWER, ALPHA_UPPER, CONCAT_QUOTES

    return {"a": ALPHA, "al": ALPHA_LOWER, "au": ALPHA_UPPER, "q": CONCAT_QUOTES}


@lru_cache(maxsize=1)
def _english():
    """spaCy's English tokenizer settings: (prefixes, suffixes, exceptions, url_match, token_match)."""
    from spacy.lang.en import English

    d = English.Defaults
    assert d.prefixes is not None and d.suffixes is not None  # English has them (the base Defaults may not)
    return tuple(d.prefixes), tuple(d.suffixes), dict(d.tokenizer_exceptions), d.url_match, d.token_match


@lru_cache(maxsize=1)
def _spacy_abbreviations() -> frozenset[str]:
    """spaCy's English exceptions that are one token ending in a period (Mr., Jan., Calif., ...)."""
    return frozenset(k for k, v in _english()[2].items() if len(v) == 1 and _ABBREVIATION.match(k))


def gives_final_period(token: str) -> bool:
    """Is ``token`` one whose period a sentence ending there takes under ``final_period`` (``Corp.``, ``4.``)?"""
    return _PERIOD_FINAL.match(token) is not None


def _has_clitic(pieces: list[str]) -> bool:
    """True for an exception that splits off a clitic: don't -> do n't, I'm -> I 'm."""
    return len(pieces) > 1 and any(p.startswith(("'", "’")) or p.lower() in ("n't", "n’t") for p in pieces[1:])


@lru_cache(maxsize=8)
def _components(
    split: tuple[tuple[str, bool], ...], keep: tuple[str, ...], drop: tuple[str, ...], exceptions: bool = True
):
    """Compiled regexes and special cases for the rules (cached: tokenizers are rebuilt when they grow);
    ``exceptions=False``: no special cases at all."""
    from spacy.attrs import ORTH
    from spacy.lang.char_classes import LIST_ELLIPSES, LIST_ICONS
    from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

    on = dict(split)
    prefixes, suffixes, english, url_match, token_match = _english()
    if not on["possessive"]:
        suffixes = tuple(s for s in suffixes if s not in POSSESSIVES)
    chars = _chars()
    infixes = list(LIST_ELLIPSES) + list(LIST_ICONS) + [i.pattern(chars) for i in INFIXES if on[i.name]]
    special = {}
    dropped = set(drop)
    for key, pieces in english.items() if exceptions else ():
        if not on["clitic"] and _has_clitic([p.get(ORTH, "") for p in pieces]):
            continue
        if (not on["abbreviation"] and key in _spacy_abbreviations()) or key in dropped:
            continue
        special[key] = pieces
    if keep and exceptions:  # a token_match, not special cases: those are matched again over every Doc
        whole = re.compile("(?:" + "|".join(map(re.escape, sorted(keep, key=len, reverse=True))) + r")\Z").match
        token_match = whole if token_match is None else _either(whole, token_match)
        for token in keep:
            special.pop(token, None)  # a multi-token exception the data keeps whole
    return (
        compile_prefix_regex(prefixes).search,
        compile_suffix_regex(suffixes).search,
        compile_infix_regex(infixes).finditer,
        special,
        url_match,
        token_match,
    )


def _either(first, second):
    """A token_match that matches what either of two does."""
    return lambda text: first(text) or second(text)


@lru_cache(maxsize=1)
def _spacy_english():
    """spaCy's English tokenizer settings as a blank pipeline has them (for models without rules)."""
    import spacy

    t: Any = spacy.blank("en").tokenizer  # a spacy.tokenizer.Tokenizer, a Cython class without stubs
    return t.prefix_search, t.suffix_search, t.infix_finditer, dict(t.rules), t.url_match, t.token_match


def build_tokenizer(rules: TokenizerRules | None = None, vocab=None, *, exceptions: bool = True):
    """A spaCy ``Tokenizer`` following ``rules``; None: spaCy's English tokenizer, as ``spacy.blank("en")``
    has it. ``vocab``: the spaCy Vocab it adds words to (a fresh English one by default).
    ``exceptions=False`` (with rules): prefixes, suffixes and infixes only, no special cases."""
    from spacy.tokenizer import Tokenizer

    if vocab is None:
        from spacy.lang.en import English
        from spacy.vocab import create_vocab

        vocab = create_vocab("en", English.Defaults)
    if rules is None:
        prefix, suffix, infix, special, url_match, token_match = _spacy_english()
    else:
        prefix, suffix, infix, special, url_match, token_match = _components(
            tuple(sorted(rules.split.items())), tuple(rules.keep), tuple(rules.drop), exceptions
        )
    # a copy of the cached special cases: Tokenizer.add_special_case changes the dict it was given
    return Tokenizer(
        vocab,
        rules=dict(special),
        prefix_search=prefix,
        suffix_search=suffix,
        infix_finditer=infix,
        token_match=token_match,
        url_match=url_match,
    )


def spacy_tables(rules: TokenizerRules | None = None) -> TokenizerTables:
    """The tables of :func:`build_tokenizer`'s spaCy tokenizer for ``rules``, for :class:`~windowner.text.tokenizer.
    Tokenizer` (which then tokenizes as it does, without spaCy). ValueError for a tokenizer whose functions
    are not plain ``re`` patterns."""
    return tables_of(build_tokenizer(rules))


def tables_of(tok) -> TokenizerTables:
    """The tables of the spaCy ``Tokenizer`` ``tok`` (see :func:`spacy_tables`)."""
    import spacy
    from spacy.attrs import ORTH

    funcs = {
        "prefix": tok.prefix_search,
        "suffix": tok.suffix_search,
        "infix": tok.infix_finditer,
        "url_match": tok.url_match,
    }
    patterns = {name: None if f is None else _source(f, name) for name, f in funcs.items()}
    token_match = () if tok.token_match is None else (_source(tok.token_match, "token_match"),)
    special = {key: tuple(p[ORTH] if ORTH in p else p["ORTH"] for p in pieces) for key, pieces in tok.rules.items()}
    if not tok.faster_heuristics:
        raise ValueError("a spaCy tokenizer without faster_heuristics has no tables")
    return TokenizerTables(patterns, token_match, special, spacy.__version__)


def _source(f, name: str) -> tuple[str, int]:
    """(source, flags) of a bound method of a compiled ``re`` pattern."""
    pattern = getattr(f, "__self__", None)
    if not isinstance(pattern, re.Pattern):
        raise ValueError(f"the tokenizer's {name} is not a method of a compiled re pattern")
    return pattern.pattern, pattern.flags
