"""Entity replacement: training sentences again, with their PER and LOC mentions replaced by other names.

A small corpus shows a few hundred names; the model then learns those names rather than the contexts around
them. :func:`replace_entities` adds, for a share of the training sentences that hold a PER or LOC mention, a
copy in which every such mention is replaced by a random entry of the same type from the lists of the data
packages windowner installs (:func:`windowner.lexicon.gazetteers.package_entries`): places from the country,
city, region and continent lists, people as a first and last name from the census lists. A person's title
stays (``Mr.``, ``President``: the mention's tokens before its last one or two), and the replacement takes
the mention's casing (UPPER, lower or as the list writes it). Dates and other types are left as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ..text.tokenizer import tokenize_line

Pair = tuple[list[str], list[str]]
PLACE_LISTS = ("country", "city", "region", "continent")
PLACE_WEIGHTS = (0.35, 0.4, 0.2, 0.05)  # countries and big cities are what text names most


@lru_cache(maxsize=1)
def _names() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Replacement names by list, tokenized: places by list, "first" and "last" names (title-cased)."""
    from ..lexicon.gazetteers import package_entries

    entries = package_entries()
    out: dict[str, tuple[tuple[str, ...], ...]] = {}
    for name in PLACE_LISTS:
        tokens = {tuple(tokenize_line(e)) for e in entries[name] if e.strip()}
        out[name] = tuple(sorted(t for t in tokens if 1 <= len(t) <= 4))
    for name, key in (("first", "first_name"), ("last", "last_name")):
        out[name] = tuple(sorted({(e.title(),) for e in entries[key] if e.strip()}))
    return out


def _cased(tokens: Sequence[str], like: Sequence[str]) -> list[str]:
    """``tokens`` in the casing of the mention ``like``: all upper, all lower, or as they are."""
    text = "".join(like)
    if text.isupper():
        return [t.upper() for t in tokens]
    if text.islower():
        return [t.lower() for t in tokens]
    return list(tokens)


_TITLES = frozenset(
    "Mr Mrs Ms Dr President Minister Senator General Judge King Queen Prince Princess Pope Sheikh Chancellor "
    "Governor Mayor Professor Sir Lady Lord Captain Colonel Sergeant Bishop Father Sister Premier Ambassador".split()
)


def _person(mention: Sequence[str], rng: np.random.Generator) -> list[str]:
    names = _names()
    first = names["first"][rng.integers(len(names["first"]))]
    last = names["last"][rng.integers(len(names["last"]))]
    if len(mention) == 1:
        return list(last if rng.random() < 0.7 else first)
    keep = list(mention[:-2]) if len(mention) > 2 else []
    if len(mention) == 2 and (mention[0].endswith(".") or mention[0] in _TITLES):
        return [mention[0], *last]
    return keep + [*first, *last]


def _place(rng: np.random.Generator) -> list[str]:
    names = _names()
    pick = PLACE_LISTS[rng.choice(len(PLACE_LISTS), p=PLACE_WEIGHTS)]
    return list(names[pick][rng.integers(len(names[pick]))])


def replace_entities(pairs: Sequence[Pair], share: float, rng: np.random.Generator) -> list[Pair]:
    """The copies to add: for each (tokens, BIO2 tags) pair with a PER or LOC mention, with probability ``share``,
    the pair with every PER and LOC mention replaced (see the module docstring); deterministic given ``rng``."""
    out: list[Pair] = []
    for tokens, tags in pairs:
        if not any(t in ("B-PER", "B-LOC") for t in tags) or rng.random() >= share:
            continue
        new_tokens: list[str] = []
        new_tags: list[str] = []
        i = 0
        while i < len(tokens):
            label = tags[i][2:] if tags[i].startswith("B-") else None
            if label not in ("PER", "LOC"):
                new_tokens.append(tokens[i])
                new_tags.append(tags[i])
                i += 1
                continue
            j = i + 1
            while j < len(tokens) and tags[j] == f"I-{label}":
                j += 1
            mention = tokens[i:j]
            words = _cased(_person(mention, rng) if label == "PER" else _place(rng), mention)
            new_tokens += words
            new_tags += [f"B-{label}"] + [f"I-{label}"] * (len(words) - 1)
            i = j
        out.append((new_tokens, new_tags))
    return out
