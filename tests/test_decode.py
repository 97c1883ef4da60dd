import itertools

import numpy as np
import pytest

from windowner.nn.decode import constraints, learned_transitions, viterbi, viterbi_bio
from windowner.text.tags import bio2_spans as spans

TAGS = ["O", "B-DATE", "I-DATE", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def brute_force(em, start, trans):
    best, best_path = -np.inf, None
    for path in itertools.product(range(em.shape[1]), repeat=len(em)):
        s = (
            start[path[0]]
            + em[0, path[0]]
            + sum(trans[a, b] + em[t + 1, b] for t, (a, b) in enumerate(zip(path, path[1:])))
        )
        if s > best:
            best, best_path = s, path
    return list(best_path)


def test_viterbi_is_exact_on_small_cases():
    rng = np.random.default_rng(0)
    start, trans = constraints(TAGS[:5])
    for L in (1, 2, 3, 4):
        em = rng.normal(size=(L, 5))
        assert list(viterbi(em, [L], start, trans)) == brute_force(em, start, trans)
        assert list(viterbi_bio(em, [L], TAGS[:5])) == brute_force(em, start, trans)


def test_decoded_sequences_are_valid_bio():
    rng = np.random.default_rng(1)
    lengths = rng.integers(0, 30, 300)
    em = rng.normal(0, 3, (lengths.sum(), len(TAGS)))
    start, trans = constraints(TAGS)
    generic = viterbi(em, lengths, start, trans, batch=64)
    fast = viterbi_bio(em, lengths, TAGS)
    assert np.array_equal(generic, fast)
    tags = np.array(TAGS)[fast]
    i = 0
    for n in lengths:
        seq = list(tags[i : i + n])
        i += n
        for prev, cur in zip(["O"] + seq, seq):
            if cur.startswith("I-"):
                assert prev in (f"B-{cur[2:]}", cur)


def test_learned_transitions_prefer_seen_bigrams():
    start, trans = learned_transitions([["B-PER", "I-PER", "O"], ["O", "B-LOC"]], TAGS)
    i = {t: k for k, t in enumerate(TAGS)}
    assert trans[i["B-PER"], i["I-PER"]] > trans[i["B-PER"], i["B-LOC"]]
    # log P(y_t | y_{t-1}) - log P(y_t): each row of P(y_t | y_{t-1}) sums to one, and the prior is divided out
    seqs = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    counts = {t: 1 + sum(s.count(t) for s in seqs) for t in TAGS}
    prior = np.array([counts[t] for t in TAGS], dtype=float)
    prior /= prior.sum()
    assert np.allclose((np.exp(trans) * prior[None, :]).sum(1), 1)
    assert np.allclose((np.exp(start) * prior).sum(), 1)


@pytest.mark.parametrize(
    "tags,expected",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        ([], []),
    ],
)
def test_spans(tags, expected):
    assert spans(tags) == expected
