"""The one schema of training hyper-parameters.

:class:`TrainConfig` lists every hyper-parameter once, with its default, help text, choices and bounds.
From it come the flags of ``windowner train`` (:func:`add_arguments`), the keyword arguments of
``windowner.train`` and of the scikit-learn estimator, and the validation of all three
(:meth:`TrainConfig.validate`). The whole config is saved in a model's ``config.json``.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from ..errors import WindownerError
from ..nn.calibration import METHODS as CALIBRATION_METHODS
from ..nn.decode import TRANSITIONS
from ..nn.network import ACTIVATIONS, HEADS


def param(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    high_open: bool = False,
    low_open: bool = False,
    choices: tuple | None = None,
    flag: str | None = None,
    metavar: str | None = None,
):
    """A hyper-parameter field: ``low``/``high`` bound it (``*_open``: the bound itself is excluded),
    ``choices`` lists its values, ``flag`` names its CLI flag when it is not ``--name-with-dashes``
    (a ``--no-…`` flag turns a True default off)."""
    return field(
        default=default,
        metadata=dict(
            help=help,
            low=low,
            high=high,
            low_open=low_open,
            high_open=high_open,
            choices=choices,
            flag=flag,
            metavar=metavar,
        ),
    )


@dataclass
class TrainConfig:
    """Every hyper-parameter of a training run (all of it is saved in the model's config.json)."""

    vectors: str = param(
        "glove-6b-50d", "glove-6b-50d (embedded, default), a GloVe/word2vec file, or none", metavar="SPEC"
    )
    labels: list[str] | None = param(None, "entity types to learn (default: all in --train)", metavar="A,B,...")
    window: int = param(2, "window half-size k (2k+1 tokens)", low=0)
    hidden: int = param(300, "hidden units", low=1)
    activation: str = param("tanh", "hidden-layer activation f", choices=tuple(sorted(ACTIVATIONS)))
    head: str = param("sigmoid", "output head: per-class sigmoid or softmax", choices=tuple(sorted(HEADS)))
    epochs: int = param(12, "maximum number of epochs", low=1)
    lr: float = param(0.1, "learning rate", low=0, low_open=True)
    momentum: float = param(0.9, "SGD momentum", low=0, high=1, high_open=True)
    decay: float = param(0.05, "learning-rate decay: lr / (1 + decay·epoch)", low=0)
    batch_size: int = param(256, "windows per minibatch", low=1)
    o_window_keep: float = param(
        0.3,
        "share of the easy windows (every tag in the window O, the word not "
        "capitalised) trained on in each epoch, a new sample each epoch, each weighted by "
        "1/share so that the expected loss is unchanged; below 1 an epoch takes fewer steps",
        low=0,
        low_open=True,
        high=1,
        metavar="SHARE",
    )
    l2: float = param(0.0, "L2 penalty on W and U", low=0)
    dropout: float = param(0.2, "dropout on the hidden layer", low=0, high=1, high_open=True)
    word_dropout: float = param(
        0.1, "probability of replacing a word by <unk> while training", low=0, high=1, high_open=True
    )
    fine_tune: bool = param(True, "keep the word vectors fixed", flag="--no-fine-tune")
    embed_lr: float = param(0.5, "learning-rate multiplier for the embedding tables", low=0, low_open=True)
    case_dim: int = param(8, "size of the casing embedding", low=1)
    suffix_dim: int = param(16, "size of the suffix embedding", low=1)
    suffix_len: int = param(3, "suffix feature length (0: off)", low=0)
    prefix_len: int = param(0, "prefix feature length (0: off)", low=0)
    prefix_dim: int = param(16, "size of the prefix embedding", low=1)
    shape_dim: int = param(0, "size of the word-shape embedding (0: off)", low=0)
    gazetteer_dim: int = param(
        0,
        "size of the gazetteer-membership embedding (0: off; lists of countries, cities, "
        "regions and names from PyPI data packages, stored in the model)",
        low=0,
    )
    cluster_dim: int = param(
        0, "size of the word-cluster embedding (0: off; k-means clusters of the pretrained vectors)", low=0
    )
    vector_clusters: int = param(256, "number of k-means clusters of the pretrained vectors (--cluster-dim)", low=2)
    clusters: str | None = param(
        None,
        "Brown cluster file (PATH<TAB>WORD[<TAB>COUNT] per line, e.g. from `windowner clusters train`): each "
        "token gets its cluster path prefixes at --brown-depths; the file's words are stored in the model",
        metavar="FILE",
    )
    brown_dim: int = param(64, "size of the Brown-cluster embedding (with --clusters)", low=1)
    brown_depths: str = param(
        "4,6,10,20", "Brown cluster path prefix lengths, in bits (with --clusters)", metavar="BITS,..."
    )
    gazetteers: str | None = param(
        None,
        "folder of gazetteer lists, TYPE/NAME.lst with one entry per line, or 'packages' (the country, city, "
        "region and name lists of the data packages windowner installs): each token gets B/I of the longest "
        "matches (cased and lowercased) per type or list; the lists are stored in the model",
        metavar="DIR",
    )
    lists_dim: int = param(32, "size of the gazetteer-list match embedding (with --gazetteers)", low=1)
    lists_by: str = param("type", "gazetteer-list matches per entity type or per list", choices=("type", "list"))
    ngram_dim: int = param(
        0,
        "size of the hashed character n-gram embedding (0: off; the mean of the rows of the "
        "word's 3- to 5-grams, fastText-style buckets)",
        low=0,
    )
    ngram_buckets: int = param(65535, "hash buckets (rows) of the character n-gram table", low=1, high=65535)
    entity_replacement: float = param(
        0.0,
        "share of the training sentences with a PER or LOC mention that are added again with each such mention "
        "replaced by a random name of its type from the data packages' lists (0: off)",
        low=0,
        high=1,
        metavar="SHARE",
    )
    use_case: bool = param(True, "turn the casing feature off", flag="--no-case")
    min_count: int = param(2, "words absent from the vectors get a row when seen this often", low=1)
    transitions: str = param(
        "constrained", "decoder: BIO constraints only, or plus learned tag-bigram scores", choices=TRANSITIONS
    )
    average_from: int = param(
        3,
        "from this epoch on, score on dev and keep the running average of the epoch-end weights (0: off)",
        low=0,
        metavar="EPOCH",
    )
    patience: int = param(4, "epochs without dev improvement before stopping", low=1)
    calibration: str = param(
        "temperature",
        "map from lattice probabilities to calibrated scores, fitted on the "
        "held-out training sentences (none: raw probabilities)",
        choices=CALIBRATION_METHODS,
    )
    calibration_data: str = param(
        "dev",
        "what the calibration is fitted on: the --dev sentences (when given; else "
        "as held-out), or held-out training sentences (--calibration-split)",
        choices=("dev", "held-out"),
    )
    calibration_split: float = param(
        0.1,
        "fraction of the training sentences (the last ones) held out from SGD to "
        "fit the calibration (0: no calibration)",
        low=0,
        high=0.5,
        metavar="FRACTION",
    )
    calibration_refit: bool = param(
        True,
        "do not train again on all sentences after fitting the calibration "
        "(half the training time; the model never sees the held-out sentences)",
        flag="--no-calibration-refit",
    )
    seed: int = param(0, "random seed (same data, options and seed: the same weights)")

    def validate(self) -> TrainConfig:
        """Check every value against the schema; raise :class:`WindownerError` naming the flag and the rule."""
        for f in fields(self):
            problem = check_value(f, getattr(self, f.name))
            if problem:
                raise WindownerError(f"{f.name.replace('_', '-')} {problem}")
        return self


# the settings that fix a model's shapes (tables, network, vectors): training on from a model takes them from it
SHAPE_FIELDS = (
    "vectors",
    "window",
    "hidden",
    "activation",
    "head",
    "use_case",
    "case_dim",
    "suffix_len",
    "suffix_dim",
    "prefix_len",
    "prefix_dim",
    "shape_dim",
    "gazetteer_dim",
    "cluster_dim",
    "vector_clusters",
    "clusters",
    "brown_dim",
    "brown_depths",
    "gazetteers",
    "lists_dim",
    "lists_by",
    "ngram_dim",
    "ngram_buckets",
)


def with_shapes_of(cfg: TrainConfig, model_config: dict[str, Any], source: str = "the initial model") -> TrainConfig:
    """``cfg`` with the :data:`SHAPE_FIELDS` of a trained model's config (``model_config``: its ``config.json``);
    the optimisation settings stay ``cfg``'s. A shape field that ``cfg`` sets to neither its default nor the
    model's value is a :class:`WindownerError` naming the flag, both values and ``source``."""
    values = dict(vars(cfg))
    schema = {f.name: f for f in fields(TrainConfig)}
    conflicts = []
    for name in SHAPE_FIELDS:
        if name not in model_config:
            continue
        theirs, ours = model_config[name], values[name]
        if ours != theirs and ours != schema[name].default:
            flag = schema[name].metadata["flag"] or "--" + name.replace("_", "-")
            conflicts.append(f"{flag} {ours} (the model has {theirs})")
        values[name] = theirs
    if conflicts:
        raise WindownerError(
            f"{'; '.join(conflicts)}: the shapes of a model trained on from {source} are its own; "
            "leave out these settings, or train a new model without --init-model"
        )
    return TrainConfig(**values).validate()


def check_value(f, value) -> str | None:
    """What is wrong with ``value`` for the schema field ``f`` ("must be …, got …"), or None."""
    meta = f.metadata
    kind = type(f.default) if f.default is not None else None
    if f.name == "labels":
        ok = value is None or (isinstance(value, (list, tuple)) and all(isinstance(x, str) and x for x in value))
        return None if ok else f"must be None or a list of entity types, got {value!r}"
    if f.default is None:
        return None if value is None or isinstance(value, str) else f"must be a path or None, got {value!r}"
    if kind is bool:
        return None if isinstance(value, bool) else f"must be True or False, got {value!r}"
    if kind in (int, float):
        numeric = (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and (kind is float or float(value).is_integer())
        )
        if not numeric or not math.isfinite(value):
            return f"must be {'an integer' if kind is int else 'a number'}, got {value!r}"
    if meta["choices"] is not None and value not in meta["choices"]:
        return f"must be one of {list(meta['choices'])}, got {value!r}"
    low, high = meta["low"], meta["high"]
    if (
        low is not None
        and high is not None
        and not (_above(value, low, meta["low_open"]) and _below(value, high, meta["high_open"]))
    ):
        return (
            f"must be in {'(' if meta['low_open'] else '['}{low:g}, {high:g}{')' if meta['high_open'] else ']'}, "
            f"got {value}"
        )
    if low is not None and high is None and not _above(value, low, meta["low_open"]):
        return f"must be {'>' if meta['low_open'] else '>='} {low:g}, got {value}"
    if kind is str and not isinstance(value, str):
        return f"must be a str, got {type(value).__name__}"
    return None


def _above(value, low, open_: bool) -> bool:
    return value > low if open_ else value >= low


def _below(value, high, open_: bool) -> bool:
    return value < high if open_ else value <= high


def defaults() -> dict[str, Any]:
    """{name: default} of every hyper-parameter, in schema order."""
    return {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}


def add_arguments(parser) -> None:
    """One CLI flag per hyper-parameter: ``--name-with-dashes`` (or the field's own ``flag``) with its help,
    type, choices and default. Values are checked by :meth:`TrainConfig.validate` after parsing."""
    g = parser.add_argument_group("hyper-parameters")
    for f in fields(TrainConfig):
        meta = f.metadata
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            g.add_argument(flag, dest=f.name, action="store_false" if f.default else "store_true", help=meta["help"])
            continue
        kind = str if f.default is None else type(f.default)
        default_text = "" if f.default is None else f" (default: {f.default})"
        g.add_argument(
            flag,
            dest=f.name,
            type=kind,
            default=f.default,
            choices=meta["choices"],
            metavar=meta["metavar"],
            help=meta["help"] + default_text,
        )


PATH_FIELDS = ("clusters", "gazetteers", "vectors")  # a recipe's relative paths are relative to its file


def read_recipe(spec: str) -> dict[str, Any]:
    """The settings of a recipe: ``FILE`` (a JSON object of TrainConfig fields) or ``FILE:NAME`` (the recipe
    ``NAME`` of a JSON object of named recipes, such as ``benchmarks/recipes.json``). Relative paths of the
    resource fields (``clusters``, ``gazetteers``, a ``vectors`` file) are taken from the file's folder.
    :class:`WindownerError` naming the file and the problem."""
    import json
    from pathlib import Path

    path, name = Path(spec), None
    if not path.exists() and ":" in spec:
        head, name = spec.rsplit(":", 1)
        path = Path(head)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WindownerError(f"{path}: no such recipe file; give FILE or FILE:NAME of a JSON recipe") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise WindownerError(f"{path}: not a JSON recipe ({exc})") from None
    if name is not None:
        if not isinstance(data, dict) or not isinstance(data.get(name), dict):
            known = ", ".join(k for k, v in data.items() if isinstance(v, dict)) if isinstance(data, dict) else ""
            raise WindownerError(f"{path}: no recipe named {name!r} (it holds: {known or 'none'})")
        data = data[name]
    if not isinstance(data, dict):
        raise WindownerError(f"{path}: a recipe is a JSON object of settings, found {type(data).__name__}")
    schema = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - schema)
    if unknown:
        raise WindownerError(f"{spec}: unknown setting(s) {', '.join(unknown)}; a recipe holds TrainConfig fields")
    recipe = dict(data)
    for key in PATH_FIELDS:
        value = recipe.get(key)
        if isinstance(value, str) and (key != "vectors" or any(c in value for c in "/\\.")):
            resolved = path.parent / value
            if not Path(value).is_absolute() and resolved.exists():
                recipe[key] = str(resolved)
    return recipe


def from_arguments(args, **overrides) -> TrainConfig:
    """The validated :class:`TrainConfig` of parsed CLI ``args`` (``overrides`` replace fields, e.g. parsed labels);
    with ``args.recipe``, the recipe's settings replace the defaults, and flags set to other values win."""
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    recipe = read_recipe(args.recipe) if getattr(args, "recipe", None) else {}
    schema = defaults()
    for key, value in recipe.items():
        if values[key] == schema[key]:
            values[key] = value
    for key, value in overrides.items():
        if not (value is None and key in recipe):  # an override left unset keeps the recipe's value
            values[key] = value
    return TrainConfig(**values).validate()
