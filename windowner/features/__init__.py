"""From tokens to window feature ids: what the network's input layer embeds.

Each token is a *type* with a few categorical features, one block of id columns each, named after the embedding
table that embeds it. Each feature is a plug-in: a :class:`~windowner.features.base.Feature` subclass in its own
module, registered in column order (:mod:`windowner.features.registry`). windowner's own, in that order: a word
row (E, :mod:`.word`), a casing class (C, :mod:`.case`) and a suffix (F, :mod:`.affix`), and when a model uses
them a prefix (P, :mod:`.affix`), a word shape (S, :mod:`.shape`), gazetteer membership (G, :mod:`.gazetteer`),
a word cluster (K, :mod:`.cluster`), a bag of hashed character n-grams (N, :mod:`.ngrams`), Brown-cluster
path prefixes from a cluster file (B, :mod:`.brown`) and the matches of a folder of gazetteer lists around the token
(M, :mod:`.namelists`; contextual: its ids depend on the sentence). The
:class:`~windowner.features.lexicon.Lexicon` holds a model's features. A window of half-size k around token i holds
the types of tokens i-k .. i+k, padded with sentence-start ``<s>`` and sentence-end ``</s>`` types at the edges
(:mod:`.windows`). Embedding each feature and concatenating over the 2k+1 positions
(:class:`windowner.nn.embeddings.Embeddings`) gives ``X: (n, (2k+1)·d_total)``.
"""

from __future__ import annotations

from .affix import PrefixFeature, SuffixFeature
from .base import Feature
from .brown import BrownFeature
from .case import CASES, DIGIT, HAS_DIGIT, LOWER, MIXED, OTHER, PAD, PUNCT, TITLE, UPPER, CaseFeature, casing
from .cluster import ClusterFeature
from .gazetteer import GazetteerFeature
from .lexicon import Lexicon
from .namelists import NameListFeature
from .ngrams import NGRAM_SIZES, NGRAM_SLOTS, NgramFeature, char_ngrams
from .registry import lookup, register, registered, unregister
from .shape import MAX_SHAPE, ShapeFeature, shape
from .windows import BOS_TYPE, EOS_TYPE, pad_flat, window_indices, window_types, window_width
from .word import BOS_ROW, EOS_ROW, SPECIAL_WORDS, UNK_ROW, WordFeature, word_key

BUILT_IN = (
    WordFeature,
    CaseFeature,
    SuffixFeature,
    PrefixFeature,
    ShapeFeature,
    GazetteerFeature,
    ClusterFeature,
    NgramFeature,
    BrownFeature,
    NameListFeature,
)
for _feature in BUILT_IN:
    register(_feature)

__all__ = [
    "BOS_ROW",
    "BOS_TYPE",
    "BUILT_IN",
    "CASES",
    "DIGIT",
    "EOS_ROW",
    "EOS_TYPE",
    "HAS_DIGIT",
    "LOWER",
    "MAX_SHAPE",
    "MIXED",
    "NGRAM_SIZES",
    "NGRAM_SLOTS",
    "OTHER",
    "PAD",
    "PUNCT",
    "SPECIAL_WORDS",
    "TITLE",
    "UNK_ROW",
    "UPPER",
    "BrownFeature",
    "CaseFeature",
    "ClusterFeature",
    "Feature",
    "GazetteerFeature",
    "Lexicon",
    "NameListFeature",
    "NgramFeature",
    "PrefixFeature",
    "ShapeFeature",
    "SuffixFeature",
    "WordFeature",
    "casing",
    "char_ngrams",
    "lookup",
    "pad_flat",
    "register",
    "registered",
    "shape",
    "unregister",
    "window_indices",
    "window_types",
    "window_width",
    "word_key",
]
