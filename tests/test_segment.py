"""Raw text: a tokenizer that follows the training data's conventions, sentence splitting, exact offsets.

No shared corpora: the conventions are learned from small hand-written corpora, and the models that
need training are tiny ones (no pretrained vectors, one epoch).
"""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import windowner
from windowner.errors import ModelError
from windowner.model.files import TOKENIZER_FILE, load_model
from windowner.text import segment
from windowner.text import tokenizer as tokenizer_module
from windowner.text.conventions import SPACY_DEFAULTS, TokenizerRules, build_tokenizer, learn_rules
from windowner.text.segment import MAX_SENTENCE_TOKENS, cap_sentences, segment_text, sentence_cuts

from conftest import make_corpus

# Sentences tokenized the CoNLL-2003 way: hyphenated words and scores whole, abbreviations with their
# period, 's and n't split off. Each appears several times, as real training data would.
KEEPING = [
    "Kim Jong-un met U.S. officials in Pyongyang .",
    "Jordan beat Syria 2-1 in a pro-government stadium on Monday .",
    "Lt. Gen. Ali Ahmed arrived in St. Petersburg on Jan. 5 .",
    "Mr. Smith said J. K. Rowling 's book was n't a best-seller .",
    "The U.N.-backed talks in Cote d'Ivoire ended 1996-08-28 .",
    "The 90M deal was signed by Mr. O'Neill .",
]
# The same text tokenized with hyphens split off (OntoNotes style).
SPLITTING = [s.replace("-", " - ").replace("  ", " ") for s in KEEPING]


def corpus(lines: list[str], times: int = 4) -> list[list[str]]:
    return [line.split() for line in lines] * times


@pytest.fixture(scope="module")
def keeping():
    return build_tokenizer(learn_rules(corpus(KEEPING)))


@pytest.fixture(scope="module")
def splitting():
    return build_tokenizer(learn_rules(corpus(SPLITTING)))


def words(tokenizer, text: str) -> list[str]:
    return segment_text(tokenizer, text).words


def sentences(tokenizer, text: str) -> list[str]:
    return [" ".join(s) for s in segment_text(tokenizer, text).sentences()]


# -- learning the conventions ---------------------------------------------------------------------


def test_learned_rules_record_their_evidence():
    rules = learn_rules(corpus(KEEPING))
    assert rules.split["hyphen"] is False and rules.split["number_hyphen"] is False
    assert rules.split["possessive"] is True and rules.split["clitic"] is True and rules.split["abbreviation"] is True
    assert rules.evidence["hyphen"][0] >= 3 * 4 and rules.evidence["hyphen"][1] == 0
    assert "Lt." in rules.keep and "90M" in rules.keep  # spaCy alone would split these
    split = learn_rules(corpus(SPLITTING))
    assert split.split["hyphen"] is True and split.split["number_hyphen"] is True
    assert learn_rules([["no", "evidence", "here"]]).split == SPACY_DEFAULTS


def test_rules_round_trip_through_json():
    rules = learn_rules(corpus(KEEPING))
    assert TokenizerRules.from_json(json.loads(json.dumps(rules.to_json()))) == rules


@pytest.mark.parametrize(
    "data, match",
    [
        ([], "JSON object"),
        ({"format": 99, "split": {}, "keep": []}, "format 99"),
        ({"format": 1, "split": {"hyphen": "no"}, "keep": []}, "true/false"),
        ({"format": 1, "split": {"umlaut": True}, "keep": []}, "unknown rule"),
        ({"format": 1, "split": {}, "keep": ["two words"]}, "without whitespace"),
    ],
)
def test_bad_rules_are_rejected_with_a_reason(data, match):
    with pytest.raises(ValueError, match=match):
        TokenizerRules.from_json(data)


# -- the tokenizer: one case per rule --------------------------------------------------------------


def test_hyphens_follow_the_training_data(keeping, splitting):
    text = "Kim Jong-un watched Jordan beat Syria 2-1 at a pro-government rally."
    assert words(keeping, text)[:2] == ["Kim", "Jong-un"]
    assert "2-1" in words(keeping, text) and "pro-government" in words(keeping, text)
    assert words(splitting, text)[:4] == ["Kim", "Jong", "-", "un"]
    assert words(splitting, text)[8:11] == ["2", "-", "1"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Lt. Gen. Ali Ahmed arrived", ["Lt.", "Gen.", "Ali", "Ahmed", "arrived"]),
        ("Mr. Smith met U.S. officials.", ["Mr.", "Smith", "met", "U.S.", "officials", "."]),
        ("J. K. Rowling wrote on Jan. 5.", ["J.", "K.", "Rowling", "wrote", "on", "Jan.", "5", "."]),
        ("St. Petersburg is cold.", ["St.", "Petersburg", "is", "cold", "."]),
        ("O'Neill's dog didn't bark.", ["O'Neill", "'s", "dog", "did", "n't", "bark", "."]),
        (
            "It rose 3.5 million to $5.2 billion, or 5%.",
            ["It", "rose", "3.5", "million", "to", "$", "5.2", "billion", ",", "or", "5", "%", "."],
        ),
        (
            "See http://www.example.com/a-b?x=1 or write to bob.smith@example.org.",
            ["See", "http://www.example.com/a-b?x=1", "or", "write", "to", "bob.smith@example.org", "."],
        ),
        ("The 90M deal (in Cote d'Ivoire)", ["The", "90M", "deal", "(", "in", "Cote", "d'Ivoire", ")"]),
    ],
)
def test_tokens_follow_the_training_data(keeping, text, expected):
    assert words(keeping, text) == expected


def test_data_that_splits_abbreviations_and_keeps_clitics_is_followed():
    rules = learn_rules(
        corpus(
            [
                "Mr . Smith said Kim 's dog is cute .",
                "Dr . Jones said it does n't matter .",
                "J . Lee said they know .",
                "We tell , said Mr . Park .",
            ]
        )
    )
    assert rules.split["abbreviation"] is False
    assert words(build_tokenizer(rules), "Mr. Smith left.") == ["Mr", ".", "Smith", "left", "."]
    keeps = learn_rules(corpus(["They don't know .", "We can't tell .", "It isn't so .", "You won't go ."]))
    assert keeps.split["clitic"] is False
    assert words(build_tokenizer(keeps), "I don't know.") == ["I", "don't", "know", "."]


def test_a_spacy_exception_the_data_keeps_whole_stays_whole():
    rules = learn_rules(corpus(["Cannot stop now , said Kim .", "We met at 10am today ."]))
    assert {"Cannot", "10am"} <= set(rules.keep)
    assert words(build_tokenizer(rules), "Cannot stop at 10am.") == ["Cannot", "stop", "at", "10am", "."]
    assert words(build_tokenizer(None), "Cannot stop at 10am.") == ["Can", "not", "stop", "at", "10", "am", "."]


def test_spacy_exceptions_the_data_splits_are_dropped():
    rules = learn_rules(corpus(["Results ( home team first ) : Leeds 2 Arsenal 1 .", "Use salt and / or pepper ."]))
    assert set(rules.drop) >= {"):", "and/or"}
    assert words(build_tokenizer(rules), "Results (home first): Leeds won, and/or lost.")[3:6] == ["first", ")", ":"]
    assert "and/or" in words(build_tokenizer(None), "salt and/or pepper")  # spaCy keeps it whole


def test_a_final_abbreviation_gives_its_period_to_the_sentence_if_the_data_does():
    conll = corpus(["He works for Lear Corp .", "Lear Corp. said it grew .", "They flew to the U.S ."])
    rules = learn_rules(conll)
    assert rules.split["final_period"] is True
    tok = build_tokenizer(rules)
    assert segment_text(tok, "He works for Lear Corp.", True).words[-2:] == ["Corp", "."]
    assert segment_text(tok, 'He said "Lear Corp."', True).words[-3:] == ["Corp", ".", '"']
    seg = segment_text(tok, "He left the U.S.\n\nLear Corp. said no.", True)
    assert seg.sentences() == [["He", "left", "the", "U.S", "."], ["Lear", "Corp.", "said", "no", "."]]
    assert seg.starts[4] == 15 and seg.index[3] == seg.index[4]  # both parts of the one spaCy token
    gmb = learn_rules(corpus(["They flew to the U.S.", "U.S. officials left ."]))
    assert gmb.split["final_period"] is False


def test_an_entity_ending_inside_a_spacy_token_takes_all_of_it():
    import numpy as np

    from windowner.text.segment import segment_doc, set_spacy_entities

    doc = build_tokenizer(None)("He works for Lear Corp.")
    seg = segment_doc(doc, final_period=True)
    assert seg.words == ["He", "works", "for", "Lear", "Corp", "."]
    set_spacy_entities(doc, seg, ["O", "O", "O", "B-ORG", "I-ORG", "O"], np.full(6, 0.5))
    assert [(e.text, e.label_) for e in doc.ents] == [("Lear Corp.", "ORG")]


def test_no_rules_is_spacys_english_tokenizer():
    import spacy

    text = "Kim Jong-un met Lt. Gen. Ali in the U.S. on Jan. 5; 2-1 isn't bad (http://x.org/a)."
    assert words(build_tokenizer(None), text) == [t.text for t in spacy.blank("en")(text) if not t.is_space]


# -- sentences --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mr. Smith met U.S. officials. They left.", ["Mr. Smith met U.S. officials .", "They left ."]),
        (
            "J. K. Rowling met Lt. Gen. Ali Ahmed in St. Petersburg.",
            ["J. K. Rowling met Lt. Gen. Ali Ahmed in St. Petersburg ."],
        ),
        ("It rose 3.5 percent on Jan. 5. Then it fell.", ["It rose 3.5 percent on Jan. 5 .", "Then it fell ."]),
        ('"Stop!" he said. "Go," she said.', ['" Stop ! " he said .', '" Go , " she said .']),
        ("They left (see p. 5.) and came back. Good.", ["They left ( see p. 5 . ) and came back .", "Good ."]),
        ("Wow! said Kim. Really?! Yes...", ["Wow ! said Kim .", "Really ? !", "Yes ..."]),
        ('He said " Stop . " Then he left .', ['He said " Stop . "', "Then he left ."]),  # spaces: quote parity
        ("He left.\n\nthen came back", ["He left .", "then came back"]),  # a blank line always cuts
        ("It costs 5. 6 people came. No. 7 won.", ["It costs 5 . 6 people came .", "No . 7 won ."]),
        ("Results:\n1. Kofi won.\n2. Anna lost.", ["Results : 1 . Kofi won .", "2 . Anna lost ."]),  # numbered lines
    ],
)
def test_sentence_splitting(keeping, text, expected):
    assert sentences(keeping, text) == expected


def test_a_number_on_a_new_line_starts_a_sentence():
    words_ = ["It", "ended", ".", "2", "people", "came", "."]
    text = "It ended .\n2 people came ."
    starts = [text.index(w, i) for w, i in zip(words_, [0, 3, 9, 11, 13, 20, 25])]
    assert sentence_cuts(words_, starts, text) == [0, 3, 7]


def _joined(ws: list[str]) -> tuple[list[int], str]:
    text = " ".join(ws)
    starts, pos = [], 0
    for w in ws:
        starts.append(pos)
        pos += len(w) + 1
    return starts, text


def test_length_cap_does_not_cut_inside_a_capitalised_run():
    ws = ["the"] * 300
    ws[250:260] = ["Kofi", "Annan", "Junior", "Mensah", "Of", "New", "York", "City", "Hall", "Trust"]
    starts, text = _joined(ws)
    cuts = sentence_cuts(ws, starts, text)
    assert cuts[0] == 0 and cuts[-1] == 300 and all(b - a <= MAX_SENTENCE_TOKENS for a, b in zip(cuts, cuts[1:]))
    assert cuts[1] == 250  # before the run, not inside it
    ws[240] = ","
    assert sentence_cuts(ws, starts, " ".join(ws))[1] == 241  # after punctuation first
    assert cap_sentences(["the"] * 10, [0, 10], limit=4) == [0, 4, 8, 10]
    assert cap_sentences(["A"] * 10, [0, 10], limit=4) == [0, 4, 8, 10]  # no good boundary: at the limit


# -- models ---------------------------------------------------------------------------------------


def _tiny(lines: list[str], tmp_path, name: str):
    pairs = make_corpus(60, 5)
    for line in lines:
        toks = line.split()
        pairs.append((toks, ["B-PER" if t in ("Kim", "Smith") else "O" for t in toks]))
    tagger = windowner.train(pairs * 2, vectors="none", hidden=8, epochs=1, seed=0)
    return windowner.load(tagger.to_disk(tmp_path / name))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("conventions")
    return {"keep": _tiny(KEEPING, d, "keep"), "split": _tiny(SPLITTING, d, "split")}


def test_a_model_tokenizes_like_its_training_data(models):
    text = "Kim Jong-un saw a 2-1 win. Mr. Smith left."
    assert models["keep"].segment(text).words[:2] == ["Kim", "Jong-un"]
    assert "2-1" in models["keep"].segment(text).words
    assert models["split"].segment(text).words[:4] == ["Kim", "Jong", "-", "un"]
    assert [t.text for t in models["split"](text).tokens] == models["split"].segment(text).words
    assert (models["keep"].path / TOKENIZER_FILE).is_file()


def test_a_spacy_pipeline_can_tokenize_like_the_model(models):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("windowner", config={"model": str(models["keep"].path)})
    nlp.tokenizer = models["keep"].spacy_tokenizer(nlp.vocab)
    text = "Kim Jong-un met Smith in Lagos on Monday. Mr. Smith won 2-1 in Oslo."
    doc = nlp(text)
    assert [t.text for t in doc] == models["keep"].segment(text).words
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
        (e.start_char, e.end_char, e.label) for e in models["keep"](text).ents
    ]


def test_older_model_directories_tokenize_with_spacys_english_tokenizer(models, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(models["keep"].path, old)
    (old / TOKENIZER_FILE).unlink()
    assert load_model(old).tokenizer_rules is None
    tagger = windowner.load(old)
    assert tagger.segment("Kim Jong-un left.").words == ["Kim", "Jong", "-", "un", "left", "."]
    assert tagger.to_disk(tmp_path / "resaved") and not (tmp_path / "resaved" / TOKENIZER_FILE).exists()


@pytest.mark.parametrize("content", ['{"format": 1, "split": {"hyphen": 3}, "keep": []}', "[1, 2", "\xff"])
def test_a_broken_tokenizer_file_is_a_model_error(models, tmp_path, content):
    d = tmp_path / "broken"
    shutil.copytree(models["keep"].path, d)
    (d / TOKENIZER_FILE).write_text(content, encoding="latin-1")
    with pytest.raises(ModelError, match=TOKENIZER_FILE):
        windowner.load(d)


def test_the_tokenizer_memory_stays_bounded(models, monkeypatch):
    tagger = windowner.load(models["keep"].path)
    texts = [" ".join(f"w{i}x{j}" for j in range(100)) + " ." for i in range(60)]  # 6000 distinct words
    expected = [[t.text for t in d.tokens] for d in tagger.pipe(texts)]
    monkeypatch.setattr(tokenizer_module, "MAX_CACHE", 1500)
    fresh = windowner.load(models["keep"].path)
    got = []
    for i in range(0, len(texts), 5):  # batches of 500 new words
        got += [[t.text for t in d.tokens] for d in fresh.pipe(texts[i : i + 5])]
        assert len(fresh.raw_tokenizer._cache) <= 1500
    assert got == expected


def test_the_spacy_tokenizer_vocab_stays_bounded(models, monkeypatch):
    tagger = windowner.load(models["keep"].path)
    texts = [" ".join(f"w{i}x{j}" for j in range(100)) + " ." for i in range(30)]  # 3000 distinct words
    expected = [[t.text for t in tagger.to_spacy(text)] for text in texts]
    monkeypatch.setattr(segment, "MAX_TOKENIZER_WORDS", 1500)
    fresh = windowner.load(models["keep"].path)
    seen: list = []
    got = []
    for text in texts:
        got.append([t.text for t in fresh.to_spacy(text)])
        if not any(t is fresh.tokenizer for t in seen):
            seen.append(fresh.tokenizer)
        assert len(fresh.tokenizer.vocab) < 1500 + 600
    assert got == expected and len(seen) > 1  # replaced, same tokens


# -- offsets are exact for any text ----------------------------------------------------------------

PIECES = st.one_of(
    st.sampled_from(
        [
            "Kim",
            "Jong-un",
            "2-1",
            "Mr.",
            "U.S.",
            "Lt.",
            "J.",
            "3.5",
            "O'Neill",
            "don't",
            "'s",
            "http://a.b/c",
            "x@y.org",
            "(",
            ")",
            '"',
            "'",
            ".",
            "!",
            "?",
            "...",
            "…",
            ",",
            "-",
            "--",
            "St.",
            "Paris",
            "90M",
        ]
    ),
    st.sampled_from([" ", "  ", "\n", "\n\n", "\t", "\u00a0", "\r\n"]),
    st.text(max_size=5),
    st.sampled_from(["\ud800", "\udfff"]),
)


def check_exact(tokenizer, text: str) -> None:
    seg = segment_text(tokenizer, text)
    end = 0
    for w, a in zip(seg.words, seg.starts):
        assert text[a : a + len(w)] == w and w.strip() == w and w
        assert a >= end
        end = a + len(w)
    assert text[end:].strip() == ""
    assert seg.cuts[0] == 0 and seg.cuts[-1] == len(seg.words)
    assert all(a < b for a, b in zip(seg.cuts, seg.cuts[1:])) or not seg.words


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=60), st.lists(PIECES, max_size=40).map("".join)))
def test_offsets_are_exact_for_any_text(keeping, splitting, models, text):
    check_exact(keeping, text)
    check_exact(splitting, text)
    doc = models["keep"](text)
    assert doc.text == text
    end = 0
    for t in doc.tokens:
        assert text[t.start_char : t.end_char] == t.text and t.start_char >= end
        end = t.end_char
    for e in doc.ents:
        assert text[e.start_char : e.end_char] == e.text
