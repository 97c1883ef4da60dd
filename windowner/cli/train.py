"""``windowner train``: train a tagger on a CoNLL file, keep the best epoch by dev F1."""

from __future__ import annotations

import sys
import time


def add_parser(sub) -> None:
    from ..training import TrainConfig

    d = TrainConfig()
    p = sub.add_parser("train", help="train a tagger on CoNLL files",
                       description="Train a window-classifier NER tagger and write it to a model directory.")
    p.add_argument("--train", required=True, metavar="FILE", help="training data, CoNLL format")
    p.add_argument("--dev", metavar="FILE", help="development data for early stopping (recommended)")
    p.add_argument("--out", required=True, metavar="DIR", help="model directory to write (replaced atomically)")
    p.add_argument("--vectors", default=d.vectors, metavar="SPEC",
                   help="glove-6b-50d (embedded, default), a GloVe/word2vec file, or none")
    p.add_argument("--labels", default=None, metavar="A,B,...", help="entity types to learn (default: all in --train)")
    p.add_argument("--window", type=int, default=d.window, help="window half-size k (2k+1 tokens)")
    p.add_argument("--hidden", type=int, default=d.hidden, help="hidden units")
    p.add_argument("--activation", default=d.activation, choices=["tanh", "relu", "sigmoid", "hardtanh"])
    p.add_argument("--head", default=d.head, choices=["sigmoid", "softmax"])
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate")
    p.add_argument("--momentum", type=float, default=d.momentum)
    p.add_argument("--decay", type=float, default=d.decay, help="lr / (1 + decay·epoch)")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--dropout", type=float, default=d.dropout, help="dropout on the hidden layer")
    p.add_argument("--word-dropout", type=float, default=d.word_dropout,
                   help="probability of replacing a word by <unk> while training")
    p.add_argument("--l2", type=float, default=d.l2)
    p.add_argument("--suffix-len", type=int, default=d.suffix_len, help="suffix feature length (0: off)")
    p.add_argument("--no-case", action="store_true", help="turn the casing feature off")
    p.add_argument("--transitions", default=d.transitions, choices=["constrained", "learned"])
    p.add_argument("--average-from", type=int, default=d.average_from, metavar="EPOCH",
                   help="also try the running average of epoch-end weights from this epoch on (0: off)")
    p.add_argument("--patience", type=int, default=d.patience, help="epochs without dev improvement before stopping")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--no-fine-tune", action="store_true", help="keep the word vectors fixed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from ._common import add_data_args

    add_data_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import DataError
    from ..training import TrainConfig, TrainingDiverged, fit
    from ._common import data_kwargs, read_pairs, report_warnings

    kw = data_kwargs(args, args.labels)
    cfg = TrainConfig(vectors=args.vectors, labels=kw["labels"], window=args.window, hidden=args.hidden,
                      activation=args.activation, head=args.head, epochs=args.epochs, lr=args.lr,
                      momentum=args.momentum, decay=args.decay, batch_size=args.batch_size, dropout=args.dropout,
                      word_dropout=args.word_dropout, l2=args.l2, suffix_len=args.suffix_len,
                      use_case=not args.no_case, transitions=args.transitions, average_from=args.average_from,
                      patience=args.patience, seed=args.seed, fine_tune=not args.no_fine_tune).validate()
    with report_warnings():
        train = read_pairs(args.train, **kw)
        dev = read_pairs(args.dev, **kw) if args.dev else None
    if not any(tag != "O" for _, tags in train for tag in tags):
        which = f" of the types {args.labels}" if args.labels else ""
        raise DataError(args.train, None, f"no entities{which}: every tag is O; check --tag-column and --labels")
    t0 = time.perf_counter()
    try:
        model = fit(train, dev, cfg, progress=not args.quiet and sys.stderr.isatty(), log=lambda s: print(s, file=sys.stderr))
    except TrainingDiverged as exc:
        if getattr(exc, "model", None) is not None:
            exc.model.to_disk(args.out)
            raise TrainingDiverged(f"{exc}; the best model so far was saved to {args.out}") from None
        raise TrainingDiverged(f"{exc}; no epoch finished, so no model was saved") from None
    except KeyboardInterrupt:  # fit returns the best model instead once an epoch has finished
        print(f"windowner train: interrupted in the first epoch: no model was saved ({args.out} is unchanged)",
              file=sys.stderr)
        return 130
    seconds = time.perf_counter() - t0
    model.config["train_seconds"] = round(seconds, 2)
    path = model.to_disk(args.out)
    best = model.config.get("best_epoch")
    f1 = next((h.get("dev_f1") for h in model.history if h["epoch"] == best), None)
    status = "interrupted: " if getattr(model, "interrupted", False) else ""
    score = f", dev F1 {f1:.4f}" if f1 is not None else ""
    print(f"{status}saved {path} (best epoch {best}{score}; trained in {seconds:.1f}s)", file=sys.stderr)
    return 130 if getattr(model, "interrupted", False) else 0
