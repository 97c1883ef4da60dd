"""Input files as lines of UTF-8 text, and the one diagnostic for input that is not UTF-8 text.

Both readers of input files use it: :mod:`windowner.text.conll` (CoNLL files) and :func:`text_lines` (the plain
text ``windowner tag`` reads, one document per line). :func:`open_input` opens a path, ``"-"`` (stdin) or takes an
open file; :func:`byte_blocks` reads a binary file in blocks of whole lines and :func:`decode_lines` decodes one;
a line holding a NUL byte or bytes that are not UTF-8 becomes a :class:`~windowner.errors.DataError`
``path:line: problem`` through :func:`bad_bytes_error` (the message is :func:`line_problem`'s).
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

from ..errors import DataError

__all__ = [
    "BOM",
    "CONLL_FILE",
    "TEXT_FILE",
    "bad_bytes_error",
    "byte_blocks",
    "decode_lines",
    "line_problem",
    "open_input",
    "source_name",
    "text_lines",
]

BOM = b"\xef\xbb\xbf"
BLOCK_SIZE = 1 << 16  # bytes read at a time from a binary file
# What the messages ask for, by reader.
CONLL_FILE = "a UTF-8 text file in CoNLL format"
TEXT_FILE = "a UTF-8 text file, one document per line"
# Where text mode with newline="" ends a line (str.splitlines() would also end lines at VT, FF, U+2028, ...).
_LINE_END = re.compile(r"\r\n|\r|\n")


def source_name(f: Any, default: str = "<stream>") -> str:
    """The name an open file is reported under: its path, ``<fd N>``, or ``default``."""
    name = getattr(f, "name", None)
    if isinstance(name, (str, os.PathLike)):
        return str(name)
    if isinstance(name, int):
        return f"<fd {name}>"
    return default


def open_input(source: Any, kind: str = "a CoNLL file") -> tuple[Any, str, bool]:
    """``(file, name, close_it)`` for a path (opened in binary), ``"-"`` (stdin's binary buffer, or stdin itself
    when it has none) or an open file; DataError for a path that cannot be opened (``kind`` names what it should be)."""
    if isinstance(source, str) and source == "-":
        stdin = sys.stdin
        return getattr(stdin, "buffer", stdin), "<stdin>", False
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        try:
            return open(name, "rb"), str(name), True
        except FileNotFoundError:
            raise DataError(name, None, "file not found") from None
        except IsADirectoryError:
            raise DataError(name, None, f"is a directory, not {kind}") from None
        except OSError as e:
            raise DataError(name, None, f"cannot open: {e.strerror or e}") from None
    if isinstance(source, bytes):
        raise TypeError("give a path as str or Path (or an open file), not bytes")
    return source, source_name(source), False


def line_problem(raw: bytes | str, expected: str = CONLL_FILE) -> str | None:
    """What makes one line of input not UTF-8 text, or None: a NUL byte (a binary file, or UTF-16; reported first,
    wherever it is in the line) or bytes that are not UTF-8. ``expected`` names the file the user should give."""
    nul = f"contains a NUL byte: this looks like a binary file (or UTF-16); give {expected}"
    if isinstance(raw, str):
        return nul if "\x00" in raw else None
    if b"\x00" in raw:
        return nul
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at byte offset {e.start}); save the file as UTF-8"
    return None


def bad_bytes_error(name: str, lineno: int, raw: bytes | str, expected: str = CONLL_FILE) -> DataError:
    """The error ``name:lineno: problem`` for a line that holds a NUL byte or is not valid UTF-8."""
    problem = line_problem(raw, expected)
    if problem is None:
        raise AssertionError("the line is valid UTF-8 without NUL bytes")
    return DataError(name, lineno, problem)


def decode_error(name: str, lineno: int) -> DataError:
    """The error for a text-mode file that failed to decode: it decodes ahead, so the line is approximate."""
    return DataError(
        name,
        lineno,
        "not valid UTF-8 (at or shortly after this line); save the file as UTF-8 "
        "(pass a path or a binary file for the exact line)",
    )


def _first_bad_byte(data: bytes) -> int:
    """Offset of the first NUL byte or invalid UTF-8 in ``data``, or ``len(data)`` if there is none."""
    try:
        data.decode("utf-8")
        end = len(data)
    except UnicodeDecodeError as e:
        end = e.start
    nul = data.find(b"\x00", 0, end)
    return end if nul < 0 else nul


def decode_lines(block: bytes) -> tuple[str, int]:
    """Decode ``block`` (whole lines): ``(text, -1)`` if it is clean, else the text of the lines before the first
    line holding a NUL byte or invalid UTF-8 and the offset where that line starts."""
    text = ""
    try:
        text = block.decode("utf-8")
        end = len(block)
    except UnicodeDecodeError as e:
        end = e.start
    nul = block.find(b"\x00", 0, end)
    if nul >= 0:
        end = nul
    if end == len(block):
        return text, -1
    bad = block.rfind(b"\n", 0, end) + 1
    return block[:bad].decode("utf-8"), bad


def byte_blocks(f: Any) -> Iterator[bytes]:
    """The bytes of a binary file in blocks of whole lines (each ends with LF, but the file's last), a leading BOM
    dropped; memory is bounded by the block size and the longest line."""
    # read1 returns what a pipe has without waiting for a full block, so stdin streams interactively.
    read = f.read1 if isinstance(f, io.BufferedIOBase) else f.read
    pending: list[bytes] = []  # the start of a line whose end has not been read yet
    first = True
    while True:
        chunk = read(BLOCK_SIZE)
        if chunk:
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                pending.append(chunk)
                continue
            block = b"".join((*pending, chunk[:cut])) if pending else chunk[:cut]
            pending = [chunk[cut:]] if cut < len(chunk) else []
        else:
            block = b"".join(pending)
            if not block:
                return
        if first and block.startswith(BOM):
            block = block[len(BOM) :]
        first = False
        yield block
        if not chunk:
            return


def text_lines(source: Any, expected: str = TEXT_FILE) -> Iterator[str]:
    """The lines of a UTF-8 text file (a path, ``"-"`` for stdin, or an open file), streamed, without their ends.

    A line of a file ends at LF, CRLF or CR, as Python's text mode with ``newline=""`` reads it, and a leading BOM
    is dropped; a line holding a NUL byte or invalid UTF-8 raises :func:`bad_bytes_error` with its exact line
    number. Stdin is read as the text stream ``sys.stdin`` is (its lines end at LF; trailing CRs are dropped).
    """
    if isinstance(source, str) and source == "-":
        f, name, close_it = sys.stdin, "<stdin>", False
    else:
        f, name, close_it = open_input(source, "a text file")
    try:
        if isinstance(f, io.TextIOBase):
            yield from _lines_of_text_file(f, name, expected)
            return
        lineno = 0  # lines passed on so far
        for block in byte_blocks(f):
            text, bad = decode_lines(block)
            lines = _LINE_END.split(text)
            if not lines[-1]:  # the text ends with a line end (or is empty)
                lines.pop()
            yield from lines
            lineno += len(lines)
            if bad >= 0:  # the bad bytes may follow a lone CR, which ends a line of its own
                raw = block[bad : block.find(b"\n", bad) + 1 or len(block)]
                at = _first_bad_byte(raw)
                raise bad_bytes_error(
                    name, lineno + 1 + raw.count(b"\r", 0, at), raw[raw.rfind(b"\r", 0, at) + 1 :], expected
                )
    finally:
        if close_it:
            f.close()


def _lines_of_text_file(f: Any, name: str, expected: str) -> Iterator[str]:
    """:func:`text_lines` for a text-mode file (its own newline setting decides where a line ends)."""
    lineno = 0
    try:
        for lineno, line in enumerate(f, 1):
            if "\x00" in line:
                raise bad_bytes_error(name, lineno, line, expected)
            yield line.rstrip("\r\n")
    except UnicodeDecodeError:
        raise decode_error(name, lineno + 1) from None
