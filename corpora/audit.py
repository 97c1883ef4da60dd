"""Audit the wn-pld labels: train on every source part but one, list where that model and the part disagree.

Usage:  .venv/bin/python corpora/audit.py [--parts part4,part5] [--out DIR] [--seed 0] [--epochs 8]

For each source part (``corpora/source/partN.txt``), a tagger is trained on the sentences of all the other
parts (windowner's defaults but ``--epochs``, the default model's labels, ``--seed``) and tags the part's
sentences; every sentence where its entities differ from the annotation is written to ``DIR/partN.tsv`` as
``line<TAB>annotation<TAB>model`` (both in the source markup). A reviewer then reads each disagreement against
the guidelines in corpora/README.md and corrects the source where the annotation is wrong (the model is often
wrong: it is a second opinion, not a judge). Deterministic given the sources and the seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import spacy

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from build import SOURCE_DIR, SourceError, tag_sentence  # noqa: E402


def part_sentences(path: Path, nlp) -> list[tuple[int, str, list[tuple[str, str]]]]:
    """(line number, marked-up line, (token, tag) pairs) of each sentence of a source part."""
    out = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            try:
                out.append((lineno, line, tag_sentence(nlp, line)))
            except SourceError:
                continue  # build.py reports it
    return out


def markup(tokens: list[str], tags: list[str]) -> str:
    """Tokens joined by spaces with ``[entity]{LABEL}`` marks (a view, not the source's exact spacing)."""
    from windowner.text.tags import bio2_spans

    out = list(tokens)
    for label, a, b in sorted(bio2_spans(tags), key=lambda s: -s[1]):
        out[a:b] = [f"[{' '.join(tokens[a:b])}]{{{label}}}"]
    return " ".join(out)


def main(argv: list[str] | None = None) -> int:
    import windowner
    from windowner.model.default import DEFAULT_LABELS
    from windowner.text.tags import bio2_spans

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="", help="comma-separated part names (default: every part)")
    ap.add_argument("--out", type=Path, default=HERE / "audit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=8, help="training epochs of each audit model (default 8)")
    args = ap.parse_args(argv)
    nlp = spacy.blank("en")
    parts = {p.stem: part_sentences(p, nlp) for p in sorted(SOURCE_DIR.glob("*.txt"))}
    chosen = [p for p in args.parts.split(",") if p] or list(parts)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        train = [
            ([t for t, _ in s], [g for _, g in s]) for other, sents in parts.items() if other != name for *_, s in sents
        ]
        tagger = windowner.train(train, labels=list(DEFAULT_LABELS), seed=args.seed, epochs=args.epochs)
        sents = parts[name]
        predicted = tagger.model.predict([[t for t, _ in s] for *_, s in sents])
        rows, n_diff = [], 0
        for (lineno, _line, pairs), pred in zip(sents, predicted):
            tokens, gold = [t for t, _ in pairs], [g for _, g in pairs]
            g, p = set(bio2_spans(gold)), set(bio2_spans(pred))
            if g != p:
                n_diff += len(g ^ p)
                rows.append(f"{lineno}\t{markup(tokens, gold)}\t{markup(tokens, pred)}\n")
        (args.out / f"{name}.tsv").write_text("line\tannotation\tmodel\n" + "".join(rows), encoding="utf-8")
        print(f"{name}: {len(sents)} sentences, {len(rows)} with disagreements ({n_diff} entities differ)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
