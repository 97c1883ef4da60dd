"""Putting a model together: the one path from a config, tags and a lexicon to an :class:`NERModel`.

Training (:func:`windowner.model.training.initialize`) calls :func:`assemble` with a random generator: each
feature's new table, in column order, then the network's initial weights. Loading
(:func:`windowner.model.files.load_model`) calls it with the saved arrays, checked for shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..errors import ModelError
from ..features import Lexicon, window_width
from ..lexicon.vectors import read_rows
from ..nn.decode import constraints
from ..nn.embeddings import Embeddings
from ..nn.network import WindowNetwork
from .inference import WEIGHT_NAMES, NERModel

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"


def settings(config: Mapping[str, Any]) -> SimpleNamespace:
    """A model's config (a dict, as ``config.json`` holds it) read by attribute, as features read a config."""
    return SimpleNamespace(**config)


def new_tables(lexicon: Lexicon, config: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A new embedding table per feature, in column order: (n_rows, feature.dim(config)) each."""
    return {feature.name: feature.init_table(feature.dim(config), rng) for feature in lexicon}


def assemble(
    config: Mapping[str, Any],
    tags: Sequence[str],
    lexicon: Lexicon,
    *,
    rng: np.random.Generator | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
    decoder: tuple[np.ndarray, np.ndarray] | None = None,
    source: Path | None = None,
) -> NERModel:
    """The model of ``config`` (hyper-parameters: window, hidden, activation, head, l2, dropout and the features'
    fields), ``tags`` and ``lexicon``, with either new weights drawn from ``rng`` (the decoder's (start, trans):
    ``decoder``, BIO constraints without it) or the saved ``arrays`` (every feature table, W, b, U, start and
    trans), whose shapes are checked: a mismatch is a ModelError naming ``source``'s weights file."""
    tags = list(tags)
    hidden, m = int(config["hidden"]), window_width(config["window"])
    base = None if lexicon.pretrained is None else partial(read_rows, lexicon.pretrained.vectors)
    if rng is not None:
        tables = new_tables(lexicon, settings(config), rng)
        embeddings = Embeddings(tables, base=base, widths=lexicon.widths)
        net = WindowNetwork(
            m * embeddings.d_total,
            hidden,
            len(tags),
            activation=config["activation"],
            head=config["head"],
            l2=config.get("l2", 0.0),
            dropout=config.get("dropout", 0.0),
            random_state=rng,
        )
        start, trans = constraints(tags) if decoder is None else decoder
        return NERModel(dict(config), tags, lexicon, embeddings, net, start, trans)
    if arrays is None:
        raise TypeError("assemble needs rng (new weights) or arrays (saved ones)")
    _check_shapes(arrays, lexicon, hidden, m, len(tags), source)
    net = WindowNetwork(
        m * sum(arrays[c].shape[1] for c in lexicon.columns),
        hidden,
        len(tags),
        activation=config["activation"],
        head=config["head"],
        random_state=0,
    )
    net.params.update({name: arrays[name] for name in net.params})
    embeddings = Embeddings({name: arrays[name] for name in lexicon.columns}, base=base, widths=lexicon.widths)
    return NERModel(dict(config), tags, lexicon, embeddings, net, arrays["start"], arrays["trans"])


def _check_shapes(
    arrays: Mapping[str, np.ndarray], lexicon: Lexicon, hidden: int, m: int, n_tags: int, source: Path | None
) -> None:
    where = Path(".") if source is None else source
    missing = [n for n in WEIGHT_NAMES + lexicon.columns if n not in arrays]
    if missing:
        raise ModelError(f"{where / WEIGHTS_FILE}: arrays {', '.join(missing)} are missing; retrain the model")
    d_total = sum(arrays[c].shape[1] for c in lexicon.columns)
    expected: dict[str, tuple[int, ...]] = {c: (lexicon.table_rows(c), arrays[c].shape[1]) for c in lexicon.columns}
    expected.update(
        {
            "W": (hidden, m * d_total),
            "b": (hidden,),
            "U": (hidden, n_tags),
            "start": (n_tags,),
            "trans": (n_tags, n_tags),
        }
    )
    files = [CONFIG_FILE] + [f for feature in lexicon for f in feature.files]
    sources = f"{', '.join(files[:-1])} and {files[-1]}" if len(files) > 1 else files[0]
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ModelError(
                f"{where / WEIGHTS_FILE}: array {name} has shape {arrays[name].shape}, but {sources} "
                f"imply {shape}; the model files do not belong together — retrain"
            )
    for feature in lexicon:
        problem = feature.check_table(arrays[feature.name])
        if problem:
            raise ModelError(f"{where}: {problem}")
