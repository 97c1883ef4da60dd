"""Build the wn-pld corpus (PER / LOC / DATE, BIO2) from the hand-written sources.

Usage:  .venv/bin/python corpora/build.py

Reads every ``corpora/source/*.txt`` in sorted order. One sentence per line, entities marked as
``[surface text]{LABEL}``; ``#`` lines are comments, blank lines are ignored. Each sentence is tokenized
with ``spacy.blank("en")``, the marks are mapped to tokens (strict alignment) and converted to BIO2.
Any problem (bad brackets, unknown label, misaligned span, length outside 5-40 tokens, duplicate
sentence) is printed as ``file:line: problem`` and the script exits with status 1 without writing.
Otherwise the sentences are shuffled with ``random.Random(13)`` and split 70/15/15 into
``wn-pld.{train,dev,test}.conll``. Same sources -> byte-identical outputs.
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter
from pathlib import Path

import spacy

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE / "source"
LABELS = ("PER", "LOC", "DATE")
MIN_TOKENS, MAX_TOKENS = 5, 40
SEED = 13
HELDOUT_FRACTION = 0.15
MIN_SIZES = {"train": 1500, "dev": 300, "test": 300}
SPLITS = ("train", "dev", "test")
HEADER = "# wn-pld {split}: written for windowner, CC BY 4.0 (see corpora/README.md)\n"

MARK = re.compile(r"\[([^\[\]{}]*)\]\{([^\[\]{}]*)\}")


class SourceError(Exception):
    """A problem in one source line."""


def parse_markup(line: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Return the plain text of a marked-up line and its entity character spans."""
    text, spans, pos = [], [], 0
    length = 0
    for m in MARK.finditer(line):
        before = line[pos : m.start()]
        text.append(before)
        length += len(before)
        surface, label = m.group(1), m.group(2)
        if label not in LABELS:
            raise SourceError(f"unknown label {label!r} in {m.group(0)!r}")
        if not surface.strip() or surface != surface.strip():
            raise SourceError(f"empty entity or entity with outer spaces: {m.group(0)!r}")
        spans.append((length, length + len(surface), label))
        text.append(surface)
        length += len(surface)
        pos = m.end()
    text.append(line[pos:])
    plain = "".join(text)
    if any(c in plain for c in "[]{}"):
        raise SourceError("unbalanced, nested or stray brackets")
    return plain, spans


def tag_sentence(nlp, line: str) -> list[tuple[str, str]]:
    """Tokenize one marked-up line and return (token, BIO2 tag) pairs, whitespace tokens dropped."""
    plain, spans = parse_markup(line)
    doc = nlp.make_doc(plain)
    ents = []
    for start, end, label in spans:
        span = doc.char_span(start, end, label, alignment_mode="strict")
        if span is None:
            raise SourceError(f"entity {plain[start:end]!r} is not on token boundaries")
        if any(tok.is_space for tok in span):
            raise SourceError(f"entity {plain[start:end]!r} contains a whitespace token")
        ents.append(span)
    doc.ents = ents
    pairs = []
    for tok in doc:
        if tok.text.isspace():
            continue
        if any(c.isspace() for c in tok.text):
            raise SourceError(f"token {tok.text!r} contains whitespace")
        tag = "O" if tok.ent_iob_ == "O" else f"{tok.ent_iob_}-{tok.ent_type_}"
        pairs.append((tok.text, tag))
    if not MIN_TOKENS <= len(pairs) <= MAX_TOKENS:
        raise SourceError(f"{len(pairs)} tokens, outside {MIN_TOKENS}-{MAX_TOKENS}")
    return pairs


def read_sources(source_dir: Path = SOURCE_DIR):
    """Return (sentences, errors); a sentence is a list of (token, tag), errors are 'file:line: problem'."""
    nlp = spacy.blank("en")
    sentences, errors, seen = [], [], {}
    for path in sorted(source_dir.glob("*.txt")):
        for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{path.name}:{lineno}"
            try:
                pairs = tag_sentence(nlp, line)
            except SourceError as exc:
                errors.append(f"{where}: {exc}")
                continue
            key = tuple(tok for tok, _ in pairs)
            if key in seen:
                errors.append(f"{where}: duplicate of {seen[key]}")
                continue
            seen[key] = where
            sentences.append(pairs)
    return sentences, errors


def split_sentences(sentences):
    """Shuffle deterministically and return {'train': [...], 'dev': [...], 'test': [...]}."""
    order = list(sentences)
    random.Random(SEED).shuffle(order)
    n_held = round(len(order) * HELDOUT_FRACTION)
    return {"dev": order[:n_held], "test": order[n_held : 2 * n_held], "train": order[2 * n_held :]}


def render(split: str, sentences) -> str:
    lines = [HEADER.format(split=split)]
    for pairs in sentences:
        lines.extend(f"{tok} {tag}\n" for tok, tag in pairs)
        lines.append("\n")
    return "".join(lines)


def build(source_dir: Path = SOURCE_DIR):
    """Return ({filename: contents}, splits, errors) without writing anything."""
    sentences, errors = read_sources(source_dir)
    splits = split_sentences(sentences)
    for name in SPLITS:
        if not errors and len(splits[name]) < MIN_SIZES[name]:
            errors.append(f"{source_dir}: only {len(splits[name])} {name} sentences (need {MIN_SIZES[name]})")
    files = {f"wn-pld.{name}.conll": render(name, splits[name]) for name in SPLITS}
    return files, splits, errors


def summary(name: str, sentences) -> str:
    labels = Counter(tag[2:] for pairs in sentences for _, tag in pairs if tag.startswith("B-"))
    n_tokens = sum(len(pairs) for pairs in sentences)
    per_label = ", ".join(f"{lab} {labels[lab]}" for lab in LABELS)
    return f"{name:5s}: {len(sentences):5d} sentences, {n_tokens:6d} tokens, entities: {per_label}"


def main() -> int:
    files, splits, errors = build()
    if errors:
        for err in errors:
            print(err)
        print(f"{len(errors)} problem(s); nothing written.", file=sys.stderr)
        return 1
    for filename, contents in files.items():
        (HERE / filename).write_text(contents, encoding="utf-8")
    for name in SPLITS:
        print(summary(name, splits[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
