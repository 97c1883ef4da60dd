"""Same text, same answer: the exact bytes of a text's tagging do not depend on anything but the text.

Not on the batch size, the other texts in the batch or their order, the state of the caches (a freshly
loaded model or a warm one), the BLAS thread count, or the number of threads sharing one model.
"""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from threadpoolctl import threadpool_limits

import windowner

from conftest import FIRST, LAST, make_corpus


def make_texts(n: int, seed: int) -> list[str]:
    """n texts with many word types the model has never seen (numbers, codes, names), so that the type
    table and the projection cache grow while tagging."""
    rng = random.Random(seed)
    sents = make_corpus(n, seed)
    texts = []
    for i, (tokens, _) in enumerate(sents):
        extra = [
            f"{rng.choice(FIRST)}{rng.randint(0, 99999)}",
            str(rng.randint(0, 10**9)),
            rng.choice(LAST).upper() + "-" + str(rng.randint(0, 999)),
            f"x{seed}q{i}",
        ]
        text = " ".join(tokens[:-1] + rng.sample(extra, rng.randint(1, 3)) + tokens[-1:])
        texts.append(text + ("" if rng.random() < 0.7 else "  Another one in Lagos . " + str(i)))
    return texts


def doc_bytes(doc) -> str:
    """Everything the tagger says about one text, floats at full precision."""
    return json.dumps({"text": doc.text, "ents": [list(e) for e in doc.ents], "tokens": [list(t) for t in doc.tokens]})


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return make_texts(1200, 5)


@pytest.fixture(scope="module")
def reference(tiny_model_dir, texts) -> list[str]:
    """One text per call, a freshly loaded model: the answer every other way of calling must give."""
    tagger = windowner.load(tiny_model_dir)
    return [doc_bytes(tagger(t)) for t in texts]


def tag_all(tagger, texts: list[str], batch_size: int) -> list[str]:
    return [doc_bytes(d) for d in tagger.pipe(texts, batch_size=batch_size)]


@pytest.mark.parametrize("batch_size", [1, 7, 150, 3000])
def test_batch_size_does_not_change_a_single_bit(tiny_model_dir, texts, reference, batch_size):
    assert tag_all(windowner.load(tiny_model_dir), texts, batch_size) == reference


def test_order_and_neighbours_do_not_matter(tiny_model_dir, texts, reference):
    tagger = windowner.load(tiny_model_dir)
    order = list(range(len(texts)))
    random.Random(1).shuffle(order)
    shuffled = tag_all(tagger, [texts[i] for i in order], 97)
    assert [shuffled[order.index(i)] for i in range(len(texts))] == reference
    others = make_texts(300, 9)  # the same texts among other, unseen ones
    mixed = [t for pair in zip(others, texts[:300]) for t in pair]
    assert tag_all(tagger, mixed, 64)[1::2] == reference[:300]


def test_warm_and_fresh_models_agree(tiny_model_dir, texts, reference):
    tagger = windowner.load(tiny_model_dir)
    warm_up = make_texts(2000, 11)
    tag_all(tagger, warm_up, 500)  # fill the caches with other texts first
    assert tag_all(tagger, texts[::-1], 33)[::-1] == reference
    assert tag_all(tagger, texts, 1000) == reference  # and again, every type cached now


@pytest.mark.parametrize("threads", [1, 2])
def test_blas_thread_count_does_not_matter(tiny_model_dir, texts, reference, threads):
    with threadpool_limits(limits=threads, user_api="blas"):
        assert tag_all(windowner.load(tiny_model_dir), texts, 200) == reference


def test_pre_tokenized_input_is_batch_invariant(tiny_model_dir, texts):
    sentences = [t.split() for t in texts]
    model = windowner.load(tiny_model_dir).model
    one = [model.predict([s], with_proba=True) for s in sentences]
    one_bytes = [json.dumps([tags[0], p[0].tolist()]) for tags, p in one]
    tags, proba = windowner.load(tiny_model_dir).model.predict(sentences, with_proba=True)
    assert [json.dumps([t, p.tolist()]) for t, p in zip(tags, proba)] == one_bytes


def test_one_tagger_shared_by_eight_threads(tiny_model_dir, texts, reference):
    """8 threads × 20 rounds, each tagging a random sample of the texts in random batch sizes, on one freshly
    loaded model whose caches grow while they run: every answer equals the sequential one, no error."""
    tagger = windowner.load(tiny_model_dir)
    start = threading.Barrier(8)

    def worker(seed: int) -> list[tuple[int, str]]:
        rng = random.Random(seed)
        start.wait()
        out = []
        for _ in range(20):
            idx = rng.sample(range(len(texts)), 60)
            docs = tagger.pipe([texts[i] for i in idx], batch_size=rng.choice([1, 5, 60]))
            out += [(i, doc_bytes(d)) for i, d in zip(idx, docs)]
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [r for f in [pool.submit(worker, s) for s in range(8)] for r in f.result()]
    assert len(results) == 8 * 20 * 60
    wrong = [i for i, got in results if got != reference[i]]
    assert wrong == []


def test_estimator_and_spacy_component_shared_by_threads(tiny_model_dir, texts, reference):
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    nlp.add_pipe("windowner", config={"model": str(tiny_model_dir)})
    sample = texts[:400]
    tagger = windowner.load(tiny_model_dir)
    expected = [[(e.start_char, e.end_char, e.label, e.score) for e in d.ents] for d in tagger.pipe(sample)]

    def spacy_worker(seed: int) -> bool:
        rng = random.Random(seed)
        idx = rng.sample(range(len(sample)), 150)
        docs = nlp.pipe([sample[i] for i in idx], batch_size=rng.choice([1, 16]))
        got = [[(s.start_char, s.end_char, s.label_, s._.windowner_score) for s in d.ents] for d in docs]
        return got == [expected[i] for i in idx]

    train = make_corpus(100, 3)
    est = windowner.WindowNERClassifier(hidden=16, epochs=1).fit([t for t, _ in train], [g for _, g in train])
    X = [t.split() for t in sample]
    want_tags = [est.predict([x])[0] for x in X]

    def sklearn_worker(seed: int) -> bool:
        idx = random.Random(seed).sample(range(len(X)), 150)
        return est.predict([X[i] for i in idx]) == [want_tags[i] for i in idx]

    with ThreadPoolExecutor(8) as pool:
        oks = [
            f.result()
            for f in [pool.submit(spacy_worker, s) for s in range(4)]
            + [pool.submit(sklearn_worker, s) for s in range(4)]
        ]
    assert all(oks)
