"""The answers of ``windowner annotate``: the texts to annotate, one JSON line per answer, written durably.

:func:`read_texts` reads the input (one text per line, or JSON lines with ``"text"``); a text's id is its
0-based line index. :class:`AnswerLog` holds the output file under an exclusive lock (a second server on the
same file is refused), reads the answers already in it (a last line cut short by a kill is dropped with a
warning) and appends each new answer with ``flush`` and ``os.fsync`` before it returns. :func:`check_spans`
validates the spans of an answer against the text's tokens and the model's labels. A record is
:func:`answer_record`: the JSON-lines form :func:`windowner.text.jsonl.read_jsonl` reads (``text``, Prodigy
``tokens`` and ``spans``), plus ``id`` and ``answer`` (``accept`` or ``skip``; readers ignore skipped ones).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import warnings
from bisect import bisect_left
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import DataError, WindownerError
from ..text.formats import format_of
from ..text.lines import TEXT_FILE, text_lines

__all__ = ["ACTIONS", "AnswerLog", "SpanError", "answer_record", "check_spans", "read_texts", "record_pairs"]

ACTIONS = ("accept", "skip")


class SpanError(ValueError):
    """An answer's spans are not valid for its text (the message says why)."""


def read_texts(path: str | os.PathLike[str]) -> list[str]:
    """The texts of ``path``: JSON lines with ``"text"`` for ``.jsonl``/``.json`` files, else one text per line
    (UTF-8; a bad line is a DataError ``path:line``). Index i is the text of line i + 1; blank texts are kept as
    "" (never served) so that ids stay line indices."""
    name = os.fspath(path)
    if not Path(name).is_file():
        raise DataError(name, None, "no such file")
    if format_of(name) != "jsonl":
        return [line if line.strip() else "" for line in text_lines(name, TEXT_FILE)]
    texts = []
    for lineno, line in enumerate(text_lines(name, "a UTF-8 JSON-lines file"), 1):
        if not line.strip():
            texts.append("")
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(name, lineno, f"not valid JSON ({e.msg}); each line must be one JSON object") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
            raise DataError(name, lineno, 'expected a JSON object with a string "text"')
        texts.append(rec["text"] if rec["text"].strip() else "")
    return texts


def check_spans(spans: Any, text: str, starts: Sequence[int], ends: Sequence[int], labels: Sequence[str]) -> list:
    """``spans`` (a list of ``{"start", "end", "label"}``) as sorted ``(start, end, label)``; SpanError unless each
    is a non-empty range of ``text`` on token boundaries (``starts``/``ends`` of the tokens) with a label in
    ``labels``, and no two overlap."""
    if not isinstance(spans, list):
        raise SpanError('"spans" must be a list of {"start", "end", "label"}')
    out = []
    for k, s in enumerate(spans):
        if not isinstance(s, dict) or set(s) - {"start", "end", "label", "score"}:
            raise SpanError(f'spans[{k}] must be an object with "start", "end" and "label", got {s!r}'[:300])
        a, b, label = s.get("start"), s.get("end"), s.get("label")
        if type(a) is not int or type(b) is not int:
            raise SpanError(f"spans[{k}]: start and end must be integers, got {a!r} and {b!r}"[:300])
        if not 0 <= a < b <= len(text):
            raise SpanError(f"spans[{k}]: [{a}, {b}) is not a non-empty range of the text ({len(text)} characters)")
        if not _on(starts, a) or not _on(ends, b):
            raise SpanError(f"spans[{k}]: [{a}, {b}) {text[a:b]!r} does not start and end on token boundaries")
        if label not in labels:
            raise SpanError(f"spans[{k}]: unknown label {label!r}; the model's labels are {', '.join(labels)}"[:300])
        out.append((a, b, label))
    out.sort()
    for (a0, b0, _), (a1, b1, _) in zip(out, out[1:]):
        if a1 < b0:
            raise SpanError(f"spans [{a0}, {b0}) and [{a1}, {b1}) overlap")
    return out


def _on(offsets: Sequence[int], x: int) -> bool:
    i = bisect_left(offsets, x)
    return i < len(offsets) and offsets[i] == x


def answer_record(
    i: int, text: str, words: Sequence[str], starts: Sequence[int], spans: list, action: str
) -> dict[str, Any]:
    """The JSON line of an answer: ``id``, ``answer``, ``text``, Prodigy ``tokens`` and ``spans`` (with
    ``token_start``/``token_end``, inclusive); a skipped text has no spans."""
    ends = [a + len(w) for a, w in zip(starts, words)]
    tokens = [{"text": w, "start": a, "end": e, "id": k} for k, (w, a, e) in enumerate(zip(words, starts, ends))]
    out = [
        {"start": a, "end": b, "label": lab, "token_start": starts.index(a), "token_end": ends.index(b)}
        for a, b, lab in spans
    ]
    return {"id": i, "answer": action, "text": text, "tokens": tokens, "spans": out}


def record_pairs(records: Sequence[dict]) -> list[tuple[list[str], list[str]]]:
    """(tokens, BIO2 tags) of the accepted records, for training and scoring."""
    pairs = []
    for rec in records:
        if rec.get("answer") != "accept" or not rec["tokens"]:
            continue
        words = [t["text"] for t in rec["tokens"]]
        tags = ["O"] * len(words)
        for s in rec["spans"]:
            a, b = s["token_start"], s["token_end"]
            tags[a : b + 1] = ["B-" + s["label"]] + ["I-" + s["label"]] * (b - a)
        pairs.append((words, tags))
    return pairs


def _sync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a directory
        pass
    finally:
        os.close(fd)


class AnswerLog:
    """The output file of ``windowner annotate``, locked for this process: :attr:`records` are the answers in it
    (in order) and :meth:`append` adds one durably. :meth:`close` releases the lock."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = threading.Lock()
        created = not self.path.exists()
        try:
            self._f = open(self.path, "a+b")  # noqa: SIM115  # held open for the server's lifetime
        except OSError as exc:
            raise WindownerError(f"{self.path}: cannot open the output file ({exc.strerror})") from None
        try:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._f.close()
            raise WindownerError(
                f"{self.path} is in use by another windowner annotate; stop it first (one server per output file)"
            ) from None
        if created:  # the new file's directory entry must reach the disk too
            _sync_dir(self.path.parent)
        try:
            self.records = self._read()
        except BaseException:
            self.close()
            raise

    def _read(self) -> list[dict]:
        self._f.seek(0)
        data = self._f.read()
        records, pos = [], 0
        for lineno, raw in enumerate(data.splitlines(keepends=True), 1):
            try:
                rec = json.loads(raw) if raw.strip() else None
                complete = raw.endswith(b"\n")
            except ValueError:
                rec, complete = None, False
            if rec is not None and complete and isinstance(rec, dict) and type(rec.get("id")) is int:
                records.append(rec)
            elif not raw.strip():
                pass
            elif pos + len(raw) == len(data):  # the last line, cut short by a kill: drop it
                warnings.warn(
                    f"{self.path}:{lineno}: the last line is incomplete (the server was stopped while writing "
                    "it); it is dropped",
                    stacklevel=2,
                )
                self._f.truncate(pos)
                self._sync()
                break
            else:
                raise DataError(str(self.path), lineno, 'not an answer: expected a JSON object with an integer "id"')
            pos += len(raw)
        return records

    def _sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` as one JSON line and fsync it: once this returns, the answer survives a crash."""
        try:
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not UTF-8, kept as \u escapes
            line = (json.dumps(record) + "\n").encode("ascii")
        with self._lock:
            self._f.seek(0, os.SEEK_END)
            self._f.write(line)
            self._sync()
            self.records.append(record)

    def close(self) -> None:
        """Release the lock and close the file."""
        if not self._f.closed:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_UN)
            self._f.close()
