"""What the model looks at: the gradient of a class score with respect to each window position's input.

For token i with window input ``x ∈ R^{(2k+1)·d}`` (``d = d_total``, word ⊕ case ⊕ suffix ⊕ … embeddings) and a
class c, the network's score is ``s_c = U[:, c]ᵀ f(W x + b)``, so::

    ∂s_c/∂x = Wᵀ ((U[:, c]) ∘ f'(z))        # (2k+1)·d, reshaped to (2k+1, d)

which is exactly the backward pass of :class:`windowner.nn.network.WindowNetwork` with upstream gradient
``G = one-hot(c)`` (an (n, K) matrix with one 1 per row). The saliency of window position p is the L2 norm
of row p (``method="norm"``) or ``Σ_j (∂s_c/∂x_p)_j · x_p,j`` (``method="input"``, gradient × input).

The gradient is computed in float64 from the model's own (float32) parameters, so that it can be checked
against central finite differences of the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..features import lookup
from ..text.segment import Segmentation
from .inference import NERModel

__all__ = ["TokenSaliency", "explain_segmentation", "explain_tokens", "METHODS"]

METHODS = ("norm", "input")


@dataclass(frozen=True)
class TokenSaliency:
    """How much each position of one token's window moves the score of one class.

    ``window`` holds the 2k+1 tokens the network reads (``<s>``/``</s>`` pad the sentence edges), with the
    token itself in the middle. ``gradient`` is ``∂s_c/∂x`` reshaped to (2k+1, d_total), ``inputs`` the
    window input x in the same shape, ``saliency`` (2k+1,) one number per position.
    """

    token: str
    index: int  # token index in the text (0-based, over all its sentences)
    start_char: int | None  # character offsets in the text (None for pre-tokenized input)
    end_char: int | None
    tag: str  # the tagger's predicted BIO2 tag
    target: str  # the class c whose score s_c is explained, e.g. "B-LOC"
    score: float  # s_c: the raw score before the sigmoid/softmax
    window: tuple[str, ...]
    saliency: np.ndarray  # (2k+1,)
    gradient: np.ndarray  # (2k+1, d_total)
    inputs: np.ndarray  # (2k+1, d_total)
    dims: tuple[int, ...]  # (d_word, d_case, d_suffix, ...): the column blocks of gradient, one per feature table
    tables: tuple[str, ...] = ()  # the feature table of each block

    def by_feature(self) -> dict[str, np.ndarray]:
        """L2 norm of the gradient per feature block, by the feature's title: {"word"|"case"|"suffix"|...: (2k+1,)}."""
        edges = np.cumsum((0,) + tuple(self.dims))
        return {
            _title(name): np.linalg.norm(self.gradient[:, a:b], axis=1)
            for name, a, b in zip(self.tables, edges[:-1], edges[1:])
        }


def _title(table: str) -> str:
    feature = lookup(table)
    return table if feature is None else feature.title


def _targets(model: NERModel, logp: np.ndarray, predicted: np.ndarray, label: str | None) -> np.ndarray:
    """(n,) class index to explain per token."""
    tags = model.tags
    if label is None:
        return predicted
    if label in tags:
        return np.full(len(predicted), tags.index(label))
    if label in model.labels:
        b, i = tags.index(f"B-{label}"), tags.index(f"I-{label}")
        # the predicted tag when it is of this type, otherwise the likelier of B-/I-
        best = np.where(logp[:, b] >= logp[:, i], b, i)
        return np.where(np.isin(predicted, (b, i)), predicted, best)
    raise ValueError(
        f"unknown label {label!r}: give an entity type ({', '.join(model.labels)}) or a tag "
        f"({', '.join(tags)}), or None for each token's predicted tag"
    )


def explain_tokens(
    model: NERModel, sentences: Sequence[Sequence[str]], label: str | None = None, method: str = "norm"
) -> list[list[TokenSaliency]]:
    """Saliency of every token of pre-tokenized sentences, one list per sentence.

    Meant for inspecting a few sentences: each token carries two (2k+1, d_total) float64 arrays.

    ``model`` is a :class:`windowner.model.inference.NERModel` (``tagger.model``); ``label`` an entity type
    ("LOC": explain B-LOC or I-LOC, whichever the token is tagged with or else the likelier), a tag
    ("O", "B-PER"), or None (each token's predicted tag).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if isinstance(sentences, (str, bytes)) or (len(sentences) and isinstance(sentences[0], str)):
        raise TypeError(
            "explain_tokens takes a list of sentences, each a list of token strings, "
            "e.g. [['Obama', 'visited', 'Paris']]"
        )
    sentences = [list(s) for s in sentences]
    lengths = [len(s) for s in sentences]
    n = sum(lengths)
    if n == 0:
        return [[] for _ in sentences]
    k, m = model.window, model.window_width
    net, embeddings = model.net, model.embeddings

    feats = model.window_features(sentences)  # (n, m, Σ widths)
    X = embeddings.forward(feats).astype(np.float64)  # (n, m·d): float64, so the gradient is checkable
    S = net.forward(X, train=False)  # dropout off; (n, C)
    logp = net.head.log_proba(S)
    index = {t: c for c, t in enumerate(model.tags)}
    # the tags exactly as the tagger predicts them (fast path + Viterbi), not re-decoded from these scores
    predicted = np.array([index[t] for sent in model.predict(sentences) for t in sent], dtype=np.int64)
    target = _targets(model, logp, predicted, label)
    G = np.zeros_like(S)
    G[np.arange(n), target] = 1.0  # ∂s_c/∂S: one-hot at each row's class
    dX = net.backward(G, need_dX=True)["X"]  # (n, m·d): row i is ∂s_{c_i}/∂x_i

    d = embeddings.d_total
    grad = dX.reshape(n, m, d)
    x = X.reshape(n, m, d)
    saliency = np.linalg.norm(grad, axis=2) if method == "norm" else (grad * x).sum(axis=2)

    out, i = [], 0
    for sent in sentences:
        padded = ["<s>"] * k + list(sent) + ["</s>"] * k
        row = []
        for j, tok in enumerate(sent):
            row.append(
                TokenSaliency(
                    token=tok,
                    index=i,
                    start_char=None,
                    end_char=None,
                    tag=model.tags[predicted[i]],
                    target=model.tags[target[i]],
                    score=float(S[i, target[i]]),
                    window=tuple(padded[j : j + m]),
                    saliency=saliency[i],
                    gradient=grad[i],
                    inputs=x[i],
                    dims=embeddings.dims,
                    tables=embeddings.names,
                )
            )
            i += 1
        out.append(row)
    return out


def explain_segmentation(
    model: NERModel, seg: Segmentation, label: str | None = None, method: str = "norm"
) -> list[TokenSaliency]:
    """Saliency of every token of a segmented raw text (``tagger.segment(text)``), with character offsets.

    Returns one :class:`TokenSaliency` per token, in text order. For token i the explained class is its
    predicted tag (``label=None``), the B-/I- tag of an entity type (``label="LOC"``), or a given tag
    (``label="O"``). ``Tagger.explain(text)`` calls this.

    >>> [(t.token, t.window, t.saliency.round(2)) for t in tagger.explain("Obama visited Paris.")]
    """
    flat = [t for sent in explain_tokens(model, seg.sentences(), label, method) for t in sent]
    return [replace(t, start_char=seg.starts[t.index], end_char=seg.starts[t.index] + len(t.token)) for t in flat]
