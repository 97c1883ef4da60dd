"""Tests for windowner.evaluation.metrics: conlleval-exact entity scores.

The expected values marked "conlleval" were produced by running the original
perl conlleval (version 2004-01-26) on the same tags written as a CoNLL file
(one token a line, an empty line after every sentence).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2

from windowner.evaluation.metrics import Accumulator, Report, Scores, chunks, evaluate, split_tag

TYPES = ["PER", "LOC", "ORG"]
BIO_TAGS = ["O"] + [f"{p}-{t}" for t in TYPES for p in "BI"]


def counts(report: Report) -> tuple[int, int, int]:
    o = report.overall
    return o.support, o.predicted, o.correct


def quiet_seqeval(fn, *args, **kwargs):
    with warnings.catch_warnings():  # "seems not to be NE tag", undefined-metric warnings
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- hand-computed cases


def test_perfect():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "I-ORG"]]
    r = evaluate(gold, gold)
    assert counts(r) == (3, 3, 3)
    assert (r.overall.precision, r.overall.recall, r.overall.f1) == (1.0, 1.0, 1.0)
    assert list(r.per_type) == ["LOC", "ORG", "PER"]
    assert r.per_type["ORG"] == Scores(1.0, 1.0, 1.0, support=1, predicted=1, correct=1)
    assert r.tokens == 8 and r.token_accuracy == 1.0


def test_empty_predictions():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    r = evaluate(gold, [["O"] * 4])
    assert counts(r) == (2, 0, 0)
    assert (r.overall.precision, r.overall.recall, r.overall.f1) == (0.0, 0.0, 0.0)
    assert r.per_type["PER"] == Scores(0.0, 0.0, 0.0, 1, 0, 0)
    assert r.token_accuracy == 0.25


def test_no_entities_anywhere_and_no_tokens():
    r = evaluate([["O", "O"]], [["O", "O"]])
    assert counts(r) == (0, 0, 0) and r.per_type == {} and r.overall.f1 == 0.0
    r = evaluate([], [])
    assert r.tokens == 0 and r.token_accuracy == 0.0
    assert r.format() == "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n"


def test_wrong_type():
    r = evaluate([["B-PER", "I-PER", "O"]], [["B-LOC", "I-LOC", "O"]])
    assert counts(r) == (1, 1, 0)
    assert r.per_type["PER"] == Scores(0.0, 0.0, 0.0, support=1, predicted=0, correct=0)
    assert r.per_type["LOC"] == Scores(0.0, 0.0, 0.0, support=0, predicted=1, correct=0)


def test_wrong_boundary():
    gold = [["B-PER", "I-PER", "I-PER", "O"], ["B-LOC", "O"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-LOC", "I-LOC"]]
    assert counts(evaluate(gold, pred)) == (2, 2, 0)
    # a prediction that merges two gold entities
    assert counts(evaluate([["B-PER", "B-PER"]], [["B-PER", "I-PER"]])) == (2, 1, 0)


def test_multiple_types():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"], ["B-PER", "O", "B-LOC", "I-LOC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG", "O", "B-ORG"], ["B-PER", "O", "B-LOC", "O"]]
    r = evaluate(gold, pred)
    assert counts(r) == (5, 5, 3)
    assert r.overall.precision == pytest.approx(0.6) and r.overall.recall == pytest.approx(0.6)
    assert r.overall.f1 == pytest.approx(0.6)
    assert r.per_type["PER"] == Scores(1.0, 1.0, 1.0, 2, 2, 2)
    assert r.per_type["LOC"] == Scores(0.0, 0.0, 0.0, 2, 1, 0)
    p, rec = 1 / 2, 1.0
    assert r.per_type["ORG"] == Scores(p, rec, 2 * p * rec / (p + rec), 1, 2, 1)
    assert r.token_accuracy == pytest.approx(8 / 10)


def test_format_matches_conlleval_byte_for_byte():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG"]]
    assert evaluate(gold, pred).format() == (  # conlleval
        "processed 6 tokens with 3 phrases; found: 3 phrases; correct: 1.\n"
        "accuracy:  66.67%; precision:  33.33%; recall:  33.33%; FB1:  33.33\n"
        "              LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0\n"
        "              ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  2\n"
        "              PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n"
    )


def test_to_dict():
    r = evaluate([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]])
    d = r.to_dict()
    assert d == {
        "overall": {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3)},
        "per_type": {
            "LOC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
            "PER": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
        },
        "tokens": 3,
    }


def test_length_mismatch_names_sentence_and_lengths():
    with pytest.raises(ValueError, match=r"sentence 1: gold has 3 tags but prediction has 2"):
        evaluate([["O"], ["O", "O", "B-PER"]], [["O"], ["O", "O"]])
    with pytest.raises(ValueError, match=r"sentence 2: prediction has only 2 sentences but gold has 4"):
        evaluate([["O"], ["O"], ["B-PER", "O"], ["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match=r"sentence 1: gold has only 1 sentences but prediction has 2"):
        evaluate(iter([["O"]]), iter([["O"], ["O"]]))
    with pytest.raises(TypeError):
        evaluate(["B-PER O"], ["B-PER O"])


def test_split_tag_like_conlleval():
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("I-B-X") == ("I", "B-X")  # first hyphen only
    assert split_tag("O") == ("O", "")
    assert split_tag("B-0") == ("B", "")  # perl treats the type "0" as false, i.e. empty


def test_chunks():
    assert chunks(["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-ORG"]) == [
        ("PER", 0, 2),
        ("LOC", 3, 5),
        ("LOC", 5, 6),
        ("ORG", 6, 7),
    ]
    assert chunks([]) == [] and chunks(["O", "O"]) == []
    assert chunks(["I-PER", "E-PER", "I-PER", "E-PER", "E-PER"]) == [  # IOE: E ends, next I/E starts
        ("PER", 0, 2),
        ("PER", 2, 4),
        ("PER", 4, 5),
    ]
    assert chunks(["[-NP", "[-NP", "]-NP"]) == [("NP", 0, 1), ("NP", 1, 2), ("NP", 2, 3)]


# ------------------------------------------------------------------ edge cases
# (gold, pred, conlleval's (gold phrases, found, correct), seqeval default mode's (same))
EDGE_CASES = [
    # I- after B- of another type: both split PER | LOC and start LOC at the I-. Agree.
    ([["B-PER", "I-LOC"]], [["B-PER", "B-LOC"]], (2, 2, 2), (2, 2, 2)),
    ([["B-PER", "I-LOC", "I-LOC"]], [["B-PER", "B-LOC", "I-LOC"]], (2, 2, 2), (2, 2, 2)),
    # I- after O starts an entity; an entity ending in I- at the end of a sentence is
    # closed by the sentence boundary and does not continue into the next sentence. Agree.
    ([["O", "I-PER"]], [["O", "B-PER"]], (1, 1, 1), (1, 1, 1)),
    ([["B-PER", "I-PER"], ["I-PER", "O"]], [["B-PER", "I-PER"], ["B-PER", "O"]], (2, 2, 2), (2, 2, 2)),
    ([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "I-PER"]], (1, 1, 0), (1, 1, 0)),
    # IOE-style E: E ends the chunk and a following I-/E- starts the next one. Agree.
    ([["I-PER", "E-PER", "I-PER"]], [["B-PER", "I-PER", "B-PER"]], (2, 2, 2), (2, 2, 2)),
    # DIFFERENT. conlleval has no rule for S: S-PER S-PER is one chunk (an S only starts
    # a chunk on a change of type); seqeval makes two. conlleval is the reference here,
    # windowner follows it (1 gold phrase, so the two predicted B-PER are both wrong).
    ([["S-PER", "S-PER"]], [["B-PER", "B-PER"]], (1, 2, 0), (2, 2, 2)),
    ([["S-PER", "I-PER"]], [["B-PER", "B-PER"]], (1, 2, 0), (2, 2, 2)),
    ([["B-PER", "S-PER"]], [["B-PER", "B-PER"]], (1, 2, 0), (2, 2, 2)),
    # DIFFERENT. conlleval's E is IOE's: B- right after E- of the same type neither ends
    # nor starts a chunk, so IOBES "B E B E" is ONE conlleval chunk; seqeval sees two.
    # windowner follows conlleval.
    ([["B-PER", "E-PER", "B-PER", "E-PER"]], [["B-PER", "I-PER", "B-PER", "I-PER"]], (1, 2, 0), (2, 2, 2)),
    # DIFFERENT. [ and ] are one-token chunks in conlleval; seqeval ignores them.
    ([["[-PER", "[-PER"]], [["B-PER", "B-PER"]], (2, 2, 2), (1, 2, 0)),
    # DIFFERENT. A chunk whose next tag is '.' is not ended by a following O in
    # conlleval; it is still counted when it starts (and here, correct); seqeval never
    # closes it and loses it.
    ([["B-PER", ".-PER", "O"]], [["B-PER", ".-PER", "O"]], (1, 1, 1), (0, 0, 0)),
]


def seqeval_counts(gold, pred) -> tuple[int, int, int]:
    g, p = set(quiet_seqeval(get_entities, gold)), set(quiet_seqeval(get_entities, pred))
    return len(g), len(p), len(g & p)


@pytest.mark.parametrize("gold,pred,conll,seqev", EDGE_CASES)
def test_edge_cases_follow_conlleval(gold, pred, conll, seqev):
    assert counts(evaluate(gold, pred)) == conll
    assert seqeval_counts(gold, pred) == seqev  # documents where seqeval differs


def test_degenerate_tags_match_conlleval_output():
    # '.' lets a chunk run across the sentence boundary into the [ ] chunk of the next
    # sentence; S-LOC after ]-LOC is outside any chunk. Output of conlleval itself:
    gold = [["B-PER", ".-PER", "O"], ["[-LOC", "]-LOC", "S-LOC"]]
    pred = [["B-PER", ".-PER", "O"], ["B-LOC", "B-LOC", "S-LOC"]]
    assert evaluate(gold, pred).format() == (
        "processed 6 tokens with 3 phrases; found: 3 phrases; correct: 1.\n"
        "accuracy:  66.67%; precision:  33.33%; recall:  33.33%; FB1:  33.33\n"
        "              LOC: precision:  50.00%; recall:  50.00%; FB1:  50.00  2\n"
        "              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
    )


@pytest.mark.parametrize("batch", [1, 1 << 17])
def test_degenerate_state_carries_across_sentences_and_batches(batch):
    # The '.' chunk is never ended (not by O, not by the boundary); conlleval counts it
    # as correct at end of input, under the type of the last token (""), so overall
    # correct is 1 while PER's is 0. conlleval prints exactly this:
    gold = pred = [["B-PER", ".-PER"], ["O"]]
    acc = Accumulator(batch_tokens=batch)
    for g, p in zip(gold, pred):
        acc.add(g, p)
    assert acc.report().format() == (
        "processed 3 tokens with 1 phrases; found: 1 phrases; correct: 1.\n"
        "accuracy: 100.00%; precision: 100.00%; recall: 100.00%; FB1: 100.00\n"
        "              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
    )
    # neither side ends a chunk but the types part: conlleval drops the match
    # (correct: 0 in conlleval's output)
    assert counts(evaluate([["B-PER", ".-PER", "O"]], [["B-PER", ".-PER", ".-LOC"]])) == (1, 1, 0)


# ------------------------------------------------------------- random vs seqeval


def random_bio(rng, n_sent, valid: bool):
    """Sentences of BIO tags; valid=False allows I- after O and after another type."""
    out = []
    for _ in range(n_sent):
        sent, prev = [], "O"
        for _ in range(int(rng.integers(0, 12))):
            r = rng.random()
            if r < 0.45:
                tag = "O"
            elif r < 0.75 or (valid and prev == "O"):
                tag = "B-" + TYPES[rng.integers(len(TYPES))]
            elif valid:
                tag = "I-" + prev[2:]
            else:
                tag = "I-" + TYPES[rng.integers(len(TYPES))]
            sent.append(tag)
            prev = tag
        out.append(sent)
    return out


def perturb(rng, gold, valid: bool):
    if valid:  # a valid prediction of its own, aligned to gold's lengths
        pred = random_bio(rng, len(gold) * 3, valid=True)
        flat = [t for s in pred for t in s]
        out, i = [], 0
        for s in gold:
            chunk = flat[i : i + len(s)] + ["O"] * max(0, i + len(s) - len(flat))
            if chunk and chunk[0].startswith("I-"):
                chunk[0] = "B-" + chunk[0][2:]
            out.append([t if rng.random() < 0.5 else g for t, g in zip(chunk, s)])
            i += len(s)
        # mixing with gold may create I-X after O or after I-Y: repair to valid BIO2
        for s in out:
            for j, t in enumerate(s):
                prev = s[j - 1] if j else "O"
                if t.startswith("I-") and prev[2:] != t[2:]:
                    s[j] = "B-" + t[2:]
        return out
    return [[t if rng.random() < 0.6 else BIO_TAGS[rng.integers(len(BIO_TAGS))] for t in s] for s in gold]


def check_against_seqeval(gold, pred, **mode):
    r = evaluate(gold, pred)
    for ours, fn in [
        (r.overall.precision, precision_score),
        (r.overall.recall, recall_score),
        (r.overall.f1, f1_score),
    ]:
        assert ours == pytest.approx(quiet_seqeval(fn, gold, pred, **mode), abs=1e-12)
    rep = quiet_seqeval(classification_report, gold, pred, output_dict=True, **mode)
    for name, s in r.per_type.items():
        if s.support or s.predicted:
            assert rep[name]["support"] == s.support
            assert rep[name]["precision"] == pytest.approx(s.precision)
            assert rep[name]["recall"] == pytest.approx(s.recall)
    seq_types = {k for k in rep if k not in ("micro avg", "macro avg", "weighted avg")}
    assert seq_types == set(r.per_type)
    if not mode:
        # per-type gold/predicted/correct counts from seqeval's own chunker
        g, p = set(get_entities(gold)), set(get_entities(pred))
        for name, s in r.per_type.items():
            gt = {e for e in g if e[0] == name}
            pt = {e for e in p if e[0] == name}
            assert (s.support, s.predicted, s.correct) == (len(gt), len(pt), len(gt & pt))
    return r


@pytest.mark.parametrize("valid", [True, False])
def test_random_bio_matches_seqeval_default(valid):
    rng = np.random.default_rng(1234 + valid)
    for _ in range(150):
        gold = random_bio(rng, int(rng.integers(1, 6)), valid)
        check_against_seqeval(gold, perturb(rng, gold, valid))


def test_random_valid_bio2_matches_seqeval_strict_and_default():
    rng = np.random.default_rng(99)
    for _ in range(150):
        gold = random_bio(rng, int(rng.integers(1, 6)), valid=True)
        pred = perturb(rng, gold, valid=True)
        r = check_against_seqeval(gold, pred)
        strict = check_against_seqeval(gold, pred, mode="strict", scheme=IOB2)
        assert counts(r) == counts(strict)


sentences_bio = st.lists(
    st.lists(st.tuples(st.sampled_from(BIO_TAGS), st.sampled_from(BIO_TAGS)), max_size=10),
    min_size=1,  # seqeval rejects an empty corpus
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(sentences_bio)
def test_hypothesis_bio_matches_seqeval(sents):
    gold = [[g for g, _ in s] for s in sents]
    pred = [[p for _, p in s] for s in sents]
    check_against_seqeval(gold, pred)


# ------------------------------------------- a plain token-by-token conlleval model
# Written independently of windowner.evaluation.metrics (sets of prefix pairs, one loop), to
# check the vectorised version on arbitrary tags including S, E, [, ], . and typeless.

_ENDS = {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")}
_STARTS = {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")}


def _parse(tag):
    if "-" not in tag:
        return tag, ""
    pre, typ = tag.split("-", 1)
    return pre, ("" if typ == "0" else typ)


def _is_end(pp, p, pt, t):
    return (pp, p) in _ENDS or (pp not in ("O", ".") and pt != t) or pp in ("[", "]")


def _is_start(pp, p, pt, t):
    return (pp, p) in _STARTS or (p not in ("O", ".") and pt != t) or p in ("[", "]")


def reference(gold, pred):
    found_g, found_p, correct = {}, {}, {}
    tokens = good_tags = 0
    lg = lp = ("O", "")
    inside = False
    stream = []
    for gs, ps in zip(gold, pred):
        stream += [(_parse(g), _parse(p), True) for g, p in zip(gs, ps)]
        stream.append((("O", ""), ("O", ""), False))  # sentence boundary
    for g, p, real in stream:
        eg, ep = _is_end(lg[0], g[0], lg[1], g[1]), _is_end(lp[0], p[0], lp[1], p[1])
        if inside:
            if eg and ep and lg[1] == lp[1]:
                correct[lg[1]] = correct.get(lg[1], 0) + 1
                inside = False
            elif eg != ep or g[1] != p[1]:
                inside = False
        sg, sp = _is_start(lg[0], g[0], lg[1], g[1]), _is_start(lp[0], p[0], lp[1], p[1])
        if sg and sp and g[1] == p[1]:
            inside = True
        if sg:
            found_g[g[1]] = found_g.get(g[1], 0) + 1
        if sp:
            found_p[p[1]] = found_p.get(p[1], 0) + 1
        if real:
            tokens += 1
            good_tags += g == p
        lg, lp = g, p
    if inside:
        correct[lg[1]] = correct.get(lg[1], 0) + 1
    return found_g, found_p, correct, tokens, good_tags


ANY_TAGS = [
    "O",
    "B-PER",
    "I-PER",
    "E-PER",
    "S-PER",
    "B-LOC",
    "I-LOC",
    "E-LOC",
    "S-LOC",
    "[-PER",
    "]-PER",
    ".-PER",
    ".",
    "B",
    "I",
    "S",
    "X-LOC",
    "O-PER",
    "B-0",
    "I-A-B",
]
sentences_any = st.lists(
    st.lists(st.tuples(st.sampled_from(ANY_TAGS), st.sampled_from(ANY_TAGS)), max_size=9),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(sentences_any, st.integers(1, 12))
def test_matches_token_by_token_model_on_any_tags(sents, batch):
    gold = [[g for g, _ in s] for s in sents]
    pred = [[p for _, p in s] for s in sents]
    fg, fp, cor, tokens, good = reference(gold, pred)
    r = evaluate(gold, pred)
    assert counts(r) == (sum(fg.values()), sum(fp.values()), sum(cor.values()))
    assert (r.tokens, r.correct_tags) == (tokens, good)
    assert set(r.per_type) == set(fg) | set(fp)
    for name, s in r.per_type.items():
        assert (s.support, s.predicted, s.correct) == (fg.get(name, 0), fp.get(name, 0), cor.get(name, 0))
    acc = Accumulator(batch_tokens=batch)
    for g, p in zip(gold, pred):
        acc.add(g, p)
    assert acc.report() == r


WELL_FORMED = ["O", "O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.sampled_from(WELL_FORMED), st.sampled_from(WELL_FORMED)), max_size=10), max_size=5)
)
def test_chunks_agree_with_counts_for_well_formed_prefixes(sents):
    gold = [[g for g, _ in s] for s in sents]
    pred = [[p for _, p in s] for s in sents]
    gc = {(i, c) for i, s in enumerate(gold) for c in chunks(s)}
    pc = {(i, c) for i, s in enumerate(pred) for c in chunks(s)}
    assert counts(evaluate(gold, pred)) == (len(gc), len(pc), len(gc & pc))


# ------------------------------------------------------------------ streaming


def test_accumulator_equals_evaluate():
    rng = np.random.default_rng(7)
    gold = random_bio(rng, 400, valid=False)
    pred = perturb(rng, gold, valid=False)
    whole = evaluate(gold, pred)
    for batch in (1, 5, 64, 1 << 17):
        acc = Accumulator(batch_tokens=batch)
        for g, p in zip(gold[:150], pred[:150]):
            acc.add(g, p)
        assert acc.report() == evaluate(gold[:150], pred[:150])  # a report mid-stream ...
        for g, p in zip(gold[150:], pred[150:]):
            acc.add(g, p)
        assert acc.report() == whole  # ... does not disturb the rest
        assert acc.report().format() == whole.format()
    with pytest.raises(ValueError, match="sentence 0"):
        Accumulator().add(["O", "O"], ["O"])
