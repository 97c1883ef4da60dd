"""Training on from a trained model (``--init-model``, ``fit(init_model=...)``): the lexicon grows, old ids and
rows stay, labels may be added, the shapes are the model's own."""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest

import windowner
from windowner.cli import main
from windowner.errors import ModelError, WindownerError
from windowner.features import Lexicon
from windowner.features.word import SPECIAL_WORDS, WordFeature
from windowner.model.config import TrainConfig, with_shapes_of
from windowner.model.files import load_model, save_model
from windowner.model.training import fit, initialize_from, tag_set
from windowner.nn.embeddings import Embeddings
from windowner.nn.gradcheck import TOLERANCE, check_tables

from conftest import frame_sentence, make_corpus, write_conll

COMPANIES = [["Zorblatt", "Industries"], ["Quenthor"], ["Vellmark", "Group"], ["Xandrell", "Labs"]]
FRAMES = [
    "{P} joined {O} in {L} .",
    "{O} hired {P} last week .",
    "Shares of {O} fell in {L} .",
    "Analysts expect {O} to grow .",
]


def domain_corpus(n: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """Sentences with a new entity type (ORG) and new words, PER and LOC as the base model knows them."""
    rng = random.Random(seed)

    def slot(part: str) -> tuple[list[str], str]:
        return {
            "{P}": (["Anna", "Chen"], "PER"),
            "{L}": (rng.choice([["Lagos"], ["Oslo"], ["Hanoi"]]), "LOC"),
            "{O}": (rng.choice(COMPANIES), "ORG"),
        }[part]

    return [frame_sentence(rng.choice(FRAMES), slot) for _ in range(n)]


@pytest.fixture(scope="module")
def base(tiny_model_dir):
    return load_model(tiny_model_dir)


@pytest.fixture(scope="module")
def domain():
    return {"train": domain_corpus(120, 1), "dev": domain_corpus(30, 2)}


def _grow(base, train):
    cfg = with_shapes_of(TrainConfig(epochs=1), base.config)
    types = {t[2:] for _, g in train for t in g if t != "O"} | set(base.labels)
    tags = tag_set((), sorted(types))
    return initialize_from(base, train, tags, cfg, np.random.default_rng(0))


def test_features_grow_after_their_old_ids():
    old = Lexicon.build([["the", "cat", "sat", "."]] * 5, None, TrainConfig(shape_dim=4, prefix_len=2))
    grown = old.extend([["the", "dog", "ran", "."]] * 5, TrainConfig(shape_dim=4, prefix_len=2))
    assert grown.columns == old.columns
    for name in ("F", "P", "S"):
        assert grown[name].vocab[: len(old[name].vocab)] == old[name].vocab
    assert grown.words[: len(old.words)] == old.words
    assert {"dog", "ran"} <= set(grown.words[len(old.words) :])
    toks = ["the", "cat", "sat", "."]
    np.testing.assert_array_equal(grown.features(toks), old.features(toks))
    assert grown["C"] is old["C"]  # fixed-size columns stay
    assert old.extend([["the", "cat"]], TrainConfig()) is not old  # a new lexicon, even unchanged
    assert isinstance(grown["E"], WordFeature) and grown["E"].words[: len(SPECIAL_WORDS)] == list(SPECIAL_WORDS)


def test_growing_keeps_the_old_rows_and_ids_and_adds_new_ones(base, domain):
    before = {name: t.copy() for name, t in base.embeddings.tables.items()}
    grown = _grow(base, domain["train"])
    assert grown.tags == ["O", "B-DATE", "I-DATE", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    for name, old in before.items():  # the initial model is unchanged; its rows carried over
        np.testing.assert_array_equal(base.embeddings.tables[name], old)
        np.testing.assert_array_equal(grown.embeddings.tables[name][: len(old)], old)
    old_words, new_words = base.lexicon.words, grown.lexicon.words
    assert new_words[: len(old_words)] == old_words
    added = new_words[len(old_words) :]
    assert "zorblatt" in added or "Zorblatt" in added
    assert len(grown.embeddings.tables["E"]) == len(new_words) > len(old_words)
    # a new word the vectors know gets its pretrained vector, as in new training
    known = [w for w in added if base.lexicon.pretrained.index(w) >= 0]
    assert known
    row = grown.lexicon.word_row[known[0]]
    vec = base.lexicon.pretrained.vectors[base.lexicon.pretrained.index(known[0])]
    np.testing.assert_array_equal(grown.embeddings.tables["E"][row], vec)
    # W and b kept, the old tags' U columns kept, new columns for ORG
    for name in ("W", "b"):
        np.testing.assert_array_equal(grown.net.params[name], base.net.params[name])
    U_old, U = base.net.params["U"], grown.net.params["U"]
    for j, tag in enumerate(base.tags):
        np.testing.assert_array_equal(U[:, grown.tags.index(tag)], U_old[:, j])
    assert U.shape == (U_old.shape[0], 9) and np.abs(U[:, grown.tags.index("B-ORG")]).sum() > 0


def test_before_any_epoch_the_grown_model_predicts_as_the_old_one(base, tiny_corpus):
    """New data of known words and labels only: the grown model is the old one, to the last bit."""
    grown = _grow(base, make_corpus(60, 9))
    test = [t for t, _ in tiny_corpus["test"]]
    assert grown.tags == base.tags
    np.testing.assert_array_equal(grown.log_proba(test), base.log_proba(test))
    assert grown.predict(test) == base.predict(test)


def test_old_tokens_keep_their_features_when_new_words_arrive(base, domain, tiny_corpus):
    grown = _grow(base, domain["train"])
    test = [t for t, _ in tiny_corpus["test"]]
    np.testing.assert_array_equal(grown.window_features(test), base.window_features(test))
    old_cols = [grown.tags.index(t) for t in base.tags]
    X_old = base.embeddings.forward(base.window_features(test[:5]))
    X_new = grown.embeddings.forward(grown.window_features(test[:5]))
    np.testing.assert_array_equal(X_new, X_old)
    assert grown.log_proba(test).shape[1] == len(old_cols) + 2


def test_the_grown_model_trains_saves_and_loads(base, domain, tmp_path):
    model = fit(
        domain["train"], domain["dev"], TrainConfig(epochs=3, seed=0), progress=False, log=None, init_model=base
    )
    assert "ORG" in model.labels and set(base.labels) <= set(model.labels)
    assert model.config["hidden"] == base.config["hidden"] and model.config["window"] == base.config["window"]
    assert model.history and model.history[-1]["dev_f1"] > 0.5
    again = load_model(save_model(model, tmp_path / "m"))
    sents = [t for t, _ in domain["dev"]]
    assert again.predict(sents) == model.predict(sents)
    assert again.lexicon.words == model.lexicon.words


def test_gradcheck_holds_on_the_grown_tables(base, domain):
    grown = _grow(base, domain["train"])
    tables = {name: t.astype(np.float64) for name, t in grown.embeddings.tables.items()}
    emb = Embeddings(tables, widths=grown.lexicon.widths)
    sents = [t for t, _ in domain["train"][:3]]
    feats = grown.window_features(sents)
    assert feats[..., 0].max() >= len(base.lexicon.words)  # the windows touch new rows
    errors = check_tables(emb, feats)
    assert max(errors.values()) < TOLERANCE, errors


def test_a_conflicting_shape_setting_says_so(base, domain):
    with pytest.raises(WindownerError, match=r"--hidden 64 \(the model has 32\).*without --init-model"):
        fit(domain["train"], None, TrainConfig(hidden=64), progress=False, log=None, init_model=base)
    # the model's own value, or the default, is no conflict
    cfg = with_shapes_of(TrainConfig(hidden=32, lr=0.05, epochs=3), base.config)
    assert (cfg.hidden, cfg.lr, cfg.epochs) == (32, 0.05, 3)


def test_a_missing_or_corrupt_init_model_is_a_model_error(tiny_model_dir, domain, tmp_path):
    with pytest.raises(ModelError, match="no such model directory"):
        windowner.train(domain["train"], init_model=tmp_path / "nope", epochs=1)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "weights.npz").write_bytes(b"not a zip file")
    with pytest.raises(ModelError, match=r"weights\.npz"):
        windowner.train(domain["train"], init_model=broken, epochs=1)
    with pytest.raises(TypeError, match="init_model"):
        windowner.train(domain["train"], init_model=42, epochs=1)


def test_the_cli_trains_on_from_a_model(tiny_model_dir, domain, tmp_path, capsys):
    train = write_conll(domain["train"], tmp_path / "train.conll")
    dev = write_conll(domain["dev"], tmp_path / "dev.conll")
    out = tmp_path / "adapted"
    args = ["train", "--train", str(train), "--dev", str(dev), "--out", str(out), "--quiet", "--epochs", "2"]
    assert main([*args, "--init-model", str(tiny_model_dir)]) == 0
    tagger = windowner.load(out)
    assert set(tagger.labels) == {"DATE", "LOC", "ORG", "PER"}
    assert len(tagger.model.lexicon.words) > len(load_model(tiny_model_dir).lexicon.words)
    capsys.readouterr()
    assert main([*args, "--init-model", str(tiny_model_dir), "--window", "3"]) == 2
    err = capsys.readouterr().err
    assert "--window 3 (the model has 2)" in err
    assert main([*args, "--init-model", str(tmp_path / "missing")]) == 2
    assert "no such model directory" in capsys.readouterr().err
    # a Tagger works as the initial model too
    assert "ORG" in windowner.train(domain["train"], init_model=tagger, epochs=1).labels


def test_every_feature_column_grows_or_stays(tiny_corpus, domain):
    """Clusters map the new words too; gazetteer and n-gram columns keep their size."""
    rich = dict(
        prefix_len=3, shape_dim=6, gazetteer_dim=4, cluster_dim=5, vector_clusters=16, ngram_dim=4, ngram_buckets=97
    )
    cfg = TrainConfig(hidden=16, epochs=1, batch_size=32, seed=0, calibration="none", **rich)
    old = fit(tiny_corpus["train"][:100], None, cfg, progress=False, log=None)
    grown = _grow(old, domain["train"])
    n_old = len(old.lexicon.words)
    assert len(grown.lexicon.words) > n_old
    np.testing.assert_array_equal(grown.lexicon["K"].word_cluster[:n_old], old.lexicon["K"].word_cluster)
    assert len(grown.lexicon["K"].word_cluster) == len(grown.lexicon.words)
    for name in ("G", "N", "K", "C"):
        assert grown.embeddings.tables[name].shape == old.embeddings.tables[name].shape
    # the old ids keep their meaning: a known suffix, prefix, shape, n-gram, ... keeps its id (an unknown one, 0,
    # may now be known); a word seen only now moved from a frozen pretrained row to its own, of the same vector
    test = [t for t, _ in tiny_corpus["test"]]
    a, b = old.window_features(test), grown.window_features(test)
    rest_a, rest_b = a[..., 1:], b[..., 1:]
    np.testing.assert_array_equal(rest_b[rest_a != 0], rest_a[rest_a != 0])
    words = a[..., 0] != 0
    np.testing.assert_array_equal(
        grown.embeddings.word_vectors(b[..., 0][words]), old.embeddings.word_vectors(a[..., 0][words])
    )
    trained = fit(domain["train"], None, TrainConfig(epochs=1, seed=0), progress=False, log=None, init_model=old)
    assert trained.lexicon.columns == old.lexicon.columns and "ORG" in trained.labels
