"""The training loop: minibatch SGD as a generator over epochs, and the steps composed around it.

As in spaCy's ``train_while_improving``, the loop is a generator and its caller decides when to stop:

- :func:`sgd_epochs` runs the SGD steps and yields each epoch's record, the model at its epoch-end weights;
  a NaN/inf loss raises :class:`TrainingDiverged`.
- :func:`train_while_improving` scores each epoch (:class:`DevEvaluation`: dev F1, of the running
  :class:`PolyakAverage` from ``average_from`` on; :func:`loss_evaluation` without dev: -loss), keeps the best
  weights (:class:`BestWeights`), records the epoch in ``model.history`` and ``model.run`` and yields an
  :class:`EpochResult`.
- :func:`train` drives it for :func:`~windowner.model.training.fit`: a log line and ``on_epoch`` per epoch,
  :class:`EarlyStopping`, Ctrl-C (the best model so far), divergence (the best model so far on the exception).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import WindownerError
from ..evaluation.metrics import Report, evaluate
from ..nn.optim import SGD, minibatches
from .config import TrainConfig
from .inference import NERModel

Pairs = Sequence[tuple[Sequence[str], Sequence[str]]]


class TrainingDiverged(WindownerError):
    """The loss became NaN or infinite; ``model`` is the best model so far (None: no epoch finished)."""

    def __init__(self, message: str, model: NERModel | None = None):
        super().__init__(message)
        self.model = model


@dataclass
class Windows:
    """The training windows SGD draws its minibatches from: ``feats`` (N, m, c) feature ids, ``y`` (N,) tag
    indices, ``easy`` (N,) bool: the windows ``o_window_keep`` samples (None: every window, every epoch)."""

    feats: np.ndarray
    y: np.ndarray
    easy: np.ndarray | None = None


def sgd_epochs(
    model: NERModel, windows: Windows, cfg: TrainConfig, rng: np.random.Generator, *, progress: bool = False
) -> Iterator[dict]:
    """Minibatch SGD on ``model``, one epoch per iteration, up to ``cfg.epochs``: yields the epoch's record
    (``epoch`` 1-based, mean ``loss``, ``seconds``, ``lr``), the model at its epoch-end weights.

    ``rng`` draws, in this order in each epoch: the easy windows kept, the minibatches, then per step the
    word dropout and the network's dropout. Raises :class:`TrainingDiverged` (without a model) on a NaN/inf loss.
    """
    lexicon, embeddings, net = model.lexicon, model.embeddings, model.net
    feats, y, easy = windows.feats, windows.y, windows.easy
    if easy is not None:  # a sampled easy window weighs 1/share, every other window 1
        window_weight = np.where(easy, np.float32(1 / cfg.o_window_keep), np.float32(1))
    eye = np.eye(len(model.tags), dtype=np.float32)
    opt = SGD(cfg.lr, cfg.momentum, cfg.decay, clip=5.0)
    # the loss is a batch mean, so a row seen once gets 1/batch of its gradient: scale sparse steps back up
    emb_opt = SGD(cfg.lr * cfg.embed_lr * cfg.batch_size, 0.0, cfg.decay, clip=5.0)
    trainable = [feature.name for feature in lexicon if feature.trainable(cfg)]
    tqdm = _tqdm(progress)
    for epoch in range(cfg.epochs):
        opt.epoch = emb_opt.epoch = epoch
        t0 = time.perf_counter()
        total, seen = 0.0, 0
        if easy is None:
            batches = list(minibatches(len(y), cfg.batch_size, rng))
        else:  # all the other windows, and a new sample of the easy ones, weighted by 1/share
            kept = np.flatnonzero(~easy | (rng.random(len(y)) < cfg.o_window_keep))
            batches = [kept[b] for b in minibatches(len(kept), cfg.batch_size, rng)]
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False)
        for step, idx in enumerate(bar):
            batch = feats[idx]  # a copy (fancy indexing), so word dropout may write into it
            if cfg.word_dropout:  # teaches the <unk> row and the context to stand in for unseen words
                lexicon.drop(batch, rng.random(batch.shape[:2]) < cfg.word_dropout)
            X = embeddings.forward(batch)
            weights = None if easy is None else window_weight[idx]
            J, grads = net.loss_and_grads(X, eye[y[idx]], train=True, need_dX=True, weights=weights)
            if not math.isfinite(J):
                raise TrainingDiverged(
                    f"the loss became {J} in epoch {epoch + 1}; try a smaller learning rate (--lr {cfg.lr / 10:g})"
                )
            opt.step(net.params, grads)
            for name, (rows, g) in embeddings.backward(grads["X"]).items():
                if name in trainable:
                    emb_opt.step_rows(embeddings.tables[name], rows, g, name)
            model.weights_changed()
            total += J * len(idx)
            seen += len(idx)
            if step % 50 == 0 and hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{total / seen:.4f}")
        yield {"epoch": epoch + 1, "loss": total / seen, "seconds": time.perf_counter() - t0, "lr": opt.rate}


# -- the steps ------------------------------------------------------------------------------------------------


class BestWeights:
    """A copy of the best-scoring weights so far: higher scores are better, the first of equal ones is kept."""

    def __init__(self) -> None:
        self.score = -math.inf  # without dev the score is -loss, which may be < -1
        self.weights: dict[str, np.ndarray] | None = None

    def offer(self, score: float, model: NERModel) -> bool:
        """Keep a copy of the model's weights if ``score`` beats the best so far; True if it does."""
        if not score > self.score:
            return False
        self.score = score
        self.weights = {k: v.copy() for k, v in model.weights().items()}
        return True

    def restore(self, model: NERModel) -> None:
        """Give ``model`` the best weights (nothing happens before the first offer)."""
        if self.weights is not None:
            model.set_weights(self.weights)


class PolyakAverage:
    """The running mean (float64) of the epoch-end weights from epoch ``start`` (1-based) on: Polyak averaging
    smooths SGD's epoch-to-epoch noise."""

    def __init__(self, start: int):
        self.start, self.n = start, 0
        self.mean: dict[str, np.ndarray] | None = None

    def covers(self, epoch: int) -> bool:
        return epoch >= self.start

    def add(self, weights: Mapping[str, np.ndarray]) -> None:
        self.n += 1
        if self.mean is None:
            self.mean = {k: v.astype(np.float64) for k, v in weights.items()}
        else:
            for k, v in weights.items():
                self.mean[k] += (v - self.mean[k]) / self.n

    @contextmanager
    def applied(self, model: NERModel) -> Iterator[NERModel]:
        """Inside the block ``model`` holds the average (cast to its dtypes); after it, its own weights again."""
        assert self.mean is not None, "add() the weights of an epoch first"
        current = {k: v.copy() for k, v in model.weights().items()}
        model.set_weights(self.mean)
        try:
            yield model
        finally:
            model.set_weights(current)


class Evaluation(Protocol):
    def __call__(self, model: NERModel, record: dict, best: BestWeights) -> bool: ...


class DevEvaluation:
    """Scores an epoch by the entity F1 on ``dev`` ((tokens, BIO2 tags) pairs) and offers the weights scored to
    :class:`BestWeights`; from ``average.start`` on, the running average is what is scored and kept (one dev pass
    per epoch). Adds ``dev_precision``, ``dev_recall``, ``dev_f1`` (and ``dev_f1_average``, ``averaged``) to the
    epoch's record."""

    def __init__(self, dev: Pairs, average: PolyakAverage | None = None):
        self.tokens, self.gold = [t for t, _ in dev], [g for _, g in dev]
        self.average = average

    def __call__(self, model: NERModel, record: dict, best: BestWeights) -> bool:
        if self.average is not None and self.average.covers(record["epoch"]):
            self.average.add(model.weights())
            with self.average.applied(model):
                rep = self.report(model)
                record.update(dev_f1_average=rep.overall.f1, averaged=True)
                improved = best.offer(rep.overall.f1, model)  # the average is the best
        else:
            rep = self.report(model)
            improved = best.offer(rep.overall.f1, model)
        record.update(dev_precision=rep.overall.precision, dev_recall=rep.overall.recall, dev_f1=rep.overall.f1)
        return improved

    def report(self, model: NERModel) -> Report:
        return evaluate(self.gold, model.predict(self.tokens))


def loss_evaluation(model: NERModel, record: dict, best: BestWeights) -> bool:
    """Without dev data an epoch scores -loss: the epoch with the lowest training loss is kept."""
    return best.offer(-record["loss"], model)


class EarlyStopping:
    """True (stop) after ``patience`` epochs in a row without improvement."""

    def __init__(self, patience: int):
        self.patience, self.bad_epochs = patience, 0

    def __call__(self, improved: bool) -> bool:
        self.bad_epochs = 0 if improved else self.bad_epochs + 1
        return self.bad_epochs >= self.patience


# -- the loop -------------------------------------------------------------------------------------------------


@dataclass
class EpochResult:
    """What :func:`train_while_improving` yields after each epoch: its ``record`` (as in ``model.history``),
    whether it ``improved`` on the best so far, and the ``best`` weights kept."""

    record: dict
    improved: bool
    best: BestWeights

    @property
    def epoch(self) -> int:
        return self.record["epoch"]


def train_while_improving(
    model: NERModel,
    windows: Windows,
    cfg: TrainConfig,
    rng: np.random.Generator,
    dev: Pairs | None = None,
    *,
    best: BestWeights | None = None,
    progress: bool = False,
) -> Generator[EpochResult, None, None]:
    """Train ``model`` in place, one :class:`EpochResult` per epoch, up to ``cfg.epochs``; the caller stops early
    by leaving the loop (:class:`EarlyStopping`). Each epoch is scored on ``dev`` (:class:`DevEvaluation`) or by
    its loss, appended to ``model.history``, and, when it is the best so far, its weights are kept in ``best``
    (a new :class:`BestWeights` by default) and its number in ``model.run.best_epoch``. The model holds the last
    epoch's weights; ``best.restore(model)`` gives it the best.
    """
    evaluation: Evaluation = loss_evaluation
    if dev:
        evaluation = DevEvaluation(dev, PolyakAverage(cfg.average_from) if cfg.average_from else None)
    best = BestWeights() if best is None else best
    for record in sgd_epochs(model, windows, cfg, rng, progress=progress):
        improved = evaluation(model, record, best)
        model.history.append(record)
        if improved:  # recorded before the epoch is reported: a Ctrl-C after its line must find it
            model.run.best_epoch = record["epoch"]
            model.run.best_is_average = bool(record.get("averaged"))
        yield EpochResult(record, improved, best)


def train(
    model: NERModel,
    windows: Windows,
    cfg: TrainConfig,
    rng: np.random.Generator,
    dev: Pairs | None = None,
    *,
    progress: bool = False,
    log: Callable[[str], None] | None = print,
    on_epoch: Callable[[NERModel, dict], None] | None = None,
) -> NERModel:
    """Train ``model`` in place as :func:`~windowner.model.training.fit` does and return it with the best weights.

    Logs a line per epoch and calls ``on_epoch(model, record)``; stops after ``cfg.patience`` epochs without
    improvement. A KeyboardInterrupt returns the best model so far with ``model.run.interrupted`` set (it
    propagates if no epoch has finished); a NaN/inf loss raises :class:`TrainingDiverged` with the best model so
    far as ``.model`` (None if no epoch finished).
    """
    best, stop = BestWeights(), EarlyStopping(cfg.patience)
    model.history = []
    with (
        model.training(),
        closing(train_while_improving(model, windows, cfg, rng, dev, best=best, progress=progress)) as results,
    ):
        try:
            for result in results:
                if log:
                    log(epoch_line(result.record))
                if on_epoch:
                    on_epoch(model, result.record)
                if stop(result.improved):
                    if log:
                        log(f"no dev improvement for {cfg.patience} epochs: stopping")
                    break
        except TrainingDiverged as exc:
            best.restore(model)
            raise TrainingDiverged(str(exc), model if best.weights is not None else None) from None
        except KeyboardInterrupt:
            if best.weights is None:  # no epoch finished: there is no model worth keeping
                raise
            model.run.interrupted = True
    best.restore(model)
    return model


def epoch_line(record: dict) -> str:
    """The log line of an epoch: "epoch   3  loss 0.0123  dev P 0.9 R 0.8 F1 0.85 (average)  (1.2s)"."""
    dev_part = ""
    if "dev_f1" in record:
        dev_part = (
            f"  dev P {record['dev_precision']:.4f} R {record['dev_recall']:.4f} "
            f"F1 {record['dev_f1']:.4f}{' (average)' if record.get('averaged') else ''}"
        )
    return f"epoch {record['epoch']:>3}  loss {record['loss']:.4f}{dev_part}  ({record['seconds']:.1f}s)"


def _tqdm(enabled: bool):
    if not enabled:
        return lambda it, **kw: it
    from tqdm.auto import tqdm

    return tqdm
