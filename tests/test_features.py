"""Feature columns of the lexicon: shape, prefix, gazetteer, clusters, character n-grams; their tables train, save,
load and tag alike."""

from __future__ import annotations

import json

import numpy as np
import pytest

from windowner.errors import ModelError
from windowner.features import NGRAM_SLOTS, ClusterFeature, GazetteerFeature, Lexicon, char_ngrams, shape
from windowner.model.config import TrainConfig
from windowner.model.files import load_model, save_model
from windowner.model.training import fit
from windowner.nn.embeddings import Embeddings

GAZETTEER_FILE, CLUSTERS_FILE = GazetteerFeature.file, ClusterFeature.file

ALL_FEATURES = dict(
    prefix_len=3,
    shape_dim=6,
    gazetteer_dim=4,
    cluster_dim=5,
    vector_clusters=16,
    ngram_dim=4,
    ngram_buckets=97,
    hidden=24,
    epochs=2,
    batch_size=32,
    lr=0.1,
    seed=0,
    calibration_refit=False,
)


@pytest.mark.parametrize(
    "token, want",
    [
        ("McDonald's", "XxXx'x"),
        ("1,300", "d,d"),
        ("U.S.", "X.X."),
        ("Obama", "Xx"),
        ("IBM", "X"),
        ("2-1", "d-d"),
        ("Müller", "Xx"),
        ("", ""),
        ("New-York-based", "Xx-Xx-~"),
    ],
)
def test_shape(token, want):
    assert shape(token) == want


def test_columns_follow_the_options_and_padding_matches():
    sents = [["Obama", "visited", "Paris"], ["Obama", "left", "."]] * 3
    plain = Lexicon.build(sents, suffix_min_count=1)
    assert plain.columns == ("E", "C", "F") and plain.padding.shape == (2, 3)
    rich = Lexicon.build(sents, prefix_len=2, shape_dim=4, suffix_min_count=1)
    assert rich.columns == ("E", "C", "F", "P", "S")
    feats = rich.features(["Obama", "unseen", "PARIS"])
    assert feats.shape == (3, 5)
    assert feats[0, 3] == rich["P"].id_of("ob") > 1 and feats[0, 4] == rich["S"].id_of("Xx") > 1
    assert feats[1, 3] == 0  # an unseen prefix is id 0; 1 is the padding
    win = rich.window_features([["Obama", "visited"]], 1)
    assert win.shape == (2, 3, 5) and (win[0, 0] == rich.padding[0]).all() and (win[1, 2] == rich.padding[1]).all()


@pytest.fixture(scope="module")
def rich_model(tiny_corpus):
    return fit(tiny_corpus["train"], tiny_corpus["dev"], TrainConfig(**ALL_FEATURES), progress=False, log=None)


def test_every_feature_table_trains_and_round_trips(rich_model, tiny_corpus, tmp_path):
    model = rich_model
    assert model.lexicon.columns == ("E", "C", "F", "P", "S", "G", "K", "N")
    assert model.embeddings.dims == (50, 8, 16, 16, 6, 4, 5, 4)
    saved = save_model(model, tmp_path / "m")
    for name in ("prefixes.txt", "shapes.txt", GAZETTEER_FILE, CLUSTERS_FILE):
        assert (saved / name).exists()
    again = load_model(saved)
    for name, arr in model.weights().items():
        np.testing.assert_array_equal(again.weights()[name], arr)
    sents = [t for t, _ in tiny_corpus["test"]] + [["Zbigniew", "flew", "to", "Ouagadougou", "."]]
    np.testing.assert_array_equal(again.log_proba(sents), model.log_proba(sents))
    # the fast path (projection cache) and the reference path (explicit X) agree with every table in use
    np.testing.assert_allclose(
        model.log_proba(sents), model.log_proba_dense(model.window_features(sents)), rtol=1e-4, atol=1e-4
    )


def test_gazetteer_bits_reach_the_model(rich_model):
    g = rich_model.lexicon.gazetteer
    ids = rich_model.lexicon.features(["Germany", "zzqx"])[:, rich_model.lexicon.columns.index("G")]
    assert ids[0] == g.ids(["Germany"])[0] != 0 and ids[1] == 0


def test_broken_feature_files_are_model_errors(rich_model, tmp_path):
    d = save_model(rich_model, tmp_path / "m")
    (d / GAZETTEER_FILE).write_bytes(b"not gzip")
    with pytest.raises(ModelError, match=GAZETTEER_FILE):
        load_model(d)
    d = save_model(rich_model, tmp_path / "m2")
    config = json.loads((d / "config.json").read_text())
    config["feature_columns"] = ["E", "C", "F", "Q"]
    (d / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="feature_columns"):
        load_model(d)
    d = save_model(rich_model, tmp_path / "m3")
    (d / "prefixes.txt").write_text("ab\n")
    with pytest.raises(ModelError, match="array P has shape"):
        load_model(d)


def test_cluster_ids_are_the_nearest_centroid_in_any_batch(rich_model):
    lex = rich_model.lexicon
    col = lex.columns.index("K")
    words = ["paris", "london", "monday", "tuesday", "zzqxv", "Obama", "reykjavik", "1999"]
    alone = np.array([lex.features([w])[0, col] for w in words])
    together = lex.features(words)[:, col]
    np.testing.assert_array_equal(alone, together)
    assert alone[4] == 0  # no pretrained vector: no cluster
    vec = lex.pretrained.vectors[lex.pretrained.index("reykjavik")]
    dist = ((lex.clusters.centroids - vec) ** 2).sum(axis=1)
    assert alone[6] == 2 + int(np.argmin(dist))


def test_char_ngrams_are_the_edge_marked_3_to_5_grams_hashed_alike_in_every_process():
    import zlib

    grams = ["<Ob", "Oba", "bam", "ama", "ma>", "<Oba", "Obam", "bama", "ama>", "<Obam", "Obama", "bama>"]
    assert char_ngrams("Obama", 1000) == [1 + zlib.crc32(g.encode()) % 1000 for g in grams]
    assert char_ngrams("obama", 1000)[:2] != char_ngrams("Obama", 1000)[:2]  # the case is kept
    long = char_ngrams("internationalisation", 50)
    assert len(long) == NGRAM_SLOTS and all(1 <= i <= 50 for i in long)  # all 3-grams first, then 4-grams
    assert char_ngrams("", 7) == []  # "<>" is shorter than a 3-gram


def test_ngram_columns_and_the_bag_mean():
    lex = Lexicon.build([["Obama", "visited", "Paris"]], suffix_min_count=1, ngram_dim=4, ngram_buckets=31)
    assert lex.columns == ("E", "C", "F", "N") and lex.widths["N"] == NGRAM_SLOTS
    assert lex.padding.shape == (2, 3 + NGRAM_SLOTS) and (lex.padding[:, 3:] == 0).all()
    feats = lex.features(["Obama", "a"])
    assert feats.shape == (2, 3 + NGRAM_SLOTS)
    assert feats[0, 3:15].tolist() == char_ngrams("Obama", 31) and (feats[0, 15:] == 0).all()
    rng = np.random.default_rng(0)
    tables = {
        "E": rng.normal(size=(lex.n_words, 3)),
        "C": rng.normal(size=(9, 2)),
        "F": rng.normal(size=(5, 2)),
        "N": rng.normal(size=(32, 4)),
    }
    emb = Embeddings(tables, widths=lex.widths)
    v = emb.type_vectors(np.concatenate([lex.padding, feats]))
    assert v.shape == (4, 3 + 2 + 2 + 4)
    np.testing.assert_allclose(v[2, -4:], tables["N"][char_ngrams("Obama", 31)].mean(axis=0))
    np.testing.assert_allclose(v[3, -4:], tables["N"][char_ngrams("a", 31)].mean(axis=0))  # "<a>": its one n-gram
    assert (v[:2, -4:] == 0).all()  # padding holds no n-grams


def test_ngram_buckets_out_of_range_is_a_model_error(rich_model, tmp_path):
    d = save_model(rich_model, tmp_path / "m")
    config = json.loads((d / "config.json").read_text())
    config["ngram_buckets"] = "many"
    (d / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="ngram_buckets"):
        load_model(d)
