"""``windowner.train``: train a tagger from Python."""

from __future__ import annotations

import os
from typing import Iterable, Sequence

from .tagger import Tagger
from .training import TrainConfig, fit

Pairs = Sequence[tuple[Sequence[str], Sequence[str]]]


def _pairs(data, kwargs) -> list:
    if isinstance(data, (str, os.PathLike)):
        from .conll import read_conll

        return [(s.tokens, s.tags) for s in read_conll(data, **kwargs)]
    pairs = list(data)
    for i, item in enumerate(pairs):
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and len(item[0]) == len(item[1])):
            raise ValueError(f"sentence {i}: expected a (tokens, tags) pair of equal lengths")
    return pairs


def train(train: str | os.PathLike | Pairs, dev: str | os.PathLike | Pairs | None = None, *,
          progress: bool = False, verbose: bool = False, tag_column: int = -1, scheme: str = "auto",
          **hyper_parameters) -> Tagger:
    """Train a tagger on a CoNLL file or (tokens, BIO2 tags) pairs; ``hyper_parameters`` are TrainConfig fields.

    >>> tagger = windowner.train("corpora/wn-pld.train.conll", dev="corpora/wn-pld.dev.conll", epochs=5)
    """
    known = set(TrainConfig.__dataclass_fields__)
    unknown = sorted(set(hyper_parameters) - known)
    if unknown:
        raise TypeError(f"unknown hyper-parameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    config = TrainConfig(**hyper_parameters)
    read = {"tag_column": tag_column, "scheme": scheme, "labels": config.labels}
    model = fit(_pairs(train, read), None if dev is None else _pairs(dev, read), config,
                progress=progress, log=print if verbose else None)
    return Tagger(model)
