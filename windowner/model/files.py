"""Model directories: saving atomically and loading without pickle.

A model directory holds :data:`MODEL_FILES`, the files of its other feature columns (each feature saves and loads
its own: :class:`windowner.features.base.Feature`) (and, for vectors other than the embedded default,
``pretrained.npy`` + ``pretrained.txt``; for a calibrated model, :data:`CALIBRATION_FILE`). ``config.json`` holds the
hyper-parameters (:class:`~windowner.model.config.TrainConfig`) and what the files need to be read; ``run.json`` the
facts of the training run (:class:`~windowner.model.run.TrainingRun`: best epoch, training time, calibration,
interruption; directories written before it existed have them in ``config.json``). ``tokenizer.json`` holds the
tokenizer conventions learned from the training data (:mod:`windowner.text.conventions`) and the tables of the spaCy
tokenizer they make, with which raw text is tokenized without importing spaCy (:mod:`windowner.text.tokenizer`);
directories written before it existed load without it and tokenize raw text with spaCy's English tokenizer. It is
written into a hidden sibling directory and swapped in atomically (Linux ``renameat2(RENAME_EXCHANGE)``), so a
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
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from ..errors import ModelError, WindownerError
from ..features import Lexicon, lookup, registered
from ..features.storage import load_arrays, read_lines, read_text, save_arrays, write_lines
from ..nn.calibration import Calibration
from ..nn.network import ACTIVATIONS, HEADS
from ..text.conventions import TokenizerRules, spacy_tables
from ..text.tags import label_problem
from ..text.tokenizer import TokenizerTables
from ..version import __version__
from .assembly import assemble, settings
from .config import TrainConfig, check_value
from .inference import WEIGHT_NAMES, NERModel
from .run import RUN_FILE, TrainingRun

FORMAT_VERSION = 1
# the files of every model directory: config, run facts, weights, the files of the features every model has,
# history, tokenizer
CORE_FEATURE_FILES = tuple(name for feature in registered() if feature.core for name in feature.files)
MODEL_FILES = ("config.json", "run.json", "weights.npz") + CORE_FEATURE_FILES + ("history.json", "tokenizer.json")
TOKENIZER_FILE = "tokenizer.json"  # optional: older model directories have none
PRETRAINED_FILES = ("pretrained.npy", "pretrained.txt")  # vectors other than the embedded default travel along
CALIBRATION_FILE = "calibration.json"  # the calibration maps (JSON numbers); absent: uncalibrated scores
UNCALIBRATED_NOTE = (
    f"no {CALIBRATION_FILE}: scores are raw lattice probabilities, not calibrated (a model "
    "written before calibration, or trained with --calibration none)"
)


def save_model(model: NERModel, path: str | os.PathLike) -> Path:
    """Write the model directory atomically: into a temporary sibling, then swapped into place."""
    path = Path(path)
    if path.exists() and not (path / "config.json").is_file() and (not path.is_dir() or any(path.iterdir())):
        raise ModelError(
            f"{path}: exists and is not a model directory; refusing to replace it — "
            "choose a new or empty directory (or an existing model) to write to"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{os.urandom(4).hex()}"
        tmp.mkdir()  # not mkdtemp: its mode 0700 would make the model unreadable to other users
    except OSError as exc:
        raise ModelError(
            f"{path}: cannot write the model here ({exc.strerror or exc}); choose another directory"
        ) from None
    try:
        features = model.lexicon.save(tmp)  # each feature's files, and its entries of config.json
        config = dict(
            model.config,
            **features,
            tags=model.tags,
            labels=model.labels,
            windowner_version=__version__,
            format_version=FORMAT_VERSION,
            feature_columns=list(model.lexicon.columns),
        )
        (tmp / RUN_FILE).write_text(json.dumps(_run_facts(model).to_dict(), indent=2) + "\n", encoding="utf-8")
        if model.calibration is not None:
            (tmp / CALIBRATION_FILE).write_text(
                json.dumps(model.calibration.to_dict(), indent=1) + "\n", encoding="utf-8"
            )
        pretrained = model.lexicon.pretrained
        if pretrained is not None and not config.get("vectors_embedded", False):
            # non-default vectors travel with the model, so that it loads anywhere
            np.save(tmp / "pretrained.npy", np.asarray(pretrained.vectors, dtype=np.float32))
            write_lines(tmp / "pretrained.txt", pretrained.keys)
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / "history.json").write_text(json.dumps(model.history, indent=2) + "\n", encoding="utf-8")
        rules = model.tokenizer_rules
        if rules is not None:
            data = rules.to_json()
            tables = model.tokenizer_tables or spacy_tables(rules)
            data["tables"] = tables.to_json()  # what tagging raw text needs, without spaCy
            (tmp / TOKENIZER_FILE).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        save_arrays(tmp / "weights.npz", model.weights())
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
            raise ModelError(
                f"{path}: cannot write the model ({exc.strerror or exc}); the previous contents are unchanged"
            ) from None
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
            raise ModelError(
                f"{path}: missing, but an interrupted save left the previous model in "
                f"{backups[-1].parent}; rename that directory to {path}"
            )
        raise ModelError(f"{path}: no such model directory; train one with `windowner train --out {path}`")
    config = _read_json(path / "config.json")
    _check_config(path / "config.json", config)
    if isinstance(config.get("clusters"), int):  # written before Brown cluster files: the k-means count
        config["vector_clusters"] = config.pop("clusters")
    fmt = config.get("format_version")
    if not isinstance(fmt, int) or fmt > FORMAT_VERSION:
        raise ModelError(
            f"{path / 'config.json'}: model format version {fmt!r} is not supported by windowner "
            f"{__version__} (reads format {FORMAT_VERSION}); upgrade windowner or retrain the model"
        )
    columns = _feature_columns(path / "config.json", config)
    weights = load_arrays(path / "weights.npz", WEIGHT_NAMES + tuple(columns))
    pretrained = _load_pretrained(path, config)
    lexicon = Lexicon.load(path, columns, settings(config), pretrained)
    model = assemble(config, config["tags"], lexicon, arrays=weights, source=path)
    if (path / "history.json").exists():
        model.history = _read_json(path / "history.json")
    model.tokenizer_rules, model.tokenizer_tables = _read_optional(
        path / TOKENIZER_FILE,
        _tokenizer_json,
        "the file is corrupt or from another windowner version — "
        "retrain the model, or delete the file to tokenize with spaCy's English tokenizer",
    ) or (None, None)
    model.calibration = _read_optional(
        path / CALIBRATION_FILE,
        Calibration.from_dict,
        "the file is corrupt — retrain the model, or delete the file to use uncalibrated scores",
    )
    # the run facts: run.json, or those that directories written before it kept in config.json
    old_facts = TrainingRun.from_config(model.config)  # also leaves config.json's hyper-parameters only
    run = _read_optional(
        path / RUN_FILE,
        TrainingRun.from_dict,
        "the file is corrupt — retrain the model, or delete the file (the model loads without its run facts)",
    )
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


def _fsync(f: Path) -> None:
    with open(f, "rb") as fh:
        os.fsync(fh.fileno())


def _read_json(path: Path):
    text = read_text(path)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc}); the file is corrupt — retrain the model") from None


_CONFIG_TYPES: dict[str, type] = {"window": int, "hidden": int, "tags": list, "activation": str, "head": str}


def _check_config(path: Path, config) -> None:
    """Name the file and the key of a broken config.json (rather than a KeyError deep in loading)."""
    if not isinstance(config, dict):
        raise ModelError(
            f"{path}: expected a JSON object, found a {type(config).__name__}; the file is corrupt — retrain the model"
        )
    for key, kind in _CONFIG_TYPES.items():
        value = config.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) or (isinstance(value, int) and value < 0):
            raise ModelError(
                f"{path}: {key!r} is missing or not a valid {kind.__name__} (found {value!r}); "
                "the file is corrupt — retrain the model"
            )
    tags = config["tags"]
    bad = [
        t
        for t in tags
        if t != "O"
        and not (isinstance(t, str) and t[:2] in ("B-", "I-") and len(t) > 2 and label_problem(t[2:]) is None)
    ]
    types = {t[2:] for t in tags if isinstance(t, str) and t != "O"}
    unpaired = [x for x in types if f"B-{x}" not in tags or f"I-{x}" not in tags]
    if bad or unpaired or "O" not in tags or len(set(map(str, tags))) != len(tags):
        raise ModelError(f"{path}: 'tags' must be 'O' plus distinct B-X/I-X tags, found {tags!r}; retrain the model")
    for key, valid in (("activation", ACTIVATIONS), ("head", HEADS)):
        if config[key] not in valid:
            raise ModelError(
                f"{path}: unknown {key} {config[key]!r} (known: {', '.join(sorted(valid))}); the model "
                "was written by another windowner version — upgrade windowner or retrain the model"
            )


def _feature_columns(path: Path, config: dict) -> list[str]:
    """The feature columns config.json names: registered features, in registry order, the core ones among them
    (a model written before the columns were listed has the core ones); the config fields each reads are checked
    against the schema."""
    core = [f.name for f in registered() if f.core]
    columns = config.get("feature_columns", core)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ModelError(
            f"{path}: 'feature_columns' is {columns!r}, not a list of table names; the file is "
            "corrupt — retrain the model"
        )
    unknown = [c for c in columns if lookup(c) is None]
    if unknown:
        raise ModelError(
            f"{path}: 'feature_columns' names {', '.join(map(repr, unknown))}, which no registered "
            "feature provides; import the plug-in that registers it (windowner.features.register) "
            "before loading the model, upgrade windowner if a newer version wrote it, or retrain "
            "without that feature"
        )
    order = [f.name for f in registered()]
    if columns != [c for c in order if c in columns] or not set(core) <= set(columns):
        raise ModelError(
            f"{path}: 'feature_columns' is {columns!r}, not {', '.join(core)} and some of the other "
            f"registered features in the order {', '.join(order)}; the model was written by another "
            "windowner version or with other plug-ins — upgrade windowner or retrain the model"
        )
    schema = {f.name: f for f in fields(TrainConfig)}
    for name in dict.fromkeys(s for c in columns for s in lookup(c).settings):  # type: ignore[union-attr]
        problem = check_value(schema[name], config.get(name)) if name in schema else None
        if problem:
            raise ModelError(f"{path}: {name!r} {problem}; the file is corrupt — retrain the model")
    return columns


def _load_pretrained(path: Path, config: dict):
    spec = config.get("vectors")
    if spec in (None, "none"):
        return None
    from ..lexicon.vectors import DEFAULT_VECTORS, WordVectors, load_vectors

    if config.get("vectors_embedded", False):
        if spec != DEFAULT_VECTORS:
            raise ModelError(
                f"{path / 'config.json'}: 'vectors' is {spec!r}, but the model uses the embedded "
                f"{DEFAULT_VECTORS!r} vectors; the file is corrupt — retrain the model"
            )
        return load_vectors(spec)
    vec_file = path / "pretrained.npy"
    if not vec_file.exists():
        raise ModelError(
            f"{vec_file}: missing; the model directory is incomplete — retrain or copy the whole directory"
        )
    keys = read_lines(path / "pretrained.txt")
    try:
        vectors = np.load(vec_file, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # ValueError, EOFError, OSError for truncated or non-.npy files
        raise ModelError(
            f"{vec_file}: cannot be read ({type(exc).__name__}: {exc}); the file is truncated or "
            "corrupt — retrain the model or copy it again"
        ) from None
    if len(keys) != len(vectors):
        raise ModelError(
            f"{path / 'pretrained.txt'}: {len(keys)} words for {len(vectors)} vectors; the files do not match"
        )
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
        return (
            f"{path / 'config.json'}: the entry {exc.args[0]!r} is missing; the file is incomplete or corrupt — {fix}"
        )
    files = ", ".join(("config.json",) + CORE_FEATURE_FILES)
    return (
        f"{path}: the model files are inconsistent ({type(exc).__name__}: {exc}); {files} and weights.npz must "
        f"come from one `windowner train` run — {fix}"
    )
