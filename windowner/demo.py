"""``make demo``: train the default PER/LOC/DATE tagger on corpora/, evaluate it, tag a few sentences.

Run as ``python -m windowner.demo [--out DIR]``. It trains with the same corpus and settings as the model
``windowner.load()`` trains on first use (:mod:`windowner.model.default`), and writes ``models/default`` in a
checkout (which ``windowner.load()`` then prefers), else the per-user cache entry of the default model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SAMPLES = [
    "Barack Obama visited Paris on 5 May 2009 with Angela Merkel.",
    "Heavy snow closed the roads around Denver last Tuesday, officials said.",
    "Dr. Amina Yusuf will lecture in Nairobi and Kampala in March.",
    "the band played in glasgow on friday night and flew to dublin the next morning",
    "Jordan beat Syria 2-1 in Amman, while Michael Jordan watched from Chicago.",
]


def main(argv: list[str] | None = None) -> int:
    from .evaluation.metrics import evaluate
    from .model.default import CHECKOUT_CORPUS, cached_model_dir, corpus_dir, corpus_files, default_config
    from .model.files import save_model
    from .model.training import fit
    from .tagger import DEFAULT_MODEL_DIR, Tagger
    from .text.conll import read_conll

    p = argparse.ArgumentParser(prog="python -m windowner.demo", description=__doc__)
    p.add_argument(
        "--corpora", default=None, help="directory with wn-pld.{train,dev,test}.conll (default: the project's)"
    )
    p.add_argument(
        "--out", default=None, help="where to write the default model (default: models/default in a checkout)"
    )
    args = p.parse_args(argv)

    files = corpus_files(None if args.corpora is None else Path(args.corpora))
    missing = [str(f) for f in files.values() if not f.exists()]
    if missing:
        print(f"demo: missing {', '.join(missing)}; pass --corpora DIR", file=sys.stderr)
        return 2
    if args.out is None:
        checkout = args.corpora is None and corpus_dir() == CHECKOUT_CORPUS
        args.out = str(DEFAULT_MODEL_DIR if checkout else cached_model_dir(files["train"].parent))
    data = {split: [(s.tokens, s.gold) for s in read_conll(f)] for split, f in files.items()}
    print(
        f"== training the default PER/LOC/DATE tagger on {files['train']} "
        f"({len(data['train'])} sentences), early stopping on {files['dev']}"
    )
    config = default_config()
    model = fit(data["train"], data["dev"], config, progress=sys.stderr.isatty())
    path = save_model(model, args.out)
    print(f"trained in {model.run.train_seconds:.1f}s (best epoch {model.run.best_epoch}); saved to {path}\n")

    print(f"== evaluation on {files['test']} (conlleval, entity level)")
    gold = [g for _, g in data["test"]]
    print(evaluate(gold, model.predict([t for t, _ in data["test"]])).format())

    print("\n== tagging raw text")
    tagger = Tagger(model, path)
    for doc in tagger.pipe(SAMPLES):
        print(doc.text)
        for e in doc.ents:
            print(f"    {e.label:<5} {e.text!r:<28} chars {e.start_char}-{e.end_char}  score {e.score:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
