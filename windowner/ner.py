"""The NER model: lexicon + embedding tables + window network + BIO decoder, and its model files.

Data flows one way: tokens -> window type ids -> scores (n, C) -> Viterbi -> BIO2 tags -> spans.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import zipfile
from itertools import chain
from pathlib import Path
from typing import Sequence

import numpy as np

from . import __version__
from .decode import constraints, viterbi, viterbi_bio
from .errors import ModelError
from .model import ACTIVATIONS, HEADS, WindowNetwork
from .windows import CASES, Lexicon, WindowInput, window_types

FORMAT_VERSION = 1
_THREADS = min(4, os.cpu_count() or 1)
PROJECTION_CACHE_BYTES = 128 * 2**20  # first-layer projections kept across calls, per model
_BLOCK = 256  # rows per projection product
_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(_THREADS, thread_name_prefix="windowner")
    return _POOL
WEIGHT_NAMES = ("W", "b", "U", "E", "C", "F", "start", "trans")


class NERModel:
    """A trained window tagger over pre-tokenized sentences.

    Attributes: ``config`` (hyper-parameters), ``tags`` (class names, "O" first), ``lexicon``,
    ``inputs`` (embedding tables), ``net`` (the window network), ``start``/``trans`` (decoder scores).
    """

    def __init__(self, config: dict, tags: Sequence[str], lexicon: Lexicon, inputs: WindowInput,
                 net: WindowNetwork, start: np.ndarray | None = None, trans: np.ndarray | None = None):
        self.config, self.tags, self.lexicon, self.inputs, self.net = dict(config), list(tags), lexicon, inputs, net
        hard_start, hard_trans = constraints(self.tags)
        self.start = hard_start if start is None else start
        self.trans = hard_trans if trans is None else trans
        # pure BIO constraints allow the O(C) decoder; decided once (start/trans are only ever restored in place)
        self._bio_only = np.array_equal(self.start, hard_start) and np.array_equal(self.trans, hard_trans)
        self.history: list[dict] = []

    @property
    def window(self) -> int:
        return int(self.config["window"])

    @property
    def labels(self) -> list[str]:
        """Entity types, e.g. ["DATE", "LOC", "PER"]."""
        return sorted({t[2:] for t in self.tags if t != "O"})

    # -- features -----------------------------------------------------------------------------

    def window_features(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """(n_tokens, 2k+1, 3) word row / case / suffix ids of every window position."""
        windows = self.lexicon.windows(sentences, self.window)  # may grow the type table: read it after
        return self.lexicon.table[windows]

    # -- scores -------------------------------------------------------------------------------

    def log_proba_dense(self, feats: np.ndarray) -> np.ndarray:
        """Reference path: build X explicitly. feats: (n, m, 3) -> log P: (n, C)."""
        return self.net.log_proba(self.inputs.forward(feats))

    def log_proba(self, sentences: Sequence[Sequence[str]], chunk: int = 2048) -> np.ndarray:
        """Fast path: (n_tokens, C) log-scores for sentences of tokens.

        The first layer is linear, so ``Z = b + Σ_p W_p v(type at p)``: project each distinct type in
        the batch once per window position, then sum gathered rows — no (n, D) matrix. Rows are
        processed in cache-sized chunks into reused buffers.
        """
        lengths = [len(s) for s in sentences]
        flat = self.lexicon.type_ids(list(chain.from_iterable(sentences)))
        net = self.net
        W, U = net.params["W"], net.params["U"]
        h, D = W.shape
        n = len(flat)
        if n == 0:
            return np.zeros((0, len(self.tags)), dtype=W.dtype)
        m = 2 * self.window + 1
        P, rows, bos, eos = self._projections(flat)
        win = window_types(rows, lengths, self.window, bos=bos, eos=eos)
        logp = np.empty((n, U.shape[1]), dtype=W.dtype)

        def forward_chunk(a: int) -> None:
            w = win[a:a + chunk]
            z = P[0].take(w[:, 0], axis=0)
            for p in range(1, m):
                z += P[p].take(w[:, p], axis=0)
            logp[a:a + len(w)] = net.head.log_proba(net.act.fn.f(z) @ U)

        starts = range(0, n, chunk)
        if len(starts) > 1 and _THREADS > 1:  # numpy releases the GIL in take/add/tanh/matmul
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):  # our threads, not BLAS's, share the cores
                list(_pool().map(forward_chunk, starts))
        else:
            for a in starts:
                forward_chunk(a)
        return logp

    def _projections(self, flat: np.ndarray):
        """Per window position p, ``W_p v(type)`` for the types of ``flat`` (b folded into p = 0).

        Returns (P: m arrays (rows, h), each token's row, the two padding rows). Types are
        append-only, so projections are kept across calls (up to PROJECTION_CACHE_BYTES) and only
        new types are projected; any change to the weights or the lexicon's cache starts afresh.
        """
        W, b = self.net.params["W"], self.net.params["b"]
        h, D = W.shape
        m = 2 * self.window + 1
        Wp = W.reshape(h, m, D // m)
        table = self.lexicon.table

        def project(types: np.ndarray) -> np.ndarray:  # (m, len(types), h)
            # Fixed-size row blocks: BLAS may round a row differently with the matrix's row count, and a
            # type's projection must not depend on which batch first brought it (nor on the process).
            n = len(types)
            V = np.zeros((-(-n // _BLOCK) * _BLOCK, self.inputs.d_total), dtype=W.dtype)
            V[:n] = self.inputs.type_vectors(table[types])
            out = np.empty((m, len(V), h), dtype=W.dtype)
            for p in range(m):
                for a in range(0, len(V), _BLOCK):
                    np.matmul(V[a:a + _BLOCK], Wp[:, p, :].T, out=out[p, a:a + _BLOCK])
            out[0] += b
            return out[:, :n]

        if len(table) * m * h * W.itemsize > PROJECTION_CACHE_BYTES:  # too many types: this batch's only
            present = np.zeros(len(table), dtype=bool)
            present[flat] = True
            uniq = np.flatnonzero(present)
            local = (np.cumsum(present) - 1)[flat]  # each token's rank among the batch's distinct types
            P = project(np.concatenate([uniq, [0, 1]]))
            return list(P), local, len(uniq), len(uniq) + 1
        key = (self.lexicon.generation,) + tuple((id(a), float(a.sum(dtype=np.float64)))
                                                 for a in (W, b, *self.inputs.tables.values()))
        if getattr(self, "_proj_key", None) != key:
            self._proj, self._proj_done, self._proj_key = np.empty((m, 0, h), dtype=W.dtype), 0, key
        done = self._proj_done
        if len(table) > done:
            if len(table) > self._proj.shape[1]:
                grown = np.empty((m, 2 * len(table), h), dtype=W.dtype)
                grown[:, :done] = self._proj[:, :done]
                self._proj = grown
            self._proj[:, done:len(table)] = project(np.arange(done, len(table)))
            self._proj_done = len(table)
        return [self._proj[p, :self._proj_done] for p in range(m)], flat, 0, 1  # types 0, 1: <s>, </s>

    def predict(self, sentences: Sequence[Sequence[str]], with_proba: bool = False):
        """BIO2 tags for each sentence (and, if asked, each chosen tag's probability)."""
        lengths = [len(s) for s in sentences]
        logp = self.log_proba(sentences)
        if self._bio_only:
            best = viterbi_bio(logp, lengths, self.tags)
        else:
            best = viterbi(logp, lengths, self.start, self.trans)
        tags = np.asarray(self.tags, dtype=object)[best].tolist()
        bounds = np.cumsum([0] + lengths).tolist()
        out = [tags[a:b] for a, b in zip(bounds, bounds[1:])]
        if not with_proba:
            return out
        chosen = np.exp(logp[np.arange(len(best)), best])
        return out, [chosen[a:b] for a, b in zip(bounds, bounds[1:])]

    # -- model files --------------------------------------------------------------------------

    def weights(self) -> dict[str, np.ndarray]:
        return {**self.net.params, **self.inputs.tables, "start": self.start, "trans": self.trans}

    def to_disk(self, path: str | os.PathLike) -> Path:
        """Write the model directory atomically: into a temporary sibling, then renamed into place."""
        path = Path(path)
        if path.exists() and not (path / "config.json").is_file() and (not path.is_dir() or any(path.iterdir())):
            raise ModelError(f"{path}: exists and is not a model directory; refusing to replace it — "
                             "choose a new or empty directory (or an existing model) to write to")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.parent / f".{path.name}.{os.urandom(4).hex()}"
            tmp.mkdir()  # not mkdtemp: its mode 0700 would make the model unreadable to other users
        except OSError as exc:
            raise ModelError(f"{path}: cannot write the model here ({exc.strerror or exc}); choose another directory") from None
        try:
            config = dict(self.config, tags=self.tags, labels=self.labels, windowner_version=__version__,
                          format_version=FORMAT_VERSION, cases=list(CASES), suffix_len=self.lexicon.suffix_len,
                          n_words=self.lexicon.n_words)
            pretrained = self.lexicon.pretrained
            if pretrained is not None and not config.get("vectors_embedded", False):
                # non-default vectors travel with the model, so that it loads anywhere
                np.save(tmp / "pretrained.npy", np.asarray(pretrained.vectors, dtype=np.float32))
                _write_lines(tmp / "pretrained.txt", pretrained.keys)
            (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            _write_lines(tmp / "vocab.txt", self.lexicon.words)
            _write_lines(tmp / "suffixes.txt", self.lexicon.suffixes)
            (tmp / "history.json").write_text(json.dumps(self.history, indent=2) + "\n", encoding="utf-8")
            _save_npz(tmp / "weights.npz", self.weights())
            for f in tmp.iterdir():
                _fsync(f)
            if not path.exists():
                os.replace(tmp, path)
            elif _exchange(tmp, path):  # atomic: `path` is the old or the new model at every moment
                shutil.rmtree(tmp, ignore_errors=True)
            else:  # no atomic exchange: a crash between these renames leaves the old model in `old`
                old = path.with_name(f".{path.name}.old-{os.getpid()}")
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError) and not isinstance(exc, ModelError):
                raise ModelError(f"{path}: cannot write the model ({exc.strerror or exc}); the previous "
                                 "contents are unchanged") from None
            raise
        return path

    @classmethod
    def from_disk(cls, path: str | os.PathLike) -> "NERModel":
        """Load a model directory written by :meth:`to_disk` (no pickle: ``allow_pickle=False``)."""
        path = Path(path)
        if not path.is_dir():
            backups = sorted(path.parent.glob(f".{path.name}.old-*/config.json"))
            if backups:  # a save without atomic exchange (not Linux) was killed between its two renames
                raise ModelError(f"{path}: missing, but an interrupted save left the previous model in "
                                 f"{backups[-1].parent}; rename that directory to {path}")
            raise ModelError(f"{path}: no such model directory; train one with `windowner train --out {path}`")
        config = _read_json(path / "config.json")
        _check_config(path / "config.json", config)
        fmt = config.get("format_version")
        if not isinstance(fmt, int) or fmt > FORMAT_VERSION:
            raise ModelError(f"{path / 'config.json'}: model format version {fmt!r} is not supported by windowner "
                             f"{__version__} (reads format {FORMAT_VERSION}); upgrade windowner or retrain the model")
        words = _read_lines(path / "vocab.txt")
        suffixes = _read_lines(path / "suffixes.txt")
        weights = _load_npz(path / "weights.npz")
        pretrained = _load_pretrained(path, config)
        lexicon = Lexicon(words, suffixes, int(config["suffix_len"]), pretrained)
        tags = list(config["tags"])
        m = 2 * int(config["window"]) + 1
        d_total = weights["E"].shape[1] + weights["C"].shape[1] + weights["F"].shape[1]
        expected = {
            "E": (len(words), weights["E"].shape[1]),
            "C": (len(CASES), weights["C"].shape[1]),
            "F": (len(suffixes) + 2, weights["F"].shape[1]),
            "W": (int(config["hidden"]), m * d_total),
            "b": (int(config["hidden"]),),
            "U": (int(config["hidden"]), len(tags)),
            "start": (len(tags),),
            "trans": (len(tags), len(tags)),
        }
        for name, shape in expected.items():
            if weights[name].shape != shape:
                raise ModelError(f"{path / 'weights.npz'}: array {name} has shape {weights[name].shape}, but config.json, "
                                 f"vocab.txt and suffixes.txt imply {shape}; the model files do not belong together — retrain")
        if pretrained is not None and pretrained.dim != weights["E"].shape[1]:
            raise ModelError(f"{path}: the pretrained vectors have dimension {pretrained.dim}, the model's "
                             f"word table {weights['E'].shape[1]}; retrain the model with these vectors")
        net = WindowNetwork(m * d_total, int(config["hidden"]), len(tags), activation=config["activation"],
                            head=config["head"], random_state=0)
        for name in ("W", "b", "U"):
            net.params[name] = weights[name]
        net._bind()
        base = None if pretrained is None else pretrained.vectors
        inputs = WindowInput(weights["E"], weights["C"], weights["F"], base=base)
        model = cls(config, tags, lexicon, inputs, net, weights["start"], weights["trans"])
        if (path / "history.json").exists():
            model.history = _read_json(path / "history.json")
        return model


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):  # old kernel or file system without exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def _write_lines(path: Path, items: Sequence[str]) -> None:
    """One entry per line, so that line i is row i: an empty list is an empty file, and a line break
    inside an entry (possible only for tokens given through the Python API) becomes a space."""
    path.write_text("".join(s.replace("\r", " ").replace("\n", " ") + "\n" for s in items), encoding="utf-8")


def _fsync(f: Path) -> None:
    with open(f, "rb") as fh:
        os.fsync(fh.fileno())


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Deterministic .npz (fixed zip timestamps), so the same weights give byte-identical files."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[name]), allow_pickle=False)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise ModelError(f"{path}: missing; the model directory is incomplete — retrain or copy the whole directory")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, EOFError, ...
        raise ModelError(f"{path}: cannot be read ({type(exc).__name__}: {exc}); the file is truncated or corrupt — "
                         "retrain the model or copy it again") from None
    missing = [n for n in WEIGHT_NAMES if n not in arrays]
    if missing:
        raise ModelError(f"{path}: arrays {', '.join(missing)} are missing; retrain the model")
    return arrays


def _read_text(path: Path) -> str:
    if not path.exists():
        raise ModelError(f"{path}: missing; the model directory is incomplete — retrain or copy the whole directory")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not valid UTF-8 (byte offset {exc.start}); the file is corrupt — "
                         "retrain the model or copy it again") from None
    except OSError as exc:  # e.g. a directory in place of the file
        raise ModelError(f"{path}: cannot be read ({exc.strerror or exc}); retrain the model or copy it again") from None


def _read_json(path: Path):
    text = _read_text(path)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc}); the file is corrupt — retrain the model") from None


_CONFIG_TYPES = {"window": int, "hidden": int, "suffix_len": int, "tags": list, "activation": str, "head": str}


def _check_config(path: Path, config) -> None:
    """Name the file and the key of a broken config.json (rather than a KeyError deep in loading)."""
    if not isinstance(config, dict):
        raise ModelError(f"{path}: expected a JSON object, found a {type(config).__name__}; the file is corrupt — "
                         "retrain the model")
    for key, kind in _CONFIG_TYPES.items():
        value = config.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) or (kind is int and value < 0):
            raise ModelError(f"{path}: {key!r} is missing or not a valid {kind.__name__} (found {value!r}); "
                             "the file is corrupt — retrain the model")
    tags = config["tags"]
    bad = [t for t in tags if t != "O" and not (isinstance(t, str) and t[:2] in ("B-", "I-") and len(t) > 2)]
    if bad or "O" not in tags or len(set(map(str, tags))) != len(tags):
        raise ModelError(f"{path}: 'tags' must be 'O' plus distinct B-X/I-X tags, found {tags!r}; retrain the model")
    for key, valid in (("activation", ACTIVATIONS), ("head", HEADS)):
        if config[key] not in valid:
            raise ModelError(f"{path}: unknown {key} {config[key]!r} (known: {', '.join(sorted(valid))}); the model "
                             "was written by another windowner version — upgrade windowner or retrain the model")


def _read_lines(path: Path) -> list[str]:
    text = _read_text(path)
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n") if text else []


def _load_pretrained(path: Path, config: dict):
    spec = config.get("vectors")
    if spec in (None, "none"):
        return None
    from .vectors import WordVectors, load_vectors

    if config.get("vectors_embedded", False):
        return load_vectors(spec)
    vec_file = path / "pretrained.npy"
    if not vec_file.exists():
        raise ModelError(f"{vec_file}: missing; the model directory is incomplete — retrain or copy the whole directory")
    keys = _read_lines(path / "pretrained.txt")
    try:
        vectors = np.load(vec_file, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # ValueError, EOFError, OSError for truncated or non-.npy files
        raise ModelError(f"{vec_file}: cannot be read ({type(exc).__name__}: {exc}); the file is truncated or "
                         "corrupt — retrain the model or copy it again") from None
    if len(keys) != len(vectors):
        raise ModelError(f"{path / 'pretrained.txt'}: {len(keys)} words for {len(vectors)} vectors; the files do not match")
    return WordVectors(spec, vectors, keys)
