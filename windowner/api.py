"""``windowner.train``: train a tagger from Python, on a CoNLL file or on (tokens, tags) pairs."""

from __future__ import annotations

import os
from typing import Iterable, Sequence

from .tagger import Tagger
from .training import TrainConfig, fit

Pairs = Iterable[tuple[Sequence[str], Sequence[str]]]


def check_tagged(sentences: Iterable, tag_lists: Iterable, scheme: str = "bio2",
                 names: tuple[str, str] = ("X", "y")) -> list[tuple[list[str], list[str]]]:
    """Validate parallel lists of token lists and tag lists -> (tokens, BIO2 tags) pairs.

    Tags of ``scheme`` ("bio2", "iob1", "bioes", "io" or "auto") are converted to BIO2.
    Errors name the sentence (``X[3]``) and say what is expected.
    """
    from .conll import to_bio2

    xs, ys = _sentence_list(sentences, names[0]), _sentence_list(tag_lists, names[1])
    if len(xs) != len(ys):
        raise ValueError(f"{names[0]} has {len(xs)} sentences but {names[1]} has {len(ys)}; "
                         "give one tag list per token list")
    pairs = []
    for i, (toks, tags) in enumerate(zip(xs, ys)):
        for what, seq in ((names[0], toks), (names[1], tags)):
            for j, item in enumerate(seq):
                if not isinstance(item, str):
                    raise TypeError(f"{what}[{i}][{j}] is {type(item).__name__}; tokens and tags must be str")
        if len(toks) != len(tags):
            raise ValueError(f"{names[0]}[{i}] has {len(toks)} tokens but {names[1]}[{i}] has {len(tags)} tags")
        try:
            bio2, _ = to_bio2(tags, scheme)
        except ValueError as exc:
            raise ValueError(f"{names[1]}[{i}]: {exc}") from None
        pairs.append((toks, bio2))
    return pairs


def _sentence_list(data, name: str) -> list[list]:
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise TypeError(f"{name} must be a list of sentences, each a list of str "
                        f"(e.g. [['Obama', 'visited', 'Paris']]), got {type(data).__name__}")
    out = []
    for i, seq in enumerate(data):
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Iterable):
            raise TypeError(f"{name}[{i}] is {type(seq).__name__}, not a list of str; {name} must be a list of "
                            "sentences, each a list of str (e.g. [['Obama', 'visited', 'Paris']])")
        out.append(list(seq))
    return out


def _pairs(data, read: dict, what: str) -> list:
    if isinstance(data, (str, os.PathLike)):
        from .conll import read_conll

        return [(s.tokens, s.tags) for s in read_conll(data, **read)]
    if isinstance(data, Iterable) and not isinstance(data, bytes):
        items = list(data)
        for i, item in enumerate(items):
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise TypeError(f"{what}[{i}] is {type(item).__name__}; {what} must be a CoNLL file path or a list of "
                                "(tokens, tags) pairs, e.g. [(['Obama', 'visited', 'Paris'], ['B-PER', 'O', 'B-LOC'])]")
        return check_tagged([t for t, _ in items], [g for _, g in items], read["scheme"],
                            (f"{what} tokens", f"{what} tags"))
    raise TypeError(f"{what} must be a CoNLL file path or a list of (tokens, tags) pairs, got {type(data).__name__}")


def train(train: str | os.PathLike | Pairs, dev: str | os.PathLike | Pairs | None = None, *,
          progress: bool = False, verbose: bool = False, tag_column: int = -1, scheme: str = "auto",
          **hyper_parameters) -> Tagger:
    """Train a tagger on a CoNLL file or (tokens, tags) pairs; ``hyper_parameters`` are TrainConfig fields.

    With ``dev``, the epoch with the best dev entity F1 is kept. ``scheme`` names the tagging scheme of
    the data (converted to BIO2); ``tag_column`` the CoNLL column of the tags.

    >>> tagger = windowner.train("corpora/wn-pld.train.conll", dev="corpora/wn-pld.dev.conll", epochs=5)
    """
    known = set(TrainConfig.__dataclass_fields__)
    unknown = sorted(set(hyper_parameters) - known)
    if unknown:
        raise TypeError(f"unknown hyper-parameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    config = TrainConfig(**hyper_parameters).validate()
    read = {"tag_column": tag_column, "scheme": scheme, "labels": config.labels}
    model = fit(_pairs(train, read, "train"), None if dev is None else _pairs(dev, read, "dev"), config,
                progress=progress, log=print if verbose else None)
    return Tagger(model)
