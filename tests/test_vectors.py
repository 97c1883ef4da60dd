"""Word vectors: the embedded GloVe default, file formats, lookup policy, word2vec training, CLI."""

from __future__ import annotations

import os

import numpy as np
import pytest

from windowner.cli import main
from windowner.errors import DataError, WindownerError
from windowner.lexicon.vectors import DEFAULT_VECTORS, WordVectors, digit_normalize, load_vectors
from windowner.lexicon.word2vec import train_word2vec
from windowner.text.tokenizer import tokenize_line

KEYS = ["the", "Paris", "paris", "london", "1987", "1,000", "100", "EU", "don't", "x-ray"]


@pytest.fixture(scope="module")
def glove():
    return load_vectors()


@pytest.fixture(scope="module")
def tiny_kv():
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(42)
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(KEYS, rng.standard_normal((len(KEYS), 8)).astype(np.float32))
    return kv


# -- embedded default ---------------------------------------------------------------------------
def test_default_shape_dtype_mmap(glove):
    assert glove.spec == DEFAULT_VECTORS
    assert glove.vectors.shape == (400000, 50) and len(glove) == 400000 and glove.dim == 50
    assert glove.vectors.dtype == np.float32
    assert isinstance(glove.vectors, np.memmap)
    assert glove.lowercase is True
    assert len(glove.keys) == 400000 and glove.keys[0] == "the"


def test_default_lookup_needs_no_dict():
    wv = load_vectors(DEFAULT_VECTORS)
    assert wv.find("Paris") >= 0 and wv.key_for("4,567") == "4,000"  # through the hash index
    rows, keys = wv.lookup_many(["Paris", "1,234,567", "qwzxvbnmq"])
    assert rows.tolist() == [wv.index("paris"), wv.index("1,000,000"), -1]
    assert keys == ["paris", "1,000,000", None]
    assert wv._key_to_index is None  # the 400 000-entry dict is built only when asked for
    assert wv.key_to_index["paris"] == rows[0]


def test_default_lookup_policy(glove):
    paris = glove.index("paris")
    assert paris >= 0 and glove.index("Paris") == -1
    assert glove.find("Paris") == paris and glove.find("PARIS") == paris and glove.key_for("Paris") == "paris"
    assert glove.find("1987") == glove.index("1987") >= 0
    assert glove.find("12,000") == glove.index("12,000") >= 0
    assert glove.index("4,567") == -1 and glove.key_for("4,567") == "4,000"
    assert glove.key_for("123,456,789") == "100,000,000"
    assert glove.find("qwzxvbnmq") == -1 and glove.key_for("qwzxvbnmq") is None
    rows = glove.find_many(["Paris", "the", "qwzxvbnmq", "Paris", "4,567"])
    assert rows.dtype == np.int64
    assert rows.tolist() == [paris, 0, -1, paris, glove.index("4,000")]
    np.testing.assert_array_equal(glove.vectors[glove.find("London")], glove.vectors[glove.index("london")])


def test_digit_normalize():
    assert digit_normalize("hello") == "hello"
    assert digit_normalize("4,567") == "4,000"
    assert digit_normalize("123,456,789") == "100,000,000"
    assert digit_normalize("12.34") == "10.00"
    assert digit_normalize("98-76") == "90-70"
    assert digit_normalize("3:45") == "3:40"
    assert digit_normalize("1990s") == "1000s"
    assert digit_normalize("7") == "7"


# -- file formats -------------------------------------------------------------------------------
def _write(kv, tmp_path, fmt, name):
    path = tmp_path / name
    if fmt == "glove":
        kv.save_word2vec_format(str(path), binary=False, write_header=False)
    elif fmt == "word2vec":
        kv.save_word2vec_format(str(path), binary=False)
    elif fmt == "word2vec-bin":
        kv.save_word2vec_format(str(path), binary=True)
    else:
        kv.save(str(path))
    return path


@pytest.mark.parametrize(
    "fmt,name", [("glove", "g.txt"), ("word2vec", "w.txt"), ("word2vec-bin", "w.bin"), ("kv", "v.kv")]
)
@pytest.mark.parametrize("prefixed", [False, True])
def test_formats_load(tiny_kv, tmp_path, fmt, name, prefixed):
    path = _write(tiny_kv, tmp_path, fmt, name)
    wv = load_vectors(f"{fmt}:{path}" if prefixed else str(path))
    assert isinstance(wv, WordVectors)
    assert wv.spec == f"{fmt}:{path}"
    assert list(wv.keys) == KEYS and len(wv) == len(KEYS) and wv.dim == 8
    assert wv.vectors.dtype == np.float32
    np.testing.assert_allclose(wv.vectors, tiny_kv.vectors, rtol=1e-6)
    assert wv.lowercase is False
    # mixed-case vocabulary: exact form first, then lowercase, then digit normalisation
    assert wv.find("Paris") == 1 and wv.find("paris") == 2 and wv.find("PARIS") == 2
    assert wv.find("London") == 3 and wv.find("1,234") == 5 and wv.find("nope") == -1


def test_kv_pickle_needs_explicit_prefix(tiny_kv, tmp_path):
    path = _write(tiny_kv, tmp_path, "kv", "vectors.model")
    with pytest.raises(WindownerError, match="kv:"):
        load_vectors(str(path))
    assert len(load_vectors(f"kv:{path}")) == len(KEYS)


def test_missing_file():
    with pytest.raises(WindownerError, match="glove-6b-50d") as err:
        load_vectors("/nonexistent/vectors.txt")
    assert "/nonexistent/vectors.txt" in str(err.value) and not isinstance(err.value, DataError)
    with pytest.raises(WindownerError, match="not found"):
        load_vectors("word2vec-bin:/nonexistent/vectors.bin")


def test_unknown_prefix():
    with pytest.raises(WindownerError) as err:
        load_vectors("fasttext:/some/file.vec")
    assert all(p in str(err.value) for p in ("glove:", "word2vec:", "word2vec-bin:", "kv:"))


def test_garbage_files(tmp_path):
    rnd = tmp_path / "random.bin"
    rnd.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes().replace(b"\x80", b"x"))
    with pytest.raises(DataError) as err:
        load_vectors(str(rnd))
    assert err.value.path == str(rnd)

    prose = tmp_path / "prose.txt"
    prose.write_text("hello world this is\njust some text\n")
    with pytest.raises(DataError) as err:
        load_vectors(str(prose))
    assert err.value.path == str(prose) and err.value.line == 1

    bad_line = tmp_path / "bad.txt"
    bad_line.write_text("a 1 2 3\nb 4 5 6\nc 7 8\n")
    with pytest.raises(DataError) as err:
        load_vectors(f"glove:{bad_line}")
    assert err.value.line == 3

    bad_w2v = tmp_path / "bad_w2v.txt"
    bad_w2v.write_text("2 3\na 1 2 3\nb 4 five 6\n")
    with pytest.raises(DataError) as err:
        load_vectors(str(bad_w2v))
    assert err.value.line == 3

    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(b"10 4\nabc " + np.zeros(4, np.float32).tobytes() + b"def \x00\x00")
    with pytest.raises(DataError):
        load_vectors(str(truncated))

    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        load_vectors(str(empty))

    with pytest.raises(WindownerError, match="directory"):
        load_vectors(str(tmp_path))


# -- tokenisation ---------------------------------------------------------
def test_tokenize_line():
    assert tokenize_line("The U.S. didn't pay $12,000 (3.5%) to mother-in-law's firm.") == [
        "The",
        "U.S.",
        "did",
        "n't",
        "pay",
        "$",
        "12,000",
        "(",
        "3.5",
        "%",
        ")",
        "to",
        "mother-in-law",
        "'s",
        "firm",
        ".",
    ]


# -- word2vec training ----------------------------------------------------------------------------
def _corpus(path, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    people = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank"]
    places = ["Paris", "London", "Berlin", "Madrid", "Rome", "Vienna"]
    verbs = ["visited", "left", "reached", "toured", "loved"]
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            f.write(
                f"{rng.choice(people)} {rng.choice(verbs)} {rng.choice(places)} in "
                f"{rng.integers(1950, 2020)}, didn't {rng.choice(people)}?\n"
            )


def test_train_word2vec(tmp_path):
    text = tmp_path / "corpus.txt"
    _corpus(text)
    out = tmp_path / "sub" / "w2v.bin"
    wv = train_word2vec(text, out, dim=16, window=3, min_count=2, epochs=2, workers=1, seed=3, progress=False)
    assert out.is_file() and wv.spec == f"word2vec-bin:{out}"
    assert wv.dim == 16 and wv.vectors.dtype == np.float32
    for word in ("Alice", "Paris", "visited", "n't", "?", ","):
        assert wv.index(word) >= 0, word
    assert np.isfinite(wv.vectors).all() and np.abs(wv.vectors).sum() > 0
    again = train_word2vec(
        text, tmp_path / "again.bin", dim=16, window=3, min_count=2, epochs=2, workers=1, seed=3, progress=False
    )
    assert list(again.keys) == list(wv.keys)
    np.testing.assert_array_equal(again.vectors, wv.vectors)


def test_train_word2vec_errors(tmp_path):
    with pytest.raises(WindownerError, match="not found"):
        train_word2vec(tmp_path / "missing.txt", tmp_path / "o.bin", progress=False)
    rare = tmp_path / "rare.txt"
    rare.write_text("every word here is unique\n")
    with pytest.raises(DataError, match="min_count"):
        train_word2vec(rare, tmp_path / "o.bin", min_count=2, progress=False)


def test_cli_train_and_info(tmp_path, capsys):
    text = tmp_path / "corpus.txt"
    _corpus(text, n=2000, seed=1)
    out = tmp_path / "cli.bin"
    rc = main(
        [
            "vectors",
            "train",
            "--text",
            str(text),
            "--out",
            str(out),
            "--dim",
            "12",
            "--epochs",
            "2",
            "--workers",
            "1",
            "--min-count",
            "3",
            "--seed",
            "5",
        ]
    )
    assert rc == 0 and out.is_file()
    assert "wrote" in capsys.readouterr().out
    wv = load_vectors(str(out))
    assert wv.spec == f"word2vec-bin:{out}" and wv.dim == 12

    assert main(["vectors", "info", str(out), "--lookup", "alice", "Paris", "zzz"]) == 0
    printed = capsys.readouterr().out
    assert "vocabulary: " in printed and "dim:        12" in printed
    assert "alice -> not found" in printed  # no fallback to uppercase keys
    assert "Paris -> 'Paris'" in printed and "zzz   -> not found" in printed

    assert main(["vectors", "info"]) == 0
    printed = capsys.readouterr().out
    assert "spec:       glove-6b-50d" in printed and "vocabulary: 400000" in printed
    assert "Paris" in printed and "'paris'" in printed

    assert main(["vectors", "info", str(tmp_path / "nope.txt")]) == 2
    assert "glove-6b-50d" in capsys.readouterr().err


def test_read_rows_equals_indexing_for_maps_and_arrays(tmp_path):
    from windowner.lexicon.vectors import read_rows

    rng = np.random.default_rng(0)
    arr = rng.normal(size=(500, 7)).astype(np.float32)
    np.save(tmp_path / "v.npy", arr)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    rows = np.array([3, 499, 0, 3, 250])
    np.testing.assert_array_equal(read_rows(mapped, rows), arr[rows])
    np.testing.assert_array_equal(read_rows(arr, rows), arr[rows])
    assert read_rows(mapped, np.array([], dtype=np.int64)).shape == (0, 7)
    with pytest.raises(IndexError):
        read_rows(mapped, np.array([500]))


def test_column_major_vectors_get_a_cached_row_major_copy(tmp_path, monkeypatch):
    from windowner.lexicon.formats import row_major

    monkeypatch.setenv("WINDOWNER_CACHE", str(tmp_path / "cache"))
    arr = np.asfortranarray(np.random.default_rng(1).normal(size=(300, 5)).astype(np.float32))
    np.save(tmp_path / "f.npy", arr)
    src = np.load(tmp_path / "f.npy", mmap_mode="r")
    assert not src.flags.c_contiguous
    rows = row_major(str(tmp_path / "f.npy"), src)
    assert rows.flags.c_contiguous and isinstance(rows, np.memmap)
    np.testing.assert_array_equal(rows, arr)
    again = row_major(str(tmp_path / "f.npy"), src)  # from the cache
    assert again.filename == rows.filename
    (tmp_path / "cache").chmod(0o500)  # a cache that cannot be written: the column-major map is used as it is
    try:
        (tmp_path / "g.npy").write_bytes((tmp_path / "f.npy").read_bytes())
        g = np.load(tmp_path / "g.npy", mmap_mode="r")
        if os.geteuid() != 0:  # root writes anyway
            assert row_major(str(tmp_path / "g.npy"), g) is g
    finally:
        (tmp_path / "cache").chmod(0o700)
