"""Brown clusters from raw text (windowner.lexicon.brown, `windowner clusters train`): the merge gains against a
brute-force AMI, the clustering against a naive greedy one, a hand-checked toy hierarchy, the file, the CLI."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from windowner.cli import main
from windowner.lexicon.brown import (
    BrownWindow,
    _f,
    brown_clusters,
    count_bigrams,
    read_documents,
    train_clusters,
    write_clusters,
)
from windowner.text.jsonl import default_tokenizer
from windowner.text.segment import segment_text

LINE = re.compile(r"^[01]+\t\S+\t[1-9][0-9]*$")


# -- the objective, by brute force -------------------------------------------------------------------------------


def objective(C: np.ndarray, u: np.ndarray, active: np.ndarray) -> float:
    """N · AMI among the active clusters, up to a constant: Σ f(n[c, d]) − Σ_c (row + column sum) log u[c]."""
    a = np.flatnonzero(active)
    c = C[np.ix_(a, a)]
    return float(_f(c).sum() - ((c.sum(0) + c.sum(1)) * np.log(u[a])).sum())


def merged(C: np.ndarray, u: np.ndarray, active: np.ndarray, i: int, j: int):
    C, u, active = C.copy(), u.copy(), active.copy()
    C[i, :] += C[j, :]
    C[:, i] += C[:, j]
    C[j, :] = C[:, j] = 0
    u[i] += u[j]
    u[j] = 0
    active[j] = False
    return C, u, active


def test_incremental_gains_equal_the_brute_force_change_of_ami():
    """After every add and merge, L[i, j] is exactly the change of the objective that merging i and j makes."""
    rng = np.random.default_rng(0)
    size = 7
    for _ in range(20):
        win = BrownWindow(size)
        for _ in range(20):
            if win.n_active < size:
                row = rng.poisson(0.8, size) * (rng.random(size) < 0.5)
                col = rng.poisson(0.8, size) * (rng.random(size) < 0.5)
                self_count = float(rng.poisson(0.3))
                win.add(row.astype(float), col.astype(float), self_count, row.sum() + col.sum() + 3.0)
            if win.n_active >= 2 and (win.n_active == size or rng.random() < 0.3):
                i, j = win.best()
                win.merge(*((i, j) if rng.random() < 0.5 else (j, i)))  # either slot may be kept
            base = objective(win.C, win.u, win.active)
            act = np.flatnonzero(win.active)
            for i, j in itertools.combinations(act, 2):
                want = objective(*merged(win.C, win.u, win.active, i, j)) - base
                assert win.L[i, j] == pytest.approx(want, rel=1e-9, abs=1e-7)
                assert win.L[j, i] == pytest.approx(win.L[i, j], rel=1e-12, abs=1e-9)
            inactive = ~win.active
            assert np.all(win.L[inactive] == -np.inf) and np.all(np.diagonal(win.L) == -np.inf)


# -- the clustering against a naive greedy one -----------------------------------------------------------------


def naive_brown(docs: list[list[str]], k: int) -> set[frozenset[str]]:
    """Liang's algorithm the slow way (every gain recomputed from scratch): the word sets of the k leaf clusters
    and of every node of the tree above them."""
    counts = count_bigrams(docs)
    words, v = counts.words, len(counts.words)
    index = {w: i for i, w in enumerate(words)}
    n = np.zeros((v, v))
    for doc in docs:
        for a, b in zip(doc, doc[1:]):
            n[index[a], index[b]] += 1
    clusters: list[list[int]] = []

    def best(cs: list[list[int]]) -> tuple[int, int]:
        u = np.array([counts.counts[c].sum() for c in cs], dtype=float)
        C = np.array([[n[np.ix_(a, b)].sum() for b in cs] for a in cs])
        act = np.ones(len(cs), dtype=bool)
        base = objective(C, u, act)
        gains = {
            (i, j): objective(*merged(C, u, act, i, j)) - base for i, j in itertools.combinations(range(len(cs)), 2)
        }
        return max(gains, key=gains.__getitem__)

    for w in range(v):
        clusters.append([w])
        if len(clusters) > k:
            i, j = best(clusters)
            clusters[i] += clusters.pop(j)
    nodes = {frozenset(words[w] for w in c) for c in clusters}
    while len(clusters) > 1:
        i, j = best(clusters)
        clusters[i] += clusters.pop(j)
        nodes.add(frozenset(words[w] for w in clusters[i]))
    return nodes


def tree_nodes(rows) -> set[frozenset[str]]:
    """The word sets of every node of the tree a cluster file describes, from the leaf clusters up."""
    paths = {p for p, _, _ in rows}
    prefixes = {p[:d] for p in paths for d in range(len(p) + 1)}
    return {frozenset(w for p, w, _ in rows if p.startswith(q)) for q in prefixes}


@pytest.mark.parametrize("seed", range(6))
def test_clustering_equals_naive_greedy_brown_on_random_corpora(seed):
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(14)]
    weights = 1.0 / np.arange(1, 15)  # Zipf-like, so that the order of entry varies little
    docs = [list(rng.choice(vocab, size=rng.integers(2, 12), p=weights / weights.sum())) for _ in range(40)]
    k = 4
    rows = brown_clusters(count_bigrams(docs), k)
    assert len({p for p, _, _ in rows}) == k
    assert tree_nodes(rows) == naive_brown(docs, k)


# -- hand-checked toy corpora -------------------------------------------------------------------------------------


def test_classes_in_disjoint_contexts_split_at_the_first_bit(tmp_path):
    """Documents of two words, every ordered pair of one class once: within a class the next word does not depend
    on the word (merging two of a class loses no AMI), across classes it does (every such merge loses), so the
    two classes are the two halves of the tree, for every k."""
    x, y = ["red", "green", "blue", "cyan"], ["one", "two", "three"]
    text = tmp_path / "t.txt"
    text.write_text("\n".join(f"{a} {b}" for c in (x, y) for a in c for b in c) + "\n", encoding="utf-8")
    for k in (2, 3, 5, 7):
        out = tmp_path / f"c{k}.txt"
        train_clusters(text, out, k=k, progress=False)
        path = {w: p for p, w, _ in (line.split("\t") for line in out.read_text().splitlines())}
        assert {path[w][0] for w in x} | {path[w][0] for w in y} == {"0", "1"}
        assert len({path[w][0] for w in x}) == 1 and len({path[w][0] for w in y}) == 1, (k, path)


# Two tiny languages in the frame "determiner noun verb punctuation", never in one document. Substitutes (the/a,
# cat/dog, sat/ran, le/un, ...) occur in the same contexts equally often: merging them loses nothing, so they are
# siblings, and with k = 8 the leaves are the six pairs and the two punctuation marks. Above them, merging the same
# role across the languages keeps the chain determiner → noun → verb → punctuation (each step still tells the
# next role) and loses only the language, which every other merge also loses, so the four clusters of depth 2 are
# the four roles: Brown clusters are syntactic.
ENGLISH = [f"{d} {n} {v} ." for d in ("the", "a") for n in ("cat", "dog") for v in ("sat", "ran")]
FRENCH = [f"{d} {n} {v} !" for d in ("le", "un") for n in ("chat", "chien") for v in ("dort", "court")]
TOY = (ENGLISH + FRENCH) * 3
PAIRS = [("the", "a"), ("cat", "dog"), ("sat", "ran"), ("le", "un"), ("chat", "chien"), ("dort", "court")]
ROLES = [{".", "!"}, {"the", "a", "le", "un"}, {"cat", "dog", "chat", "chien"}, {"sat", "ran", "dort", "court"}]


@pytest.fixture
def toy_file(tmp_path):
    path = tmp_path / "toy.txt"
    path.write_text("\n".join(TOY) + "\n", encoding="utf-8")
    return path


def clusters_of(out) -> dict[str, set[str]]:
    by_path: dict[str, set[str]] = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        p, w, _ = line.split("\t")
        by_path.setdefault(p, set()).add(w)
    return by_path


def test_toy_substitutes_are_siblings_and_depth_two_is_the_roles(toy_file, tmp_path):
    out = tmp_path / "c.txt"
    assert train_clusters(toy_file, out, k=14, progress=False) == (14, 192)
    path = {w: p for p, ws in clusters_of(out).items() for w in ws}
    for a, b in PAIRS:
        assert path[a][:-1] == path[b][:-1] and path[a] != path[b], (a, b, path[a], path[b])
    depth2: dict[str, set[str]] = {}
    for w, p in path.items():
        depth2.setdefault(p[:2], set()).add(w)
    assert sorted(map(sorted, depth2.values())) == sorted(map(sorted, ROLES))


def test_toy_with_eight_clusters_has_the_substitute_pairs_as_leaves(toy_file, tmp_path):
    out = tmp_path / "c.txt"
    train_clusters(toy_file, out, k=8, progress=False)
    leaves = sorted(map(sorted, clusters_of(out).values()))
    assert leaves == sorted([sorted(p) for p in PAIRS] + [["."], ["!"]])


# -- the file and the tokenizer ------------------------------------------------------------------------------------


def test_output_format_counts_and_order(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("Angela Merkel didn't visit Paris.\n\nMerkel visited Berlin, Paris and Rome.\n", encoding="utf-8")
    out = tmp_path / "c.txt"
    v, n = train_clusters(text, out, k=3, progress=False)
    lines = out.read_bytes().decode("utf-8").split("\n")
    assert lines[-1] == "" and all(LINE.match(line) for line in lines[:-1])
    rows = [line.split("\t") for line in lines[:-1]]
    words = [w for _, w, _ in rows]
    tokens = [t for s in text.read_text().splitlines() for t in segment_text(default_tokenizer(), s).words]
    assert sorted(words) == sorted(set(tokens)) and len(words) == v and n == len(tokens)
    assert {"did", "n't", "Paris", "."} <= set(words)  # windowner's tokenizer, not a whitespace split
    assert {w: int(c) for _, w, c in rows} == {w: tokens.count(w) for w in set(tokens)}
    assert len({p for p, _, _ in rows}) == 3
    assert rows == sorted(rows, key=lambda r: (r[0], -int(r[2]), r[1]))


def test_min_count_leaves_out_rare_words(toy_file, tmp_path):
    toy_file.write_text(toy_file.read_text() + "rare words here\n", encoding="utf-8")
    out = tmp_path / "c.txt"
    assert train_clusters(toy_file, out, k=4, min_count=2, progress=False)[0] == 14
    assert not {"rare", "words", "here"} & {line.split("\t")[1] for line in out.read_text().splitlines()}


def test_same_input_gives_byte_identical_output(tmp_path):
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(60)]
    text = tmp_path / "t.txt"
    text.write_text("\n".join(" ".join(rng.choice(vocab, size=15)) for _ in range(80)) + "\n", encoding="utf-8")
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    train_clusters(text, a, k=8, progress=False)
    train_clusters(text, b, k=8, progress=False)
    assert a.read_bytes() == b.read_bytes()


def test_write_clusters_rejects_bad_rows_and_leaves_no_file(tmp_path):
    out = tmp_path / "c.txt"
    assert write_clusters(out, [("0", "a", 2), ("1", "b", 1)]) == 2
    assert out.read_text() == "0\ta\t2\n1\tb\t1\n"
    for bad in [("0", "a b", 1), ("", "a", 1), ("012", "a", 1)]:
        with pytest.raises(ValueError):
            write_clusters(tmp_path / "d.txt", [bad])
        assert not (tmp_path / "d.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["c.txt"]


def test_read_documents_skips_blank_lines(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("a b\n\n   \nc\n", encoding="utf-8")
    assert list(read_documents(text)) == [["a", "b"], ["c"]]


# -- the command ---------------------------------------------------------------------------------------------------


def test_cli_trains_and_reports(toy_file, tmp_path, capsys):
    out = tmp_path / "sub" / "c.txt"
    assert main(["clusters", "train", "--text", str(toy_file), "--out", str(out), "--k", "6", "--quiet"]) == 0
    assert "wrote 14 words (192 tokens) in 6 clusters" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 14


def run_error(capsys, *args: str) -> str:
    assert main(["clusters", "train", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("windowner clusters: error: ")
    return err


@pytest.mark.parametrize(
    "content, where, message",
    [
        (None, "", "file not found"),
        (b"", "", "no words"),
        (b"  \n\n", "", "no words"),
        (b"ok line\n\x00\x01\x02binary\n", ":2", "NUL byte"),
        (b"good\nstill good\nbad \xff byte\n", ":3", "not valid UTF-8"),
    ],
)
def test_cli_bad_text_file(tmp_path, capsys, content, where, message):
    text = tmp_path / "t.txt"
    if content is not None:
        text.write_bytes(content)
    out = tmp_path / "c.txt"
    err = run_error(capsys, "--text", str(text), "--out", str(out), "--quiet")
    assert f"{text}{where}: " in err and message in err
    assert not out.exists()


def test_cli_k_larger_than_the_vocabulary(toy_file, tmp_path, capsys):
    err = run_error(capsys, "--text", str(toy_file), "--out", str(tmp_path / "c.txt"), "--k", "15", "--quiet")
    assert "--k 15 is larger than the vocabulary (14 words)" in err


def test_cli_k_must_be_at_least_two(toy_file, tmp_path, capsys):
    assert "--k must be at least 2" in run_error(
        capsys, "--text", str(toy_file), "--out", str(tmp_path / "c"), "--k", "1"
    )
