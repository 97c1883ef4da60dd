"""Brown cluster files and gazetteer-list folders (issue #27): reading them, cluster prefixes, longest matches,
the B and M columns in a trained model (gradients, save/load, batch independence) and the errors of bad files.
Toy files only: nothing here needs ../shared."""

from __future__ import annotations

import numpy as np
import pytest

from windowner.errors import DataError, ModelError
from windowner.features import BrownFeature, Lexicon, NameListFeature
from windowner.lexicon.brownfile import read_clusters
from windowner.lexicon.namelists import NameLists, entry_tokens
from windowner.model.config import TrainConfig
from windowner.model.files import load_model, save_model
from windowner.model.training import fit
from windowner.nn.embeddings import Embeddings
from windowner.nn.gradcheck import check_embeddings, check_tables

CLUSTERS = """\
0000\tMonday\t50
0001\tTuesday\t40
00100\tJanuary\t30
00101\tFebruary\t20
1100\tparis\t99
1101\tlondon\t80
11100\tObama\t7
11101\tMerkel\t5
"""


@pytest.fixture
def cluster_file(tmp_path):
    path = tmp_path / "clusters.txt"
    path.write_text(CLUSTERS, encoding="utf-8")
    return path


def test_cluster_lookup_as_written_then_lowercased_then_title_cased(cluster_file):
    c = read_clusters(cluster_file)
    assert len(c) == 8
    assert c.path("Monday") == "0000" and c.path("MONDAY") == "0000"  # title-cased
    assert c.path("monday") == "0000"  # title-cased
    assert c.path("Paris") == "1100" and c.path("PARIS") == "1100"  # lowercased
    assert c.path("obama") == "11100" and c.path("OBAMA") == "11100"  # title-cased
    assert c.path("zzz") is None


def test_as_written_comes_before_lowercased_before_title_cased(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("01\tApple\n10\tapple\n", encoding="utf-8")
    c = read_clusters(path)
    assert c.path("Apple") == "01" and c.path("apple") == "10" and c.path("APPLE") == "10"


def test_count_column_is_optional_and_a_word_listed_twice_keeps_its_first_path(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("01\ta\n10\tb\t3\n11\ta\t4\n\n", encoding="utf-8")
    c = read_clusters(path)
    assert c.paths == {"a": "01", "b": "10"}


def test_prefix_ids_share_clusters_at_each_depth(cluster_file):
    f = BrownFeature(read_clusters(cluster_file), (2, 4, 5))
    assert f.width == 3
    ids = f.ids(["Monday", "Tuesday", "January", "Paris", "London", "Obama", "Merkel", "unknown"], {})
    mon, tue, jan, par, lon, oba, mer, unk = ids.tolist()
    assert mon[0] == tue[0] == jan[0]  # depth 2: "00"
    assert mon[1] != tue[1]  # depth 4: "0000" vs "0001"
    assert mon[2] == mon[1] or mon[2] != tue[2]  # a path shorter than the depth is its own prefix
    assert par[0] == lon[0] == oba[0] and par[0] != mon[0]  # "11"
    assert oba[1] == mer[1] and oba[2] != mer[2]  # "1110" shared, "11100" vs "11101"
    assert unk == [1, 0, 0]  # unlisted: the UNLISTED id in the first slot
    assert len({i for row in ids.tolist() for i in row[:1]}) == 3  # 00, 11, unlisted
    assert ids.max() < f.n_rows
    # a prefix id of one depth never stands for another depth
    assert not set(ids[:7, 0]) & set(ids[:7, 1])


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"0101 Monday\n", r":1: expected PATH<TAB>WORD or PATH<TAB>WORD<TAB>COUNT, found no tab"),
        (b"01\tMonday\n01x1\tTuesday\n", r":2: the cluster path must be a bit string"),
        (b"01\tMonday\n10\tTuesday\tmany\n", r":2: the count must be a whole number"),
        (b"01\tMon\xffday\n", r":1: .*UTF-8"),
        (b"01\tMonday\n\x00\x01\x02\n", r":2: .*NUL"),
        (b"\n\n", r"holds no words"),
        (b"01\ta\tb\tc\n", r":1: .*found 3 tabs"),
    ],
)
def test_bad_cluster_files_name_the_line(tmp_path, content, problem):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=problem) as info:
        read_clusters(path)
    assert str(path) in str(info.value)


def test_missing_cluster_file_and_a_directory(tmp_path):
    with pytest.raises(DataError, match=r"nope\.txt"):
        read_clusters(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="is a directory"):
        read_clusters(tmp_path)


# -- gazetteer lists -------------------------------------------------------------------------------


def write_lists(root, lists: dict[str, str]):
    for name, text in lists.items():
        path = root / f"{name}.lst"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


LISTS = {
    "LOC/cities": "New York\nYork\nNew York City\nGuinea-Bissau\nSan Jose\n",
    "PER/first": "John\nNew\n",
    "ORG/press": "New York Times\nThe Times\n",
}


@pytest.fixture
def lists(tmp_path):
    return NameLists.read(write_lists(tmp_path / "gaz", LISTS))


def states(lists, tokens, by="type"):
    """{channel: "BI.." string} of one sentence's match states."""
    out = lists.match([tokens], by)
    return {f"{mode}:{g}": "".join(".BI"[s] for s in out[:, c]) for c, (mode, g) in enumerate(lists.channels(by))}


def test_longest_match_wins_left_to_right(lists):
    got = states(lists, ["He", "left", "New", "York", "City", "for", "York", "."])
    assert got["cased:LOC"] == "..BII.B."  # "New York City", not "New York" + a stray "City"
    assert got["cased:PER"] == "..B....."  # "New" is a first name too: channels match on their own
    assert got["cased:ORG"] == "........"
    got = states(lists, ["The", "New", "York", "Times", "said"])
    assert got["cased:ORG"] == ".BII."
    assert got["cased:LOC"] == ".BI.."  # the LOC channel still sees "New York"


def test_cased_and_lowercased_channels(lists):
    got = states(lists, ["NEW", "YORK", "john", "John"])
    assert got["cased:LOC"] == "...." and got["lower:LOC"] == "BI.."
    assert got["cased:PER"] == "...B" and got["lower:PER"] == "B.BB"


def test_matches_never_cross_a_sentence_end(lists):
    out = lists.match([["I", "saw", "New"], ["York", "today"]])
    col = lists.channels("type").index(("cased", "LOC"))
    assert out[:, col].tolist() == [0, 0, 0, 1, 0]  # "York" alone is a city; "New | York" is not "New York"


def test_hyphenated_entries_match_both_tokenizations(lists):
    assert entry_tokens("Guinea-Bissau") == [["Guinea-Bissau"], ["Guinea", "-", "Bissau"]]
    assert states(lists, ["Guinea-Bissau", "and", "Guinea", "-", "Bissau"])["cased:LOC"] == "B.BII"


def test_per_list_channels(tmp_path):
    nl = NameLists.read(write_lists(tmp_path / "g", {"LOC/a": "Paris\n", "LOC/b": "Paris Hilton\n", "PER/c": "X\n"}))
    assert nl.channels("list")[:3] == [("cased", "LOC/a"), ("cased", "LOC/b"), ("cased", "PER/c")]
    got = states(nl, ["Paris", "Hilton"], by="list")
    assert got["cased:LOC/a"] == "B." and got["cased:LOC/b"] == "BI"
    assert states(nl, ["Paris", "Hilton"])["cased:LOC"] == "BI"  # per type: the longest of the type's lists


def test_tables_round_trip_through_arrays(lists):
    again = NameLists.from_arrays(lists.lists, lists.arrays())
    sents = [["The", "New", "York", "Times"], ["san", "jose", "New", "York", "City"]]
    np.testing.assert_array_equal(again.match(sents), lists.match(sents))


def test_bad_gazetteer_folders(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        NameLists.read(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no lists"):
        NameLists.read(tmp_path / "empty")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(DataError, match="is not a folder"):
        NameLists.read(tmp_path / "a-file")
    binary = write_lists(tmp_path / "bin", {"LOC/ok": "Paris\n"})
    (binary / "LOC" / "image.lst").write_bytes(b"Paris\n\x89PNG\x00\x00\x1a\n")
    with pytest.raises(DataError, match=r"image\.lst:2: .*NUL"):
        NameLists.read(binary)
    blank = write_lists(tmp_path / "blank", {"LOC/none": "\n  \n"})
    with pytest.raises(DataError, match="every list is empty"):
        NameLists.read(blank)


# -- the columns in a model ------------------------------------------------------------------------

SMALL = dict(hidden=24, epochs=2, batch_size=32, lr=0.1, seed=0, brown_dim=6, lists_dim=5, calibration_refit=False)


@pytest.fixture(scope="module")
def resources(tmp_path_factory):
    root = tmp_path_factory.mktemp("resources")
    (root / "clusters.txt").write_text(
        CLUSTERS + "0110\tBerlin\n0111\tMadrid\n1000\tAnna\n1001\tBoris\n", encoding="utf-8"
    )
    write_lists(root / "gaz", {"LOC/places": "Paris\nNew York\nBerlin\n", "PER/names": "Anna Smith\nBoris\n"})
    return root


@pytest.fixture(scope="module")
def resource_model(tiny_corpus, resources):
    cfg = TrainConfig(**SMALL, clusters=str(resources / "clusters.txt"), gazetteers=str(resources / "gaz"))
    return fit(tiny_corpus["train"], tiny_corpus["dev"], cfg, progress=False, log=None)


def test_columns_save_and_load_without_the_resource_files(resource_model, tiny_corpus, tmp_path, resources):
    model = resource_model
    assert model.lexicon.columns[-2:] == ("B", "M") and model.lexicon.widths["B"] == 4
    assert model.lexicon.widths["M"] == 4  # LOC and PER, cased and lowercased
    saved = save_model(model, tmp_path / "m")
    assert (saved / BrownFeature.file).exists() and (saved / NameListFeature.file).exists()
    (resources / "clusters.txt").rename(resources / "moved.txt")  # the model holds what it needs
    try:
        again = load_model(saved)
    finally:
        (resources / "moved.txt").rename(resources / "clusters.txt")
    sents = [t for t, _ in tiny_corpus["test"]] + [["Anna", "Smith", "flew", "to", "New", "York", "."]]
    np.testing.assert_array_equal(again.log_proba(sents), model.log_proba(sents))
    np.testing.assert_allclose(
        model.log_proba(sents), model.log_proba_dense(model.window_features(sents)), rtol=1e-4, atol=1e-4
    )


def test_a_token_gets_its_context_s_ids_in_any_batch(resource_model):
    model = resource_model
    a = ["Anna", "Smith", "visited", "Paris", "."]
    b = ["Smith", "said", "Anna", "left", "."]
    col = model.lexicon.columns.index("M")
    first = model.lexicon.widths["E"] + sum(model.lexicon.widths[c] for c in model.lexicon.columns[1:col])
    feats = model.window_features([a, b])[:, model.window, first : first + model.lexicon.widths["M"]]
    assert feats[1].any() and not feats[5].any()  # "Smith" continues "Anna Smith" only in the first sentence
    together = model.log_proba([a, b])
    np.testing.assert_array_equal(together[:5], model.log_proba([a]))
    np.testing.assert_array_equal(together[5:], model.log_proba([b]))


def test_gradients_of_the_new_tables(resource_model):
    model = resource_model
    sents = [["Anna", "Smith", "visited", "New", "York", "on", "Monday", "."], ["Boris", "left", "Paris", "."]]
    feats = model.window_features(sents)
    tables = {name: t.astype(np.float64) for name, t in model.embeddings.tables.items()}
    feats[..., 0] = np.minimum(feats[..., 0], len(tables["E"]) - 1)  # frozen pretrained rows: none in this check
    emb = Embeddings(tables, widths=model.lexicon.widths)
    errors = check_tables(emb, feats)
    assert set(errors) == set(model.lexicon.columns) and max(errors.values()) < 1e-6, errors
    # and on small random tables, each a bag with empty slots, through every activation and head
    for activation, head in (("tanh", "sigmoid"), ("relu", "softmax")):
        random_tables = check_embeddings(activation, head)
        assert random_tables["B"] < 1e-6 and random_tables["M"] < 1e-6, random_tables


def test_a_corrupt_list_file_is_a_model_error(resource_model, tmp_path):
    saved = save_model(resource_model, tmp_path / "m")
    (saved / NameListFeature.file).write_bytes(b"garbage")
    with pytest.raises(ModelError, match=NameListFeature.file):
        load_model(saved)
    saved = save_model(resource_model, tmp_path / "m2")
    (saved / BrownFeature.file).write_text("01 no tab\n", encoding="utf-8")
    with pytest.raises(ModelError, match=BrownFeature.file):
        load_model(saved)


def test_lexicon_without_contextual_columns_keeps_plain_token_types():
    lex = Lexicon.build([["Obama", "visited", "Paris"]], suffix_min_count=1)
    assert not lex.contextual and lex.type_keys([["a", "b"], ["c"]]) == ["a", "b", "c"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--clusters", "{bad_clusters}"], "bad.txt:1: expected PATH<TAB>WORD"),
        (["--gazetteers", "{missing}"], "no such folder"),
        (["--clusters", "256"], "the number of k-means clusters of the pretrained vectors (--cluster-dim) is"),
        (["--clusters", "{resources}/clusters.txt", "--brown-depths", "4,x"], "brown-depths must be"),
    ],
)
def test_cli_errors_are_one_line_without_a_traceback(flags, message, resources, tiny_files, tmp_path, capsys):
    from windowner.cli import main

    bad = tmp_path / "bad.txt"
    bad.write_text("0101 Monday\n", encoding="utf-8")
    values = dict(bad_clusters=bad, missing=tmp_path / "nowhere", resources=resources)
    argv = ["train", "--train", str(tiny_files["train"]), "--out", str(tmp_path / "m"), "--quiet"]
    argv += [f.format(**values) for f in flags]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_named_recipes_resolve_their_paths_from_the_recipe_file(resources, tmp_path):
    import json

    from windowner.errors import WindownerError
    from windowner.model.config import read_recipe

    book = resources / "recipes.json"
    book.write_text(json.dumps({"toy": {"clusters": "clusters.txt", "gazetteers": "gaz", "hidden": 24}, "x": {}}))
    assert read_recipe(f"{book}:toy") == {
        "clusters": str(resources / "clusters.txt"),
        "gazetteers": str(resources / "gaz"),
        "hidden": 24,
    }
    with pytest.raises(WindownerError, match=r"no recipe named .nope. .*holds: toy, x"):
        read_recipe(f"{book}:nope")
    (tmp_path / "bad.json").write_text('{"hiden": 3}')
    with pytest.raises(WindownerError, match=r"unknown setting.*hiden"):
        read_recipe(str(tmp_path / "bad.json"))
    with pytest.raises(WindownerError, match="no such recipe file"):
        read_recipe(str(tmp_path / "missing.json"))


def test_train_with_a_recipe_and_a_flag_that_overrides_it(resources, tiny_files, tmp_path):
    import json

    from windowner.cli import main

    book = resources / "recipes.json"
    book.write_text(json.dumps({"toy": {"clusters": "clusters.txt", "gazetteers": "gaz", "epochs": 1, "hidden": 8}}))
    out = tmp_path / "m"
    argv = ["train", "--train", str(tiny_files["train"]), "--out", str(out), "--quiet", "--recipe", f"{book}:toy"]
    assert main([*argv, "--hidden", "12"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["feature_columns"][-2:] == ["B", "M"] and config["epochs"] == 1 and config["hidden"] == 12


def test_the_data_packages_lists():
    from windowner.lexicon.namelists import NameLists

    nl = NameLists.load("packages")
    assert nl.lists == [
        "LOC/cities",
        "LOC/continents",
        "LOC/countries",
        "LOC/regions",
        "PER/first-names",
        "PER/last-names",
    ]
    got = states(nl, ["Angela", "visited", "New", "Zealand", "and", "ZURICH", "with", "MARY", "."])
    assert got["cased:LOC"][:6] == "..BI.." and got["lower:LOC"][:6] == "..BI.B"  # "Zürich", also without accents
    assert got["lower:LOC"][7] == "B"  # Mary, the city in Turkmenistan: lowercased matching is noisy by design
    assert got["cased:PER"][0] == "B" and got["cased:PER"][7] == "B"  # census names, title-cased and as written
