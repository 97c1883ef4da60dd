"""``windowner train``: train a tagger on a CoNLL file, keep the best epoch by dev F1."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    from ..model.config import add_arguments
    from .options import add_data_args, add_format_arg

    p = sub.add_parser(
        "train",
        help="train a tagger on CoNLL files",
        description="Train a window-classifier NER tagger and write it to a model directory.",
    )
    p.add_argument("--train", required=True, metavar="FILE", help="training data: CoNLL, JSON lines or .spacy")
    p.add_argument("--dev", metavar="FILE", help="development data for early stopping (recommended)")
    p.add_argument("--out", required=True, metavar="DIR", help="model directory to write (replaced atomically)")
    p.add_argument(
        "--init-model",
        metavar="DIR",
        help="train on from this model (its vocabulary grows with --train, labels may be added; its shape "
        "settings, e.g. --window, --hidden, --vectors and the feature sizes, are kept and may not be changed)",
    )
    p.add_argument(
        "--recipe",
        metavar="FILE[:NAME]",
        help="settings from a JSON recipe (a JSON object of hyper-parameters; with :NAME, the named recipe of a "
        "file of recipes, e.g. benchmarks/recipes.json:rcv1-gazetteers); flags set to other than their defaults win",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_arguments(p)  # one flag per TrainConfig field
    add_format_arg(p)
    add_data_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import DataError
    from ..model.config import from_arguments
    from ..model.files import load_model, save_model
    from ..model.training import TrainingDiverged, fit
    from .options import data_kwargs, read_pairs, report_warnings

    kw = data_kwargs(args, args.labels)
    cfg = from_arguments(args, labels=kw.pop("labels"))  # every type is read: fit says which --labels drops
    init_model = load_model(args.init_model) if args.init_model else None
    with report_warnings():
        train = read_pairs(args.train, args.input_format, **kw)
        dev = read_pairs(args.dev, args.input_format, **kw) if args.dev else None
        if not any(tag != "O" for _, tags in train for tag in tags):
            raise DataError(args.train, None, "no entities: every tag is O; check --tag-column and --map")
        try:
            model = fit(
                train,
                dev,
                cfg,
                progress=not args.quiet and sys.stderr.isatty(),
                log=lambda s: print(s, file=sys.stderr),
                init_model=init_model,
            )
        except TrainingDiverged as exc:
            if exc.model is not None:
                save_model(exc.model, args.out)
                raise TrainingDiverged(f"{exc}; the best model so far was saved to {args.out}") from None
            raise TrainingDiverged(f"{exc}; no epoch finished, so no model was saved") from None
        except KeyboardInterrupt:  # fit returns the best model instead once an epoch has finished
            print(
                f"windowner train: interrupted in the first epoch: no model was saved ({args.out} is unchanged)",
                file=sys.stderr,
            )
            return 130
    path = save_model(model, args.out)
    run = model.run
    f1 = next((h.get("dev_f1") for h in model.history if h["epoch"] == run.best_epoch), None)
    status = "interrupted: " if run.interrupted else ""
    score = f", dev F1 {f1:.4f}" if f1 is not None else ""
    print(
        f"{status}saved {path} (best epoch {run.best_epoch}{score}; trained in {run.train_seconds:.1f}s)",
        file=sys.stderr,
    )
    return 130 if run.interrupted else 0
