"""windowner.text.tokenizer: spaCy's tokenizer algorithm in plain Python gives spaCy's tokens and offsets."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import windowner
from windowner.model.files import TOKENIZER_FILE
from windowner.text import tokenizer as tokenizer_module
from windowner.text.conll import read_conll
from windowner.text.conventions import TokenizerRules, build_tokenizer, learn_rules, spacy_tables, tables_of
from windowner.text.segment import tokenizable
from windowner.text.tokenizer import Tokenizer, TokenizerTables

from conftest import needs_shared

REPO_TRAIN = Path(__file__).resolve().parents[1] / "corpora" / "wn-pld.train.conll"
ALPHABET = list("aAbZ09.,;:'\"()[]-–—/\\!?$%&*+=<>@#_~`^|{}…’“”«»") + [
    " ",
    " ",
    "  ",
    "\n",
    "\t",
    "\r\n",
    "\xa0",
    "é",
    "ß",
    "Ω",
    "😀",
    "\u2028",
    "\x1c",
    "\ufffd",
]
WORDS = [
    "Mr.",
    "U.S.",
    "don't",
    "e.g.",
    "http://x.org/a?b=c",
    "www.b.com",
    "a.m.",
    "3p.m.",
    "Jong-un",
    "1996-08-28",
    "o'clock",
    "'s",
    "n't",
    "Corp.",
    "10km",
    "$5",
    "5%",
    ":)",
    "(:",
    ":-)",
    "<3",
    "C++",
    "#tag",
    "@user",
    "x@y.com",
]


def learned_rules() -> TokenizerRules:
    return learn_rules(s.tokens for s in read_conll(REPO_TRAIN))


@pytest.fixture(scope="module", params=["english", "learned"])
def pair(request):
    """(spaCy's tokenizer, ours on its tables), for spaCy's English rules and for rules learned from data."""
    rules = None if request.param == "english" else learned_rules()
    tables = TokenizerTables.from_json(json.loads(json.dumps(spacy_tables(rules).to_json())))
    return build_tokenizer(rules), Tokenizer(tables)


def spacy_tokens(tok, text: str) -> list[tuple[int, int, bool]]:
    return [(t.idx, t.idx + len(t.text), t.is_space) for t in tok(text)]


def random_text(rng: random.Random, keys: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.3:
            parts.append(rng.choice(keys))  # spaCy's special cases, glued to what follows or not
        elif r < 0.5:
            parts.append(rng.choice(WORDS))
        else:
            parts.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))))
        parts.append(rng.choice(["", " ", " ", " ", "\n", "  "]))
    return "".join(parts)


def test_random_text_gets_spacys_tokens_and_offsets(pair):
    theirs, ours = pair
    rng = random.Random(0)
    keys = sorted(ours.tables.special)
    texts = [random_text(rng, keys) for _ in range(6000)]
    diff = [t for t in texts if spacy_tokens(theirs, t) != ours(t)]
    assert diff == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "  a",
        "a  ",
        "a \n b",
        "\n\na",
        "Mr . Smith",
        "a:) b",
        "(Mr.)",
        "x:-)y",
        "Lt.Col.",
        "he's.",
        "U.S.-backed",
        "10a.m.",
        "'s",
        ":) :)",
        "a\xa0b",
        "\t\t",
        "http://x.com/a?b=c.",
        "e.g.,",
        "“Hi,” she said.",
    ],
)
def test_edge_cases_get_spacys_tokens(pair, text):
    theirs, ours = pair
    assert ours(text) == spacy_tokens(theirs, text)


@pytest.mark.filterwarnings("ignore::windowner.text.conll.ConllRepairWarning")  # conll03 dev holds stray I- tags
def test_corpus_sentences_get_spacys_tokens(pair):
    theirs, ours = pair
    lines = []
    for name in ("conll03.dev.conll", "gmb.dev.conll"):
        for s in read_conll(needs_shared(name)):
            spaced = " ".join(s.tokens)
            lines += [spaced, re.sub(r" ([,.;:)'’]|n't)", r"\1", spaced).replace("( ", "(")]  # and as natural text
    assert [t for t in lines if spacy_tokens(theirs, t) != ours(t)] == []


def test_whitespace_is_what_str_isspace_says():
    """Runs are cut with the regex ``\\s``; spaCy cuts where ``str.isspace`` changes: the same characters."""
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() != bool(re.fullmatch(r"\s", c))] == []


def test_tokens_do_not_depend_on_the_cache_or_on_threads(pair, monkeypatch):
    _, ours = pair
    rng = random.Random(1)
    texts = [random_text(rng, sorted(ours.tables.special)) for _ in range(400)]
    fresh = [Tokenizer(ours.tables)(t) for t in texts]
    assert [ours(t) for t in texts] == fresh  # warm cache
    monkeypatch.setattr(tokenizer_module, "MAX_CACHE", 3)  # emptied all the time
    small = Tokenizer(ours.tables)
    assert [small(t) for t in texts] == fresh and len(small._cache) <= 3
    shared = Tokenizer(ours.tables)
    results: dict[int, list] = {}

    def work(k: int) -> None:
        results[k] = [shared(t) for t in texts[k::2] + texts]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == fresh[k::2] + fresh for k, r in ((k, results[k]) for k in range(4)))


def test_tables_survive_json_and_damage_is_caught():
    tables = spacy_tables(None)
    data = json.loads(json.dumps(tables.to_json()))
    assert TokenizerTables.from_json(data) == tables
    damaged = json.loads(json.dumps(data))
    damaged["patterns"]["suffix"][0] = damaged["patterns"]["suffix"][0].replace("a", "b", 1)  # still compiles
    with pytest.raises(ValueError, match="SHA-256"):
        TokenizerTables.from_json(damaged)
    for bad in ([], {"format": 99}, {**data, "special": {"ab": ["a", "c"]}}):
        with pytest.raises(ValueError):
            TokenizerTables.from_json(bad)
    broken = TokenizerTables({**tables.patterns, "infix": ("(", 0)}, tables.token_match, tables.special)
    with pytest.raises(ValueError, match="'infix' does not compile"):
        Tokenizer(broken)


def test_a_saved_model_tags_raw_text_without_importing_spacy(tiny_model_dir):
    assert "tables" in json.loads((tiny_model_dir / TOKENIZER_FILE).read_text(encoding="utf-8"))
    text = "Kofi Annan visited Accra on 5 May. Mr. Smith didn't."
    code = (
        "import sys, windowner\n"
        f"d = windowner.load({str(tiny_model_dir)!r})({text!r})\n"
        "print([t.text for t in d.tokens], sorted({m.split('.')[0] for m in sys.modules} & {'spacy', 'thinc'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    tagger = windowner.load(tiny_model_dir)
    expected = [t.text for t in tagger.to_spacy(text) if not t.is_space]
    assert out.strip() == f"{expected} []"


def test_raw_text_and_to_spacy_agree(tiny_model_dir):
    """The tagger cuts raw text as it cuts the Doc of its spaCy tokenizer (what ``to_spacy`` tags)."""
    tagger = windowner.load(tiny_model_dir)
    rng = random.Random(2)
    for text in [random_text(rng, WORDS) for _ in range(200)] + ["Mr. Smith left the U.S. on Jan. 5."]:
        assert tagger.segment(text) == tagger.segment_spacy(tagger.tokenizer(tokenizable(text))), text


def test_special_cases_with_spaces_inside_get_spacys_tokens():
    """A special case whose key holds a space is matched over several runs of text (not in spaCy's English
    tables, but a spaCy tokenizer may have one)."""
    from spacy.attrs import ORTH

    theirs = build_tokenizer(None)
    theirs.add_special_case("New York", [{ORTH: "New York"}])
    theirs.add_special_case("a.k.a x", [{ORTH: "a.k.a"}, {ORTH: " x"}])
    ours = Tokenizer(TokenizerTables.from_json(json.loads(json.dumps(tables_of(theirs).to_json()))))
    rng = random.Random(3)
    words = WORDS + ["New", "York", "New York", "(New York)", "New  York", "a.k.a", "x", "a.k.a x"]
    texts = [random_text(rng, words) for _ in range(3000)] + ["I love New York.", "(New York)", "a.k.a x!"]
    assert [t for t in texts if spacy_tokens(theirs, t) != ours(t)] == []
