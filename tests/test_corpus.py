"""Checks on the committed wn-pld corpus files (corpora/wn-pld.{train,dev,test}.conll)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parent.parent / "corpora"
SPLITS = ("train", "dev", "test")
LABELS = {"PER", "LOC", "DATE"}
MIN_SENTENCES = {"train": 1500, "dev": 300, "test": 300}


def path_of(split: str) -> Path:
    return CORPORA / f"wn-pld.{split}.conll"


def parse(path: Path) -> list[tuple[list[str], list[str]]]:
    """Tiny reader: '#' comment lines, 'token TAG' lines, blank line after each sentence."""
    sentences, tokens, tags = [], [], []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if line.startswith("#") and not tokens:
            continue
        if not line:
            if tokens:
                sentences.append((tokens, tags))
                tokens, tags = [], []
            continue
        parts = line.split(" ")
        assert len(parts) == 2 and all(parts), f"{path.name}:{lineno}: expected 'token TAG': {line!r}"
        tokens.append(parts[0])
        tags.append(parts[1])
    assert not tokens, f"{path.name}: last sentence is not followed by a blank line"
    return sentences


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[tuple[list[str], list[str]]]]:
    missing = [str(path_of(s)) for s in SPLITS if not path_of(s).is_file()]
    assert not missing, f"missing corpus files (run .venv/bin/python corpora/build.py): {missing}"
    return {split: parse(path_of(split)) for split in SPLITS}


def entity_counts(sentences) -> Counter:
    return Counter(tag[2:] for _, tags in sentences for tag in tags if tag.startswith("B-"))


def test_files_exist_and_sizes(corpus):
    for split in SPLITS:
        assert len(corpus[split]) >= MIN_SENTENCES[split], split


def test_project_reader_agrees(corpus):
    conll = pytest.importorskip("windowner.text.conll")  # the local parser above is the fallback
    for split in SPLITS:
        stats = conll.ReadStats()
        read = [(s.tokens, s.tags) for s in conll.read_conll(path_of(split), scheme="bio2", stats=stats)]
        assert read == corpus[split], split
        assert stats.repaired == 0, split


def test_valid_bio2_and_labels(corpus):
    for split, sentences in corpus.items():
        for n, (_tokens, tags) in enumerate(sentences):
            prev = "O"
            for tag in tags:
                if tag != "O":
                    prefix, label = tag[:2], tag[2:]
                    assert prefix in ("B-", "I-") and label in LABELS, f"{split} #{n}: bad tag {tag!r}"
                    if prefix == "I-":
                        assert prev in (f"B-{label}", f"I-{label}"), f"{split} #{n}: {tag} after {prev}"
                prev = tag


def test_lengths(corpus):
    for split, sentences in corpus.items():
        for tokens, _ in sentences:
            assert 5 <= len(tokens) <= 40, f"{split}: {len(tokens)} tokens: {' '.join(tokens)}"


def test_no_duplicates_within_or_across_splits(corpus):
    seen: dict[tuple[str, ...], str] = {}
    for split, sentences in corpus.items():
        for tokens, _ in sentences:
            key = tuple(tokens)
            assert key not in seen, f"sentence in {seen.get(key)} and {split}: {' '.join(tokens)}"
            seen[key] = split


def test_every_label_in_every_split(corpus):
    for split, sentences in corpus.items():
        counts = entity_counts(sentences)
        print(
            f"\nwn-pld {split}: {len(sentences)} sentences, "
            + ", ".join(f"{lab} {counts[lab]}" for lab in sorted(LABELS))
        )
        for label in LABELS:
            assert counts[label] > 0, f"no {label} in {split}"
            if split == "train":
                assert counts[label] >= 100, f"only {counts[label]} {label} entities in train"


def test_builder_reproduces_committed_files():
    spec = importlib.util.spec_from_file_location("wn_pld_build", CORPORA / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    files, _, errors = build.build()
    assert not errors, "\n".join(errors)
    for name, contents in files.items():
        assert (CORPORA / name).read_bytes() == contents.encode("utf-8"), f"{name} is stale: rebuild"
