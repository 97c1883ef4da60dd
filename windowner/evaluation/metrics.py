"""Entity-level evaluation that reproduces the CoNLL ``conlleval`` perl script.

The counts (gold phrases, found phrases, correct phrases, token accuracy) are the
ones ``conlleval`` (version 2004-01-26, Sang & Buchholz) prints for a CoNLL file
that holds the same tags, one token a line, with an empty line after every
sentence.  That means:

* A tag is split at its *first* hyphen into a prefix and a type (``B-I-X`` has
  prefix ``B`` and type ``I-X``); a tag without hyphen has an empty type, and so
  does the type ``0`` (perl reads it as false).
* Whether a chunk starts or ends between two tokens is decided from the two
  prefixes and the two types, with conlleval's rules: ``B`` after ``B``/``I``/``O``
  starts a chunk, ``I`` after ``O`` or ``E`` starts one, ``E`` after ``O`` or ``E``
  starts one, ``[`` and ``]`` are one-token chunks, any type change starts and
  ends a chunk unless the tag (for a start) or the previous tag (for an end) is
  ``O`` or ``.``; ``B``/``I``/``E`` followed by ``O`` ends a chunk.
* The original script knows nothing of ``S``: an ``S-X`` tag only starts a chunk
  when the type changes, exactly like an unknown prefix.  ``E`` is the ``E`` of
  the IOE schemes, so a ``B-X`` right after ``E-X`` neither ends nor starts a
  chunk.  Hence IOBES data evaluated with conlleval (and with this module) merge
  adjacent entities of one type; convert IOBES to BIO first if that is not
  wanted.  ``seqeval``'s default mode differs from conlleval exactly there.
* The number of phrases is the number of chunk starts.  A phrase is correct when
  gold and prediction start a chunk of the same type at the same token and both
  end at the same later token, with the types agreeing on every token in between
  (conlleval's ``inCorrect`` state machine, evaluated here with numpy).
* Every sentence is followed by a boundary token tagged ``O`` in both columns,
  which ends every chunk except in degenerate cases (a chunk whose last tag has
  prefix ``.`` or is a typeless non-``B``/``I``/``E`` tag), where conlleval lets
  it run on and so does this module.

Scores hold fractions (0..1); :meth:`Report.format` prints percentages the way
conlleval does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

__all__ = ["Scores", "Report", "Accumulator", "evaluate", "chunks", "split_tag"]

# Prefix categories; every prefix conlleval does not name is OTHER (this includes S).
_O, _B, _I, _E, _LB, _RB, _DOT, _OTHER = range(8)
_NCAT = 8
_CATEGORY = {"O": _O, "B": _B, "I": _I, "E": _E, "[": _LB, "]": _RB, ".": _DOT}


def _rule_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Boolean tables over (previous category, category) for conlleval's prefix rules."""
    end = np.zeros((_NCAT, _NCAT), dtype=bool)
    start = np.zeros((_NCAT, _NCAT), dtype=bool)
    # A chunk ends before this token ...
    for prev, cur in [(_B, _B), (_B, _O), (_I, _B), (_I, _O), (_E, _E), (_E, _I), (_E, _O)]:
        end[prev, cur] = True
    end[_LB, :] = True  # ... always after a one-token [ or ] chunk
    end[_RB, :] = True
    # A chunk starts at this token ...
    for prev, cur in [(_B, _B), (_I, _B), (_O, _B), (_O, _I), (_E, _E), (_E, _I), (_O, _E)]:
        start[prev, cur] = True
    start[:, _LB] = True  # ... always at [ and ]
    start[:, _RB] = True
    # A change of type ends the previous chunk unless the previous tag was O or '.',
    # and starts a new one unless the current tag is O or '.'.
    type_may_end = np.ones(_NCAT, dtype=bool)
    type_may_end[[_O, _DOT]] = False
    type_may_start = type_may_end.copy()
    return end, start, type_may_end, type_may_start


_END, _START, _TYPE_ENDS, _TYPE_STARTS = _rule_tables()
# plain-list copies for the per-token loop of chunks()
_END_L, _START_L = _END.tolist(), _START.tolist()
_TYPE_ENDS_L, _TYPE_STARTS_L = _TYPE_ENDS.tolist(), _TYPE_STARTS.tolist()


def split_tag(tag: str) -> tuple[str, str]:
    """Split a tag into (prefix, type) as conlleval does: at the first hyphen."""
    prefix, hyphen, type_ = tag.partition("-")
    if not hyphen:
        return tag, ""
    if type_ == "0":  # perl: `$type ? $type : ""`, and "0" is false
        type_ = ""
    return prefix, type_


def _boundaries(prev_cat, cat, prev_type, type_):
    """Vectorised conlleval endOfChunk / startOfChunk over aligned arrays."""
    changed = prev_type != type_
    ends = _END[prev_cat, cat] | (_TYPE_ENDS[prev_cat] & changed)
    starts = _START[prev_cat, cat] | (_TYPE_STARTS[cat] & changed)
    return ends, starts


# ---------------------------------------------------------------------------- scores


@dataclass
class Scores:
    """Entity-level scores for one type or overall; fractions in 0..1."""

    precision: float
    recall: float
    f1: float
    support: int  # number of gold phrases
    predicted: int  # number of predicted phrases
    correct: int

    @classmethod
    def from_counts(cls, correct: int, predicted: int, support: int) -> Scores:
        p = correct / predicted if predicted else 0.0
        r = correct / support if support else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(p, r, f, int(support), int(predicted), int(correct))

    def percentages(self) -> tuple[float, float, float]:
        """Precision, recall and F1 in percent, as conlleval computes them (see :func:`percentages`)."""
        return percentages(self.correct, self.predicted, self.support)


def percentages(correct: int, predicted: int, support: int) -> tuple[float, float, float]:
    """Precision, recall and F1 in percent with conlleval's arithmetic, so that rounding them gives the digits
    conlleval prints (``windowner evaluate`` and its ``--html`` report both show these)."""
    p = 100 * correct / predicted if predicted else 0.0
    r = 100 * correct / support if support else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


@dataclass
class Report:
    overall: Scores
    per_type: dict[str, Scores]  # sorted by type name
    tokens: int
    token_accuracy: float
    correct_tags: int = field(default=0, repr=False)

    def to_dict(self) -> dict:
        return {
            "overall": {
                "precision": self.overall.precision,
                "recall": self.overall.recall,
                "f1": self.overall.f1,
            },
            "per_type": {
                name: {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}
                for name, s in self.per_type.items()
            },
            "tokens": self.tokens,
        }

    def accuracy_percent(self) -> float:
        """Token accuracy in percent (0 for no tokens), as :meth:`format` prints it."""
        return 100 * self.correct_tags / self.tokens if self.tokens else 0.0

    def format(self) -> str:
        """The report as conlleval prints it (without its -l LaTeX mode)."""
        o = self.overall
        lines = [
            f"processed {self.tokens} tokens with {o.support} phrases; "
            f"found: {o.predicted} phrases; correct: {o.correct}."
        ]
        if self.tokens > 0:
            p, r, f = o.percentages()
            acc = self.accuracy_percent()
            lines.append(f"accuracy: {acc:6.2f}%; precision: {p:6.2f}%; recall: {r:6.2f}%; FB1: {f:6.2f}")
        for name, s in self.per_type.items():
            p, r, f = s.percentages()
            lines.append(f"{name:>17}: precision: {p:6.2f}%; recall: {r:6.2f}%; FB1: {f:6.2f}  {s.predicted}")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.format()


# ----------------------------------------------------------------------- accumulator

_BOUNDARY = None  # key of the sentence-boundary pseudo tag in the vocabulary (id 0)


class _Vocab(dict):
    """Tag string -> id; unseen tags are registered on lookup."""

    def __init__(self):
        super().__init__()
        self.cat: list[int] = [_O]
        self.type_id: list[int] = [0]
        self.canon: list[int] = [0]  # id of the (prefix, type) pair: tags equal as conlleval compares them
        self.types: dict[str, int] = {"": 0}
        self.type_names: list[str] = [""]
        self._pairs: dict[tuple[str, str], int] = {("O", ""): 0}
        self[_BOUNDARY] = 0
        self._arrays = None

    def __missing__(self, tag):
        if not isinstance(tag, str):
            raise TypeError(f"tags must be strings, got {type(tag).__name__}: {tag!r}")
        prefix, type_ = split_tag(tag)
        tid = self.types.get(type_)
        if tid is None:
            tid = self.types[type_] = len(self.type_names)
            self.type_names.append(type_)
        new = len(self.cat)
        self.cat.append(_CATEGORY.get(prefix, _OTHER))
        self.type_id.append(tid)
        self.canon.append(self._pairs.setdefault((prefix, type_), new))
        self[tag] = new
        self._arrays = None
        return new

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            self._arrays = (
                np.asarray(self.cat, dtype=np.int8),
                np.asarray(self.type_id, dtype=np.int32),
                np.asarray(self.canon, dtype=np.int32),
            )
        return self._arrays


class Accumulator:
    """Streaming conlleval: feed sentences with :meth:`add`, read :meth:`report` any time.

    Tags are buffered and scored in vectorised batches of about ``batch_tokens``
    tokens; only per-type counters and one bit of conlleval state are kept between
    batches, so memory does not grow with the input.
    """

    def __init__(self, batch_tokens: int = 1 << 17):
        if batch_tokens < 1:
            raise ValueError("batch_tokens must be positive")
        self.batch_tokens = batch_tokens
        self.sentences = 0
        self._vocab = _Vocab()
        self._gold: list = []
        self._pred: list = []
        self._in_correct = False  # conlleval's $inCorrect after the last flushed token
        self._tokens = 0
        self._correct_tags = 0
        self._found_gold = np.zeros(0, dtype=np.int64)
        self._found_pred = np.zeros(0, dtype=np.int64)
        self._correct = np.zeros(0, dtype=np.int64)

    def add(self, gold_tags: Sequence[str], pred_tags: Sequence[str]) -> None:
        """Add one sentence: gold and predicted tags, one per token."""
        if isinstance(gold_tags, str) or isinstance(pred_tags, str):
            raise TypeError(f"sentence {self.sentences}: expected sequences of tags, got a single string")
        n, m = len(gold_tags), len(pred_tags)
        if n != m:
            raise ValueError(f"sentence {self.sentences}: gold has {n} tags but prediction has {m}")
        self._gold.extend(gold_tags)
        self._gold.append(_BOUNDARY)
        self._pred.extend(pred_tags)
        self._pred.append(_BOUNDARY)
        self.sentences += 1
        if len(self._gold) >= self.batch_tokens:
            self._flush()

    def _flush(self) -> None:
        if not self._gold:
            return
        lookup = self._vocab.__getitem__
        n = len(self._gold)
        g = np.fromiter(map(lookup, self._gold), dtype=np.int32, count=n)
        p = np.fromiter(map(lookup, self._pred), dtype=np.int32, count=n)
        self._gold.clear()
        self._pred.clear()
        cat, type_id, canon = self._vocab.arrays()

        # Tokens 1..n of `full` are this batch; token 0 is the boundary that ended
        # the previous batch (or conlleval's initial "O" state): same prefix and type.
        gfull = np.concatenate(([0], g))
        pfull = np.concatenate(([0], p))
        gcat, gtype = cat[gfull], type_id[gfull]
        pcat, ptype = cat[pfull], type_id[pfull]
        g_end, g_start = _boundaries(gcat[:-1], gcat[1:], gtype[:-1], gtype[1:])
        p_end, p_start = _boundaries(pcat[:-1], pcat[1:], ptype[:-1], ptype[1:])
        gt, pt = gtype[1:], ptype[1:]
        same_type = gt == pt

        # conlleval's inCorrect: set where both start a chunk of one type; at each
        # later token (checked before the set), if it is set and both chunks end,
        # one correct phrase is counted and it is cleared; it is also cleared when
        # only one side ends or the current types differ.
        both_end = g_end & p_end
        clear = both_end | (g_end != p_end) | ~same_type
        sets = g_start & p_start & same_type
        idx = np.arange(n)
        none_set, none_clear = (-1 if self._in_correct else -3), -2  # -1: carried-over set
        last_set = np.maximum.accumulate(np.where(sets, idx, none_set))
        last_clear = np.maximum.accumulate(np.where(clear, idx, none_clear))
        set_before = np.concatenate(([none_set], last_set[:-1]))
        clear_before = np.concatenate(([none_clear], last_clear[:-1]))
        counted = both_end & (set_before >= clear_before)
        self._in_correct = bool(last_set[-1] >= last_clear[-1])

        ntypes = len(self._vocab.type_names)
        self._grow(ntypes)
        self._found_gold[:ntypes] += np.bincount(gt[g_start], minlength=ntypes)
        self._found_pred[:ntypes] += np.bincount(pt[p_start], minlength=ntypes)
        # the phrase counted at token i is of the type of token i-1
        self._correct[:ntypes] += np.bincount(gtype[:-1][counted], minlength=ntypes)

        real = g != 0
        self._tokens += int(real.sum())
        self._correct_tags += int((real & (canon[g] == canon[p])).sum())

    def _grow(self, ntypes: int) -> None:
        extra = ntypes - len(self._found_gold)
        if extra > 0:
            pad = np.zeros(extra, dtype=np.int64)
            self._found_gold = np.concatenate((self._found_gold, pad))
            self._found_pred = np.concatenate((self._found_pred, pad))
            self._correct = np.concatenate((self._correct, pad))

    def report(self) -> Report:
        """Scores over everything added so far (more sentences may be added afterwards)."""
        self._flush()
        self._grow(len(self._vocab.type_names))
        correct = self._correct.copy()
        if self._in_correct:
            # conlleval counts a phrase still open at end of input, under the type of
            # the last token, which is the final sentence boundary ("").
            correct[0] += 1
        per_type = {}
        names = self._vocab.type_names
        for tid in sorted(range(len(names)), key=names.__getitem__):
            if self._found_gold[tid] or self._found_pred[tid]:
                per_type[names[tid]] = Scores.from_counts(
                    int(correct[tid]), int(self._found_pred[tid]), int(self._found_gold[tid])
                )
        overall = Scores.from_counts(int(correct.sum()), int(self._found_pred.sum()), int(self._found_gold.sum()))
        acc = self._correct_tags / self._tokens if self._tokens else 0.0
        return Report(overall, per_type, self._tokens, acc, self._correct_tags)


_MISSING = object()


def evaluate(gold: Iterable[Sequence[str]], pred: Iterable[Sequence[str]]) -> Report:
    """conlleval scores of predicted against gold tags, given sentence by sentence."""
    acc = Accumulator()
    gold_it, pred_it = iter(gold), iter(pred)
    for i, (g, p) in enumerate(itertools.zip_longest(gold_it, pred_it, fillvalue=_MISSING)):
        if g is _MISSING or p is _MISSING:
            rest = 1 + sum(1 for _ in (pred_it if g is _MISSING else gold_it))
            longer, shorter = ("prediction", "gold") if g is _MISSING else ("gold", "prediction")
            length = len(cast(Sequence[str], p if g is _MISSING else g))
            raise ValueError(
                f"sentence {i}: {shorter} has only {i} sentences but {longer} has {i + rest} "
                f"(its sentence {i} has {length} tags, {shorter} has none)"
            )
        acc.add(cast(Sequence[str], g), cast(Sequence[str], p))
    return acc.report()


def chunks(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The phrases of one sentence as (type, start, end_exclusive), by conlleval's rules.

    A phrase starts where conlleval's startOfChunk holds and runs up to the next
    token where a chunk ends or another one starts, or to the end of the sentence.
    For well-formed prefixes (B, I, E, O and typed S) conlleval's correct count is
    exactly the number of phrases listed identically for gold and prediction.
    """
    if isinstance(tags, str):
        raise TypeError("expected a sequence of tags, got a single string")
    n = len(tags)
    if n == 0:
        return []
    parsed = [split_tag(t) for t in tags]
    prev_prefix, prev_type = "O", ""
    out: list[tuple[str, int, int]] = []
    open_type, open_start = None, -1
    for i, (prefix, type_) in enumerate(parsed):
        pc, c = _CATEGORY.get(prev_prefix, _OTHER), _CATEGORY.get(prefix, _OTHER)
        changed = prev_type != type_
        ends = _END_L[pc][c] or (_TYPE_ENDS_L[pc] and changed)
        starts = _START_L[pc][c] or (_TYPE_STARTS_L[c] and changed)
        if open_type is not None and (ends or starts):
            out.append((open_type, open_start, i))
            open_type = None
        if starts:
            open_type, open_start = type_, i
        prev_prefix, prev_type = prefix, type_
    if open_type is not None:
        out.append((open_type, open_start, n))
    return out
