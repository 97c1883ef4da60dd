"""windowner: named-entity recognition with the classic window classifier.

>>> import windowner
>>> tagger = windowner.load("model/")
>>> [(e.text, e.label) for e in tagger("Obama visited Paris on 5 May.").ents]

The package is laid out by concern (see the README's Architecture section): ``text`` (tags, CoNLL, tokenizer,
sentences, Doc), ``lexicon`` (word vectors, gazetteers, clusters), ``features`` (the feature columns), ``nn`` (the
network and its math), ``evaluation`` (metrics, confidence, report, plots), ``model`` (config, assembly, training,
inference, model files), ``tagger`` (the user's entry points), ``integrations`` (spaCy, scikit-learn, Dask,
serve) and ``cli``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

from .version import __version__

__all__ = ["__version__", "load", "train", "Tagger", "TrainConfig", "WindowNERClassifier"]

# Where the modules of the flat layout (windowner <= 0.1) live now: ``import windowner.conll`` or
# ``from windowner.sklearn import WindowNERClassifier`` keep working and give the module at its new path.
MOVED = {
    "tags": "text.tags",
    "conll": "text.conll",
    "tokenizer": "text.tokenizer",
    "tokenization": "text.conventions",
    "segment": "text.segment",
    "doc": "text.doc",
    "output": "text.output",
    "vectors": "lexicon.vectors",
    "gazetteers": "lexicon.gazetteers",
    "clusters": "lexicon.clusters",
    "network": "nn.network",
    "optim": "nn.optim",
    "gradcheck": "nn.gradcheck",
    "decode": "nn.decode",
    "marginals": "nn.marginals",
    "calibration": "nn.calibration",
    "metrics": "evaluation.metrics",
    "confidence": "evaluation.confidence",
    "report": "evaluation.report",
    "plots": "evaluation.plots",
    "config": "model.config",
    "inference": "model.inference",
    "training": "model.training",
    "model_files": "model.files",
    "explain": "model.explain",
    "spacy_component": "integrations.spacy",
    "sklearn": "integrations.sklearn",
    "dask": "integrations.dask",
    "serve": "integrations.serve",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``windowner.<old name>`` as the module at its new path (one module object under both names)."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == __name__ and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{MOVED[spec.name.rpartition('.')[2]]}")

    def exec_module(self, module) -> None:  # already executed under its new name
        pass


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def __getattr__(name):  # keep `import windowner` light: spaCy and friends load on first use
    if name in ("load", "Tagger"):
        from . import tagger

        return getattr(tagger, name)
    if name == "train":
        from .tagger import train

        return train
    if name == "TrainConfig":
        from .model.config import TrainConfig

        return TrainConfig
    if name == "WindowNERClassifier":
        from .integrations.sklearn import WindowNERClassifier

        return WindowNERClassifier
    raise AttributeError(f"module 'windowner' has no attribute {name!r}")
