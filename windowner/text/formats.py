"""Labelled data in any of windowner's formats: CoNLL, JSON lines (:mod:`windowner.text.jsonl`) and spaCy's
``DocBin`` (``.spacy``), read as the same stream of :class:`~windowner.text.conll.Sentence` (tokens, BIO2 tags)
and written back.

A ``.spacy`` file gives one sentence per ``doc.sents`` when its Docs have sentence boundaries, else one per Doc;
tags come from ``doc.ents``, whitespace tokens are dropped. Written ``.spacy`` files hold one Doc per sentence,
``spaces`` all True: CoNLL has no whitespace information, so a Doc's text is its tokens joined by spaces.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping

from ..errors import DataError
from .conll import Sentence, read_conll, write_conll
from .jsonl import read_jsonl, write_jsonl
from .segment import Segmentation
from .tags import relabel

__all__ = ["FORMATS", "format_of", "read_docbin", "read_sentences", "write_docbin", "write_sentences"]

FORMATS = ("conll", "jsonl", "spacy")
_EXTENSIONS = {".jsonl": "jsonl", ".json": "jsonl", ".spacy": "spacy"}


def format_of(path: str | os.PathLike[str], given: str | None = None) -> str:
    """``given`` if set, else the format of ``path`` by its extension: ``.jsonl``/``.json`` → jsonl, ``.spacy`` →
    spacy, anything else (and "-") → conll."""
    if given is not None:
        if given not in FORMATS:
            raise ValueError(f"unknown format {given!r}: expected one of {', '.join(FORMATS)}")
        return given
    return _EXTENSIONS.get(os.path.splitext(os.fspath(path))[1].lower(), "conll")


def read_sentences(
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    segment: Callable[[str], Segmentation] | None = None,
    tag_column: int | None = -1,
    scheme: str = "auto",
    labels: Iterable[str] | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Iterator[Sentence]:
    """The sentences of ``path`` in format ``fmt`` (default: :func:`format_of`). ``tag_column`` and ``scheme``
    are CoNLL's (see :func:`~windowner.text.conll.read_conll`); ``segment`` tokenizes JSON lines without tokens
    (see :func:`~windowner.text.jsonl.read_jsonl`); ``mapping`` and ``labels`` apply to all formats."""
    fmt = format_of(path, fmt)
    if fmt == "conll":
        return read_conll(path, tag_column=tag_column, scheme=scheme, labels=labels, mapping=mapping)
    if fmt == "jsonl":
        return read_jsonl(path, segment=segment, labels=labels, mapping=mapping)
    return read_docbin(path, labels=labels, mapping=mapping)


def write_sentences(
    sentences: Iterable[Sentence | tuple[list[str], list[str]]], path: str | os.PathLike[str], fmt: str | None = None
) -> int:
    """Write ``sentences`` to ``path`` in format ``fmt`` (default: :func:`format_of`; CoNLL in BIO2); return
    how many."""
    fmt = format_of(path, fmt)
    if fmt == "conll":
        return write_conll(sentences, path)
    if fmt == "jsonl":
        return write_jsonl(sentences, path)
    return write_docbin(sentences, path)


def _vocab():
    from spacy.lang.en import English
    from spacy.vocab import create_vocab

    return create_vocab("en", English.Defaults)


def read_docbin(
    path: str | os.PathLike[str], *, labels: Iterable[str] | None = None, mapping: Mapping[str, str] | None = None
) -> Iterator[Sentence]:
    """The sentences of a spaCy ``DocBin`` file; ``Sentence.line`` is the Doc's number (from 1)."""
    from spacy.tokens import DocBin

    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(name, None, "file not found") from None
    except OSError as e:
        raise DataError(name, None, f"cannot open: {e.strerror or e}") from None
    try:
        docs = list(DocBin().from_bytes(data).get_docs(_vocab()))
    except Exception as e:  # spaCy raises ValueError, KeyError, msgpack or zlib errors for a bad file
        raise DataError(name, None, f"not a spaCy DocBin (.spacy) file ({type(e).__name__}: {e})") from None
    keep = None if labels is None else frozenset(labels)
    found = False
    for number, doc in enumerate(docs, 1):
        parts = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
        for part in parts:
            tokens = [t.text for t in part if not t.is_space]
            tags = [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in part if not t.is_space]
            if tokens:
                if mapping or keep is not None:
                    tags = relabel(tags, dict(mapping or {}), keep)
                found = True
                yield Sentence(tokens, _bio2(tags), number)
    if not found:
        raise DataError(name, None, "no sentences found: the DocBin holds no tokens")


def _bio2(tags: list[str]) -> list[str]:
    """``tags`` with an I- that begins an entity (after a dropped whitespace token) turned into B-."""
    out = list(tags)
    for i, t in enumerate(out):
        if t.startswith("I-") and (i == 0 or out[i - 1][2:] != t[2:]):
            out[i] = "B-" + t[2:]
    return out


def write_docbin(sentences: Iterable[Sentence | tuple[list[str], list[str]]], path: str | os.PathLike[str]) -> int:
    """Write one Doc per sentence (``spaces`` all True, ``doc.ents`` from the tags) as a ``DocBin``; return how many."""
    from spacy.tokens import Doc, DocBin, Span

    from .tags import bio2_spans

    vocab = _vocab()
    out = DocBin(store_user_data=False)
    n = 0
    for s in sentences:
        tokens, tags = (s.tokens, s.gold) if isinstance(s, Sentence) else s
        if not tokens:
            continue
        doc = Doc(vocab, words=list(tokens), spaces=[True] * len(tokens))
        doc.ents = [Span(doc, a, b, label=lab) for lab, a, b in bio2_spans(tags)]
        out.add(doc)
        n += 1
    out.to_disk(os.fspath(path))
    return n
