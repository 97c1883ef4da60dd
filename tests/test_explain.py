"""windowner.model.explain: the gradient of a class score w.r.t. each window position, checked numerically."""

from __future__ import annotations

import numpy as np
import pytest

from windowner.model.explain import explain_tokens
from windowner.model.inference import NERModel
from windowner.nn.embeddings import Embeddings
from windowner.nn.gradcheck import numeric_grad, rel_error
from windowner.nn.network import WindowNetwork
from windowner.tagger import Tagger


def explain(tagger: Tagger, text, **kwargs):
    return tagger.explain(text, **kwargs)


TEXT = "Anna Kowalski visited Paris on Monday. Officials in Lagos met Omar yesterday."


def float64_copy(model: NERModel) -> NERModel:
    """The same model with float64 network and embedding tables (the lexicon and frozen vectors shared)."""
    D, h, K = model.net.shape
    net = WindowNetwork(D, h, K, activation=model.config["activation"], head=model.config["head"], dtype=np.float64)
    net.params.update({name: arr.astype(np.float64) for name, arr in model.net.params.items()})
    tables = {name: t.astype(np.float64) for name, t in model.embeddings.tables.items()}
    embeddings = Embeddings(tables, base=model.embeddings.base)
    return NERModel(model.config, model.tags, model.lexicon, embeddings, net, model.start, model.trans)


def test_one_saliency_per_token_with_window_shapes_and_offsets(tiny_tagger):
    model = tiny_tagger.model
    m, d = 2 * model.window + 1, model.embeddings.d_total
    doc = tiny_tagger(TEXT)
    out = explain(tiny_tagger, TEXT)
    assert [t.token for t in out] == [t.text for t in doc.tokens]
    assert [t.tag for t in out] == [t.tag for t in doc.tokens]  # same tokenization, sentences and decoding
    assert [t.target for t in out] == [t.tag for t in doc.tokens]  # default: explain the predicted tag
    for i, t in enumerate(out):
        assert t.index == i
        assert TEXT[t.start_char : t.end_char] == t.token
        assert t.gradient.shape == (m, d) and t.inputs.shape == (m, d) and t.saliency.shape == (m,)
        assert len(t.window) == m and t.window[model.window] == t.token
        np.testing.assert_allclose(t.saliency, np.linalg.norm(t.gradient, axis=1))
        assert sum(v.shape == (m,) for v in t.by_feature().values()) == 3
    # windows do not cross the sentence boundary after "Monday ."
    dot = [t.token for t in out].index(".")
    assert out[dot].window[model.window + 1 :] == ("</s>",) * model.window
    assert out[dot + 1].window[: model.window] == ("<s>",) * model.window
    # the model tags Paris as a location, so "B-LOC" is what is explained there
    paris = next(t for t in out if t.token == "Paris")
    assert paris.target == "B-LOC"
    by_feature = paris.by_feature()
    np.testing.assert_allclose(np.sqrt(sum(v**2 for v in by_feature.values())), paris.saliency, rtol=1e-6)


def test_gradient_matches_central_differences_in_float64(tiny_tagger):
    model64 = float64_copy(tiny_tagger.model)
    net = model64.net
    out = explain(Tagger(model64), TEXT)
    checked = 0
    for t in out:
        if t.token not in ("Paris", "Omar", "visited", "yesterday"):
            continue
        c = model64.tags.index(t.target)
        x = t.inputs.reshape(-1).copy()
        numeric = numeric_grad(lambda x=x, c=c: float(net.forward(x[None, :])[0, c]), x)
        assert rel_error(t.gradient.reshape(-1), numeric) < 1e-7, t.token
        assert t.score == pytest.approx(float(net.forward(x[None, :])[0, c]))
        checked += 1
    assert checked == 4
    # the float32 model gives the same explanation: explain computes in float64 from its parameters
    out32 = explain(tiny_tagger, TEXT)
    for a, b in zip(out32, out):
        np.testing.assert_allclose(a.gradient, b.gradient, rtol=1e-6, atol=1e-9)
        assert a.target == b.target


def test_gradient_is_the_backward_formula(tiny_tagger):
    """∂s_c/∂x = Wᵀ (U[:, c] ∘ f'(z)), written out independently of the network's backward."""
    model = tiny_tagger.model
    W, b, U = (model.net.params[n].astype(np.float64) for n in ("W", "b", "U"))
    t = next(t for t in explain(tiny_tagger, TEXT, label="PER") if t.token == "Omar")
    c = model.tags.index(t.target)
    z = W @ t.inputs.reshape(-1) + b
    expected = W.T @ (U[:, c] * (1 - np.tanh(z) ** 2))
    assert model.config["activation"] == "tanh"
    np.testing.assert_allclose(t.gradient.reshape(-1), expected, rtol=1e-10, atol=1e-12)


def test_label_chooses_the_explained_class(tiny_tagger):
    loc = explain(tiny_tagger, TEXT, label="LOC")
    assert {t.target for t in loc} <= {"B-LOC", "I-LOC"}
    assert next(t for t in loc if t.token == "Lagos").target == "B-LOC"  # its predicted tag
    assert {t.target for t in explain(tiny_tagger, TEXT, label="O")} == {"O"}
    assert {t.target for t in explain(tiny_tagger, TEXT, label="I-PER")} == {"I-PER"}
    with pytest.raises(ValueError, match=r"unknown label 'ORG'.*DATE, LOC, PER"):
        explain(tiny_tagger, TEXT, label="ORG")


def test_gradient_times_input_method(tiny_tagger):
    norm = explain(tiny_tagger, TEXT)
    gxi = explain(tiny_tagger, TEXT, method="input")
    for a, b in zip(norm, gxi):
        np.testing.assert_array_equal(a.gradient, b.gradient)
        np.testing.assert_allclose(b.saliency, (b.gradient * b.inputs).sum(axis=1))
    with pytest.raises(ValueError, match="unknown method 'grad'"):
        explain(tiny_tagger, TEXT, method="grad")


def test_dropout_is_off_and_predictions_unchanged(tiny_tagger):
    model64 = float64_copy(tiny_tagger.model)
    model64.net.dropout.rate = 0.5  # as during training: explain must not sample masks
    tagger = Tagger(model64)
    first, second = explain(tagger, TEXT), explain(tagger, TEXT)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.gradient, b.gradient)
    assert [t.tag for t in tagger(TEXT).tokens] == [t.tag for t in first]


def test_pre_tokenized_sentences_and_bad_input(tiny_tagger):
    model = tiny_tagger.model
    sents = explain_tokens(model, [["Omar", "visited", "Lima", "."], [], ["Monday"]])
    assert [len(s) for s in sents] == [4, 0, 1]
    assert sents[2][0].index == 4 and sents[0][0].start_char is None
    assert sents[2][0].window == ("<s>",) * model.window + ("Monday",) + ("</s>",) * model.window
    assert explain(tiny_tagger, "") == []
    with pytest.raises(TypeError, match="tags str, but text is bytes"):
        explain(tiny_tagger, b"Paris")
    with pytest.raises(TypeError, match="list of sentences"):
        explain_tokens(model, ["Omar", "visited", "Lima"])
