"""The Python API: windowner.load / Tagger on raw text, pipe, tag_tokens, train, to_disk/load, bad input."""

from __future__ import annotations

import inspect
import itertools
import json
import re
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import windowner
from windowner import tagger as tagger_module
from windowner.errors import ModelError
from windowner.tagger import Tagger
from windowner.text.doc import Doc
from windowner.text.segment import MAX_SENTENCE_TOKENS

from conftest import make_corpus

PLAIN = "Kofi Mensah visited Paris on 5 May 2009 . Reporters asked Anna Chen about the floods in Lima ."
# The same tokens as PLAIN, with other whitespace (never a blank line, which would cut a sentence).
TRICKY = [
    "Kofi   Mensah visited  Paris on 5 May 2009 .   Reporters asked Anna Chen about the floods in Lima .",
    "Kofi\tMensah\tvisited Paris\ton 5 May 2009 .\nReporters asked Anna Chen\nabout the floods in Lima .",
    "\n\t  Kofi Mensah visited Paris on 5 May 2009 . Reporters asked Anna Chen about the floods in Lima .  \n",
    "Kofi\u00a0Mensah visited Paris on 5\u3000May 2009 .\r\nReporters asked Anna Chen about the floods in Lima .",
]
UNICODE = [
    "Zoë Ångström visited Zürich and Kraków on 5 May 2009 . Café owners in Besançon met Léa .",
    "Ivan Petrov visited Москва and 東京 on Monday . 😀 Anna Chen 👩‍👩‍👧 left Lima 🇵🇪 yesterday .",
    "Mei Chen سافرت إلى القاهرة visited Cairo . e\u0301 combining , zero\u200bwidth , Kofi Mensah 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 .",
    "Lone \ud800 surrogate near Kofi Mensah in Paris \udfff on Monday .",
    "Kofi Mensah\x00visited\x0bParis\x0con\x85Monday\u2028and\u2029Lima .",
]


def check_offsets(doc: Doc, text: str) -> None:
    """Every token and entity is an exact slice of ``text``; tokens cover all non-whitespace, in order."""
    assert doc.text is text or doc.text == text
    prev = 0
    for tok in doc.tokens:
        assert text[tok.start_char : tok.end_char] == tok.text
        assert tok.text and not tok.text.isspace()
        assert tok.start_char >= prev
        assert text[prev : tok.start_char].strip() == "", "non-whitespace text between tokens was dropped"
        prev = tok.end_char
    assert text[prev:].strip() == ""
    for ent in doc.ents:
        assert text[ent.start_char : ent.end_char] == ent.text
        assert ent.start_char == doc.tokens[ent.start].start_char
        assert ent.end_char == doc.tokens[ent.end - 1].end_char
        assert [t.tag for t in doc.tokens[ent.start : ent.end]] == [f"B-{ent.label}"] + [f"I-{ent.label}"] * (
            ent.end - ent.start - 1
        )
        assert 0.0 <= ent.score <= 1.0


def test_issue_example(tiny_tagger):
    text = "Kofi Mensah visited Paris on 5 May 2009."
    doc = tiny_tagger(text)
    check_offsets(doc, text)
    assert {(e.text, e.label) for e in doc.ents} == {("Kofi Mensah", "PER"), ("Paris", "LOC"), ("5 May 2009", "DATE")}
    assert [t.text for t in doc] == ["Kofi", "Mensah", "visited", "Paris", "on", "5", "May", "2009", "."]
    assert doc.tags == [t.tag for t in doc.tokens] and len(doc) == 9
    assert json.loads(json.dumps(doc.to_dict()))["ents"][0]["start_char"] == 0


@pytest.mark.parametrize("text", TRICKY)
def test_whitespace_does_not_change_tags_and_offsets_stay_exact(tiny_tagger, text):
    plain = tiny_tagger(PLAIN)
    doc = tiny_tagger(text)
    check_offsets(doc, text)
    assert [t.text for t in doc.tokens] == [t.text for t in plain.tokens]
    assert doc.tags == plain.tags
    assert [(" ".join(e.text.split()), e.label) for e in doc.ents] == [(e.text, e.label) for e in plain.ents]
    assert len(plain.ents) >= 4


@pytest.mark.parametrize("text", UNICODE)
def test_offsets_on_unicode_text(tiny_tagger, text):
    doc = tiny_tagger(text)
    check_offsets(doc, text)
    assert any(e.label == "PER" for e in doc.ents)


def test_blank_line_ends_a_sentence(tiny_tagger):
    seg = tiny_tagger.segment("Kofi Mensah visited\n\nParis today\n \n Lima")
    words, cuts = seg.words, seg.cuts
    assert words == ["Kofi", "Mensah", "visited", "Paris", "today", "Lima"]
    assert cuts == [0, 3, 5, 6]


PIECES = st.one_of(
    st.sampled_from(
        [
            "Kofi",
            "Mensah",
            "Anna",
            "Chen",
            "visited",
            "Paris",
            "New",
            "York",
            "on",
            "Monday",
            "5",
            "May",
            "2009",
            ".",
            ",",
            "!",
            "…",
            "😀",
            "東京",
            "Zürich",
        ]
    ),
    st.sampled_from([" ", "  ", "\t", "\n", "\n\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\x85"]),
    st.text(max_size=6),
    st.sampled_from(["\ud800", "\udc80", "\udfff"]),  # lone surrogates: str can hold them, spaCy cannot
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=80), st.lists(PIECES, max_size=40).map("".join)))
def test_offsets_property_on_arbitrary_text(tiny_tagger, text):
    check_offsets(tiny_tagger(text), text)


# -- pipe -----------------------------------------------------------------------------------------


def _same_docs(a: list[Doc], b: list[Doc]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x.text, [t.text for t in x.tokens], x.tags) == (y.text, [t.text for t in y.tokens], y.tags)
        assert [(e.text, e.label, e.start_char, e.end_char, e.start, e.end) for e in x.ents] == [
            (e.text, e.label, e.start_char, e.end_char, e.start, e.end) for e in y.ents
        ]
        np.testing.assert_allclose([t.score for t in x.tokens], [t.score for t in y.tokens], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose([e.score for e in x.ents], [e.score for e in y.ents], rtol=1e-5, atol=1e-7)


def _texts() -> list[str]:
    sents = [" ".join(t) for t, _ in make_corpus(30, 7)]
    return ["", "   \n "] + TRICKY + UNICODE + [" ".join(sents[i : i + 3]) for i in range(0, 30, 3)]


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
def test_pipe_equals_calling_one_by_one(tiny_tagger, batch_size):
    texts = _texts()
    _same_docs(list(tiny_tagger.pipe(texts, batch_size=batch_size)), [tiny_tagger(t) for t in texts])


def test_pipe_is_a_lazy_generator_with_one_model_call_per_batch(tiny_tagger, monkeypatch):
    calls = []
    predict = tiny_tagger.model.predict_scored

    def counting(sentences, threshold=0.0):
        calls.append(len(sentences))
        return predict(sentences, threshold)

    monkeypatch.setattr(tiny_tagger.model, "predict_scored", counting)
    texts = _texts()
    stream = tiny_tagger.pipe(iter(texts), batch_size=4)
    assert inspect.isgenerator(stream) and calls == []
    docs = list(stream)
    assert len(docs) == len(texts)
    assert len(calls) == -(-len(texts) // 4)
    # an endless stream: only the batches needed are read
    calls.clear()
    first = list(itertools.islice(tiny_tagger.pipe(itertools.cycle(["Anna Chen left Oslo ."]), batch_size=5), 7))
    assert len(first) == 7 and len(calls) == 2


def test_pipe_rejects_bad_arguments(tiny_tagger):
    with pytest.raises(TypeError, match="tagger\\(text\\)"):
        tiny_tagger.pipe("one text, not a list")
    with pytest.raises(TypeError, match="int"):
        tiny_tagger.pipe(42)
    with pytest.raises(ValueError, match="batch_size"):
        tiny_tagger.pipe(["a"], batch_size=0)
    with pytest.raises(TypeError, match="text 2 of the stream is NoneType"):
        list(tiny_tagger.pipe(["a", "b", None]))


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, name", [(None, "NoneType"), (b"Paris", "bytes"), (3.5, "float"), (["Paris"], "list")])
def test_non_string_input_raises_type_error_naming_the_type(tiny_tagger, value, name):
    with pytest.raises(TypeError, match=name):
        tiny_tagger(value)
    with pytest.raises(TypeError, match=name):
        tiny_tagger.to_spacy(value)


def test_bytes_error_says_how_to_decode(tiny_tagger):
    with pytest.raises(TypeError, match="decode"):
        tiny_tagger(b"Paris")


@pytest.mark.parametrize("text", ["", " ", "\n\n\t  \r\n", "\u3000\u00a0"])
def test_empty_or_whitespace_text_gives_an_empty_doc(tiny_tagger, text):
    doc = tiny_tagger(text)
    assert doc.text == text and doc.tokens == [] and doc.ents == []


def test_one_megabyte_in_one_call(tiny_tagger, monkeypatch):
    sentences = [" ".join(t) for t, _ in make_corpus(300, 11)]
    no_punct = " ".join(w for s in sentences[:100] for w in s.split() if w not in ".,")  # ~1000 tokens, no '.'
    unit = "\n".join(sentences) + "\n\n" + no_punct + "\t😀 Zürich\n\n"
    text = unit * (1_000_000 // len(unit) + 1)
    assert len(text) >= 1_000_000
    calls = []
    predict = tiny_tagger.model.predict_scored
    monkeypatch.setattr(
        tiny_tagger.model,
        "predict_scored",
        lambda s, threshold=0.0: calls.append(sum(map(len, s))) or predict(s, threshold),
    )
    doc = tiny_tagger(text)
    assert len(doc.tokens) > 150_000 and len(doc.ents) > 10_000
    assert max(calls) <= tagger_module.MAX_CALL_TOKENS < sum(calls)  # memory stays bounded
    check_offsets(doc, text)
    cuts = tiny_tagger.segment(unit).cuts
    assert max(np.diff(cuts)) == MAX_SENTENCE_TOKENS  # the run without punctuation was cut


def test_chunked_model_calls_equal_one_call(tiny_tagger, monkeypatch):
    texts = _texts()
    whole = [tiny_tagger(t) for t in texts]
    monkeypatch.setattr(tagger_module, "MAX_CALL_TOKENS", 7)
    _same_docs(list(tiny_tagger.pipe(texts)), whole)
    sents = [t for t, _ in make_corpus(20, 4)]
    monkeypatch.setattr(tagger_module, "MAX_CALL_TOKENS", 10**9)
    assert tiny_tagger.tag_tokens(sents) == tiny_tagger.model.predict(sents)


# -- pre-tokenized input --------------------------------------------------------------------------


def test_tag_tokens(tiny_tagger, tiny_corpus):
    tags = tiny_tagger.tag_tokens([["Obama", "visited", "Paris"]])
    assert len(tags) == 1 and len(tags[0]) == 3 and set(tags[0]) <= set(tiny_tagger.tags)
    assert tiny_tagger.tag_tokens([["Kofi", "Mensah", "visited", "Paris", "."]])[0] == [
        "B-PER",
        "I-PER",
        "O",
        "B-LOC",
        "O",
    ]
    assert tiny_tagger.tag_tokens([]) == [] and tiny_tagger.tag_tokens([[], ["Paris"]])[0] == []
    sents = (tuple(t) for t, _ in tiny_corpus["test"][:5])  # any iterable of sequences
    assert tiny_tagger.tag_tokens(sents) == tiny_tagger.model.predict([t for t, _ in tiny_corpus["test"][:5]])
    doc = tiny_tagger(PLAIN)
    assert tiny_tagger.tag_tokens([[t.text for t in doc.tokens[:9]]])[0] == doc.tags[:9]


@pytest.mark.parametrize(
    "bad, match",
    [
        ("Obama visited Paris", "list of sentences"),
        (["Obama", "visited"], "sentence 0 is str"),
        ([["Obama", 3]], "sentence 0, token 1 is int"),
    ],
)
def test_tag_tokens_rejects_bad_input(tiny_tagger, bad, match):
    with pytest.raises(TypeError, match=match):
        tiny_tagger.tag_tokens(bad)


# -- train, to_disk, load -------------------------------------------------------------------------


def test_save_load_round_trip_gives_identical_predictions(tiny_tagger, tmp_path):
    texts = _texts()
    before = list(tiny_tagger.pipe(texts))
    path = Tagger(tiny_tagger.model).to_disk(tmp_path / "copy")
    loaded = windowner.load(path)
    assert loaded.path == path and loaded.labels == tiny_tagger.labels and loaded.tags == tiny_tagger.tags
    for name, arr in tiny_tagger.model.weights().items():
        np.testing.assert_array_equal(loaded.model.weights()[name], arr)
    _same_docs(list(loaded.pipe(texts)), before)
    assert "labels=['DATE', 'LOC', 'PER']" in repr(loaded)


def test_train_from_python_then_round_trip(tiny_corpus, tmp_path):
    tagger = windowner.train(tiny_corpus["train"][:200], dev=tiny_corpus["dev"][:40], hidden=16, epochs=2, seed=1)
    assert isinstance(tagger, Tagger) and tagger.labels == ["DATE", "LOC", "PER"]
    texts = _texts()
    sents = [t for t, _ in tiny_corpus["test"]]
    before, tags = list(tagger.pipe(texts)), tagger.tag_tokens(sents)
    loaded = windowner.load(tagger.to_disk(tmp_path / "m"))
    _same_docs(list(loaded.pipe(texts)), before)
    assert loaded.tag_tokens(sents) == tags
    assert loaded.model.config["hidden"] == 16 and loaded.model.config["seed"] == 1
    assert len(loaded.model.history) == 2


def test_train_from_conll_files_and_other_schemes(tiny_files):
    from windowner.evaluation.metrics import evaluate

    tagger = windowner.train(str(tiny_files["train"]), dev=tiny_files["dev"], hidden=16, epochs=2)
    assert tagger.labels == ["DATE", "LOC", "PER"]
    iob1 = [(["Anna", "Chen", "met", "Kofi"], ["I-PER", "I-PER", "O", "I-PER"])] * 30
    bio2 = windowner.train(iob1, scheme="iob1", hidden=8, epochs=1, vectors="none")
    assert bio2.tags == ["O", "B-PER", "I-PER"]
    rep = evaluate([g for _, g in make_corpus(40, 9)], tagger.tag_tokens([t for t, _ in make_corpus(40, 9)]))
    assert rep.overall.f1 > 0.3


@pytest.mark.parametrize(
    "data, exc, match",
    [
        (
            [(["Paris", "is"], ["B-LOC"])],
            ValueError,
            "train tokens\\[0\\] has 2 tokens but train tags\\[0\\] has 1 tags",
        ),
        ([(["Paris"], ["LOC"])], ValueError, "train tags\\[0\\]: invalid NER tag 'LOC'"),
        ([(["Paris"], ["b-LOC"])], ValueError, "case-sensitive"),
        ([(["Paris", 3], ["B-LOC", "O"])], TypeError, "train tokens\\[0\\]\\[1\\] is int"),
        (
            [["Paris"]],
            TypeError,
            "train\\[0\\] is list; train must be a CoNLL file path or a list of \\(tokens, tags\\)",
        ),
        (42, TypeError, "got int"),
    ],
)
def test_train_rejects_bad_sentences(data, exc, match):
    with pytest.raises(exc, match=match):
        windowner.train(data, epochs=1)


def test_train_rejects_unknown_hyper_parameters(tiny_corpus):
    with pytest.raises(TypeError, match=r"unknown hyper-parameter\(s\) hiddden; valid: .*hidden"):
        windowner.train(tiny_corpus["train"], hiddden=16)
    with pytest.raises(windowner.errors.WindownerError, match="hidden must be >= 1"):
        windowner.train(tiny_corpus["train"], hidden=0)


# -- model directories ----------------------------------------------------------------------------


def test_missing_model_directory(tmp_path):
    with pytest.raises(ModelError, match=re.escape(f"{tmp_path / 'nope'}: no such model directory; train one with")):
        windowner.load(tmp_path / "nope")
    with pytest.raises(TypeError, match=r"str or os\.PathLike, got int"):
        windowner.load(3)


def test_missing_default_model_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("WINDOWNER_MODEL", str(tmp_path / "none"))
    with pytest.raises(ModelError, match="make demo"):
        windowner.load()


def _break(path, name: str, how: str) -> None:
    f = path / name
    if how == "delete":
        f.unlink()
    elif how == "truncate":
        f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2])
    elif how == "binary":
        f.write_bytes(b"\xff\xfe\x00garbage\x80")
    elif how == "drop-tags":
        config = json.loads(f.read_text())
        del config["tags"]
        f.write_text(json.dumps(config))


@pytest.mark.parametrize(
    "name, how, match",
    [
        ("weights.npz", "delete", "weights.npz: missing; the model directory is incomplete — retrain"),
        ("weights.npz", "truncate", "weights.npz: cannot be read .*corrupt — retrain"),
        ("config.json", "delete", "config.json: missing"),
        ("config.json", "truncate", "config.json: not valid JSON"),
        ("config.json", "drop-tags", "config.json: .*'tags'.* retrain"),
        ("vocab.txt", "binary", "vocab.txt: not valid UTF-8 .*corrupt — retrain"),
        ("vocab.txt", "delete", "vocab.txt: missing"),
    ],
)
def test_corrupt_model_directory_names_the_file(tiny_model_dir, tmp_path, name, how, match):
    path = shutil.copytree(tiny_model_dir, tmp_path / "m")
    _break(path, name, how)
    with pytest.raises(ModelError, match=match) as info:
        windowner.load(path)
    assert str(path) in str(info.value)
