"""Shared fixtures: a small generated PER/LOC/DATE corpus and a model trained on it once per session."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"

FIRST = ["Anna", "Kofi", "Mei", "Ivan", "Lucia", "Omar", "Priya", "Jonas", "Amara", "Diego", "Yuki", "Fatima"]
LAST = ["Kowalski", "Mensah", "Chen", "Petrov", "Rossi", "Haddad", "Sharma", "Berg", "Osei", "Alvarez"]
PLACES = [
    ["Paris"],
    ["Lagos"],
    ["New", "York"],
    ["Cairo"],
    ["Lima"],
    ["Oslo"],
    ["Hanoi"],
    ["Buenos", "Aires"],
    ["Kenya"],
    ["Peru"],
    ["Poland"],
    ["Sri", "Lanka"],
]
DATES = [
    ["Monday"],
    ["5", "May", "2009"],
    ["last", "Tuesday"],
    ["March", "3rd"],
    ["2014"],
    ["the", "1990s"],
    ["yesterday"],
    ["June"],
    ["next", "year"],
]
FRAMES = [
    "{P} visited {L} on {D} .",
    "On {D} , {P} arrived in {L} .",
    "{P} said the talks in {L} would resume {D} .",
    "The minister , {P} , left {L} {D} .",
    "Officials in {L} met {P} {D} to discuss trade .",
    "{D} was quiet in {L} , according to {P} .",
    "Reporters asked {P} about the floods in {L} .",
    "Prices rose sharply in {L} {D} .",
    "{P} will speak at the museum .",
    "Nobody expected the rain .",
]


def frame_sentence(frame: str, slot) -> tuple[list[str], list[str]]:
    """(tokens, BIO2 tags) of ``frame``: each ``{X}`` part filled by ``slot(part)`` -> (words, label), other
    parts are words tagged O."""
    toks, tags = [], []
    for part in frame.split():
        if part.startswith("{") and part.endswith("}"):
            words, label = slot(part)
            toks += words
            tags += [f"B-{label}"] + [f"I-{label}"] * (len(words) - 1)
        else:
            toks.append(part)
            tags.append("O")
    return toks, tags


def make_corpus(n: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """n sentences of (tokens, BIO2 tags), deterministic given seed."""
    rng = random.Random(seed)

    def slot(part: str) -> tuple[list[str], str]:
        if part == "{P}":
            return [rng.choice(FIRST), rng.choice(LAST)][: rng.randint(1, 2)], "PER"
        return rng.choice(PLACES if part == "{L}" else DATES), "LOC" if part == "{L}" else "DATE"

    return [frame_sentence(rng.choice(FRAMES), slot) for _ in range(n)]


def write_conll(pairs, path: Path) -> Path:
    path.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(*p)) + "\n" for p in pairs), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_corpus() -> dict[str, list]:
    return {"train": make_corpus(400, 1), "dev": make_corpus(80, 2), "test": make_corpus(80, 3)}


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory, tiny_corpus) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("corpus")
    return {name: write_conll(pairs, d / f"{name}.conll") for name, pairs in tiny_corpus.items()}


TINY_HYPER = dict(hidden=32, epochs=4, batch_size=32, lr=0.1, seed=0)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_corpus) -> Path:
    """A model trained on the generated corpus (glove-6b-50d vectors), written once per session. Read-only!"""
    from windowner.model.config import TrainConfig
    from windowner.model.files import save_model
    from windowner.model.training import fit

    model = fit(tiny_corpus["train"], tiny_corpus["dev"], TrainConfig(**TINY_HYPER), progress=False, log=None)
    return save_model(model, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_tagger(tiny_model_dir):
    import windowner

    return windowner.load(tiny_model_dir)


def needs_shared(name: str) -> Path:
    """Path of a ../shared corpus file, or skip the test with a reason."""
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"needs ../shared/corpora/{name} (not present outside the development checkout)")
    return path
