"""The spaCy integration: the registered "windowner" pipeline component, displaCy, and Tagger.to_spacy."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
import spacy
from spacy.tokens import Doc as SpacyDoc

from windowner.errors import ModelError

TEXTS = [
    "Kofi Mensah visited Paris on 5 May 2009. Reporters asked Anna Chen about the floods in Lima.",
    "Zoë  Ångström visited\tZürich on Monday .\n\nIvan Petrov 😀 left 東京 yesterday .",
    "",
    "   \n ",
    "Officials in Buenos Aires met Priya Sharma last Tuesday to discuss trade.",
]


def _ents(doc) -> list[tuple]:
    """(text, label, start_char, end_char) of windowner or spaCy entities."""
    return [(e.text, getattr(e, "label_", None) or e.label, e.start_char, e.end_char) for e in doc.ents]


@pytest.fixture(scope="module")
def nlp(tiny_model_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("windowner", config={"model": str(tiny_model_dir)})
    return nlp


def test_factory_is_registered_through_the_entry_point():
    [ep] = [ep for ep in entry_points(group="spacy_factories") if ep.name == "windowner"]
    assert ep.value == "windowner.integrations.spacy:make_windowner"
    assert ep.load().__name__ == "make_windowner"


def test_component_sets_the_same_entities_as_the_tagger(nlp, tiny_tagger):
    for text in TEXTS:
        doc = nlp(text)
        assert doc.text == text
        assert _ents(doc) == _ents(tiny_tagger(text))
        for span, ent in zip(doc.ents, tiny_tagger(text).ents):
            assert span._.windowner_score == pytest.approx(ent.score, rel=1e-5)
    assert ("Kofi Mensah", "PER", 0, 11) in _ents(nlp(TEXTS[0]))
    assert nlp.get_pipe("windowner").labels == ["DATE", "LOC", "PER"]


def test_nlp_pipe_batches_and_equals_one_by_one(nlp, monkeypatch):
    one_by_one = [_ents(nlp(t)) for t in TEXTS]
    calls = []
    component = nlp.get_pipe("windowner")
    predict = component.tagger.model.predict_scored
    monkeypatch.setattr(
        component.tagger.model, "predict_scored", lambda s, threshold=0.0: calls.append(len(s)) or predict(s, threshold)
    )
    assert [_ents(d) for d in nlp.pipe(TEXTS * 3, batch_size=4)] == one_by_one * 3
    assert len(calls) == 4  # 15 docs in batches of 4


def test_displacy_renders_the_entities(nlp):
    doc = nlp(TEXTS[0])
    html = spacy.displacy.render(doc, style="ent", jupyter=False)
    assert doc.ents
    for ent in doc.ents:
        assert ent.text in html and ent.label_ in html


def test_to_spacy_returns_a_doc_with_identical_offsets_and_scores(tiny_tagger):
    for text in TEXTS + ["Lone \ud800 surrogate near Kofi Mensah in Paris on Monday ."]:
        doc = tiny_tagger.to_spacy(text)
        mine = tiny_tagger(text)
        assert isinstance(doc, SpacyDoc) and len(doc.text) == len(text)
        assert [(e.label_, e.start_char, e.end_char) for e in doc.ents] == [
            (e.label, e.start_char, e.end_char) for e in mine.ents
        ]
        assert [s._.windowner_score for s in doc.ents] == pytest.approx([e.score for e in mine.ents], rel=1e-5)
        assert [t.text for t in doc if not t.is_space] == [t.text for t in mine.tokens] or "\ud800" in text
    assert tiny_tagger.to_spacy(TEXTS[0]).ents
    html = spacy.displacy.render(tiny_tagger.to_spacy(TEXTS[0]), style="ent", jupyter=False)
    assert "Kofi Mensah" in html


def test_missing_model_config_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WINDOWNER_MODEL", str(tmp_path / "no-default"))
    needs = r"needs a model directory, e\.g\. nlp\.add_pipe\('windowner', config=\{'model'"
    with pytest.raises(ModelError, match=needs):
        spacy.blank("en").add_pipe("windowner")
    with pytest.raises(ModelError, match="no such model directory"):
        spacy.blank("en").add_pipe("windowner", config={"model": str(tmp_path / "absent")})


def test_bad_batch_size_is_rejected(tiny_model_dir):
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        spacy.blank("en").add_pipe("windowner", config={"model": str(tiny_model_dir), "batch_size": 0})


def test_pipeline_to_disk_carries_the_model(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "windowner" / "weights.npz").exists()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("windowner").tagger.path == tmp_path / "pipeline" / "windowner"
    for text in TEXTS:
        assert _ents(loaded(text)) == _ents(nlp(text))
