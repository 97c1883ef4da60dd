"""JSON lines with character spans: ``{"text": ..., "spans": [{"start": 0, "end": 12, "label": "PER"}]}``.

The spaCy/Prodigy form (``"spans"``, optionally with ``"tokens"``: ``[{"text", "start", "end", "id"}]``) and
doccano's (``"label": [[start, end, "PER"], ...]``) are read. A record with ``"tokens"`` keeps them and is one
sentence (so CoNLL → JSON lines → CoNLL is byte-identical); a record without them is tokenized (a
:class:`~windowner.text.tokenizer.Tokenizer`, windowner's default English rules unless one is given) and cut into
sentences by :mod:`windowner.text.segment`, never inside an entity. A span must start and end on token boundaries
and may not overlap another; every problem is a :class:`~windowner.errors.DataError` ``path:line: problem``.
A record whose ``"answer"`` is ``skip`` (``windowner annotate``), ``ignore`` or ``reject`` (Prodigy) is passed over.
:func:`write_jsonl` writes sentences as records with tokens and spans.
"""

from __future__ import annotations

import json
import os
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

from ..errors import DataError
from .conll import Sentence
from .lines import BOM, bad_bytes_error, open_input
from .segment import Segmentation, segment_text
from .tags import bio2_spans, label_problem, relabel

__all__ = ["JSONL_FILE", "default_tokenizer", "read_jsonl", "record_of", "write_jsonl"]

JSONL_FILE = "a UTF-8 JSON-lines file"
SKIPPED_ANSWERS = ("skip", "ignore", "reject")  # a record with such an "answer" holds no annotation: not read
_default: Any = None


def default_tokenizer() -> Any:
    """windowner's tokenizer with spaCy's English rules (built once)."""
    global _default
    if _default is None:
        from .conventions import spacy_tables
        from .tokenizer import Tokenizer

        _default = Tokenizer(spacy_tables(None))
    return _default


def read_jsonl(
    source: str | os.PathLike[str] | IO[bytes] | IO[str],
    *,
    segment: Callable[[str], Segmentation] | None = None,
    labels: Iterable[str] | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Iterator[Sentence]:
    """Stream the sentences (tokens and BIO2 tags) of a JSON-lines file; ``Sentence.line`` is the record's line.

    ``segment`` tokenizes records without ``"tokens"`` and cuts them into sentences (such as
    :meth:`windowner.Tagger.segment`; default :func:`~windowner.text.segment.segment_text` with
    :func:`default_tokenizer`).
    ``mapping`` renames entity types, then ``labels`` keeps only those listed (others become O), as in
    :func:`~windowner.text.conll.read_conll`."""
    keep = None if labels is None else frozenset(labels)
    f, name, close_it = open_input(source, JSONL_FILE)
    found = False
    try:
        for lineno, raw in enumerate(f, 1):
            text = _line(raw, name, lineno)
            if not text.strip():
                continue
            for sent in _record(text, name, lineno, segment):
                found = True
                if mapping or keep is not None:
                    sent.tags = relabel(sent.gold, dict(mapping or {}), keep)
                yield sent
    finally:
        if close_it:
            f.close()
    if not found:
        raise DataError(name, None, "no sentences found: the file is empty or holds only blank lines or empty texts")


def _line(raw: bytes | str, name: str, lineno: int) -> str:
    if isinstance(raw, bytes):
        if lineno == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        try:
            if b"\x00" in raw:
                raise UnicodeDecodeError("utf-8", raw, 0, 1, "NUL")
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_bytes_error(name, lineno, raw, JSONL_FILE) from None
    if "\x00" in raw:
        raise bad_bytes_error(name, lineno, raw, JSONL_FILE)
    return raw[1:] if lineno == 1 and raw.startswith("\ufeff") else raw


def _record(line: str, name: str, lineno: int, segment: Callable[[str], Segmentation] | None) -> list[Sentence]:
    def fail(message: str) -> DataError:
        return DataError(name, lineno, message)

    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        raise fail(f"not valid JSON ({e.msg} at column {e.colno}); each line must be one JSON object") from None
    if not isinstance(rec, dict):
        raise fail(f'expected a JSON object with "text", found {type(rec).__name__}')
    text = rec.get("text")
    if not isinstance(text, str):
        what = 'no "text"' if text is None else f'"text" is {type(text).__name__}, not a string'
        raise fail(f'{what}: each record needs the text, e.g. {{"text": "...", "spans": [...]}}')
    if rec.get("answer") in SKIPPED_ANSWERS:  # an annotator's skipped text (windowner annotate, Prodigy)
        return []
    spans = _spans(rec, text, fail)
    if rec.get("tokens") is not None:
        words, starts = _given_tokens(rec["tokens"], text, fail)
        cuts = [0, len(words)] if words else [0]
    else:
        seg = segment(text) if segment is not None else segment_text(default_tokenizer(), text)
        words, starts, cuts = seg.words, seg.starts, seg.cuts
    ends = [a + len(w) for a, w in zip(starts, words)]
    tags = ["O"] * len(words)
    inside: set[int] = set()  # token indices a sentence may not start at
    for a, b, label in spans:
        i, j = _token_at(starts, a, True), _token_at(ends, b, False)
        if i is None or j is None or j < i:
            raise fail(f"span [{a}, {b}) {text[a:b]!r} ({label}) {_off_boundary(text, starts, ends, a, b)}")
        tags[i : j + 1] = ["B-" + label] + ["I-" + label] * (j - i)
        inside.update(range(i + 1, j + 1))
    cuts = [c for c in cuts if c not in inside]
    return [Sentence(words[a:b], tags[a:b], lineno) for a, b in zip(cuts, cuts[1:]) if b > a]


def _spans(rec: dict, text: str, fail) -> list[tuple[int, int, str]]:
    """The record's spans as sorted ``(start, end, label)``, checked: in the text, labelled, not overlapping."""
    if "spans" in rec:
        raw, key = rec["spans"], "spans"
    elif "label" in rec:
        raw, key = rec["label"], "label"
    else:
        raw, key = rec.get("entities", []), "entities"
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise fail(f'"{key}" must be a list of spans, not {type(raw).__name__}')
    out: list[tuple[int, int, str]] = []
    for k, s in enumerate(raw):
        if isinstance(s, dict):
            a, b, label = s.get("start"), s.get("end"), s.get("label")
        elif isinstance(s, list) and len(s) == 3:
            a, b, label = s
        else:
            raise fail(f'{key}[{k}] is neither {{"start", "end", "label"}} nor [start, end, label]: {s!r}')
        if not (isinstance(a, int) and isinstance(b, int)) or isinstance(a, bool) or isinstance(b, bool):
            raise fail(f"{key}[{k}]: start and end must be integer character offsets, got {a!r} and {b!r}")
        if not 0 <= a < b <= len(text):
            raise fail(f"{key}[{k}]: span [{a}, {b}) is not a non-empty range of the text ({len(text)} characters)")
        problem = label_problem(label) if isinstance(label, str) else "the label must be a string"
        if problem or not isinstance(label, str):
            raise fail(f"{key}[{k}] [{a}, {b}) {text[a:b]!r}: {problem}")
        out.append((a, b, label))
    out.sort()
    for (a0, b0, l0), (a1, b1, l1) in zip(out, out[1:]):
        if a1 < b0:
            raise fail(
                f"span [{a1}, {b1}) {text[a1:b1]!r} ({l1}) overlaps span [{a0}, {b0}) {text[a0:b0]!r} ({l0}); "
                "entities may not overlap"
            )
    return out


def _given_tokens(tokens: Any, text: str, fail) -> tuple[list[str], list[int]]:
    """Words and start offsets of a record's ``"tokens"``, checked against the text."""
    if not isinstance(tokens, list):
        raise fail(f'"tokens" must be a list, not {type(tokens).__name__}')
    words: list[str] = []
    starts: list[int] = []
    for k, t in enumerate(tokens):
        if not isinstance(t, dict) or not isinstance(t.get("start"), int) or not isinstance(t.get("end"), int):
            raise fail(f'tokens[{k}] must be an object with integer "start" and "end": {t!r}')
        a, b = t["start"], t["end"]
        if not (starts[-1] + len(words[-1]) if words else 0) <= a < b <= len(text):
            raise fail(f"tokens[{k}]: [{a}, {b}) is not a non-empty range of the text after the token before")
        if "text" in t and t["text"] != text[a:b]:
            raise fail(f'tokens[{k}]: "text" is {t["text"]!r} but the text holds {text[a:b]!r} at [{a}, {b})')
        if text[a:b].isspace():
            continue
        words.append(text[a:b])
        starts.append(a)
    return words, starts


def _token_at(offsets: list[int], x: int, start: bool) -> int | None:
    """Index of the token starting (``start``) or ending at character ``x``, or None."""
    i = bisect_left(offsets, x)
    return i if i < len(offsets) and offsets[i] == x else None


def _off_boundary(text: str, starts: list[int], ends: list[int], a: int, b: int) -> str:
    """Why a span is not on token boundaries, with the nearest ones."""

    def nearest(offsets: list[int], x: int) -> str:
        i = bisect_left(offsets, x)
        near = sorted({offsets[k] for k in (i - 1, i) if 0 <= k < len(offsets)})  # the one before, the one after
        return " or ".join(map(str, near)) if near else "none"

    bad = []
    if _token_at(starts, a, True) is None:
        bad.append(f"start {a} is not the start of a token (nearest token starts: {nearest(starts, a)})")
    if _token_at(ends, b, False) is None:
        bad.append(f"end {b} is not the end of a token (nearest token ends: {nearest(ends, b)})")
    return "does not fall on token boundaries: " + "; ".join(bad or ["it holds no token"])


def record_of(tokens: list[str], tags: list[str]) -> dict:
    """The JSON-lines record of one sentence: its tokens joined by single spaces, Prodigy-style tokens and spans
    (``token_end`` inclusive)."""
    starts, pos = [], 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    toks = [{"text": t, "start": a, "end": a + len(t), "id": i} for i, (t, a) in enumerate(zip(tokens, starts))]
    spans = [
        {
            "start": starts[a],
            "end": starts[b - 1] + len(tokens[b - 1]),
            "token_start": a,
            "token_end": b - 1,
            "label": lab,
        }
        for lab, a, b in bio2_spans(tags)
    ]
    return {"text": " ".join(tokens), "tokens": toks, "spans": spans}


def write_jsonl(sentences: Iterable[Sentence | tuple[list[str], list[str]]], target: str | os.PathLike[str]) -> int:
    """Write one record (:func:`record_of`) per sentence to ``target`` (a path, or "-" for stdout); return how many."""
    import sys

    if isinstance(target, str) and target == "-":
        return _write_records(sentences, sys.stdout)
    with open(target, "w", encoding="utf-8", newline="\n") as f:
        return _write_records(sentences, f)


def _write_records(sentences: Iterable[Sentence | tuple[list[str], list[str]]], f: IO[str]) -> int:
    n = 0
    for s in sentences:
        tokens, tags = (s.tokens, s.gold) if isinstance(s, Sentence) else s
        if tokens:
            f.write(json.dumps(record_of(list(tokens), list(tags)), ensure_ascii=False) + "\n")
            n += 1
    f.flush()
    return n
