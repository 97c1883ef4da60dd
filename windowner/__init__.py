"""windowner: named-entity recognition with the classic window classifier."""

__version__ = "0.1.0"
