"""What a feature column is: the one class a new feature subclasses (and registers, :mod:`.registry`).

A feature gives every token ``width`` ids into its embedding table, named ``name`` (the array's key in a model's
``weights.npz``). Its life: :meth:`Feature.enabled` by a training config → :meth:`Feature.fit` on the training
tokens (vocabularies, resources) → :meth:`Feature.ids` of any tokens, a table of :attr:`Feature.n_rows` rows
(:meth:`Feature.init_table`) → :meth:`Feature.save` into a model directory → :meth:`Feature.load` from it.

A config is read by attribute (duck-typed: a ``TrainConfig``, or a namespace of a model's ``config.json``); a
setting a config lacks reads as the feature being off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from .lexicon import Lexicon


class Feature:
    """One feature column of the lexicon. Subclasses set the class attributes and override what differs.

    Class attributes: ``name`` (table name, the key in ``weights.npz``), ``title`` (what it holds, e.g.
    "suffix"), ``width`` (id columns per token; > 1: a bag, embedded as the mean of its nonzero ids' rows),
    ``padding`` (the ids of the ``<s>`` and ``</s>`` padding tokens), ``dropout_id`` (the id word dropout
    writes; None: the column is not dropped), ``core`` (in every model: a model directory that does not list its
    columns has exactly the core ones), ``files`` (what :meth:`save` writes), ``settings`` (the config fields
    :meth:`load` reads; the loader checks them against the schema first), ``contextual`` (the ids depend on the
    token's sentence, not on the token alone: :meth:`sentence_ids` gives them, and :meth:`ids` is not called).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    width: int = 1  # a class attribute; a feature whose width depends on its data sets it per instance
    padding: ClassVar[tuple[int, int]] = (1, 1)
    dropout_id: ClassVar[int | None] = None
    core: ClassVar[bool] = False
    files: ClassVar[tuple[str, ...]] = ()
    settings: ClassVar[tuple[str, ...]] = ()
    contextual: ClassVar[bool] = False

    # -- training ------------------------------------------------------------------------------

    @classmethod
    def enabled(cls, config: Any) -> bool:
        """Does ``config`` ask for this feature?"""
        return True

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> Feature:
        """The feature of the training tokens (``counts``: token -> occurrences, in order of first occurrence);
        ``lexicon`` holds the pretrained vectors and the features fitted before this one."""
        return cls()

    def extend(self, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> Feature:
        """This feature grown by new training tokens (``counts``, as :meth:`fit` takes them; ``lexicon``: the
        pretrained vectors and the columns grown before this one), for training on from a trained model: every
        old id keeps its meaning, new ids come after the old ones (rows ``n_rows`` .. of the grown table).
        Default: unchanged (``self``), as for columns of a fixed size."""
        return self

    def dim(self, config: Any) -> int:
        """The width of a new embedding table (the loaded table's width otherwise)."""
        raise NotImplementedError

    def trainable(self, config: Any) -> bool:
        """Does SGD update the table?"""
        return True

    def init_table(self, dim: int, rng: np.random.Generator) -> np.ndarray:
        """A new table: (n_rows, dim) float32 draws of N(0, 0.1²)."""
        return rng.normal(0, 0.1, (self.n_rows, dim)).astype(np.float32)

    # -- ids -----------------------------------------------------------------------------------

    @property
    def n_rows(self) -> int:
        """Rows of the embedding table: ids are 0 .. n_rows-1 (the first column may go beyond: frozen rows)."""
        raise NotImplementedError

    def ids(self, tokens: Sequence[str], earlier: Mapping[str, np.ndarray]) -> np.ndarray:
        """tokens: n str -> (n, width) int64 ids (or (n,) for width 1); ``earlier`` holds the (n, width) ids of
        the columns before this one, for the same tokens."""
        raise NotImplementedError

    def sentence_ids(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """A contextual feature's ids of every token of ``sentences`` laid end to end: (n_tokens, width) int64,
        all of a token's ids 0 when its context gives it nothing (the padding ids must be 0 too)."""
        raise NotImplementedError

    def check_table(self, table: np.ndarray) -> str | None:
        """What is wrong with a loaded table beyond its row count (None: nothing)."""
        return None

    # -- model directories ---------------------------------------------------------------------

    def save(self, directory: Path) -> dict[str, Any]:
        """Write :attr:`files` into ``directory``; return the entries this feature adds to ``config.json``."""
        return {}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> Feature:
        """The feature a model directory holds (``config``: its ``config.json``, by attribute; ``lexicon``: the
        pretrained vectors and the columns loaded before). A problem is a ModelError naming the file."""
        return cls()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.title}): {self.n_rows} rows × {self.width}>"
