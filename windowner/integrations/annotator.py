"""The state behind ``windowner annotate``: the texts, their order, the answers and the current tagger.

:class:`Annotator` serves the next unanswered text (:meth:`Annotator.next_task`), checks and records answers
(:meth:`Annotator.answer`, durable through :class:`~windowner.integrations.answers.AnswerLog`) and every
``retrain_every`` answers trains a new tagger in a background thread (:func:`retrain`) on the accepted answers
(every ``heldout_every``-th one held out to score it) plus any extra training pairs, then swaps it in and re-ranks
the texts. Everything is thread-safe: one lock guards the state, and training runs outside it.

Uncertainty (``order="uncertain"``): a text's score is 1 − the lowest probability of any of its tokens' predicted
tags (the calibrated marginals of :attr:`windowner.text.doc.Token.score`): a text with one doubtful token, an
entity or not, comes before a text the model is sure of everywhere. Most uncertain first; ties by id.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any, cast

from ..evaluation.metrics import evaluate
from .answers import ACTIONS, AnswerLog, SpanError, answer_record, check_spans, record_pairs

__all__ = ["ORDERS", "RETRAIN_EPOCHS", "AnswerError", "Annotator", "retrain", "uncertainty"]

ORDERS = ("uncertain", "sequential", "random")
BATCH = 256  # texts tagged at a time when ranking
# A retrain starts from a trained model, so it needs fewer epochs than training from scratch. 8 rather than the
# default model's 15 (the calibrated fit trains twice: on 90 % of the answers, then the refit on all) took a
# retrain on the first 1,000 sentences of gmb.train (800 trained on, 200 held out) from 10.7 s to 6.1 s, alone on
# a 2-core CPU, at the same held-out F1 (0.864, 0.863). ``hyper={"epochs": ...}`` overrides it.
RETRAIN_EPOCHS = 8


class AnswerError(Exception):
    """An answer the server refuses: ``status`` is the HTTP status; nothing was written."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def uncertainty(tagger, texts: Sequence[str]) -> list[float]:
    """1 − the lowest tag probability over each text's tokens (0 for a text without tokens)."""
    out: list[float] = []
    for doc in tagger.pipe(texts, batch_size=BATCH):
        out.append(1.0 - min((t.score for t in doc.tokens), default=1.0))
    return out


def retrain(
    records: Sequence[dict],
    base,
    extra: Sequence[tuple[list[str], list[str]]] = (),
    heldout_every: int = 5,
    labels: Sequence[str] = (),
    **hyper: Any,
) -> tuple[Any, float | None, float | None, int, int]:
    """Train on from ``base`` (``init_model``: its vocabulary grows, its weights are the start) on the accepted
    ``records`` (but every ``heldout_every``-th, held out) plus ``extra`` pairs, with ``base``'s labels (and any
    new ones of ``labels``), tokenizer and hyper-parameters (but :data:`RETRAIN_EPOCHS` epochs; the optimisation
    ones overridden by ``hyper``; the shape ones are the model's). Returns
    ``(tagger, f1, base_f1, trained, heldout)``: the entity F1 of the new tagger and of ``base`` on the held-out
    answers (None without any)."""
    from ..model.config import TrainConfig
    from ..tagger import train as train_tagger

    pairs = record_pairs(records)
    heldout = [p for k, p in enumerate(pairs) if heldout_every and k % heldout_every == heldout_every - 1]
    train = [p for k, p in enumerate(pairs) if not (heldout_every and k % heldout_every == heldout_every - 1)]
    train += list(extra)
    config = {k: v for k, v in base.model.config.items() if k in TrainConfig.__dataclass_fields__}
    config.update(labels=list(dict.fromkeys([*base.labels, *labels])), epochs=RETRAIN_EPOCHS)
    config.update(hyper)
    tagger = train_tagger(train, init_model=base, **config)
    base.raw_tokenizer  # noqa: B018  # builds base.model.tokenizer_tables if they were not loaded
    # the new tagger tokenizes as the given one, so the pages' tokens (and the spans on them) stay valid
    tagger.model.tokenizer_rules = base.model.tokenizer_rules
    tagger.model.tokenizer_tables = base.model.tokenizer_tables
    f1 = score(tagger, heldout)
    return tagger, f1, score(base, heldout), len(train), len(heldout)


def score(tagger, pairs: Sequence[tuple[list[str], list[str]]]) -> float | None:
    """Entity F1 of ``tagger`` on (tokens, tags) pairs, None for no pairs."""
    if not pairs:
        return None
    pred = tagger.tag_tokens([t for t, _ in pairs])
    return float(evaluate([g for _, g in pairs], pred).overall.f1)


class Annotator:
    """Texts to annotate with ``tagger``, answers in ``log``; see the module docstring."""

    def __init__(
        self,
        tagger,
        texts: Sequence[str],
        log: AnswerLog,
        order: str = "uncertain",
        seed: int = 0,
        retrain_every: int = 50,
        heldout_every: int = 5,
        extra: Sequence[tuple[list[str], list[str]]] = (),
        hyper: dict[str, Any] | None = None,
        add_labels: Sequence[str] = (),
    ):
        """``add_labels``: labels the answers may use besides the model's; the next retrain learns them."""
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
        self.tagger, self.texts, self.log, self.order = tagger, list(texts), log, order
        self.retrain_every, self.heldout_every = retrain_every, heldout_every
        self.extra, self.hyper = list(extra), dict(hyper or {})
        self.add_labels = list(add_labels)
        self._lock = threading.RLock()
        self.answered: dict[int, str] = {}
        for rec in log.records:
            if not 0 <= rec["id"] < len(self.texts):
                raise ValueError(f"{log.path}: answer id {rec['id']} is not a text of the input ({len(texts)} lines)")
            self.answered[rec["id"]] = rec.get("answer", "accept")
        self.since_retrain = 0
        self.version = 0
        self.f1: float | None = None
        self.f1_before: float | None = None
        self.train_info: dict[str, Any] = {}
        self.retrain_state, self.retrain_error = "idle", cast("str | None", None)
        self._thread: threading.Thread | None = None
        ids = [i for i, t in enumerate(self.texts) if t]
        if order == "random":
            random.Random(seed).shuffle(ids)
        self.queue = ids
        if order == "uncertain":
            self.queue = self._ranked(tagger)

    def _ranked(self, tagger) -> list[int]:
        with self._lock:  # answers may come in while a retrain ranks
            answered = set(self.answered)
        ids = [i for i, t in enumerate(self.texts) if t and i not in answered]
        scores = uncertainty(tagger, [self.texts[i] for i in ids])
        return [i for _, i in sorted(zip((-s for s in scores), ids))]

    # -- serving --------------------------------------------------------------------------------

    def next_task(self) -> dict[str, Any]:
        """The next unanswered text (``{"done": true}`` when none is left) with the current model's tokens and
        entities."""
        with self._lock:
            tagger, queue = self.tagger, self.queue
            todo = [i for i in queue if i not in self.answered]
        out: dict[str, Any] = {"progress": self.progress()}
        if not todo:
            return {"done": True, **out}
        i = todo[0]
        doc = tagger(self.texts[i])
        tokens = [{"start": t.start_char, "end": t.end_char} for t in doc.tokens]
        ents = [{"start": e.start_char, "end": e.end_char, "label": e.label, "score": e.score} for e in doc.ents]
        return {"done": False, "id": i, "text": self.texts[i], "tokens": tokens, "ents": ents, **out}

    def progress(self) -> dict[str, int]:
        with self._lock:
            total = sum(1 for t in self.texts if t)
            skipped = sum(1 for a in self.answered.values() if a == "skip")
            return {
                "answered": len(self.answered),
                "accepted": len(self.answered) - skipped,
                "skipped": skipped,
                "total": total,
                "remaining": total - len(self.answered),
            }

    def answer(self, i: Any, action: Any, spans: Any) -> dict[str, Any]:
        """Check and record one answer (AnswerError if it is refused; then nothing is written)."""
        if type(i) is not int:
            raise AnswerError(422, f'"id" must be an integer, got {i!r}'[:200])
        if action not in ACTIONS:
            raise AnswerError(422, f'"action" must be one of {", ".join(ACTIONS)}, got {action!r}'[:200])
        if not 0 <= i < len(self.texts) or not self.texts[i]:
            raise AnswerError(404, f"no text with id {i}")
        seg = self.tagger.segment(self.texts[i])
        ends = [a + len(w) for a, w in zip(seg.starts, seg.words)]
        try:
            checked = check_spans(spans if action == "accept" else [], self.texts[i], seg.starts, ends, self.labels)
        except SpanError as exc:
            raise AnswerError(422, str(exc)) from None
        record = answer_record(i, self.texts[i], seg.words, seg.starts, checked, action)
        with self._lock:
            if i in self.answered:
                raise AnswerError(409, f"text {i} is answered already")
            self.log.append(record)  # durable before the answer counts
            self.answered[i] = action
            self.since_retrain += 1
            self._maybe_retrain()
        return {"ok": True, "id": i, "progress": self.progress()}

    @property
    def labels(self) -> list[str]:
        """The labels an answer may use: the current model's, then the new ones of ``add_labels``."""
        return list(dict.fromkeys([*self.tagger.labels, *self.add_labels]))

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "progress": self.progress(),
                "order": self.order,
                "labels": self.labels,
                "model": {"version": self.version, "f1": self.f1, "f1_before": self.f1_before, **self.train_info},
                "retrain": {
                    "state": self.retrain_state,
                    "every": self.retrain_every,
                    "answers_until_next": max(0, self.retrain_every - self.since_retrain)
                    if self.retrain_every
                    else None,
                    "error": self.retrain_error,
                },
            }

    # -- retraining -----------------------------------------------------------------------------

    def _maybe_retrain(self) -> None:
        if not self.retrain_every or self.since_retrain < self.retrain_every or self.retrain_state == "training":
            return
        self.since_retrain, self.retrain_state, self.retrain_error = 0, "training", None
        records = list(self.log.records)
        thread = threading.Thread(target=self._retrain, args=(records,), name="annotate-retrain", daemon=True)
        thread.start()
        self._thread = thread  # published once started: wait_retrain may join it from another thread at any time

    def _retrain(self, records: list[dict]) -> None:
        started = time.monotonic()
        try:
            tagger, f1, before, n_train, n_heldout = retrain(
                records, self.tagger, self.extra, self.heldout_every, self.labels, **self.hyper
            )
            queue = self._ranked(tagger) if self.order == "uncertain" else self.queue
        except Exception as exc:  # shown on the page; the current model stays
            traceback.print_exc()
            with self._lock:
                self.retrain_state, self.retrain_error = "failed", f"{type(exc).__name__}: {exc}"[:500]
            return
        with self._lock:
            self.tagger, self.queue = tagger, queue
            self.version += 1
            self.f1, self.f1_before = f1, before
            self.train_info = {"trained_on": n_train, "heldout": n_heldout, "seconds": time.monotonic() - started}
            self.retrain_state = "idle"

    def wait_retrain(self, timeout: float | None = None) -> None:
        """Wait for a running retrain to finish (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
