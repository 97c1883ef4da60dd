"""The registered feature classes, in column order (the order of a lexicon's columns and a window's id blocks).

windowner registers its own (E, C, F, P, S, G, K, N, B, M) when :mod:`windowner.features` is imported; a plug-in
registers a :class:`~windowner.features.base.Feature` subclass with :func:`register` (its column comes after the
ones registered before it) before training with it or loading a model that uses it.
"""

from __future__ import annotations

from .base import Feature

_REGISTRY: dict[str, type[Feature]] = {}


def register(feature: type[Feature]) -> type[Feature]:
    """Add a feature class (usable as a class decorator). ValueError if another class has its name."""
    name = getattr(feature, "name", None)
    if not (isinstance(feature, type) and issubclass(feature, Feature)):
        raise TypeError(f"register takes a Feature subclass, got {feature!r}")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{feature.__name__}.name must be an identifier (its table's key), got {name!r}")
    if _REGISTRY.get(name, feature) is not feature:
        raise ValueError(
            f"a feature named {name!r} is registered already ({_REGISTRY[name].__name__}); "
            f"unregister({name!r}) first or choose another name"
        )
    _REGISTRY[name] = feature
    return feature


def unregister(name: str) -> None:
    """Remove the feature class registered as ``name`` (KeyError if none is)."""
    del _REGISTRY[name]


def registered() -> tuple[type[Feature], ...]:
    """Every registered feature class, in column order."""
    return tuple(_REGISTRY.values())


def lookup(name: str) -> type[Feature] | None:
    """The feature class registered as ``name``, or None."""
    return _REGISTRY.get(name)
