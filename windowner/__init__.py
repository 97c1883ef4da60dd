"""windowner: named-entity recognition with the classic window classifier.

>>> import windowner
>>> tagger = windowner.load("model/")
>>> [(e.text, e.label) for e in tagger("Obama visited Paris on 5 May.").ents]
"""

from .version import __version__

__all__ = ["__version__", "load", "train", "Tagger", "TrainConfig", "WindowNERClassifier"]


def __getattr__(name):  # keep `import windowner` light: spaCy and friends load on first use
    if name in ("load", "Tagger"):
        from . import tagger

        return getattr(tagger, name)
    if name == "train":
        from .tagger import train

        return train
    if name == "TrainConfig":
        from .config import TrainConfig

        return TrainConfig
    if name == "WindowNERClassifier":
        from .sklearn import WindowNERClassifier

        return WindowNERClassifier
    raise AttributeError(f"module 'windowner' has no attribute {name!r}")
