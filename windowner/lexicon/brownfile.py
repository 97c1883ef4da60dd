"""Brown cluster files: reading and writing them, and the cluster path of any word.

The standard format, as Liang's ``wcluster``, the PyPI package ``brown-clustering`` and
``windowner clusters train`` write it: one word per line, ``PATH<TAB>WORD<TAB>COUNT``, where PATH is the
word's bit string in the cluster hierarchy (a prefix of length k names its cluster at depth k). The count
column is optional (some distributed files lost it). Words are looked up as written, then lowercased, then
title-cased (Ratinov & Roth 2009).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import DataError
from ..text.lines import text_lines

CLUSTER_FILE = "a Brown cluster file (PATH<TAB>WORD[<TAB>COUNT] per line)"
MAX_BITS = 64
_BITS = re.compile(r"[01]+")

ClusterRow = tuple[str, str, int]  # (bit string, word, count)


def is_path(bits: str) -> bool:
    """Is ``bits`` a cluster path: 1 to MAX_BITS 0s and 1s?"""
    return len(bits) <= MAX_BITS and _BITS.fullmatch(bits) is not None


class BrownClusters:
    """``paths[word]``: the bit string of each word of a cluster file."""

    def __init__(self, paths: dict[str, str]):
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def path(self, word: str) -> str | None:
        """The cluster path of ``word`` as written, else lowercased, else title-cased; None if none is listed."""
        paths = self.paths
        found = paths.get(word)
        if found is None:
            found = paths.get(word.lower())
            if found is None:
                found = paths.get(word[:1].upper() + word[1:].lower())
        return found

    def lines(self) -> list[str]:
        """``PATH<TAB>WORD`` of every word, in file order (what a model directory keeps)."""
        return [f"{p}\t{w}" for w, p in self.paths.items()]

    @classmethod
    def parse(cls, lines: Iterable[str], name: str) -> BrownClusters:
        """The clusters of a file's ``lines`` (without their ends); DataError naming ``name``, the line and the
        problem for a line that is not ``PATH<TAB>WORD[<TAB>COUNT]``, and for a file without one word."""
        paths: dict[str, str] = {}
        valid: set[str] = set()  # the distinct paths already checked (a file has about k of them)
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) not in (2, 3):
                found = "no tab" if len(fields) == 1 else f"{len(fields) - 1} tabs"
                raise DataError(
                    name, lineno, f"expected PATH<TAB>WORD or PATH<TAB>WORD<TAB>COUNT, found {found}: {line[:60]!r}"
                )
            bits, word = fields[0], fields[1]
            if bits not in valid and not is_path(bits):
                raise DataError(
                    name, lineno, f"the cluster path must be a bit string of 1 to {MAX_BITS} 0s and 1s, found {bits!r}"
                )
            if not word or word != word.strip():
                raise DataError(name, lineno, f"the word is empty or has spaces around it: {word!r}")
            if len(fields) == 3 and not fields[2].strip().isdigit():
                raise DataError(name, lineno, f"the count must be a whole number, found {fields[2]!r}")
            valid.add(bits)
            paths.setdefault(word, bits)  # a word listed twice keeps its first path
        if not paths:
            raise DataError(name, None, f"holds no words; expected {CLUSTER_FILE}")
        return cls(paths)


def read_clusters(path: str | Path) -> BrownClusters:
    """The Brown clusters of a file; DataError naming the file and line for a missing file, a line that is not
    ``PATH<TAB>WORD[<TAB>COUNT]``, a bad bit string, bytes that are not UTF-8 text, or a file without words."""
    if Path(path).is_dir():
        raise DataError(path, None, f"is a directory; expected {CLUSTER_FILE}")
    return BrownClusters.parse(text_lines(str(path), CLUSTER_FILE), str(path))


def write_clusters(path: str | os.PathLike[str], rows: Iterable[ClusterRow]) -> int:
    """Write ``PATH<TAB>WORD<TAB>COUNT`` lines (UTF-8, LF) to ``path`` atomically; returns the number of lines.
    ValueError for a word that is empty or holds whitespace, or a path that is not a bit string."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            for bits, word, count in rows:
                if not word or any(c.isspace() for c in word):
                    raise ValueError(f"a cluster word must be non-empty without whitespace: {word!r}")
                if not is_path(bits):
                    raise ValueError(f"a cluster path must be a bit string of 1 to {MAX_BITS} 0s and 1s: {bits!r}")
                f.write(f"{bits}\t{word}\t{int(count)}\n")
                n += 1
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n
