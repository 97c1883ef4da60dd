"""The hashed word → row index behind WordVectors: same answers as a dict, collisions, the disk cache."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from windowner.lexicon import index as V
from windowner.lexicon.index import KeyIndex, encode_keys, key_hash, key_hashes
from windowner.lexicon.vectors import WordVectors, digit_normalize, load_vectors

ROOT = Path(__file__).resolve().parents[1]


def dict_policy(k2i: dict[str, int], token: str) -> tuple[int, str | None]:
    """The lookup policy as it was before the index: exact, lowercase, digit-normalised lowercase."""
    for form in (token, token.lower(), digit_normalize(token.lower())):
        if form in k2i:
            return k2i[form], form
    return -1, None


def assert_same_as_dict(wv: WordVectors, keys: list[str], tokens: list[str]) -> None:
    """lookup_many, find_many, find, key_for, index and `in` agree with a dict built from ``keys``."""
    k2i = dict(zip(keys, range(len(keys))))
    expected = [dict_policy(k2i, t) for t in tokens]
    rows, chosen = wv.lookup_many(tokens)
    assert rows.dtype == np.int64 and rows.shape == (len(tokens),)
    assert rows.tolist() == [r for r, _ in expected]
    assert chosen == [k for _, k in expected]
    assert wv.find_many(tokens).tolist() == [r for r, _ in expected]
    for t, (row, key) in zip(tokens, expected):
        assert wv.find(t) == row and wv.key_for(t) == key, t
        assert wv.index(t) == k2i.get(t, -1) and (t in wv) == (t in k2i), t


def mutations(rng: random.Random, keys: list[str], n: int) -> list[str]:
    """n tokens derived from keys as text would hold them, plus inputs that are hard on an index."""
    out = [
        "",
        " ",
        "\x00",
        "a\x00",
        "\ud800",
        "x\udcff",
        "É",
        "İstanbul",
        "ß",
        "ǅ",
        "١٢٣",
        "12,345",
        "4,567",
        "123,456,789",
        "PARIS",
        "Paris",
        "1987",
        "99-76",
        "x" * 63,
        "y" * 64,
        "z" * 65,
        "w" * 10_000,
        "the" * 30_000,
        "🙂",
        "naïve",
        "NAÏVE",
        "\u0130",
    ]
    for _ in range(n):
        k = rng.choice(keys)
        kind = rng.randrange(8)
        if kind == 0:
            out.append(k.upper())
        elif kind == 1:
            out.append(k.title())
        elif kind == 2:
            out.append(k + str(rng.randrange(10 ** rng.randrange(1, 7))))
        elif kind == 3:
            out.append(f"{rng.randrange(1, 10**6):,}")
        elif kind == 4:
            out.append(k + rng.choice(["é", "\u2019", "\x00", "\ud83d", "ς"]))
        elif kind == 5:
            out.append(k[:-1] if len(k) > 1 else k + k)
        elif kind == 6:
            out.append(k * rng.randrange(2, 40))
        else:
            out.append(k)
    return out


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A fresh, empty WINDOWNER_CACHE for one test."""
    d = tmp_path / "cache"
    monkeypatch.setenv("WINDOWNER_CACHE", str(d))
    return d


@pytest.fixture(scope="module")
def glove_cached(tmp_path_factory):
    """GloVe with its index built into a cache of this module's own."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WINDOWNER_CACHE", str(tmp_path_factory.mktemp("glove-cache")))
    yield load_vectors()
    mp.undo()


def index_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.npy"))


def write_glove(path: Path, keys: list[str], dim: int = 4, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = [k + " " + " ".join(f"{x:.4f}" for x in rng.standard_normal(dim)) for k in keys]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SMALL_KEYS = [
    "the",
    "Paris",
    "paris",
    "london",
    "1987",
    "1,000",
    "100",
    "EU",
    "don't",
    "x-ray",
    "naïve",
    "été",
    "4,000",
    "straße",
    "東京",
]


# -- the hash ------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=40))
def test_bulk_hash_equals_single_hash(items):
    blob = np.frombuffer(b"".join(items), dtype=np.uint8)
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in items], out=offsets[1:])
    assert key_hashes(blob, offsets).tolist() == [key_hash(b) for b in items]


def test_hash_separates_trailing_nul_and_encodes_surrogates():
    assert key_hash(b"a") != key_hash(b"a\x00") != key_hash(b"a\x00\x00")
    blob, offsets = encode_keys(["", "a", "\ud800", "東京"])
    assert offsets.tolist() == [0, 0, 1, 4, 10] and blob.dtype == np.uint8


# -- same answers as the dict --------------------------------------------------------------------
def test_glove_sample_matches_dict_policy(glove_cached):
    keys = list(glove_cached.keys)
    rng = random.Random(17)
    sample = rng.sample(keys, 20_000)
    tokens = sample + mutations(rng, sample, 20_000)
    rng.shuffle(tokens)
    assert_same_as_dict(glove_cached, keys, tokens)
    assert glove_cached._key_to_index is None  # no dict was needed for any of it


def test_every_glove_key_finds_its_row(glove_cached):
    rows, chosen = glove_cached.lookup_many(glove_cached.keys)
    np.testing.assert_array_equal(rows, np.arange(len(glove_cached)))
    assert chosen == list(glove_cached.keys)


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(st.text(max_size=12), min_size=1, max_size=30), extra=st.lists(st.text(max_size=12), max_size=30))
def test_any_vocabulary_matches_dict_policy(keys, extra):
    wv = WordVectors("test", np.zeros((len(keys), 2), dtype=np.float32), keys)
    tokens = keys + extra + [k.upper() for k in keys] + [k.title() + "42" for k in keys]
    assert_same_as_dict(wv, keys, tokens)


def test_repeated_keys_resolve_to_the_last_row_like_a_dict():
    keys = ["a", "b", "a", "A", "b", "c", "a"]
    wv = WordVectors("test", np.zeros((len(keys), 2), dtype=np.float32), keys)
    assert wv.index("a") == 6 and wv.index("b") == 4 and wv.index("A") == 3
    assert_same_as_dict(wv, keys, ["a", "A", "B", "b", "c", "C", "d"])


def test_lookup_many_edge_inputs():
    wv = WordVectors("test", np.zeros((3, 2), dtype=np.float32), ["", "x", "\ud800"])
    rows, chosen = wv.lookup_many([])
    assert rows.shape == (0,) and rows.dtype == np.int64 and chosen == []
    rows, chosen = wv.lookup_many(["", "X", "\ud800", "\ud801"])
    assert rows.tolist() == [0, 1, 2, -1] and chosen == ["", "x", "\ud800", None]
    assert wv.index(None) == -1 and 5 not in wv
    with pytest.raises(TypeError, match="str"):
        wv.lookup_many(["x", 5])


# -- collisions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("prime", [1, 2, 7])
def test_forced_collisions_never_give_a_wrong_row(monkeypatch, cache, prime):
    monkeypatch.setattr(V, "_HASH_PRIME", prime)  # every key shares one of `prime` hashes
    keys = SMALL_KEYS + ["a", "a\x00", "\x00", "", "the"]
    wv = WordVectors("test", np.zeros((len(keys), 2), dtype=np.float32), keys)
    assert len(set(key_hashes(*encode_keys(keys)).tolist())) <= prime
    tokens = mutations(random.Random(prime), keys, 300) + keys + ["nope", "The", "PARIS", "4,567"]
    assert_same_as_dict(wv, keys, tokens)


def test_forced_collisions_with_a_cached_file_index(monkeypatch, cache, tmp_path):
    path = write_glove(tmp_path / "v.txt", SMALL_KEYS)
    real = load_vectors(str(path))
    real.find("paris")
    monkeypatch.setattr(V, "_HASH_PRIME", 3)  # the cache key includes the hash: no stale reuse
    wv = load_vectors(str(path))
    assert_same_as_dict(wv, SMALL_KEYS, mutations(random.Random(3), SMALL_KEYS, 200))
    assert len({p.parent for p in index_files(cache)}) == 2


# -- the disk cache ----------------------------------------------------------------------------------
class BuildCounter:
    def __init__(self, monkeypatch):
        self.n = 0
        build = KeyIndex.build.__func__

        def counted(cls, keys):
            self.n += 1
            return build(cls, keys)

        monkeypatch.setattr(KeyIndex, "build", classmethod(counted))


def test_cache_is_written_once_and_memory_mapped_after(monkeypatch, cache, tmp_path):
    builds = BuildCounter(monkeypatch)
    path = write_glove(tmp_path / "v.txt", SMALL_KEYS)
    assert load_vectors(str(path)).find("Paris") == 1 and builds.n == 1
    files = index_files(cache)
    assert [f.name for f in files] == ["blob.npy", "hashes.npy", "offsets.npy", "rows.npy"]
    stamps = [f.stat().st_mtime_ns for f in files]
    wv = load_vectors(str(path))
    assert wv.find("PARIS") == 2 and builds.n == 1  # the second load reads the cache
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert isinstance(wv.key_index.hashes.base, np.memmap) or isinstance(wv.key_index.hashes, np.memmap)
    assert not list(cache.rglob("*.tmp"))
    assert_same_as_dict(wv, SMALL_KEYS, mutations(random.Random(0), SMALL_KEYS, 200))


def test_a_changed_vectors_file_gets_a_new_index(monkeypatch, cache, tmp_path):
    builds = BuildCounter(monkeypatch)
    path = write_glove(tmp_path / "v.txt", SMALL_KEYS)
    assert load_vectors(str(path)).index("london") == 3
    write_glove(path, ["tokyo"] + SMALL_KEYS)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert load_vectors(str(path)).index("london") == 4 and builds.n == 2


def test_gensim_hole_for_a_repeated_glove_word(cache, tmp_path):
    """gensim keeps the first of a repeated word and leaves a None key in the last row."""
    path = write_glove(tmp_path / "v.txt", ["a", "b", "a"])
    wv = load_vectors(str(path))
    assert list(wv.keys) == ["a", "b", None]
    rows, chosen = wv.lookup_many(["a", "B", "None", ""])
    assert rows.tolist() == [0, 1, -1, -1] and chosen == ["a", "b", None, None]
    assert wv.index("a") == wv.key_to_index["a"] == 0


def test_default_vectors_use_the_cache(monkeypatch, glove_cached):
    builds = BuildCounter(monkeypatch)
    paris = glove_cached.index("paris")
    fresh = load_vectors()
    assert fresh.find("Paris") == paris and builds.n == 0
    assert fresh._keys is None  # a warm lookup never reads the 400 000 keys


@pytest.mark.parametrize("damage", ["garbage", "truncate", "empty", "wrong_dtype", "wrong_length", "bad_rows"])
def test_corrupt_cache_is_rebuilt(monkeypatch, cache, tmp_path, damage):
    path = write_glove(tmp_path / "v.txt", SMALL_KEYS)
    load_vectors(str(path)).find("x")
    files = {f.stem: f for f in index_files(cache)}
    victim = files["blob" if damage in ("truncate", "empty") else "hashes" if damage != "bad_rows" else "rows"]
    if damage == "garbage":
        victim.write_bytes(os.urandom(200))
    elif damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-7])
    elif damage == "empty":
        victim.write_bytes(b"")
    elif damage == "wrong_dtype":
        np.save(victim, np.zeros(len(SMALL_KEYS), dtype=np.float64))
    elif damage == "wrong_length":
        np.save(victim, np.zeros(3, dtype=np.uint64))
    else:
        np.save(victim, np.full(len(SMALL_KEYS), 10**6, dtype=np.int64))
    builds = BuildCounter(monkeypatch)
    wv = load_vectors(str(path))
    assert_same_as_dict(wv, SMALL_KEYS, SMALL_KEYS + ["PARIS", "Été", "4,567", "nope"])
    assert builds.n == 1
    again = BuildCounter(monkeypatch)
    load_vectors(str(path)).find("paris")
    assert again.n == 0  # the rebuilt cache is good


def test_unwritable_cache_dir_still_works(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder would go\n")
    monkeypatch.setenv("WINDOWNER_CACHE", str(blocker / "cache"))
    path = write_glove(tmp_path / "v.txt", SMALL_KEYS)
    wv = load_vectors(str(path))
    assert_same_as_dict(wv, SMALL_KEYS, mutations(random.Random(1), SMALL_KEYS, 100))
    assert blocker.is_file() and not list(tmp_path.rglob("*.npy"))


def test_in_memory_vectors_write_no_cache(cache):
    wv = WordVectors("model pretrained.txt", np.zeros((len(SMALL_KEYS), 2), dtype=np.float32), SMALL_KEYS)
    assert wv.find("Straße") == SMALL_KEYS.index("straße")
    assert not cache.exists()


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("WINDOWNER_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert V.cache_dir() == tmp_path / "home" / ".cache" / "windowner"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert V.cache_dir() == tmp_path / "xdg" / "windowner"
    monkeypatch.setenv("WINDOWNER_CACHE", str(tmp_path / "own"))
    assert V.cache_dir() == tmp_path / "own"


def test_concurrent_processes_share_one_cache(cache, tmp_path):
    """Four processes that build the same index at once all answer correctly and leave one good copy."""
    keys = [f"w{i}" for i in range(3000)] + SMALL_KEYS
    path = write_glove(tmp_path / "v.txt", keys, dim=2)
    script = (
        "import sys; from windowner.lexicon.vectors import load_vectors\n"
        f"wv = load_vectors({str(path)!r})\n"
        "assert wv.find('W2999') == 2999 and wv.find('PARIS') == 3002 and wv.find('nope') == -1\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    assert len(index_files(cache)) == 4 and not list(cache.rglob("*.tmp"))
    wv = load_vectors(str(path))
    assert_same_as_dict(wv, keys, keys[::7] + ["W12", "Paris", "nope"])
