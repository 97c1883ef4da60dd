import json

import numpy as np

from windowner.cli import main


def test_tiny_model_learns(tiny_tagger, tiny_corpus):
    from windowner.evaluation.metrics import evaluate

    test = tiny_corpus["test"]
    rep = evaluate([g for _, g in test], tiny_tagger.tag_tokens([t for t, _ in test]))
    assert rep.overall.f1 > 0.9


def test_fast_path_equals_dense_path(tiny_tagger, tiny_corpus):
    model = tiny_tagger.model
    sents = [t for t, _ in tiny_corpus["test"][:20]] + [["Unseen", "Zanzibar", "words", "2031"]]
    fast = model.log_proba(sents)
    dense = model.log_proba_dense(model.window_features(sents))
    np.testing.assert_allclose(fast, dense, rtol=1e-4, atol=1e-5)


def test_cli_train_evaluate_tag(tmp_path, tiny_files, capsys):
    out = tmp_path / "m"
    assert (
        main(
            [
                "train",
                "--train",
                str(tiny_files["train"]),
                "--dev",
                str(tiny_files["dev"]),
                "--out",
                str(out),
                "--epochs",
                "2",
                "--hidden",
                "16",
                "--quiet",
            ]
        )
        == 0
    )
    for name in ("config.json", "weights.npz", "vocab.txt", "history.json"):
        assert (out / name).exists()
    capsys.readouterr()
    assert main(["evaluate", str(out), str(tiny_files["test"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"overall", "per_type", "tokens", "seconds"}
    assert set(result["per_type"]) == {"PER", "LOC", "DATE"}
    assert result["overall"]["f1"] > 0.5
    text = tmp_path / "in.txt"
    text.write_text("Kofi Mensah visited Paris on Monday.\n\nNothing here.\n", encoding="utf-8")
    assert main(["tag", str(out), str(text)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    doc = json.loads(lines[0])
    for e in doc["ents"]:
        assert doc["text"][e["start_char"] : e["end_char"]] == e["text"]
    assert main(["tag", str(out), str(tiny_files["test"]), "--input-format", "conll", "--format", "conll"]) == 0
    assert capsys.readouterr().out.count("\n\n") == 80


def test_same_seed_gives_byte_identical_weights(tmp_path, tiny_files):
    import hashlib

    digests = []
    for name in ("a", "b"):
        assert (
            main(
                [
                    "train",
                    "--train",
                    str(tiny_files["train"]),
                    "--out",
                    str(tmp_path / name),
                    "--epochs",
                    "1",
                    "--hidden",
                    "16",
                    "--seed",
                    "3",
                    "--quiet",
                ]
            )
            == 0
        )
        digests.append(hashlib.sha256((tmp_path / name / "weights.npz").read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_bad_file_exits_2_with_location(tmp_path, capsys):
    bad = tmp_path / "bad.conll"
    bad.write_text("Paris B-LOC\nis O\nnice B_X\n", encoding="utf-8")
    assert main(["train", "--train", str(bad), "--out", str(tmp_path / "m"), "--quiet"]) == 2
    assert f"{bad}:3:" in capsys.readouterr().err


def test_projection_cache_follows_weight_changes_and_budget(tiny_model_dir, tiny_corpus, monkeypatch):
    from windowner.model import inference
    from windowner.model.files import load_model

    model = load_model(tiny_model_dir)
    sents = [t for t, _ in tiny_corpus["test"][:30]]

    def check():
        dense = model.log_proba_dense(model.window_features(sents))
        np.testing.assert_allclose(model.log_proba(sents), dense, rtol=1e-4, atol=1e-5)

    check()
    model.net.params["W"] *= 1.5  # in place, as an SGD step does, which then reports the change
    model.weights_changed()
    check()
    E = model.embeddings.tables["E"].copy()
    E[5] += 1.0
    model.set_weights({"E": E})
    check()
    monkeypatch.setattr(inference, "PROJECTION_CACHE_BYTES", 0)  # too many types for the cache: per-batch path
    check()
