"""The lexicon: a model's feature columns, from token strings to the window feature ids the network embeds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from .base import Feature
from .registry import lookup, registered
from .windows import window_types


class _Settings:
    """``overrides``' values, then ``config``'s attributes (AttributeError for a name neither has)."""

    def __init__(self, config: Any, overrides: dict[str, Any]):
        self._config, self._overrides = config, overrides

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        if self._config is None:
            raise AttributeError(name)
        return getattr(self._config, name)


class Lexicon:
    """Maps token strings to feature ids, one block of id columns per feature (:attr:`columns`, in registry order).

    ``lexicon[name]`` is the feature of table ``name``; iterating gives the features in column order. A feature's
    own public attributes read through the lexicon too (``lexicon.words``, ``lexicon.suffixes``, ...: the first
    feature that has one). ``pretrained``: the word vectors the features share (None: without vectors).
    :attr:`widths` counts the id columns of each table; :attr:`padding` (2, Σ widths) holds the ids of the
    sentence-start and sentence-end padding tokens.

    A *type* is what gets one row of feature ids: a token string, or, when a contextual feature gives the token
    nonzero ids in its sentence, the tuple ``(token, *those ids)`` (:meth:`type_keys`).
    """

    def __init__(self, features: Sequence[Feature], pretrained: Any = None):
        self.pretrained = pretrained
        self._features = tuple(features)
        self._by_name = {f.name: f for f in self._features}
        if len(self._by_name) != len(self._features):
            raise ValueError(f"two features have one name: {[f.name for f in self._features]}")
        self.columns = tuple(self._by_name)
        self.widths = {f.name: int(f.width) for f in self._features}
        self._first = np.cumsum([0] + [f.width for f in self._features])[:-1].tolist()
        self._contextual = tuple(f for f in self._features if f.contextual)
        self.padding = np.array(
            [[f.padding[j] for f in self._features for _ in range(f.width)] for j in (0, 1)], dtype=np.int64
        ).reshape(2, -1)

    # -- the features --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Feature]:
        return iter(self._features)

    def __len__(self) -> int:
        return len(self._features)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Feature:
        return self._by_name[name]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # also keeps copy/pickle protocols away from a half-built instance
            raise AttributeError(name)
        for feature in self.__dict__.get("_features", ()):
            if name not in vars(Feature) and hasattr(feature, name):
                return getattr(feature, name)
        raise AttributeError(
            f"{type(self).__name__} has no attribute {name!r}, nor has any of its features "
            f"({', '.join(self.__dict__.get('columns', ()))})"
        )

    def table_rows(self, name: str) -> int:
        """How many rows the embedding table of column ``name`` needs (ids 0 .. rows-1)."""
        return self[name].n_rows

    # -- building, saving, loading -------------------------------------------------------------

    @classmethod
    def build(
        cls, sentences: Iterable[Sequence[str]], pretrained: Any = None, config: Any = None, **settings: Any
    ) -> Lexicon:
        """The lexicon of training tokens: every registered feature that ``config`` (or ``settings``, which take
        precedence: config fields, and ``suffix_min_count``) enables, fitted in column order."""
        config = _Settings(config, settings)
        counts = Counter(tok for sent in sentences for tok in sent)
        fitted: list[Feature] = []
        for kind in registered():
            if kind.enabled(config):
                fitted.append(kind.fit(counts, config, cls(fitted, pretrained)))
        return cls(fitted, pretrained)

    def extend(self, sentences: Iterable[Sequence[str]], config: Any = None, **settings: Any) -> Lexicon:
        """This lexicon grown by new training tokens (:meth:`Feature.extend` of each column, in order, with the
        pretrained vectors and the columns grown before it): the same columns, every old id the same, new ids
        after the old ones. ``config`` and ``settings`` as for :meth:`build`. The lexicon itself is unchanged."""
        config = _Settings(config, settings)
        counts = Counter(tok for sent in sentences for tok in sent)
        grown: list[Feature] = []
        for feature in self:
            grown.append(feature.extend(counts, config, type(self)(grown, self.pretrained)))
        return type(self)(grown, self.pretrained)

    def save(self, directory: Path) -> dict[str, Any]:
        """Every feature's files into ``directory``; returns their ``config.json`` entries."""
        entries: dict[str, Any] = {}
        for feature in self:
            entries.update(feature.save(directory))
        return entries

    @classmethod
    def load(cls, directory: Path, columns: Sequence[str], config: Any, pretrained: Any = None) -> Lexicon:
        """The features ``columns`` of a model directory (each registered; KeyError otherwise), in order."""
        loaded: list[Feature] = []
        for name in columns:
            kind = lookup(name)
            if kind is None:
                raise KeyError(f"no feature {name!r} is registered")
            loaded.append(kind.load(directory, config, cls(loaded, pretrained)))
        return cls(loaded, pretrained)

    # -- ids -----------------------------------------------------------------------------------

    def id_columns(self) -> Iterator[tuple[Feature, int]]:
        """(feature, its first id column) of every feature, in order."""
        return zip(self._features, self._first)

    @property
    def contextual(self) -> bool:
        """Does a column depend on the sentence (so that a type is more than its token string)?"""
        return bool(self._contextual)

    def type_keys(self, sentences: Sequence[Sequence[str]]) -> list[Hashable]:
        """The type of every token of ``sentences`` laid end to end: the token itself, or ``(token, *ids)`` when
        the contextual columns give it nonzero ``ids`` there. TypeError for a token that is not a str."""
        tokens: list[Hashable] = list(chain.from_iterable(sentences))
        if not self._contextual:
            return tokens
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"a token is {type(tok).__name__}; tokens must be str")
        n = len(tokens)
        context = np.concatenate(
            [np.asarray(f.sentence_ids(sentences), dtype=np.int64).reshape(n, f.width) for f in self._contextual],
            axis=1,
        )
        hit = np.flatnonzero(context.any(axis=1))
        for i, ids in zip(hit.tolist(), context[hit].tolist()):
            tokens[i] = (tokens[i], *ids)
        return tokens

    def features(self, types: Sequence[Hashable]) -> np.ndarray:
        """types: n token strings (or :meth:`type_keys`' tuples) -> (n, Σ widths) feature ids, each feature's
        block in turn. TypeError for a token that is not a str."""
        tokens: list[str] = []
        context = np.zeros((len(types), sum(f.width for f in self._contextual)), dtype=np.int64)
        for i, key in enumerate(types):
            if isinstance(key, tuple) and self._contextual and len(key) == context.shape[1] + 1:
                key, context[i] = key[0], key[1:]
            if not isinstance(key, str):
                raise TypeError(f"a token is {type(key).__name__}; tokens must be str")
            tokens.append(key)
        out = np.zeros((len(tokens), int(self.padding.shape[1])), dtype=np.int64)
        earlier: dict[str, np.ndarray] = {}
        at = 0  # the next contextual column
        for feature, col in self.id_columns():
            if feature.contextual:
                ids = context[:, at : at + feature.width]
                at += feature.width
            else:
                ids = np.asarray(feature.ids(tokens, earlier), dtype=np.int64).reshape(len(tokens), feature.width)
            out[:, col : col + feature.width] = ids
            earlier[feature.name] = ids
        return out

    def window_features(self, sentences: Sequence[Sequence[str]], k: int) -> np.ndarray:
        """Feature ids of every window position: (n_tokens, 2k+1, Σ widths), sentence edges padded
        with <s>/</s>."""
        lengths = [len(s) for s in sentences]
        type_of: dict[Hashable, int] = {}
        flat = np.fromiter(
            (type_of.setdefault(t, len(type_of) + 2) for t in self.type_keys(sentences)),
            dtype=np.int64,
            count=sum(lengths),
        )
        table = np.concatenate([self.padding, self.features(list(type_of))])  # rows 0, 1: <s>, </s>
        return table[window_types(flat, lengths, k)]

    def drop(self, feats: np.ndarray, mask: np.ndarray) -> None:
        """Word dropout, in place: feats (..., Σ widths) gets each feature's ``dropout_id`` at the positions
        ``mask`` (feats.shape[:-1], bool) selects."""
        for feature, col in self.id_columns():
            if feature.dropout_id is not None:
                feats[..., col][mask] = feature.dropout_id

    def __repr__(self) -> str:
        return f"<Lexicon {', '.join(f'{f.name} ({f.title}, {f.n_rows} rows)' for f in self)}>"
