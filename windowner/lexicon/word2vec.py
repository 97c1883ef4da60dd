"""Training skip-gram word2vec vectors on raw text (gensim); the result is written in the word2vec binary format.

windowner itself never writes pickles. The text is split into words by
:func:`windowner.text.tokenizer.tokenize_line`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError, WindownerError
from ..text.tokenizer import tokenize_line
from .vectors import WordVectors, load_vectors

__all__ = ["train_word2vec"]

_MAX_SENTENCE = 10000  # gensim silently truncates longer sentences, so longer lines are split


class _LineSentences:
    """Re-iterable stream of tokenised non-empty lines of a UTF-8 text file (never loaded whole)."""

    def __init__(self, path: str):
        self.path = path

    def __iter__(self) -> Iterator[list[str]]:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    tokens = tokenize_line(line)
                    for i in range(0, len(tokens), _MAX_SENTENCE):
                        yield tokens[i : i + _MAX_SENTENCE]
        except OSError as exc:
            raise DataError(self.path, None, f"cannot read text: {exc}") from exc


def train_word2vec(
    text: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    dim: int = 100,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 5,
    workers: int = 2,
    seed: int = 0,
    progress: bool = True,
) -> WordVectors:
    """Train skip-gram word2vec on a raw UTF-8 text file and write it to ``out`` (word2vec binary).

    ``text`` has one sentence or paragraph per line; it is streamed (read once to build the vocabulary and once
    per epoch) and each line is split by :func:`~windowner.text.tokenizer.tokenize_line`.  Training is
    deterministic for a given ``seed`` when ``workers=1``.  A tqdm bar on stderr advances once per
    epoch unless ``progress`` is False.  Returns the written vectors as loaded by :func:`load_vectors`.
    """
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec
    from tqdm.auto import tqdm

    text_path = os.path.abspath(os.path.expanduser(os.fspath(text)))
    out_path = os.path.abspath(os.path.expanduser(os.fspath(out)))
    if not os.path.isfile(text_path):
        raise WindownerError(f"text file not found: {text_path}")
    for name, value, low in (
        ("dim", dim, 1),
        ("window", window, 1),
        ("min_count", min_count, 1),
        ("epochs", epochs, 1),
        ("workers", workers, 1),
    ):
        if int(value) < low:
            raise WindownerError(f"{name} must be at least {low}, got {value}")
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)

    class _EpochBar(CallbackAny2Vec):
        def __init__(self, bar):
            self.bar = bar

        def on_epoch_end(self, model):
            self.bar.update(1)

    sentences = _LineSentences(text_path)
    with tqdm(total=int(epochs), desc="word2vec", unit="epoch", disable=not progress, file=sys.stderr) as bar:
        model = Word2Vec(
            vector_size=int(dim),
            window=int(window),
            min_count=int(min_count),
            sg=1,
            workers=int(workers),
            seed=int(seed),
            epochs=int(epochs),
        )
        model.build_vocab(corpus_iterable=sentences)
        if len(model.wv) == 0:
            raise DataError(text_path, None, f"no word occurs at least min_count={min_count} times")
        model.train(
            corpus_iterable=sentences,
            total_examples=model.corpus_count,
            epochs=model.epochs,
            callbacks=[_EpochBar(bar)],
        )
    model.wv.save_word2vec_format(out_path, binary=True)
    return load_vectors(f"word2vec-bin:{out_path}")
