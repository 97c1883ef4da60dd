"""``windowner annotate``: the answers file (durable appends, resume, a cut last line, the lock), the API's
refusals, the orders and a background retrain, through Starlette's TestClient."""

from __future__ import annotations

import json
import warnings

import pytest

from windowner.errors import WindownerError
from windowner.integrations.annotator import Annotator, uncertainty
from windowner.integrations.answers import AnswerLog, read_texts
from windowner.text.jsonl import read_jsonl
from windowner.text.tags import bio2_spans

from conftest import make_corpus

pytest.importorskip("starlette")
pytest.importorskip("httpx")


def corpus_texts(n: int = 12, seed: int = 7):
    """n texts (tokens joined by spaces) and their gold spans as the page would send them."""
    out = []
    for tokens, tags in make_corpus(n, seed):
        starts, pos = [], 0
        for t in tokens:
            starts.append(pos)
            pos += len(t) + 1
        spans = [
            {"start": starts[a], "end": starts[b - 1] + len(tokens[b - 1]), "label": lab}
            for lab, a, b in bio2_spans(tags)
        ]
        out.append((" ".join(tokens), spans))
    return out


@pytest.fixture
def texts_file(tmp_path):
    data = corpus_texts()
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(t for t, _ in data[:3]) + "\n\n" + "\n".join(t for t, _ in data[3:]) + "\n")
    return (
        path,
        [t for t, _ in data[:3]] + [""] + [t for t, _ in data[3:]],
        [s for _, s in data[:3]] + [None] + [s for _, s in data[3:]],
    )


def make(tiny_tagger, texts_file, out, **kw):
    with warnings.catch_warnings():  # newer Starlette asks for httpx2 instead of httpx
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from windowner.integrations.annotate import create_app

    path, _, _ = texts_file
    annotator = Annotator(tiny_tagger, read_texts(path), AnswerLog(out), **kw)
    return annotator, TestClient(create_app(annotator))


def test_read_texts_keeps_line_ids(texts_file, tmp_path):
    path, texts, _ = texts_file
    assert read_texts(path) == texts
    jl = tmp_path / "texts.jsonl"
    jl.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    assert read_texts(jl) == texts


def test_answers_are_durable_and_resume(tiny_tagger, texts_file, tmp_path):
    out = tmp_path / "answers.jsonl"
    _, texts, gold = texts_file
    annotator, client = make(tiny_tagger, texts_file, out, order="sequential")
    seen = []
    for action in ["accept", "skip", "accept"]:
        task = client.get("/next").json()
        assert not task["done"] and task["text"] == texts[task["id"]]
        assert {"start", "end"} <= set(task["tokens"][0]) and all("score" in e for e in task["ents"])
        spans = gold[task["id"]] if action == "accept" else []
        r = client.post("/answer", json={"id": task["id"], "action": action, "spans": spans})
        assert r.status_code == 200, r.text
        seen.append(task["id"])
        lines = out.read_text().splitlines()  # on disk as soon as it is acknowledged
        assert [json.loads(line)["id"] for line in lines] == seen
    assert seen == [0, 1, 2]
    status = client.get("/status").json()
    assert status["progress"] == {"answered": 3, "accepted": 2, "skipped": 1, "total": 12, "remaining": 9}
    annotator.log.close()

    annotator, client = make(tiny_tagger, texts_file, out, order="sequential")
    assert client.get("/next").json()["id"] == 4  # line 4 is blank: never served
    assert client.post("/answer", json={"id": 0, "action": "skip"}).status_code == 409
    annotator.log.close()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["answer"] for r in records] == ["accept", "skip", "accept"]
    assert [(s["start"], s["end"], s["label"]) for s in records[0]["spans"]] == [
        (s["start"], s["end"], s["label"]) for s in gold[0]
    ]
    # windowner train reads the file: the accepted answers, with their entities; skipped ones are passed over
    sents = list(read_jsonl(out))
    assert [" ".join(s.tokens) for s in sents] == [texts[0], texts[2]]
    assert all(any(t != "O" for t in s.gold) for s in sents if gold[0])


def test_cut_last_line_is_dropped_and_file_locked(tiny_tagger, texts_file, tmp_path):
    out = tmp_path / "answers.jsonl"
    annotator, client = make(tiny_tagger, texts_file, out, order="sequential")
    assert client.post("/answer", json={"id": 0, "action": "skip"}).status_code == 200
    with pytest.raises(WindownerError, match="in use by another windowner annotate"):
        AnswerLog(out)
    annotator.log.close()
    good = out.read_bytes()
    out.write_bytes(good + b'{"id": 1, "answer": "acc')  # a kill in the middle of a write
    with pytest.warns(UserWarning, match="incomplete"):
        log = AnswerLog(out)
    assert [r["id"] for r in log.records] == [0]
    assert out.read_bytes() == good
    log.close()


def test_second_server_is_refused_by_the_cli(tiny_model_dir, texts_file, tmp_path, capsys):
    from windowner.cli import main

    out = tmp_path / "answers.jsonl"
    log = AnswerLog(out)
    try:
        assert main(["annotate", str(tiny_model_dir), str(texts_file[0]), "--out", str(out), "--port", "0"]) == 2
    finally:
        log.close()
    assert "in use by another windowner annotate" in capsys.readouterr().err


def test_bad_requests_change_nothing(tiny_tagger, texts_file, tmp_path):
    out = tmp_path / "answers.jsonl"
    _, texts, _ = texts_file
    annotator, client = make(tiny_tagger, texts_file, out, order="sequential")
    assert client.post("/answer", json={"id": 0, "action": "accept", "spans": []}).status_code == 200
    before = out.read_bytes()
    text = texts[1]
    first = len(text.split()[0])
    cases = [
        (b"not json", 400),
        (json.dumps([1]).encode(), 422),
        (json.dumps({"id": 1, "action": "accept", "spans": [], "x": 1}).encode(), 422),
        (json.dumps({"id": 1, "action": "maybe", "spans": []}).encode(), 422),
        (json.dumps({"id": "1", "action": "accept", "spans": []}).encode(), 422),
        (json.dumps({"id": 99, "action": "accept", "spans": []}).encode(), 404),
        (json.dumps({"id": 3, "action": "skip"}).encode(), 404),  # a blank line
        (json.dumps({"id": 0, "action": "skip"}).encode(), 409),
        (json.dumps({"id": 1, "action": "accept"}).encode(), 422),
        (json.dumps({"id": 1, "action": "accept", "spans": [{"start": 0, "end": 999, "label": "PER"}]}).encode(), 422),
        (
            json.dumps({"id": 1, "action": "accept", "spans": [{"start": 1, "end": first, "label": "PER"}]}).encode(),
            422,
        ),
        (
            json.dumps({"id": 1, "action": "accept", "spans": [{"start": 0, "end": first, "label": "ORG"}]}).encode(),
            422,
        ),
        (
            json.dumps(
                {
                    "id": 1,
                    "action": "accept",
                    "spans": [{"start": 0, "end": first, "label": "PER"}, {"start": 0, "end": first, "label": "LOC"}],
                }
            ).encode(),
            422,
        ),
    ]
    for body, status in cases:
        r = client.post("/answer", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == status, (body, r.text)
        assert "error" in r.json()
    assert client.get("/nowhere").status_code == 404
    assert client.get("/answer").status_code == 405
    assert out.read_bytes() == before
    assert client.get("/status").json()["progress"]["answered"] == 1
    assert client.get("/").headers["Content-Security-Policy"].startswith("default-src 'none'")
    annotator.log.close()


def test_orders(tiny_tagger, texts_file, tmp_path):
    _, texts, _ = texts_file
    ids = [i for i, t in enumerate(texts) if t]
    a = Annotator(tiny_tagger, texts, AnswerLog(tmp_path / "a.jsonl"), order="sequential")
    assert a.queue == ids
    b = Annotator(tiny_tagger, texts, AnswerLog(tmp_path / "b.jsonl"), order="random", seed=3)
    c = Annotator(tiny_tagger, texts, AnswerLog(tmp_path / "c.jsonl"), order="random", seed=3)
    assert sorted(b.queue) == ids and b.queue == c.queue
    d = Annotator(tiny_tagger, texts, AnswerLog(tmp_path / "d.jsonl"))
    scores = dict(zip(ids, uncertainty(tiny_tagger, [texts[i] for i in ids])))
    assert sorted(d.queue) == ids
    assert [scores[i] for i in d.queue] == sorted(scores.values(), reverse=True)
    assert d.next_task()["id"] == d.queue[0]
    for x in (a, b, c, d):
        x.log.close()


def test_retrain_in_the_background(tiny_tagger, texts_file, tmp_path):
    out = tmp_path / "answers.jsonl"
    _, _, gold = texts_file
    hyper = dict(epochs=2, seed=0)
    annotator, client = make(
        tiny_tagger, texts_file, out, order="sequential", retrain_every=4, heldout_every=2, hyper=hyper
    )
    for _ in range(4):
        task = client.get("/next").json()
        assert client.post("/answer", json={"id": task["id"], "action": "accept", "spans": gold[task["id"]]}).is_success
    annotator.wait_retrain(120)
    status = client.get("/status").json()
    assert status["retrain"]["state"] == "idle", status
    model = status["model"]
    assert model["version"] == 1 and model["trained_on"] == 2 and model["heldout"] == 2
    assert 0 <= model["f1"] <= 1 and 0 <= model["f1_before"] <= 1
    assert annotator.tagger is not tiny_tagger
    task = client.get("/next").json()  # the new model's tokens are the given model's: answers stay valid
    assert task["tokens"] == [{"start": t.start_char, "end": t.end_char} for t in tiny_tagger(task["text"]).tokens]
    assert client.post("/answer", json={"id": task["id"], "action": "accept", "spans": gold[task["id"]]}).is_success
    annotator.log.close()


def test_uncertain_order_is_reranked_after_a_retrain(tiny_tagger, texts_file, tmp_path):
    _, texts, gold = texts_file
    hyper = dict(epochs=2, seed=1)
    annotator, client = make(tiny_tagger, texts_file, tmp_path / "a.jsonl", retrain_every=2, hyper=hyper)
    for _ in range(2):
        task = client.get("/next").json()
        assert client.post("/answer", json={"id": task["id"], "action": "accept", "spans": gold[task["id"]]}).is_success
    annotator.wait_retrain(120)
    assert annotator.version == 1
    left = [i for i, t in enumerate(texts) if t and i not in annotator.answered]
    scores = dict(zip(left, uncertainty(annotator.tagger, [texts[i] for i in left])))
    assert sorted(annotator.queue) == left
    assert [scores[i] for i in annotator.queue] == sorted(scores.values(), reverse=True)
    assert client.get("/next").json()["id"] == annotator.queue[0]
    annotator.log.close()


@pytest.mark.filterwarnings("ignore::windowner.errors.LabelWarning")  # the answers relabel LOC as GPE
def test_add_labels_are_accepted_and_learnt_at_the_retrain(tiny_tagger, texts_file, tmp_path):
    """A label the model lacks (``add_labels``) is refused without it, accepted with it, and the retrain adds it."""
    _, _, gold = texts_file
    relabelled = [[{**s, "label": "GPE" if s["label"] == "LOC" else s["label"]} for s in g or []] for g in gold]
    i = next(k for k, g in enumerate(relabelled) if any(s["label"] == "GPE" for s in g))
    plain, client = make(tiny_tagger, texts_file, tmp_path / "a.jsonl", order="sequential")
    assert client.post("/answer", json={"id": i, "action": "accept", "spans": relabelled[i]}).status_code == 422
    plain.log.close()
    hyper = dict(epochs=2, seed=0)
    annotator, client = make(
        tiny_tagger, texts_file, tmp_path / "b.jsonl", order="sequential", retrain_every=4, heldout_every=0,
        hyper=hyper, add_labels=["GPE"],
    )  # fmt: skip
    assert annotator.labels == [*tiny_tagger.labels, "GPE"]
    assert client.get("/status").json()["labels"] == annotator.labels
    for _ in range(4):
        task = client.get("/next").json()
        answer = {"id": task["id"], "action": "accept", "spans": relabelled[task["id"]]}
        assert client.post("/answer", json=answer).is_success
    annotator.wait_retrain(120)
    assert annotator.version == 1 and "GPE" in annotator.tagger.labels
    assert annotator.labels == annotator.tagger.labels
    annotator.log.close()


def test_annotate_labels_flag_parses_a_list_and_refuses_a_bad_one(capsys):
    from windowner.cli import build_parser

    args = build_parser().parse_args(["annotate", "m", "t.txt", "--out", "a.jsonl", "--labels", "ORG,MISC"])
    assert args.labels == ["ORG", "MISC"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["annotate", "m", "t.txt", "--out", "a.jsonl", "--labels", "ORG,,MISC"])
    assert "empty entity type" in capsys.readouterr().err
