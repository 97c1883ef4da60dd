"""Brown clusters from raw text: Liang's (2005) windowed agglomerative clustering, in numpy, and the cluster file.

Brown et al. (1992) merge word classes greedily so that the average mutual information (AMI) of the class bigram
model drops as little as possible. Liang's algorithm keeps at most ``k + 1`` active clusters: the words enter
in order of frequency, each as a cluster of its own, and whenever ``k + 1`` are active the pair whose merge loses
the least AMI is merged. When every word is in, the ``k`` clusters left are merged down to one; that last
phase is the binary tree whose root-to-leaf bit strings (``0`` left, ``1`` right) are the cluster paths. Every
word of a leaf cluster gets its path, as Liang's ``wcluster`` writes them.

The AMI among the active clusters, up to terms that no merge changes, is (``n[c, d]`` the count of bigram
"cluster c, then cluster d", ``u[c]`` the unigram count of cluster c, ``s[c]`` the active row plus column sums
of ``n``, ``f(x) = x log x``)::

    N · AMI = Σ_{c,d} f(n[c, d]) − Σ_c s[c] log u[c] + const

:class:`BrownWindow` keeps, for every pair of active clusters, the change a merge makes to the first sum
(``D``, kept up to date incrementally: a word or a merge changes only the rows of the clusters it touches)
and the gain ``L = D − Δ(second sum)``; each step merges ``argmax L``. A new word costs O(k · its context),
a merge O(k · the smaller cluster's context), at most O(k²); Liang's bound is O(V · k²).

Text is read as ``windowner tag`` reads raw text (one document per line, :func:`~windowner.text.segment.
segment_text` with windowner's default English tokenizer), and bigrams are counted within a document. A word
rarer than ``min_count`` is left out, and no bigram spans the gap it leaves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, WindownerError
from ..text.jsonl import default_tokenizer
from ..text.lines import TEXT_FILE, text_lines
from ..text.segment import segment_text
from .brownfile import ClusterRow, write_clusters

__all__ = [
    "BigramCounts",
    "BrownWindow",
    "ClusterRow",
    "brown_clusters",
    "count_bigrams",
    "read_documents",
    "train_clusters",
    "write_clusters",
]


def _f(x: np.ndarray) -> np.ndarray:
    """``x log x`` elementwise, 0 where ``x`` is 0 (any shape)."""
    return x * np.log(np.where(x > 0, x, 1.0))


# -- counts ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BigramCounts:
    """Word and bigram counts of a corpus. Word ids rank the words by count (descending, ties by the word):
    ``words`` (V,), ``counts`` (V,) int64; bigram ``(w1, w2)`` occurs ``succ_count[t]`` times for
    ``t in range(succ_ptr[w1], succ_ptr[w1 + 1])`` with ``succ_word[t] = w2`` (CSR by w1), and likewise
    ``pred_*`` (CSR by w2, ``pred_word`` holding w1)."""

    words: list[str]
    counts: np.ndarray
    succ_ptr: np.ndarray
    succ_word: np.ndarray
    succ_count: np.ndarray
    pred_ptr: np.ndarray
    pred_word: np.ndarray
    pred_count: np.ndarray

    @property
    def n_tokens(self) -> int:
        """The number of tokens of the kept words."""
        return int(self.counts.sum())


def _csr(rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """CSR of the (rows, cols) → counts pairs, sorted by row then column: (ptr (n+1,), cols, counts)."""
    order = np.lexsort((cols, rows))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=ptr[1:])
    return ptr, cols[order], counts[order]


def count_bigrams(docs: Iterable[Sequence[str]], min_count: int = 1) -> BigramCounts:
    """Count the words and within-document bigrams of ``docs`` (each a sequence of tokens); words rarer than
    ``min_count`` are dropped and bigrams across them are not counted."""
    index: dict[str, int] = {}
    seqs: list[np.ndarray] = []
    for doc in docs:
        seqs.append(np.fromiter((index.setdefault(w, len(index)) for w in doc), dtype=np.int64, count=len(doc)))
    first = list(index)
    n = len(first)
    raw = np.bincount(np.concatenate(seqs), minlength=n) if seqs and n else np.zeros(n, dtype=np.int64)
    keep = np.flatnonzero(raw >= max(int(min_count), 1))
    # rank the kept words: count descending, then the word itself
    order = sorted(keep.tolist(), key=lambda i: (-int(raw[i]), first[i]))
    rank = np.full(n, -1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    v = len(order)
    pairs = []
    for seq in seqs:
        r = rank[seq]
        ok = (r[:-1] >= 0) & (r[1:] >= 0)
        pairs.append(r[:-1][ok] * max(v, 1) + r[1:][ok])
    codes = np.concatenate(pairs) if pairs else np.zeros(0, dtype=np.int64)
    uniq, cnt = np.unique(codes, return_counts=True)
    w1, w2 = uniq // max(v, 1), uniq % max(v, 1)
    cnt = cnt.astype(np.int64)
    succ = _csr(w1, w2, cnt, v)
    pred = _csr(w2, w1, cnt, v)
    return BigramCounts([first[i] for i in order], raw[order].astype(np.int64), *succ, *pred)


def read_documents(path: str | os.PathLike[str], progress: bool = False) -> Iterator[list[str]]:
    """The tokens of each line (document) of a UTF-8 text file, tokenized as ``windowner tag`` tokenizes raw
    text; DataError ``path:line: ...`` for a NUL byte or invalid UTF-8, ``path: ...`` for a missing file."""
    from tqdm.auto import tqdm

    tokenizer = default_tokenizer()
    with tqdm(desc="reading", unit=" docs", disable=not progress, file=sys.stderr) as bar:
        for line in text_lines(os.fspath(path), TEXT_FILE):
            bar.update(1)
            if line.strip():
                yield segment_text(tokenizer, line).words


# -- the clustering ----------------------------------------------------------------------------------------------


class BrownWindow:
    """The active clusters of Liang's algorithm in ``size`` slots and the gain of merging each pair.

    ``C`` (size, size): bigram counts between the active clusters (rows: first word); ``u`` (size,): unigram
    counts; ``s`` (size,): ``C``'s active row plus column sums; ``D`` (size, size): the change of Σ f(C) that
    merging a pair makes; ``L`` (size, size): the change of N · AMI (−inf off the active pairs and on the
    diagonal); ``active`` (size,) bool.
    """

    def __init__(self, size: int):
        self.size = size
        self.C = np.zeros((size, size))
        self.D = np.zeros((size, size))
        self.L = np.full((size, size), -np.inf)
        self.LU = np.zeros((size, size))  # log(u[i] + u[j])
        self.u = np.zeros(size)
        self.s = np.zeros(size)
        self.active = np.zeros(size, dtype=bool)

    @property
    def n_active(self) -> int:
        return int(self.active.sum())

    def add(self, row: np.ndarray, col: np.ndarray, self_count: float, count: float) -> int:
        """Make a new cluster with bigram counts ``row`` (size,: it, then slot j), ``col`` (size,: slot j, then it),
        ``self_count`` (it, then itself) and unigram ``count``; returns its slot."""
        slot = int(np.argmin(self.active))
        if self.active[slot]:
            raise RuntimeError("the window is full")
        C, D = self.C, self.D
        row = np.where(self.active, row, 0.0)
        col = np.where(self.active, col, 0.0)
        pr, pc = np.flatnonzero(row), np.flatnonzero(col)
        # every old pair gains the terms of the new cluster as a context
        for v, p in ((col, pc), (row, pr)):
            if p.size > 1:
                x = v[p]
                D[np.ix_(p, p)] += _f(x[:, None] + x[None, :]) - _f(x)[:, None] - _f(x)[None, :]
        C[slot, :], C[:, slot], C[slot, slot] = row, col, self_count
        self.u[slot] = count
        self.active[slot] = True
        # the new row of D: contexts d that follow (pr) and precede (pc) the new cluster
        m = C[:, pr]  # C[j, d]
        g = _f(m + row[pr]) - _f(row[pr]) - _f(m)
        g[pr, np.arange(pr.size)] = 0.0  # d == j is not a context of the pair
        total = g.sum(axis=1)
        m = C[pc, :].T  # C[d, j]
        g = _f(m + col[pc]) - _f(col[pc]) - _f(m)
        g[pc, np.arange(pc.size)] = 0.0
        total += g.sum(axis=1)
        diag = np.diagonal(C).copy()
        total += _f(self_count + row + col + diag) - _f(np.array(self_count)) - _f(row) - _f(col) - _f(diag)
        D[slot, :], D[:, slot] = total, total
        self.s += row + col
        self.s[slot] = row.sum() + col.sum() + 2 * self_count
        self.LU[slot, :] = self.LU[:, slot] = np.log(self.u[slot] + self.u)
        self._refresh(np.union1d(np.union1d(pr, pc), [slot]))
        return slot

    def best(self) -> tuple[int, int]:
        """The active pair ``(i, j)``, ``i < j``, whose merge loses the least AMI (the first such in row order)."""
        flat = int(np.argmax(self.L))
        i, j = divmod(flat, self.size)
        return (i, j) if i < j else (j, i)

    def support(self, i: int) -> int:
        """The number of clusters next to slot ``i`` in some bigram."""
        return int(np.count_nonzero(self.C[i, :]) + np.count_nonzero(self.C[:, i]))

    def merge(self, a: int, b: int) -> None:
        """Merge slot ``b`` into slot ``a``; ``b`` is freed. Cheapest when ``b`` has the smaller support."""
        C, D = self.C, self.D
        ca, cb, ra, rb = C[:, a].copy(), C[:, b].copy(), C[a, :].copy(), C[b, :].copy()
        t = np.flatnonzero((cb > 0) | (rb > 0))
        t = t[(t != a) & (t != b)]
        old_a = D[a, :].copy()
        ac, ar = ca + cb, ra + rb
        # pairs (i, j) without a and b change only when i or j is next to b: rows t, every column
        delta = np.zeros((t.size, self.size))
        for xa, xb, xc in ((ca, cb, ac), (ra, rb, ar)):
            for x, sign in ((xc, 1.0), (xa, -1.0), (xb, -1.0)):
                delta += sign * (_f(x[t, None] + x[None, :]) - _f(x[t])[:, None] - _f(x)[None, :])
        D[t, :] += delta
        delta[:, t] = 0.0  # the t × t block is added once
        D[:, t] += delta.T
        # the merged cluster's row, from a's: contexts d next to b change, b is no longer a context
        new = old_a
        m = C[:, t]  # C[j, d]
        g = _f(ar[t] + m) - _f(ar[t]) - _f(ra[t] + m) + _f(ra[t])
        m = C[t, :].T  # C[d, j]
        g += _f(ac[t] + m) - _f(ac[t]) - _f(ca[t] + m) + _f(ca[t])
        g[t, np.arange(t.size)] = 0.0
        new += g.sum(axis=1)
        new -= _f(ra[b] + cb) - _f(np.array(ra[b])) - _f(cb) + _f(rb[a] + rb) - _f(np.array(rb[a])) - _f(rb)
        diag = np.diagonal(C).copy()
        caa, ccc = C[a, a], C[a, a] + C[a, b] + C[b, a] + C[b, b]
        new += _f(ccc + ar + ac + diag) - _f(np.array(ccc)) - _f(ar) - _f(ac)
        new -= _f(caa + ra + ca + diag) - _f(np.array(caa)) - _f(ra) - _f(ca)
        # the counts
        C[a, :] += C[b, :]
        C[:, a] += C[:, b]
        C[b, :], C[:, b] = 0.0, 0.0
        self.u[a] += self.u[b]
        self.s[a] += self.s[b]
        self.u[b] = self.s[b] = 0.0
        self.active[b] = False
        D[a, :], D[:, a] = new, new
        D[b, :], D[:, b] = 0.0, 0.0
        self.L[b, :], self.L[:, b] = -np.inf, -np.inf
        self.LU[a, :] = self.LU[:, a] = np.log(self.u[a] + self.u)
        self._refresh(np.union1d(t, [a]))

    def _refresh(self, rows: np.ndarray) -> None:
        """Recompute ``L`` in ``rows`` and the same columns."""
        u, s = self.u, self.s
        h = s * np.log(np.where(u > 0, u, 1.0))
        block = self.D[rows] - self.LU[rows] * (s[rows, None] + s[None, :]) + h[rows, None] + h[None, :]
        block[:, ~self.active] = -np.inf
        block[~self.active[rows], :] = -np.inf
        block[np.arange(rows.size), rows] = -np.inf
        self.L[rows, :] = block
        self.L[:, rows] = block.T


def _context(counts: BigramCounts, w: int, slot_of: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Word ``w``'s bigram counts with the active slots: (it then slot (size,), slot then it (size,), w w)."""
    a, b = counts.succ_ptr[w], counts.succ_ptr[w + 1]
    succ, sc = counts.succ_word[a:b], counts.succ_count[a:b]
    self_count = float(sc[succ == w].sum())
    sw = slot_of[succ]  # w itself has no slot yet: its self bigram is counted apart
    row = np.bincount(sw[sw >= 0], weights=sc[sw >= 0], minlength=size)
    a, b = counts.pred_ptr[w], counts.pred_ptr[w + 1]
    pw, pc = slot_of[counts.pred_word[a:b]], counts.pred_count[a:b]
    col = np.bincount(pw[pw >= 0], weights=pc[pw >= 0], minlength=size)
    return row, col, self_count


def brown_clusters(counts: BigramCounts, k: int, progress: Callable[[int], object] | None = None) -> list[ClusterRow]:
    """Liang's Brown clustering of ``counts`` into ``k`` clusters: ``(path, word, count)`` for every word, sorted by
    path, then count (descending), then word. ``progress(n)`` is called after each of the ``V + k − 1`` steps.
    WindownerError if ``k`` is below 2 or above the vocabulary size."""
    v = len(counts.words)
    if k < 2:
        raise WindownerError(f"--k must be at least 2, got {k}")
    if k > v:
        raise WindownerError(f"--k {k} is larger than the vocabulary ({v} words): give --k {v} or less")
    size = k + 1
    win = BrownWindow(size)
    slot_of = np.full(v, -1, dtype=np.int64)  # word id -> the slot of its cluster
    members: list[list[int]] = [[] for _ in range(size)]
    for w in range(v):
        row, col, self_count = _context(counts, w, slot_of, size)
        slot = win.add(row, col, self_count, float(counts.counts[w]))
        slot_of[w] = slot
        members[slot] = [w]
        if win.n_active > k:
            _merge(win, *win.best(), slot_of, members)
        if progress is not None:
            progress(1)
    # the final phase: the k clusters merged down to one make the tree
    node = {slot: n for n, slot in enumerate(np.flatnonzero(win.active).tolist())}
    leaf_of_slot = dict(node)
    children: dict[int, tuple[int, int]] = {}
    next_node = len(node)
    while win.n_active > 1:
        i, j = win.best()
        kept = _merge(win, i, j, None, None)
        children[next_node] = (node[i], node[j])
        node[kept] = next_node
        next_node += 1
        if progress is not None:
            progress(1)
    paths: dict[int, str] = {}
    stack = [(next_node - 1, "")]
    while stack:
        n, path = stack.pop()
        if n in children:
            left, right = children[n]
            stack += [(left, path + "0"), (right, path + "1")]
        else:
            paths[n] = path
    rows = [(paths[leaf_of_slot[int(slot_of[w])]], counts.words[w], int(counts.counts[w])) for w in range(v)]
    rows.sort(key=lambda r: (r[0], -r[2], r[1]))
    return rows


def _merge(win: BrownWindow, i: int, j: int, slot_of: np.ndarray | None, members: list[list[int]] | None) -> int:
    """Merge slots ``i`` and ``j``, keeping the one with the larger support (the cheaper update); returns it."""
    a, b = (i, j) if win.support(i) >= win.support(j) else (j, i)
    win.merge(a, b)
    if slot_of is not None and members is not None:
        slot_of[members[b]] = a
        members[a].extend(members[b])
        members[b] = []
    return a


def train_clusters(
    text: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    k: int = 1000,
    min_count: int = 1,
    progress: bool = True,
) -> tuple[int, int]:
    """Brown-cluster the raw text file ``text`` (one document per line) into ``k`` clusters and write them to
    ``out``; returns (vocabulary size, token count). DataError for a missing, empty or non-UTF-8 file,
    WindownerError for a ``k`` the vocabulary cannot fill."""
    from tqdm.auto import tqdm

    if k < 2:
        raise WindownerError(f"--k must be at least 2, got {k}")
    if min_count < 1:
        raise WindownerError(f"--min-count must be at least 1, got {min_count}")
    counts = count_bigrams(read_documents(text, progress), min_count)
    if not counts.words:
        what = "no words" if min_count <= 1 else f"no word occurs at least --min-count {min_count} times"
        raise DataError(os.fspath(text), None, f"{what}; give {TEXT_FILE}")
    v = len(counts.words)
    total = v + min(k, v) - 1
    with tqdm(total=total, desc="clustering", unit=" steps", disable=not progress, file=sys.stderr) as bar:
        rows = brown_clusters(counts, k, bar.update)
    write_clusters(out, rows)
    return v, counts.n_tokens
