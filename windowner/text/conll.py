"""Reading and writing CoNLL-style NER files (one token per line, blank line between sentences).

Reading streams (a binary file in blocks of whole lines), checks the input thoroughly (every problem is a
:class:`~windowner.errors.DataError` naming ``path:line``) and converts any tagging scheme
(BIO2, IOB1, BIOES, IO) to BIO2 with :class:`windowner.text.tags.BIO2Converter`. Writing converts BIO2 back
to the scheme asked for.
"""

from __future__ import annotations

import io
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import IO, Any

from ..errors import DataError
from .lines import BOM, bad_bytes_error, byte_blocks, decode_error, decode_lines, line_problem, open_input
from .tags import (
    BIO2Converter,
    TagError,
    check_scheme,
    from_bio2,
    label_problem,
    parse_labels,
    parse_mapping,
    parse_tag,
    relabel,
)

__all__ = [
    "ConllRepairWarning",
    "ReadStats",
    "Sentence",
    "read_conll",
    "write_conll",
]
# Characters the reader treats as column or line separators: a token may not contain them.
_SEPARATORS = " \t\n\r\f\v"
_BAD_TOKEN_RE = re.compile(r"[ \t\n\r\f\v\x00]")
_DOCSTART = "-DOCSTART-"


@dataclass
class Sentence:
    """One sentence: tokens, their BIO2 tags (None for token-only input) and its first line."""

    tokens: list[str]
    tags: list[str] | None
    line: int

    @property
    def gold(self) -> list[str]:
        """The tags of a sentence read with a tag column; ValueError for token-only input."""
        if self.tags is None:
            raise ValueError(f"sentence at line {self.line} was read without a tag column: it has no tags")
        return self.tags


class ConllRepairWarning(UserWarning):
    """Issued once per file when I- tags that did not continue an entity were changed to B-."""


@dataclass
class ReadStats:
    """Counters filled in by :func:`read_conll` while it reads (final once the file is exhausted).

    ``repaired``/``first_repair_line`` count I-/E- tags that opened an entity and were changed
    to B-; they stay 0/None for IOB1 and IO files, where such openings are normal.
    """

    sentences: int = 0
    tokens: int = 0
    repaired: int = 0
    scheme: str | None = None
    first_repair_line: int | None = None


# --------------------------------------------------------------------------- reading


# Readers yield runs of consecutive lines as ``(first_line_number, lines, split)``: ``split(line)`` gives
# a line's columns (split at runs of spaces and tabs), [] for a blank line.
Block = tuple[int, list[str], Callable[[str], list[str]]]

_LINE_BATCH = 512  # lines of a text-mode file passed on at a time
# Whitespace other than space, tab and LF (none lies above U+3000). str.split() would split at it,
# but columns are separated only by spaces and tabs (NBSP stays inside a token) and CR, FF and VT
# have rules of their own, so a block holding any of it is split with the exact (slower) _columns.
_ODD_SPACE = tuple(c for c in map(chr, range(0x3001)) if c.isspace() and c not in " \t\n")


def _columns(text: str) -> list[str]:
    """Columns of one line: split at runs of spaces and tabs; [] for a blank line."""
    text = text.strip(_SEPARATORS)
    if not text or text.isspace():
        return []
    if "\t" in text:
        text = text.replace("\t", " ")
    parts = text.split(" ")
    if "" in parts:
        parts = [p for p in parts if p]
    return parts


def _split_cr(lines: list[str]) -> list[str]:
    """``lines`` (without their LF) stripped, a lone CR inside a line ending a line too (old Mac files)."""
    out: list[str] = []
    for line in lines:
        line = line.strip(_SEPARATORS)
        if "\r" in line:
            out.extend(line.split("\r"))
        else:
            out.append(line)
    return out


def _text_lines(text: str) -> tuple[list[str], Callable[[str], list[str]]]:
    """``(lines, split)`` for ``text``, a run of whole lines."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if any(c in text for c in _ODD_SPACE):
        return _split_cr(lines), _columns
    return lines, str.split


def _splitter(lines: list[str]) -> Callable[[str], list[str]]:
    """``str.split`` if it gives the columns of ``lines`` (whitespace only spaces and tabs), else ``_columns``."""
    text = "".join(lines)
    return _columns if "\n" in text or any(c in text for c in _ODD_SPACE) else str.split


def _binary_blocks(f: Any, name: str) -> Iterator[Block]:
    """Lines of a binary file, read in blocks of whole lines (memory bounded by the block and the longest line)."""
    lineno = 0  # lines passed on so far
    for block in byte_blocks(f):
        text, bad = decode_lines(block)
        if text:
            lines, split = _text_lines(text)
            yield lineno + 1, lines, split
            lineno += len(lines)
        if bad >= 0:
            end = block.find(b"\n", bad) + 1 or len(block)
            raise bad_bytes_error(name, lineno + 1, block[bad:end])


def _line_text(raw: str | bytes, name: str, lineno: int) -> str:
    """Line ``lineno`` as text, stripped, without a leading BOM; DataError for binary data."""
    if isinstance(raw, bytes):
        if lineno == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        if line_problem(raw):
            raise bad_bytes_error(name, lineno, raw)
        text = raw.decode("utf-8")
    else:
        text = raw
        if lineno == 1 and text.startswith("\ufeff"):
            text = text[1:]
        if "\x00" in text:
            raise bad_bytes_error(name, lineno, text)
    return text.strip(_SEPARATORS)


def _line_blocks(f: Iterable[Any], name: str) -> Iterator[Block]:
    """Lines of an iterable of str or byte lines (text-mode files, lists, generators)."""
    # A file's lines are passed on in batches; other iterables' one at a time, as the next may be slow to come.
    batch = _LINE_BATCH if isinstance(f, io.TextIOBase) else 1
    lineno = 0  # lines passed on so far
    lines: list[str] = []
    error: DataError | None = None
    try:
        for raw in f:
            text = _line_text(raw, name, lineno + len(lines) + 1)
            if "\r" in text:
                lines += text.split("\r")
            else:
                lines.append(text)
            if len(lines) >= batch:
                yield lineno + 1, lines, _splitter(lines)
                lineno += len(lines)
                lines = []
    except DataError as e:
        error = e
    except UnicodeDecodeError:  # raised by a text-mode file object while it decodes
        error = decode_error(name, lineno + len(lines) + 1)
    if lines:  # the lines before an error come first: an earlier line may hold an error of its own
        yield lineno + 1, lines, _splitter(lines)
    if error is not None:
        raise error


def _blocks(f: Any, name: str) -> Iterator[Block]:
    """The blocks of lines of a binary file, a text-mode file or an iterable of lines."""
    # Text-mode files are iterated line by line (in batches): their own newline setting decides where
    # a line ends, and their decode errors cannot be placed exactly anyway.
    if isinstance(f, (io.RawIOBase, io.BufferedIOBase)):
        return _binary_blocks(f, name)
    return _line_blocks(f, name)


def read_conll(
    source: str | os.PathLike[str] | IO[str] | IO[bytes],
    *,
    tag_column: int | None = -1,
    scheme: str = "auto",
    labels: Iterable[str] | None = None,
    mapping: Mapping[str, str] | None = None,
    stats: ReadStats | None = None,
    warn: bool = True,
) -> Iterator[Sentence]:
    """Stream the sentences of a CoNLL file, tags converted to BIO2.

    ``source`` is a path, ``"-"`` for stdin, or an open text or binary file. The word is the
    first column; the tag is column ``tag_column`` (-1 = last; None = no tags, token-only input).
    ``scheme`` is "auto" (detect) or one of :data:`SCHEMES`. ``mapping`` renames entity types,
    then ``labels`` keeps only the listed ones (others become O). ``stats`` is filled in as the
    file is read. Repaired I- tags in a BIO2/BIOES file give one :class:`ConllRepairWarning` when
    the file has been read to the end (if ``warn``). Problems in the file raise DataError.
    Arguments are checked at once; the file is opened when iteration starts.
    """
    check_scheme(scheme, allow_auto=True)
    if tag_column == 0:
        raise ValueError("tag_column=0 is the word column; the tag is usually the last column (-1)")
    if tag_column is not None and not isinstance(tag_column, int):
        raise TypeError(f"tag_column must be an int or None, not {type(tag_column).__name__}")
    if isinstance(labels, str):
        labels = parse_labels(labels)
    if isinstance(mapping, str):
        mapping = parse_mapping(mapping)
    keep = None if labels is None else frozenset(labels)
    for lab in keep or ():
        problem = label_problem(lab)
        if problem:
            raise ValueError(f"bad entity type in labels: {problem}")
    for old, new in (mapping or {}).items():
        problem = label_problem(old) or (None if new == "O" else label_problem(new))
        if problem:
            raise ValueError(f"bad mapping {old!r} -> {new!r}: {problem}")
    return _read(source, tag_column, scheme, dict(mapping or {}), keep, stats, warn)


def _read(
    source: Any,
    tag_column: int | None,
    scheme: str,
    mapping: dict[str, str],
    keep: frozenset[str] | None,
    stats: ReadStats | None,
    warn: bool,
) -> Iterator[Sentence]:
    f, name, close_it = open_input(source)
    try:
        yield from _parse(f, name, tag_column, scheme, mapping, keep, stats, warn)
    finally:
        if close_it:
            f.close()


def _parse(
    f: Any,
    name: str,
    tag_column: int | None,
    scheme: str,
    mapping: dict[str, str],
    keep: frozenset[str] | None,
    stats: ReadStats | None,
    warn: bool,
) -> Iterator[Sentence]:
    blocks = _blocks(f, name)
    tagged = tag_column is not None
    tcol = -1 if tag_column is None else tag_column  # column checked for a valid tag on '#' lines
    relabeling = bool(mapping) or keep is not None
    docstart = _DOCSTART

    # Read ahead to the first ordinary token line so the column count is known before deciding
    # whether a leading '#' line is a comment or a token.
    header: list[Block] = []
    expected: int | None = None
    expected_line = 0
    for block in blocks:
        header.append(block)
        first, lines, split = block
        for lineno, line in enumerate(lines, first):
            parts = split(line)
            if parts and parts[0][0] != "#" and parts[0] != docstart:
                expected, expected_line = len(parts), lineno
                break
        if expected is not None:
            break

    conv = BIO2Converter(scheme)
    first_repair: int | None = None
    n_sentences = 0

    def current_scheme() -> str | None:
        return conv.scheme if tagged else None

    tokens: list[str] = []
    tags: list[str] = []
    start_line = 0

    def finish() -> Sentence:
        nonlocal n_sentences
        out_tags: list[str] | None = tags if tagged else None
        if relabeling and out_tags is not None:
            out_tags = relabel(out_tags, mapping, keep)
        n_sentences += 1
        if stats is not None:
            stats.sentences += 1
            stats.tokens += len(tokens)
            _fill_stats(stats, current_scheme(), conv.repairs, first_repair)
        return Sentence(tokens, out_tags, start_line)

    for first, lines, split in chain(header, blocks):
        for lineno, line in enumerate(lines, first):
            parts = split(line)
            if not parts:
                if tokens:
                    yield finish()
                    tokens, tags = [], []
                    conv.end_sentence()
                continue
            word = parts[0]
            n = len(parts)
            if word == docstart:
                if tokens:
                    yield finish()
                    tokens, tags = [], []
                    conv.end_sentence()
                continue
            if word[0] == "#":
                # A comment, unless it has the file's column count and a valid tag: then it is a token.
                if n < 2 or (expected is not None and n != expected) or not -n <= tcol < n:
                    continue
                if parse_tag(parts[tcol]) is None:
                    continue
            if n != expected or n == 1:
                if n == 1 and tagged:
                    raise DataError(
                        name,
                        lineno,
                        f"only one column ({word!r}): expected 'token tag' with the "
                        "NER tag in the last column (for a file without tags use "
                        "tag_column=None)",
                    )
                if expected is None:
                    expected, expected_line = n, lineno
                elif n != expected:
                    raise DataError(
                        name,
                        lineno,
                        f"expected {expected} columns (as on line {expected_line}) "
                        f"but found {n}; every token line must have the same number "
                        "of columns",
                    )
            if tagged:
                if not -n <= tcol < n:
                    raise DataError(
                        name,
                        lineno,
                        f"tag_column={tag_column} but the line has only {n} columns; "
                        "choose the column that holds the NER tag (-1 = last)",
                    )
                try:
                    bio2, repaired = conv.push(parts[tcol])
                except TagError as exc:
                    if exc.kind == "invalid":
                        where = "" if tag_column == -1 else f" (column {tcol % n + 1})"
                        raise DataError(name, lineno, f"{exc}{where}") from None
                    raise DataError(
                        name, lineno, f"{exc}; pass the file's scheme (bio2, iob1, bioes, io) or scheme='auto'"
                    ) from None
                tags.append(bio2)
                if repaired and first_repair is None:
                    first_repair = lineno
            if not tokens:
                start_line = lineno
            tokens.append(word)
    if tokens:
        yield finish()

    if n_sentences == 0:
        raise DataError(
            name, None, "no sentences found: the file is empty or holds only comments, blank lines and -DOCSTART- lines"
        )
    final = current_scheme()
    if stats is not None:
        _fill_stats(stats, final, conv.repairs, first_repair)
    if warn and conv.repairs_for() and final in ("bio2", "bioes"):
        warnings.warn(
            ConllRepairWarning(
                f"{name}: repaired {conv.repairs} I- tags that did not follow B-/I- of the same type to B- "
                f"(first at line {first_repair})"
            ),
            stacklevel=2,
        )


def _fill_stats(stats: ReadStats, scheme: str | None, repairs: int, first_repair: int | None) -> None:
    stats.scheme = scheme
    if scheme in ("bio2", "bioes"):
        stats.repaired, stats.first_repair_line = repairs, first_repair
    else:
        stats.repaired, stats.first_repair_line = 0, None


# --------------------------------------------------------------------------- writing


def _open_target(target: Any) -> tuple[Any, bool, Any]:
    """``(text_file, close_it, wrapped_binary)`` for a path, "-" or a file object."""
    if isinstance(target, str) and target == "-":
        return sys.stdout, False, None
    if isinstance(target, (str, os.PathLike)):
        return open(target, "w", encoding="utf-8", newline="\n"), True, None
    if isinstance(target, (io.RawIOBase, io.BufferedIOBase)) or "b" in str(getattr(target, "mode", "")):
        wrapper = io.TextIOWrapper(target, encoding="utf-8", newline="\n", write_through=True)
        return wrapper, False, wrapper
    return target, False, None


def write_conll(
    sentences: Iterable[Sentence | tuple[list[str], list[str]]], target: Any, *, scheme: str = "bio2", start: int = 1
) -> int:
    """Write sentences as ``token tag`` lines with a blank line after each; return how many.

    ``target`` is a path (written as UTF-8), ``"-"`` for stdout, or an open text or binary
    file. Tags are BIO2 and are written in ``scheme``. Sentences without tokens are skipped.
    Raises ValueError for a token that cannot be written (empty, containing whitespace,
    or ``-DOCSTART-``) or tags that do not match the tokens; messages number the sentences from ``start``.
    """
    check_scheme(scheme, allow_auto=False)
    f, close_it, wrapper = _open_target(target)
    written = 0
    try:
        for i, sent in enumerate(sentences, start):
            if isinstance(sent, Sentence):
                tokens, tags, where = sent.tokens, sent.tags, f"sentence {i} (line {sent.line})"
            else:
                tokens, tags = sent
                where = f"sentence {i}"
            if tags is None:
                raise ValueError(f"{where} has no tags: write_conll needs a tag for every token")
            if len(tokens) != len(tags):
                raise ValueError(f"{where} has {len(tokens)} tokens but {len(tags)} tags")
            if not tokens:
                continue
            for tok in tokens:
                if not tok or _BAD_TOKEN_RE.search(tok) or tok == _DOCSTART:
                    why = (
                        "is empty"
                        if not tok
                        else "is -DOCSTART-, which readers skip"
                        if tok == _DOCSTART
                        else "contains whitespace (or NUL), which CoNLL uses to separate columns and lines"
                    )
                    raise ValueError(f"{where}: token {tok!r} cannot be written in CoNLL: it {why}")
            try:
                out_tags = from_bio2(list(tags), scheme)
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
            f.write("".join(f"{tok} {tag}\n" for tok, tag in zip(tokens, out_tags)) + "\n")
            written += 1
    finally:
        if close_it:
            f.close()
        elif wrapper is not None:
            wrapper.flush()
            wrapper.detach()
        else:
            f.flush()
    return written
