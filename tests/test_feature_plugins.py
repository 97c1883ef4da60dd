"""Feature columns are plug-ins: a feature defined here, outside windowner, registers, trains, saves, loads, passes
the gradient check, and a model that uses it does not load without it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from windowner.errors import ModelError
from windowner.features import Feature, Lexicon, lookup, register, registered, unregister
from windowner.features.storage import read_lines, write_lines
from windowner.model.config import TrainConfig
from windowner.model.files import load_model, save_model
from windowner.model.training import fit, initialize, tag_set
from windowner.nn.embeddings import Embeddings
from windowner.nn.gradcheck import TOLERANCE, check_embeddings, check_tables, run_all
from windowner.text.conll import read_conll

TRAIN = Path(__file__).resolve().parents[1] / "corpora" / "wn-pld.train.conll"
# the toy model learns PER and LOC only: that DATE is turned into O is expected here
pytestmark = pytest.mark.filterwarnings("ignore::windowner.errors.LabelWarning")
CONFIG = dict(vectors="none", hidden=16, epochs=2, batch_size=64, calibration="none", labels=["PER", "LOC"], seed=3)


class LengthFeature(Feature):
    """The token's length bucket: edges (quartiles of the training tokens' lengths) learned when fitted and saved
    in the model directory; id 0 is unused, 1 the padding, 2 + the number of edges below the length."""

    name, title = "L", "length"
    file = "length_edges.txt"
    files = (file,)

    def __init__(self, edges: Sequence[int]):
        self.edges = [int(e) for e in edges]

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> LengthFeature:
        lengths = np.repeat([len(t) for t in counts], list(counts.values()))
        return cls(sorted(set(np.quantile(lengths, [0.25, 0.5, 0.75]).astype(int).tolist())))

    def dim(self, config: Any) -> int:
        return 3

    @property
    def n_rows(self) -> int:
        return len(self.edges) + 3

    def ids(self, tokens: Sequence[str], earlier: Mapping[str, np.ndarray]) -> np.ndarray:
        return 2 + np.searchsorted(self.edges, [len(t) for t in tokens])

    def save(self, directory: Path) -> dict[str, Any]:
        write_lines(directory / self.file, [str(e) for e in self.edges])
        return {}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> LengthFeature:
        return cls([int(e) for e in read_lines(directory / cls.file)])


@pytest.fixture
def length_feature():
    register(LengthFeature)
    yield LengthFeature
    if lookup("L") is LengthFeature:
        unregister("L")


@pytest.fixture(scope="module")
def train_pairs():
    return [(s.tokens, s.tags) for s in read_conll(TRAIN)][:400]


def test_the_registry_holds_windowners_features_in_column_order(length_feature):
    names = [f.name for f in registered()]
    assert names == ["E", "C", "F", "P", "S", "G", "K", "N", "B", "M", "L"]  # a plug-in comes after the built-in ones
    with pytest.raises(ValueError, match="registered already"):
        register(type("Other", (LengthFeature,), {}))
    register(LengthFeature)  # the same class again: nothing changes
    assert [f.name for f in registered()] == names


def test_a_plugin_feature_trains_saves_loads_and_passes_gradcheck(length_feature, train_pairs, tmp_path):
    cfg = TrainConfig(**CONFIG)
    model = fit(train_pairs, None, cfg, progress=False, log=None)
    lexicon = model.lexicon
    assert lexicon.columns == ("E", "C", "F", "L") and lexicon.padding[:, -1].tolist() == [1, 1]
    assert model.embeddings.tables["L"].shape == (lexicon["L"].n_rows, 3)
    assert (
        model.lexicon.features(["a", "Paris", "internationalisation"])[:, -1].tolist()
        == (2 + np.searchsorted(lexicon.edges, [1, 5, 20])).tolist()
    )  # the feature's attributes read through the lexicon
    # SGD trained the table: it differs from the one the same seed draws before training
    pairs = [(t, [g if g[2:] in cfg.labels else "O" for g in tags]) for t, tags in train_pairs]
    untrained = initialize(pairs, tag_set((g for _, g in pairs), cfg.labels), cfg, np.random.default_rng(cfg.seed))
    assert untrained.embeddings.tables["L"].shape == model.embeddings.tables["L"].shape
    assert not np.array_equal(untrained.embeddings.tables["L"], model.embeddings.tables["L"])

    saved = save_model(model, tmp_path / "m")
    assert json.loads((saved / "config.json").read_text())["feature_columns"] == ["E", "C", "F", "L"]
    assert (saved / LengthFeature.file).exists()
    again = load_model(saved)
    assert again.lexicon["L"].edges == lexicon["L"].edges
    sents = [t for t, _ in train_pairs[:50]] + [["Zbigniew", "flew", "to", "Ouagadougou", "."]]
    assert again.predict(sents) == model.predict(sents)
    np.testing.assert_array_equal(again.log_proba(sents), model.log_proba(sents))

    # the gradient check covers the plug-in's table: on small random tables, and on the trained model's own
    assert "L" in check_embeddings("tanh", "sigmoid") and check_embeddings("relu", "softmax")["L"] < TOLERANCE
    assert {"E", "C", "F", "L"} <= {c["param"] for c in run_all()["checks"]}
    tables = {name: t.astype(np.float64) for name, t in model.embeddings.tables.items()}
    emb = Embeddings(tables, widths=lexicon.widths)
    errors = check_tables(emb, model.window_features(sents[:3]))
    assert set(errors) == {"E", "C", "F", "L"}
    assert max(errors.values()) < TOLERANCE, errors


def test_a_model_whose_feature_is_not_registered_says_what_to_do(length_feature, train_pairs, tmp_path):
    model = fit(train_pairs[:100], None, TrainConfig(**{**CONFIG, "epochs": 1}), progress=False, log=None)
    saved = save_model(model, tmp_path / "m")
    unregister("L")
    with pytest.raises(
        ModelError,
        match=r"config\.json: 'feature_columns' names 'L', which no registered feature "
        r"provides; import the plug-in that registers it \(windowner\.features"
        r"\.register\) before loading",
    ):
        load_model(saved)
    register(LengthFeature)
    assert load_model(saved).lexicon.columns == ("E", "C", "F", "L")
