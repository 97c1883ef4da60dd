"""Training the window tagger by minibatch SGD, with dev-set early stopping; checking training data."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict

import numpy as np

from ..errors import LabelWarning, WindownerError
from ..evaluation.confidence import Outcomes, expected_calibration_error
from ..features import Lexicon
from ..lexicon.vectors import DEFAULT_VECTORS, load_vectors
from ..nn.calibration import Calibration, fit_map
from ..nn.decode import constraints, learned_transitions
from ..text.conventions import TokenizerRules, learn_rules, spacy_tables
from ..text.tags import entity_counts, format_counts, to_bio2
from ..text.tokenizer import TokenizerTables
from . import loop
from .assembly import assemble
from .augment import replace_entities
from .config import TrainConfig, with_shapes_of
from .inference import NERModel
from .loop import TrainingDiverged, Windows

__all__ = [
    "TrainingDiverged",
    "as_sentences",
    "calibrate",
    "check_labels",
    "check_tagged",
    "easy_windows",
    "fit",
    "initialize",
    "initialize_from",
    "only_labels",
    "split_for_calibration",
    "tag_set",
    "training_windows",
]

Pairs = Sequence[tuple[Sequence[str], Sequence[str]]]


def as_sentences(data, name: str) -> list[list]:
    """``data`` as a list of lists (one per sentence); TypeError naming ``name`` for anything else."""
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise TypeError(
            f"{name} must be a list of sentences, each a list of str "
            f"(e.g. [['Obama', 'visited', 'Paris']]), got {type(data).__name__}"
        )
    out = []
    for i, seq in enumerate(data):
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Iterable):
            raise TypeError(
                f"{name}[{i}] is {type(seq).__name__}, not a list of str; {name} must be a list of "
                "sentences, each a list of str (e.g. [['Obama', 'visited', 'Paris']])"
            )
        out.append(list(seq))
    return out


def check_tagged(
    sentences: Iterable, tag_lists: Iterable, scheme: str = "bio2", names: tuple[str, str] = ("X", "y")
) -> list[tuple[list[str], list[str]]]:
    """Validate parallel lists of token lists and tag lists -> (tokens, BIO2 tags) pairs.

    Tags of ``scheme`` ("bio2", "iob1", "bioes", "io" or "auto") are converted to BIO2.
    Errors name the sentence (``X[3]``) and say what is expected.
    """
    xs, ys = as_sentences(sentences, names[0]), as_sentences(tag_lists, names[1])
    if len(xs) != len(ys):
        raise ValueError(
            f"{names[0]} has {len(xs)} sentences but {names[1]} has {len(ys)}; give one tag list per token list"
        )
    pairs = []
    for i, (toks, tags) in enumerate(zip(xs, ys)):
        for what, seq in ((names[0], toks), (names[1], tags)):
            for j, item in enumerate(seq):
                if not isinstance(item, str):
                    raise TypeError(f"{what}[{i}][{j}] is {type(item).__name__}; tokens and tags must be str")
        if len(toks) != len(tags):
            raise ValueError(f"{names[0]}[{i}] has {len(toks)} tokens but {names[1]}[{i}] has {len(tags)} tags")
        try:
            bio2, _ = to_bio2(tags, scheme)
        except ValueError as exc:
            raise ValueError(f"{names[1]}[{i}]: {exc}") from None
        pairs.append((toks, bio2))
    return pairs


def tag_set(tag_sequences, labels: Sequence[str] | None) -> list[str]:
    """ "O" then B-/I- of each entity type, types sorted."""
    types = set(labels) if labels else {t[2:] for seq in tag_sequences for t in seq if t != "O"}
    if not types:
        raise WindownerError("the training data has no entities; check the tag column (--tag-column) and --labels")
    return ["O"] + [f"{p}-{t}" for t in sorted(types) for p in "BI"]


def fit(
    train: Pairs,
    dev: Pairs | None = None,
    config: TrainConfig | None = None,
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    on_epoch: Callable[[NERModel, dict], None] | None = None,
    init_model: NERModel | None = None,
) -> NERModel:
    """Train on (tokens, BIO2 tags) pairs; keep the epoch with the best dev F1 (or the last, without dev).

    ``init_model``: train on from this trained model (:func:`initialize_from`, which leaves it unchanged) instead
    of from random weights; the settings that fix shapes come from it (:func:`~.config.with_shapes_of`: a
    conflicting one in ``config`` is a WindownerError), the optimisation settings from ``config``.

    Calibration (unless ``config.calibration`` is "none"): with ``dev`` and ``calibration_data="dev"`` (the
    default), the model trains once on all the training sentences and the calibration maps are fitted on
    what it predicts for the dev sentences (:func:`calibrate`; temperature scaling on the validation set, as
    Guo et al. 2017 fit it). Otherwise (no dev, or ``calibration_data="held-out"``) the last
    ``calibration_split`` of the training sentences are held out from SGD (and from the lexicon), and the maps
    are fitted on what that model predicts for them; with ``calibration_refit`` (the default) the model is
    then trained again, exactly as without calibration, on all the sentences, and the maps carry over to it
    (as scikit-learn's ``CalibratedClassifierCV(ensemble=False)`` does): the tags are those of an
    uncalibrated run, at twice the training time.

    The facts of the run (best epoch, training time, calibration, interruption) are in ``model.run``. Raises
    :class:`TrainingDiverged` on a NaN/inf loss (the best model so far is the exception's ``.model``); a
    KeyboardInterrupt returns the best model so far, with ``model.run.interrupted`` True (it propagates if no
    epoch has finished yet).
    """
    t0 = time.perf_counter()
    cfg = (config or TrainConfig()).validate()
    if init_model is not None:
        cfg = with_shapes_of(cfg, init_model.config)
    train = list(train)
    check_labels(train, dev, cfg.labels)
    if dev:  # scored, and calibrated on, the types the model learns
        dev = only_labels(dev, cfg.labels)
    args: dict = dict(progress=progress, log=log, on_epoch=on_epoch, init_model=init_model)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="windowner-tokenizer") as pool:
        # how the training data is tokenized, so that raw text is cut into tokens the same way (tokenizer.json):
        # learned from all the training sentences, in pure Python, while SGD runs in numpy; with the tables of the
        # spaCy tokenizer they make, which tag raw text without spaCy
        learned = pool.submit(_tokenizer_conventions, [t for t, _ in train])
        try:
            model = _fit_calibrated(train, dev, cfg, args)
        except TrainingDiverged as exc:
            if exc.model is not None:
                _finish(exc.model, learned.result(), t0)
            raise
        _finish(model, learned.result(), t0)
    return model


def check_labels(train: Pairs, dev: Pairs | None, labels: Sequence[str] | None) -> None:
    """Say what ``labels`` drops or never sees, one :class:`~windowner.errors.LabelWarning` each: entity types of
    the training or dev data outside ``labels`` (turned into O), and ``labels`` that never occur in the training
    data or in the dev data. WindownerError if no label occurs in the training data at all."""
    if not labels:
        return
    counts = {"training": entity_counts(g for _, g in train)}
    if dev:
        counts["dev"] = entity_counts(g for _, g in dev)
    held = counts["training"]
    if not any(held[label] for label in labels):
        raise WindownerError(
            f"no entity of the labels {', '.join(labels)} occurs in the training data (its entities: "
            f"{format_counts(held)}); check --labels, --map and --tag-column"
        )
    for split, found in counts.items():
        other = {t: n for t, n in found.items() if t not in labels}
        if other:
            warnings.warn(
                LabelWarning(
                    f"{split} data: entity types not in labels {','.join(labels)} turned into O: {format_counts(other)}"
                ),
                stacklevel=3,
            )
    unseen = [label for label in labels if not held[label]]
    if unseen:
        where = f" (dev data: {format_counts({t: counts['dev'][t] for t in unseen})})" if dev else ""
        warnings.warn(
            LabelWarning(
                f"labels that never occur in the training data: {', '.join(unseen)}{where}; the model cannot learn them"
            ),
            stacklevel=3,
        )
    if dev:
        untested = [label for label in labels if held[label] and not counts["dev"][label]]
        if untested:
            warnings.warn(
                LabelWarning(
                    f"labels that never occur in the dev data: {', '.join(untested)}; dev F1 does not measure them"
                ),
                stacklevel=3,
            )


def _finish(model: NERModel, conventions: tuple[TokenizerRules, TokenizerTables], t0: float) -> None:
    model.tokenizer_rules, model.tokenizer_tables = conventions
    model.run.train_seconds = round(time.perf_counter() - t0, 2)


def _tokenizer_conventions(sentences: list) -> tuple[TokenizerRules, TokenizerTables]:
    rules = learn_rules(sentences)
    return rules, spacy_tables(rules)


def _fit_calibrated(train: Pairs, dev: Pairs | None, cfg: TrainConfig, args: dict) -> NERModel:
    """The calibrated model of :func:`fit` (without its tokenizer rules): trained by :func:`_train`, then
    calibrated on dev, or on held-out sentences (and trained again on all of them: :func:`_refit`)."""
    pairs, tags = _training_pairs(train, cfg)
    if args["init_model"] is not None:  # its types, and those of the new data
        tags = tag_set((), sorted(set(args["init_model"].labels) | {t[2:] for t in tags if t != "O"}))
    if dev and cfg.calibration != "none" and cfg.calibration_data == "dev":
        model = _train(pairs, tags, dev, cfg, args)
        calibrate(model, dev, cfg.calibration, fitted_on="dev")  # fit() kept only the labels
        return model
    sgd, held_out = split_for_calibration(pairs, cfg)
    model = _train(sgd, tags, dev, cfg, args)
    if not held_out:
        model.run.calibration_note = _uncalibrated_note(cfg, len(pairs))
        return model
    calibrate(model, held_out, cfg.calibration)
    if not cfg.calibration_refit or model.run.interrupted:
        return model
    return _refit(model, pairs, tags, dev, cfg, args)


def _refit(first: NERModel, pairs: list, tags: list[str], dev: Pairs | None, cfg: TrainConfig, args: dict) -> NERModel:
    """Train again on all the sentences, exactly as without calibration; the maps of ``first`` (trained without
    the held-out sentences, and calibrated on them) carry over. A Ctrl-C before an epoch of this run has
    finished returns ``first``."""
    assert first.calibration is not None
    if args["log"]:
        args["log"](
            f"calibration fitted on {first.calibration.info['held_out_sentences']} held-out sentences; "
            "training again on all sentences"
        )
    try:
        final = _train(pairs, tags, dev, cfg, args)
    except TrainingDiverged as exc:
        if exc.model is not None:
            exc.model.calibration = first.calibration
            exc.model.run.calibrated = True
        raise
    except KeyboardInterrupt:  # no epoch of the second run finished: the calibrated first model is the best
        first.run.interrupted = True
        return first
    dev_f1 = [h["dev_f1"] for h in first.history if "dev_f1" in h]
    info = {
        "calibration_model_best_epoch": first.run.best_epoch,
        "calibration_model_dev_f1": max(dev_f1) if dev_f1 else None,
    }
    final.calibration = Calibration(
        first.calibration.entity, first.calibration.token, {**first.calibration.info, "refit": True, **info}
    )
    final.run.calibrated = True
    return final


def _uncalibrated_note(cfg: TrainConfig, n_sentences: int) -> str:
    """Why a model trained with ``cfg`` on ``n_sentences`` has no calibration maps."""
    raw = "scores are raw lattice probabilities, not calibrated"
    if cfg.calibration == "none":
        return f"trained with --calibration none: {raw}"
    return (
        f"no dev data for calibration, and calibration_split {cfg.calibration_split:g} of {n_sentences} "
        f"training sentences holds none out: {raw}"
    )


def _training_pairs(train: Pairs, cfg: TrainConfig) -> tuple[list, list[str]]:
    """(the non-empty (tokens, BIO2 tags) pairs with tags of other types than ``cfg.labels`` turned to O, the
    tag set)."""
    pairs = [(list(t), list(g)) for t, g in train if len(t)]
    if not pairs:
        raise WindownerError("the training data has no sentences")
    tags = tag_set((g for _, g in pairs), cfg.labels)
    pairs = only_labels(pairs, cfg.labels)
    if cfg.entity_replacement > 0:  # its own random stream: the rest of training draws as without it
        pairs = pairs + replace_entities(pairs, cfg.entity_replacement, np.random.default_rng([cfg.seed, 27]))
    return pairs, tags


def _train(pairs: list, tags: list[str], dev: Pairs | None, cfg: TrainConfig, args: dict) -> NERModel:
    """One training run: the untrained model of ``pairs`` (:func:`initialize`; :func:`initialize_from`
    ``args["init_model"]`` when it is one), then the epochs (:func:`windowner.model.loop.train`); ``cfg.seed``
    seeds both."""
    rng = np.random.default_rng(cfg.seed)
    args = dict(args)
    init_model = args.pop("init_model", None)
    if init_model is None:
        model = initialize(pairs, tags, cfg, rng)
    else:
        model = initialize_from(init_model, pairs, tags, cfg, rng)
    return loop.train(model, training_windows(model, pairs, cfg), cfg, rng, dev, **args)


def training_windows(model: NERModel, pairs: Pairs, cfg: TrainConfig) -> Windows:
    """The windows of the (tokens, BIO2 tags) ``pairs`` for SGD: feature ids, tag indices, the easy windows."""
    index = {t: i for i, t in enumerate(model.tags)}
    feats = model.window_features([t for t, _ in pairs])  # (N, m, c)
    y = np.array([index[tag] for _, g in pairs for tag in g])
    easy = easy_windows(pairs, cfg.window) if cfg.o_window_keep < 1 else None
    return Windows(feats, y, easy)


def initialize(train: Pairs, tags: Sequence[str], cfg: TrainConfig, rng: np.random.Generator) -> NERModel:
    """An untrained model for the (tokens, BIO2 tags) pairs ``train``: the pretrained vectors the config asks for,
    the lexicon of the training tokens (each registered feature the config enables, fitted with its resources),
    then (:func:`~windowner.model.assembly.assemble`) the embedding tables, the network and the decoder's
    transitions."""
    pretrained = None
    if cfg.vectors not in ("none", None):
        pretrained = load_vectors(cfg.vectors)
    lexicon = Lexicon.build((t for t, _ in train), pretrained, cfg)
    config = asdict(cfg)
    config["vectors_embedded"] = pretrained is not None and cfg.vectors == DEFAULT_VECTORS
    return assemble(config, tags, lexicon, rng=rng, decoder=_decoder(train, tags, cfg))


def _decoder(train: Pairs, tags: Sequence[str], cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(start (K,), trans (K, K)): the BIO constraints of ``tags``, plus the learned tag-bigram scores of
    ``train`` if ``cfg.transitions`` is "learned"."""
    start, trans = constraints(tags)
    if cfg.transitions == "learned":
        ls, lt = learned_transitions((g for _, g in train), tags)
        start, trans = start + ls, trans + lt
    return start, trans


def initialize_from(
    model: NERModel, train: Pairs, tags: Sequence[str], cfg: TrainConfig, rng: np.random.Generator
) -> NERModel:
    """The untrained model of :func:`initialize` grown from a trained ``model`` (left unchanged) instead: its
    lexicon extended by the tokens of ``train`` (:meth:`~windowner.features.Lexicon.extend`: old ids keep their
    rows, new ones are drawn as :func:`initialize` draws them), its W and b, and its U column of each tag of
    ``tags`` it has (the others drawn like new ones: ``tags`` must hold all of ``model.tags``); the decoder made
    again for ``tags`` (as :func:`initialize` makes it). ``cfg`` must have ``model``'s shape settings
    (:func:`~.config.with_shapes_of`). Tables (n_rows', d) ⊇ the old (n_rows, d); U (hidden, K') ⊇ (hidden, K)."""
    missing = [t for t in model.tags if t not in tags]
    if missing:
        raise ValueError(f"tags must hold every tag of the initial model; missing: {', '.join(missing)}")
    lexicon = model.lexicon.extend((t for t, _ in train), cfg)
    config = asdict(cfg)
    config["vectors_embedded"] = bool(model.config.get("vectors_embedded", False))
    grown = assemble(config, tags, lexicon, rng=rng, decoder=_decoder(train, tags, cfg))
    for name, old in model.embeddings.tables.items():
        new = grown.embeddings.tables[name]
        if new.shape[1] != old.shape[1] or len(new) < len(old):
            raise WindownerError(
                f"table {name}: the grown table is {new.shape}, the initial model's {old.shape}; "
                "train the model on with its own settings (--init-model takes them from it)"
            )
        new[: len(old)] = old
    params = grown.net.params
    for name in ("W", "b"):
        if params[name].shape != model.net.params[name].shape:
            raise WindownerError(f"{name} is {params[name].shape}, the initial model's {model.net.params[name].shape}")
        params[name][...] = model.net.params[name]
    column = {t: i for i, t in enumerate(model.tags)}
    for j, tag in enumerate(tags):
        if tag in column:
            params["U"][:, j] = model.net.params["U"][:, column[tag]]
    grown.weights_changed()
    return grown


def easy_windows(pairs: Pairs, window: int) -> np.ndarray:
    """(N,) bool over the tokens of the (tokens, tags) ``pairs``: is every tag within ``window`` of the token (in
    its sentence) O, and does the token not start with a capital letter? Those windows are sampled by
    ``o_window_keep``; capitalised words tagged O (titles, sentence starts, names left out) are the hard
    negatives, and sampling them too cost 0.2 F1 points on gmb (benchmarks/RESULTS.md)."""
    lengths = np.fromiter((len(t) for t, _ in pairs), dtype=np.int64, count=len(pairs))
    n = int(lengths.sum())
    entity = np.fromiter((t != "O" for _, tags in pairs for t in tags), dtype=np.int64, count=n)
    capital = np.fromiter((w[:1].isupper() for words, _ in pairs for w in words), dtype=bool, count=n)
    near = np.concatenate([[0], np.cumsum(entity)])  # entity tags among tokens [a, b) = near[b] - near[a]
    ends = np.cumsum(lengths)
    i = np.arange(n)
    lo = np.maximum(i - window, np.repeat(ends - lengths, lengths))
    hi = np.minimum(i + window + 1, np.repeat(ends, lengths))
    return (near[hi] - near[lo] == 0) & ~capital


def only_labels(pairs: Pairs, labels: Sequence[str] | None) -> list:
    """(tokens, BIO2 tags) pairs with the tags of types not in ``labels`` turned to O (all kept without labels)."""
    if not labels:
        return list(pairs)
    return [(t, [x if x[2:] in labels else "O" for x in g]) for t, g in pairs]


def split_for_calibration(train: list, cfg: TrainConfig) -> tuple[list, list]:
    """(sentences for SGD, sentences held out for calibration): the last ``cfg.calibration_split`` of
    ``train`` (a contiguous block, like a dev set), none if the calibration is off or nothing would be left."""
    if cfg.calibration == "none" or cfg.calibration_split == 0:
        return train, []
    n = round(len(train) * cfg.calibration_split)
    if n == 0 or n == len(train):
        return train, []
    return train[:-n], train[-n:]


def calibrate(model: NERModel, held_out: Pairs, method: str, fitted_on: str = "held-out") -> Calibration:
    """Fit ``model.calibration`` on (tokens, BIO2 tags) that SGD did not train on (held-out training sentences,
    or the dev set): the entity map on the raw scores of the predicted entities against "exactly right", the
    token map on each token's raw tag probability against "tag right". ``info`` records what it was fitted
    on (``fitted_on``: "held-out" or "dev") and the expected calibration error there; ``model.run.calibrated``
    becomes True."""
    model.calibration = None  # raw lattice probabilities
    seen = Outcomes()
    seen.add([g for _, g in held_out], model.predict_scored([t for t, _ in held_out]))
    scores, correct = seen.entity_scores, seen.entity_correct
    entity, token = fit_map(method, scores, correct), fit_map(method, seen.token_proba, seen.token_right)
    info = {
        "method": method,
        "fitted_on": fitted_on,
        "held_out_sentences": len(held_out),
        "held_out_gold_entities": seen.n_gold,
        "entities": len(scores),
        "tokens": len(seen.token_proba),
        "entity_ece_raw": expected_calibration_error(scores, correct),
        "entity_ece_fitted": expected_calibration_error(entity(scores), correct),
    }
    model.calibration = Calibration(entity, token, info)
    model.run.calibrated, model.run.calibration_note = True, None
    return model.calibration
