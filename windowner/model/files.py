"""Model directories: saving atomically and loading without pickle.

A model directory holds :data:`MODEL_FILES` (and, for vectors other than the embedded default,
``pretrained.npy`` + ``pretrained.txt``; for a calibrated model, :data:`CALIBRATION_FILE`). ``config.json`` holds the
hyper-parameters (:class:`~windowner.model.config.TrainConfig`) and what the files need to be read; ``run.json`` the
facts of the training run (:class:`~windowner.model.run.TrainingRun`: best epoch, training time, calibration,
interruption; directories written before it existed have them in ``config.json``). ``tokenizer.json``
holds the tokenizer conventions learned from the training data (:mod:`windowner.text.conventions`) and the tables of
the spaCy tokenizer they make, with which raw text is tokenized without importing spaCy (:mod:`windowner.text.tokenizer`);
directories written before it existed load without it and tokenize raw text with spaCy's English tokenizer. It is written
into a hidden sibling directory and swapped in atomically (Linux ``renameat2(RENAME_EXCHANGE)``), so a
killed save leaves the old model or the new one.
Every problem on loading is a :class:`~windowner.errors.ModelError` naming the file and what to do.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import zipfile
from dataclasses import fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..nn.calibration import Calibration
from .config import TrainConfig, check_value
from ..errors import ModelError, WindownerError
from ..features import CASES, STRING_FEATURES, TABLES, Lexicon
from .inference import WEIGHT_NAMES, NERModel
from .run import RUN_FILE, TrainingRun
from ..nn.network import ACTIVATIONS, HEADS, Embeddings, WindowNetwork
from ..text.tags import label_problem
from ..text.conventions import TokenizerRules, spacy_tables
from ..text.tokenizer import TokenizerTables
from ..version import __version__

FORMAT_VERSION = 1
MODEL_FILES = ("config.json", "run.json", "weights.npz", "vocab.txt", "suffixes.txt", "history.json",
               "tokenizer.json")
TOKENIZER_FILE = "tokenizer.json"  # optional: older model directories have none
PRETRAINED_FILES = ("pretrained.npy", "pretrained.txt")  # vectors other than the embedded default travel along
CALIBRATION_FILE = "calibration.json"  # the calibration maps (JSON numbers); absent: uncalibrated scores
GAZETTEER_FILE = "gazetteer.json.gz"  # the gazetteer lists of a model trained with gazetteer features
CLUSTERS_FILE = "clusters.npz"  # word-cluster centroids and the vocabulary's cluster ids (cluster features)
UNCALIBRATED_NOTE = (f"no {CALIBRATION_FILE}: scores are raw lattice probabilities, not calibrated (a model "
                     "written before calibration, or trained with --calibration none)")


def save_model(model: NERModel, path: str | os.PathLike) -> Path:
    """Write the model directory atomically: into a temporary sibling, then swapped into place."""
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
        config = dict(model.config, tags=model.tags, labels=model.labels, windowner_version=__version__,
                      format_version=FORMAT_VERSION, cases=list(CASES), suffix_len=model.lexicon.suffix_len,
                      prefix_len=model.lexicon.prefix_len, feature_columns=list(model.lexicon.columns),
                      n_words=model.lexicon.n_words)
        (tmp / RUN_FILE).write_text(json.dumps(_run_facts(model).to_dict(), indent=2) + "\n", encoding="utf-8")
        if model.calibration is not None:
            (tmp / CALIBRATION_FILE).write_text(json.dumps(model.calibration.to_dict(), indent=1) + "\n",
                                                encoding="utf-8")
        pretrained = model.lexicon.pretrained
        if pretrained is not None and not config.get("vectors_embedded", False):
            # non-default vectors travel with the model, so that it loads anywhere
            np.save(tmp / "pretrained.npy", np.asarray(pretrained.vectors, dtype=np.float32))
            _write_lines(tmp / "pretrained.txt", pretrained.keys)
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _write_lines(tmp / "vocab.txt", model.lexicon.words)
        for name, vocab in model.lexicon.vocabs.items():
            _write_lines(tmp / STRING_FEATURES[name], vocab)
        if model.lexicon.gazetteer is not None:
            (tmp / GAZETTEER_FILE).write_bytes(model.lexicon.gazetteer.to_bytes())
        if model.lexicon.clusters is not None:
            _save_npz(tmp / CLUSTERS_FILE, {"centroids": model.lexicon.clusters.centroids,
                                            "word_cluster": model.lexicon.word_cluster})
        (tmp / "history.json").write_text(json.dumps(model.history, indent=2) + "\n", encoding="utf-8")
        rules = model.tokenizer_rules
        if rules is not None:
            data = rules.to_json()
            tables = model.tokenizer_tables or spacy_tables(rules)
            data["tables"] = tables.to_json()  # what tagging raw text needs, without spaCy
            (tmp / TOKENIZER_FILE).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
        _save_npz(tmp / "weights.npz", model.weights())
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


def load_model(path: str | os.PathLike) -> NERModel:
    """Load a model directory written by :func:`save_model` (no pickle: ``allow_pickle=False``).

    Every problem is a :class:`ModelError` naming the file (or a :class:`~windowner.errors.DataError` from
    the model's vectors); it says what to do.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a model path is a str or os.PathLike, got {type(path).__name__}")
    try:
        return _read_model(Path(path))
    except WindownerError:  # ModelError, or DataError from the model's vectors: already says what to do
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelError(_diagnose(Path(path), exc)) from exc


def _read_model(path: Path) -> NERModel:
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
    suffixes = _read_lines(path / STRING_FEATURES["F"])
    weights = _load_npz(path / "weights.npz")
    pretrained = _load_pretrained(path, config)
    columns = config.get("feature_columns", ["E", "C", "F"])  # older models: word, casing, suffix
    if not isinstance(columns, list) or columns[:3] != ["E", "C", "F"] \
            or columns != [c for c in TABLES if c in columns]:  # E, C, F, then some of the others, in order
        raise ModelError(f"{path / 'config.json'}: 'feature_columns' is {columns!r}, not E, C, F and some of P, S, G, K, N "
                         "in that order; the model was written by another windowner version — upgrade windowner or "
                         "retrain the model")
    missing = [c for c in columns if c not in weights]
    if missing:
        raise ModelError(f"{path / 'weights.npz'}: arrays {', '.join(missing)} are missing; retrain the model")
    gazetteer = None
    if "G" in columns:
        from ..lexicon.gazetteers import Gazetteer

        try:
            gazetteer = Gazetteer.from_bytes(_read_bytes(path / GAZETTEER_FILE))
        except WindownerError as exc:
            raise ModelError(f"{path / GAZETTEER_FILE}: {exc}; the file is corrupt — retrain the model") from None
    clusters = word_cluster = None
    if "K" in columns:
        from ..lexicon.clusters import WordClusters

        arrays = _load_npz(path / CLUSTERS_FILE, ("centroids", "word_cluster"))
        try:
            clusters = WordClusters(arrays["centroids"])
        except WindownerError as exc:
            raise ModelError(f"{path / CLUSTERS_FILE}: {exc}; the file is corrupt — retrain the model") from None
        word_cluster = arrays["word_cluster"]
        if pretrained is None or clusters.centroids.shape[1] != pretrained.dim:
            raise ModelError(f"{path / CLUSTERS_FILE}: the centroids do not match the model's pretrained vectors; "
                             "the model files do not belong together — retrain")
    lexicon = Lexicon(words, suffixes, int(config["suffix_len"]), pretrained,
                      prefixes=_read_lines(path / STRING_FEATURES["P"]) if "P" in columns else (),
                      prefix_len=int(config.get("prefix_len", 0)) if "P" in columns else 0,
                      shapes=_read_lines(path / STRING_FEATURES["S"]) if "S" in columns else None, gazetteer=gazetteer,
                      clusters=clusters, word_cluster=word_cluster,
                      ngram_buckets=_ngram_buckets(path, config) if "N" in columns else 0)
    tags = list(config["tags"])
    m = 2 * int(config["window"]) + 1
    d_total = sum(weights[c].shape[1] for c in columns)
    expected = {c: (lexicon.table_rows(c), weights[c].shape[1]) for c in columns}
    expected.update({
        "W": (int(config["hidden"]), m * d_total),
        "b": (int(config["hidden"]),),
        "U": (int(config["hidden"]), len(tags)),
        "start": (len(tags),),
        "trans": (len(tags), len(tags)),
    })
    for name, shape in expected.items():
        if weights[name].shape != shape:
            raise ModelError(f"{path / 'weights.npz'}: array {name} has shape {weights[name].shape}, but config.json, "
                             f"vocab.txt and suffixes.txt imply {shape}; the model files do not belong together — retrain")
    if pretrained is not None and pretrained.dim != weights["E"].shape[1]:
        raise ModelError(f"{path}: the pretrained vectors have dimension {pretrained.dim}, the model's "
                         f"word table {weights['E'].shape[1]}; retrain the model with these vectors")
    net = WindowNetwork(m * d_total, int(config["hidden"]), len(tags), activation=config["activation"],
                        head=config["head"], random_state=0)
    net.params.update({name: weights[name] for name in ("W", "b", "U")})
    base = None if pretrained is None else pretrained.vectors
    embeddings = Embeddings({name: weights[name] for name in columns}, base=base, widths=lexicon.widths)
    model = NERModel(config, tags, lexicon, embeddings, net, weights["start"], weights["trans"])
    if (path / "history.json").exists():
        model.history = _read_json(path / "history.json")
    model.tokenizer_rules, model.tokenizer_tables = _read_optional(
        path / TOKENIZER_FILE, _tokenizer_json, "the file is corrupt or from another windowner version — "
        "retrain the model, or delete the file to tokenize with spaCy's English tokenizer") or (None, None)
    model.calibration = _read_optional(
        path / CALIBRATION_FILE, Calibration.from_dict, "the file is corrupt — retrain the model, or delete the "
        "file to use uncalibrated scores")
    # the run facts: run.json, or those that directories written before it kept in config.json
    old_facts = TrainingRun.from_config(model.config)  # also leaves config.json's hyper-parameters only
    run = _read_optional(path / RUN_FILE, TrainingRun.from_dict, "the file is corrupt — retrain the model, or "
                         "delete the file (the model loads without its run facts)")
    model.run = _run_facts(model, old_facts if run is None else run)
    return model


def _run_facts(model: NERModel, run: TrainingRun | None = None) -> TrainingRun:
    """``run`` (default ``model.run``) with ``calibrated`` as the model is, and a note why not when it is not."""
    run = model.run if run is None else run
    calibrated = model.calibration is not None
    note = None if calibrated else run.calibration_note or UNCALIBRATED_NOTE
    return replace(run, calibrated=calibrated, calibration_note=note)


def _tokenizer_json(data) -> tuple[TokenizerRules, TokenizerTables | None]:
    """The rules of ``tokenizer.json`` and its tables (None in files written before windowner saved them)."""
    rules = TokenizerRules.from_json(data)
    return rules, TokenizerTables.from_json(data["tables"]) if "tables" in data else None


def _read_optional(path: Path, parse, fix: str):
    """``parse`` of the JSON in ``path``, or None without the file (a model directory written before it
    existed, or without it); a file that does not parse is a ModelError that says ``fix``."""
    if not path.exists():
        return None
    try:
        return parse(_read_json(path))
    except ValueError as exc:
        raise ModelError(f"{path}: {exc}; {fix}") from None


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


def _load_npz(path: Path, required: Sequence[str] = WEIGHT_NAMES) -> dict[str, np.ndarray]:
    if not path.exists():
        raise ModelError(f"{path}: missing; the model directory is incomplete — retrain or copy the whole directory")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, EOFError, ...
        raise ModelError(f"{path}: cannot be read ({type(exc).__name__}: {exc}); the file is truncated or corrupt — "
                         "retrain the model or copy it again") from None
    missing = [n for n in required if n not in arrays]
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


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise ModelError(f"{path}: missing; the model directory is incomplete — retrain or copy the whole directory")
    try:
        return path.read_bytes()
    except OSError as exc:
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
    bad = [t for t in tags if t != "O" and not (isinstance(t, str) and t[:2] in ("B-", "I-") and len(t) > 2
                                                and label_problem(t[2:]) is None)]
    types = {t[2:] for t in tags if isinstance(t, str) and t != "O"}
    unpaired = [x for x in types if f"B-{x}" not in tags or f"I-{x}" not in tags]
    if bad or unpaired or "O" not in tags or len(set(map(str, tags))) != len(tags):
        raise ModelError(f"{path}: 'tags' must be 'O' plus distinct B-X/I-X tags, found {tags!r}; retrain the model")
    for key, valid in (("activation", ACTIVATIONS), ("head", HEADS)):
        if config[key] not in valid:
            raise ModelError(f"{path}: unknown {key} {config[key]!r} (known: {', '.join(sorted(valid))}); the model "
                             "was written by another windowner version — upgrade windowner or retrain the model")


def _ngram_buckets(path: Path, config: dict) -> int:
    """The character n-gram buckets of a model whose columns include N, checked against the schema."""
    buckets = config.get("ngram_buckets")
    problem = check_value(next(f for f in fields(TrainConfig) if f.name == "ngram_buckets"), buckets)
    if problem:
        raise ModelError(f"{path / 'config.json'}: 'ngram_buckets' {problem}; the file is corrupt — retrain the model")
    return buckets


def _read_lines(path: Path) -> list[str]:
    text = _read_text(path)
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n") if text else []


def _load_pretrained(path: Path, config: dict):
    spec = config.get("vectors")
    if spec in (None, "none"):
        return None
    from ..lexicon.vectors import DEFAULT_VECTORS, WordVectors, load_vectors

    if config.get("vectors_embedded", False):
        if spec != DEFAULT_VECTORS:
            raise ModelError(f"{path / 'config.json'}: 'vectors' is {spec!r}, but the model uses the embedded "
                             f"{DEFAULT_VECTORS!r} vectors; the file is corrupt — retrain the model")
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
    return WordVectors(spec, vectors, keys, index_source=path / "pretrained.txt")


def _diagnose(path: Path, exc: Exception) -> str:
    """Which file of a model directory made loading fail with ``exc``, and what to do."""
    fix = "retrain the model or copy the whole directory again"
    for name in MODEL_FILES + PRETRAINED_FILES:
        if not name.endswith((".json", ".txt")):
            continue
        f = path / name
        if f.exists():
            try:
                f.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                return f"{f}: not valid UTF-8 ({err.reason}); the file is corrupt — {fix}"
    if isinstance(exc, KeyError):
        return f"{path / 'config.json'}: the entry {exc.args[0]!r} is missing; the file is incomplete or corrupt — {fix}"
    return (f"{path}: the model files are inconsistent ({type(exc).__name__}: {exc}); config.json, vocab.txt, "
            f"suffixes.txt and weights.npz must come from one `windowner train` run — {fix}")


