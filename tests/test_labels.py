"""Nothing dropped in silence: entity types that a model or ``labels`` does not know are counted and reported.

``evaluate`` scores every gold entity as conlleval does (checked against seqeval, which reproduces conlleval on
BIO2), ``--types model`` only the model's types; either way it names the types the file and the model do not
share, with their counts, once on stderr, in ``--json`` and in the ``--html`` report. ``train`` (CLI, Python, the
estimator) warns about data types outside ``labels`` and ``labels`` that never occur, and refuses data that holds
none of ``labels``.
"""

from __future__ import annotations

import json
import warnings

import pytest
from seqeval.metrics import f1_score, precision_score, recall_score

from windowner.cli import main
from windowner.errors import LabelWarning, WindownerError
from windowner.evaluation.coverage import TypeCoverage
from windowner.model.config import TrainConfig
from windowner.model.files import load_model
from windowner.model.training import check_labels, fit
from windowner.text.tags import entity_counts, format_counts, relabel

from conftest import make_corpus, write_conll


def _rename(pairs, old: str, new: str, every: int = 2):
    """``old`` entities become ``new`` in every ``every``-th sentence."""
    out = []
    for i, (toks, tags) in enumerate(pairs):
        if i % every == 0:
            tags = [t[:2] + new if t[2:] == old else t for t in tags]
        out.append((toks, list(tags)))
    return out


def _drop(pairs, label: str):
    return [
        (toks, relabel(tags, {}, frozenset({"PER", "LOC", "DATE", "GPE", "ORG"}) - {label})) for toks, tags in pairs
    ]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A gold file with a type the tiny model lacks (GPE, for half the places) and none of its DATE entities."""
    pairs = _drop(_rename(make_corpus(120, 7), "LOC", "GPE"), "DATE")
    return pairs, write_conll(pairs, tmp_path_factory.mktemp("labels") / "mixed.conll")


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_entity_counts_and_their_format():
    counts = entity_counts([["B-ORG", "I-ORG", "O", "B-MISC"], ["B-ORG", "B-ORG"]])
    assert counts == {"ORG": 3, "MISC": 1}
    assert format_counts({"MISC": 922, "ORG": 1341}) == "ORG 1,341, MISC 922"
    assert format_counts({}) == "none"


def test_evaluate_scores_every_gold_entity_as_conlleval_does(mixed, tiny_model_dir, capsys):
    pairs, path = mixed
    assert main(["evaluate", str(tiny_model_dir), str(path), "--json"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    gold = [tags for _, tags in pairs]
    pred = load_model(tiny_model_dir).predict([toks for toks, _ in pairs])
    assert out["overall"]["precision"] == pytest.approx(precision_score(gold, pred))
    assert out["overall"]["recall"] == pytest.approx(recall_score(gold, pred))
    assert out["overall"]["f1"] == pytest.approx(f1_score(gold, pred))
    assert out["per_type"]["GPE"]["support"] == entity_counts(gold)["GPE"] > 0
    assert out["per_type"]["GPE"]["recall"] == 0.0  # a type the model never predicts: every one missed

    n_gpe, n_date = entity_counts(gold)["GPE"], entity_counts(pred)["DATE"]
    assert _warnings(cap.err) == [
        f"warning: gold types the model does not predict: GPE {n_gpe:,}; scored as missed, as conlleval does "
        "(--types model leaves them out)",
        f"warning: model types the file never holds: DATE ({n_date:,} predicted); every such prediction counts "
        "as a false positive",
    ]
    assert out["types"] == {
        "scored": "all",
        "model_types": ["DATE", "LOC", "PER"],
        "gold_not_predicted": {"GPE": n_gpe},
        "model_not_in_gold": {"DATE": n_date},
    }


def test_types_model_scores_the_models_types_only_and_says_so(mixed, tiny_model_dir, capsys):
    pairs, path = mixed
    assert main(["evaluate", str(tiny_model_dir), str(path), "--types", "model", "--json"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    keep = frozenset({"PER", "LOC", "DATE"})
    gold = [relabel(tags, {}, keep) for _, tags in pairs]
    pred = load_model(tiny_model_dir).predict([toks for toks, _ in pairs])
    assert out["overall"]["f1"] == pytest.approx(f1_score(gold, pred))
    assert "GPE" not in out["per_type"] and out["types"]["scored"] == "model"
    assert out["types"]["gold_not_predicted"] == {"GPE": entity_counts([t for _, t in pairs])["GPE"]}
    assert "left out of the scores (--types model)" in _warnings(cap.err)[0]

    assert main(["evaluate", str(tiny_model_dir), str(path), "--types", "model"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("scored on the model's types only (--types model): DATE, LOC, PER\nprocessed ")


def test_evaluate_says_nothing_when_the_types_agree(tiny_files, tiny_model_dir, capsys):
    assert main(["evaluate", str(tiny_model_dir), str(tiny_files["test"]), "--json"]) == 0
    cap = capsys.readouterr()
    assert _warnings(cap.err) == []
    types = json.loads(cap.out)["types"]
    assert types["gold_not_predicted"] == {} and types["model_not_in_gold"] == {}


def test_a_file_of_unknown_types_only_says_why_it_scores_zero(tiny_model_dir, tmp_path, capsys):
    path = tmp_path / "foo.conll"
    path.write_text("Kofi B-FOO\nran O\n\n", encoding="utf-8")
    assert main(["evaluate", str(tiny_model_dir), str(path)]) == 0
    err = capsys.readouterr().err
    assert "warning: gold types the model does not predict: FOO 1;" in err


def test_the_html_report_carries_the_same_facts(mixed, tiny_model_dir, tmp_path, capsys):
    _, path = mixed
    page = tmp_path / "r.html"
    assert main(["evaluate", str(tiny_model_dir), str(path), "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert 'class="note type-note">gold types the model does not predict: GPE ' in html
    assert "model types the file never holds: DATE (" in html


def test_coverage_counts_and_messages():
    cov = TypeCoverage(("PER", "LOC"), "all")
    cov.add([["B-PER", "O", "B-ORG", "I-ORG"], ["B-MISC"]], [["B-PER", "O", "O", "O"], ["O"]])
    assert cov.gold_not_predicted == {"MISC": 1, "ORG": 1}
    assert cov.model_not_in_gold == {"LOC": 0}
    assert len(cov.messages()) == 2
    with pytest.raises(ValueError, match="scored must be one of all, model"):
        TypeCoverage(("PER",), "some")


# ----------------------------------------------------------------------------------------------- training


def test_train_cli_warns_about_dropped_and_unseen_labels(tiny_corpus, tmp_path, capsys):
    train = write_conll(_drop(_rename(tiny_corpus["train"][:120], "LOC", "ORG"), "DATE"), tmp_path / "t.conll")
    args = ["train", "--train", str(train), "--out", str(tmp_path / "m"), "--labels", "PER,LOC,DATE"]
    assert main([*args, "--epochs", "1", "--hidden", "8", "--quiet", "--vectors", "none"]) == 0
    n_org = entity_counts(t for _, t in _rename(tiny_corpus["train"][:120], "LOC", "ORG"))["ORG"]
    assert _warnings(capsys.readouterr().err) == [
        f"warning: training data: entity types not in labels PER,LOC,DATE turned into O: ORG {n_org:,}",
        "warning: labels that never occur in the training data: DATE; the model cannot learn them",
    ]


def test_train_cli_refuses_data_without_any_of_the_labels(tiny_files, tmp_path, capsys):
    args = ["train", "--train", str(tiny_files["train"]), "--out", str(tmp_path / "m"), "--labels", "ORG"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no entity of the labels ORG occurs in the training data (its entities: " in err and "PER " in err
    assert not (tmp_path / "m").exists()


def test_fit_warns_and_scores_dev_on_the_labels_only(tiny_corpus):
    train = _rename(tiny_corpus["train"][:150], "LOC", "ORG", every=3)
    dev = _rename(tiny_corpus["dev"][:40], "LOC", "ORG", every=3)
    cfg = TrainConfig(labels=["PER", "LOC", "DATE"], vectors="none", hidden=8, epochs=1, calibration="none")
    with pytest.warns(LabelWarning) as caught:
        model = fit(train, dev, cfg, progress=False, log=None)
    messages = [str(w.message) for w in caught]
    assert messages[0].startswith("training data: entity types not in labels PER,LOC,DATE turned into O: ORG ")
    assert messages[1].startswith("dev data: entity types not in labels PER,LOC,DATE turned into O: ORG ")
    assert model.labels == ["DATE", "LOC", "PER"]
    assert "ORG" not in {t[2:] for t in model.tags}


def test_check_labels_on_every_case(tiny_corpus):
    train, dev = tiny_corpus["train"][:50], _drop(tiny_corpus["dev"][:20], "DATE")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_labels(train, dev=None, labels=None)  # every type is kept: nothing to say
        check_labels(train, dev=None, labels=["PER", "LOC", "DATE"])
    with pytest.warns(LabelWarning, match="labels that never occur in the dev data: DATE; dev F1 does not"):
        check_labels(train, dev, ["PER", "LOC", "DATE"])
    with pytest.warns(LabelWarning) as caught:
        check_labels(train, dev, ["PER", "GPE"])
    assert [str(w.message).split(":")[0] for w in caught] == [
        "training data",  # LOC and DATE turned into O
        "dev data",
        "labels that never occur in the training data",
    ]
    assert str(caught[2].message).startswith("labels that never occur in the training data: GPE (dev data: GPE 0)")
    with pytest.raises(WindownerError, match="no entity of the labels GPE occurs in the training data"):
        check_labels(train, dev, ["GPE"])


def test_the_estimator_warns_too(tiny_corpus):
    from windowner.integrations.sklearn import WindowNERClassifier

    pairs = _rename(tiny_corpus["train"][:100], "LOC", "ORG")
    X, y = [t for t, _ in pairs], [g for _, g in pairs]
    est = WindowNERClassifier(labels=["PER", "LOC", "DATE"], vectors="none", hidden=8, epochs=1, calibration="none")
    with pytest.warns(LabelWarning, match="training data: entity types not in labels PER,LOC,DATE turned into O"):
        est.fit(X, y)
