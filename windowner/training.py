"""Training the window tagger by minibatch SGD, with dev-set early stopping."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Callable, Sequence

import numpy as np

from .decode import constraints, learned_transitions
from .errors import WindownerError
from .model import ACTIVATIONS, HEADS, WindowNetwork
from .ner import NERModel
from .optim import SGD, minibatches
from .windows import CASES, SPECIAL_WORDS, UNK_ROW, Lexicon, WindowInput


@dataclass
class TrainConfig:
    """Every hyper-parameter of a training run (all of it is saved in the model's config.json)."""

    vectors: str = "glove-6b-50d"  # embedded default, a vectors file, or "none" (random init)
    labels: list[str] | None = None  # entity types to learn; None: all types in the training data
    window: int = 2  # half-size k: windows of 2k+1 tokens
    hidden: int = 300
    activation: str = "tanh"
    head: str = "sigmoid"
    epochs: int = 15
    lr: float = 0.03
    momentum: float = 0.9
    decay: float = 0.05  # lr_t = lr / (1 + decay · epoch)
    batch_size: int = 64
    l2: float = 0.0
    dropout: float = 0.2
    word_dropout: float = 0.1  # in training, replace a window's word by <unk> with this probability
    fine_tune: bool = True  # update the word vectors
    embed_lr: float = 0.5  # learning-rate multiplier for the embedding tables (plain SGD)
    case_dim: int = 8
    suffix_dim: int = 16
    suffix_len: int = 3  # 0 turns the suffix feature off
    use_case: bool = True
    min_count: int = 2  # words absent from the vectors get a row when seen this often
    transitions: str = "constrained"  # or "learned": add training tag-bigram log-probabilities
    average_from: int = 3  # from this epoch on, also try the running average of epoch-end weights (0: off)
    patience: int = 4  # stop after this many epochs without dev F1 improvement
    seed: int = 0

    def validate(self) -> "TrainConfig":
        checks = [
            (self.window >= 0, f"window must be >= 0, got {self.window}"),
            (self.hidden >= 1, f"hidden must be >= 1, got {self.hidden}"),
            (self.activation in ACTIVATIONS, f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"),
            (self.head in HEADS, f"head must be one of {sorted(HEADS)}, got {self.head!r}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.lr > 0 and math.isfinite(self.lr), f"lr must be a positive number, got {self.lr}"),
            (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (self.batch_size >= 1, f"batch-size must be >= 1, got {self.batch_size}"),
            (0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}"),
            (0 <= self.word_dropout < 1, f"word-dropout must be in [0, 1), got {self.word_dropout}"),
            (self.transitions in ("constrained", "learned"), f"transitions must be constrained or learned, got {self.transitions!r}"),
            (self.patience >= 1, f"patience must be >= 1, got {self.patience}"),
        ]
        for ok, message in checks:
            if not ok:
                raise WindownerError(message)
        return self

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class TrainingDiverged(WindownerError):
    """The loss became NaN or infinite."""


def tag_set(tag_sequences, labels: Sequence[str] | None) -> list[str]:
    """"O" then B-/I- of each entity type, types sorted."""
    types = set(labels) if labels else {t[2:] for seq in tag_sequences for t in seq if t != "O"}
    if not types:
        raise WindownerError("the training data has no entities; check the tag column (--tag-column) and --labels")
    return ["O"] + [f"{p}-{t}" for t in sorted(types) for p in "BI"]


def _init_tables(lexicon: Lexicon, cfg: TrainConfig, rng: np.random.Generator):
    pretrained = lexicon.pretrained
    if pretrained is not None:
        dim = pretrained.dim
        scale = float(np.asarray(pretrained.vectors[:10000]).std())
    else:
        dim, scale = 50, 0.1
    E = rng.normal(0, scale, (lexicon.n_words, dim)).astype(np.float32)
    if pretrained is not None:
        rows = np.array([pretrained.index(w) for w in lexicon.words], dtype=np.int64)
        known = rows >= 0
        E[known] = pretrained.vectors[rows[known]]
    E[: len(SPECIAL_WORDS)] = rng.normal(0, scale, (len(SPECIAL_WORDS), dim))
    C = rng.normal(0, 0.1, (len(CASES), cfg.case_dim if cfg.use_case else 0)).astype(np.float32)
    F = rng.normal(0, 0.1, (len(lexicon.suffixes) + 2, cfg.suffix_dim if cfg.suffix_len else 0)).astype(np.float32)
    return E, C, F


def fit(train: Sequence[tuple[Sequence[str], Sequence[str]]], dev: Sequence[tuple[Sequence[str], Sequence[str]]] | None = None,
        config: TrainConfig | None = None, *, progress: bool = True, log: Callable[[str], None] | None = print,
        on_epoch: Callable[[NERModel, dict], None] | None = None) -> NERModel:
    """Train on (tokens, BIO2 tags) pairs; keep the epoch with the best dev F1 (or the last, without dev).

    Raises :class:`TrainingDiverged` on a NaN/inf loss (the best model so far is on the exception as
    ``.model``); a KeyboardInterrupt returns the best model so far, with ``model.interrupted = True``
    (it propagates if no epoch has finished yet).
    """
    from .metrics import evaluate

    cfg = (config or TrainConfig()).validate()
    train = [(list(t), list(g)) for t, g in train if len(t)]
    if not train:
        raise WindownerError("the training data has no sentences")
    rng = np.random.default_rng(cfg.seed)
    tags = tag_set((g for _, g in train), cfg.labels)
    if cfg.labels:  # types not asked for become O
        train = [(t, [x if x[2:] in cfg.labels else "O" for x in g]) for t, g in train]
    index = {t: i for i, t in enumerate(tags)}

    pretrained = None
    if cfg.vectors not in ("none", None):
        from .vectors import DEFAULT_VECTORS, load_vectors

        pretrained = load_vectors(cfg.vectors)
    lexicon = Lexicon.build((t for t, _ in train), pretrained, min_count=cfg.min_count, suffix_len=cfg.suffix_len)
    E, C, F = _init_tables(lexicon, cfg, rng)
    inputs = WindowInput(E, C, F, base=None if pretrained is None else pretrained.vectors)
    m = 2 * cfg.window + 1
    net = WindowNetwork(m * inputs.d_total, cfg.hidden, len(tags), activation=cfg.activation, head=cfg.head,
                        l2=cfg.l2, dropout=cfg.dropout, random_state=rng)
    config = asdict(cfg)
    config["vectors_embedded"] = pretrained is not None and cfg.vectors == DEFAULT_VECTORS
    start, trans = constraints(tags)
    if cfg.transitions == "learned":
        ls, lt = learned_transitions((g for _, g in train), tags)
        start, trans = start + ls, trans + lt
    model = NERModel(config, tags, lexicon, inputs, net, start, trans)

    feats = model.window_features([t for t, _ in train])  # (N, m, 3)
    y = np.array([index[tag] for _, g in train for tag in g])
    eye = np.eye(len(tags), dtype=np.float32)
    opt = SGD(cfg.lr, cfg.momentum, cfg.decay, clip=5.0)
    # the loss is a batch mean, so a row seen once gets 1/batch of its gradient: scale sparse steps back up
    emb_opt = SGD(cfg.lr * cfg.embed_lr * cfg.batch_size, 0.0, cfg.decay, clip=5.0)
    trainable = ["C", "F"] + (["E"] if cfg.fine_tune else [])

    avg, n_avg = None, 0
    best, best_f1, bad_epochs = None, -math.inf, 0  # without dev the score is -loss, which may be < -1
    model.history = []
    model.interrupted = False
    tqdm = _tqdm(progress)
    try:
        for epoch in range(cfg.epochs):
            opt.epoch = emb_opt.epoch = epoch
            t0 = time.perf_counter()
            total, seen = 0.0, 0
            batches = list(minibatches(len(y), cfg.batch_size, rng))
            bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False)
            for step, idx in enumerate(bar):
                batch = feats[idx]
                if cfg.word_dropout:  # teaches the <unk> row and the context to stand in for unseen words
                    batch = batch.copy()
                    batch[..., 0][rng.random(batch.shape[:2]) < cfg.word_dropout] = UNK_ROW
                X = inputs.forward(batch)
                J, grads = net.loss_and_grads(X, eye[y[idx]], train=True, need_dX=True)
                if not math.isfinite(J):
                    raise TrainingDiverged(f"the loss became {J} in epoch {epoch + 1}; try a smaller learning rate "
                                           f"(--lr {cfg.lr / 10:g})")
                opt.step(net.params, grads)
                for name, (rows, g) in inputs.backward(grads["X"]).items():
                    if name in trainable:
                        emb_opt.step_rows(inputs.tables[name], rows, g, name)
                total += J * len(idx)
                seen += len(idx)
                if step % 50 == 0 and hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{total / seen:.4f}")
            record = {"epoch": epoch + 1, "loss": total / seen, "seconds": time.perf_counter() - t0, "lr": opt.rate}
            if dev:
                rep = evaluate([g for _, g in dev], model.predict([t for t, _ in dev]))
                record.update(dev_precision=rep.overall.precision, dev_recall=rep.overall.recall, dev_f1=rep.overall.f1)
                score = rep.overall.f1
                if cfg.average_from and epoch + 1 >= cfg.average_from:
                    # Polyak averaging of epoch-end weights smooths SGD's epoch-to-epoch noise
                    n_avg += 1
                    weights = model.weights()
                    if avg is None:
                        avg = {k: v.astype(np.float64) for k, v in weights.items()}
                    else:
                        for k, v in weights.items():
                            avg[k] += (v - avg[k]) / n_avg
                    current = {k: v.copy() for k, v in weights.items()}
                    _restore(model, avg)
                    rep_avg = evaluate([g for _, g in dev], model.predict([t for t, _ in dev]))
                    record["dev_f1_average"] = rep_avg.overall.f1
                    if rep_avg.overall.f1 > score and rep_avg.overall.f1 > best_f1:
                        score = rep_avg.overall.f1
                        record.update(dev_precision=rep_avg.overall.precision, dev_recall=rep_avg.overall.recall,
                                      dev_f1=score, averaged=True)
                        best = {k: v.copy() for k, v in model.weights().items()}  # the average is the best
                    _restore(model, current)
            else:
                score = -record["loss"]
            model.history.append(record)
            # keep the best weights before reporting the epoch: a Ctrl-C after its line must find them
            if score > best_f1:
                best_f1, bad_epochs = score, 0
                if not record.get("averaged"):
                    best = {k: v.copy() for k, v in model.weights().items()}
                model.config["best_epoch"] = epoch + 1
                model.config["best_is_average"] = bool(record.get("averaged"))
            else:
                bad_epochs += 1
            if log:
                dev_part = (f"  dev P {record['dev_precision']:.4f} R {record['dev_recall']:.4f} "
                            f"F1 {record['dev_f1']:.4f}") if dev else ""
                log(f"epoch {epoch + 1:>3}  loss {record['loss']:.4f}{dev_part}  ({record['seconds']:.1f}s)")
            if on_epoch:
                on_epoch(model, record)
            if bad_epochs >= cfg.patience:
                if log:
                    log(f"no dev improvement for {cfg.patience} epochs: stopping")
                break
    except TrainingDiverged as exc:
        _restore(model, best)
        exc.model = model if best is not None else None
        raise
    except KeyboardInterrupt:
        if best is None:  # no epoch finished: there is no model worth keeping
            raise
        model.interrupted = True
    _restore(model, best)
    return model


def _restore(model: NERModel, best: dict | None) -> None:
    if best is None:
        return
    for name, arr in model.weights().items():
        arr[...] = best[name]  # in place (cast to the weights' dtype): layers keep their references


def _tqdm(enabled: bool):
    if not enabled:
        return lambda it, **kw: it
    from tqdm.auto import tqdm

    return tqdm
