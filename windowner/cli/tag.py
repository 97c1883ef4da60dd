"""``windowner tag [MODEL] [FILE|-]``: tag raw text or CoNLL tokens, streaming in batches."""

from __future__ import annotations

import json
import sys
from itertools import islice
from pathlib import Path


def add_parser(sub) -> None:
    from ._common import add_data_args

    p = sub.add_parser("tag", help="tag raw text or CoNLL files",
                       description="Tag text (one document per line) or CoNLL tokens. MODEL defaults to the "
                                   "model `make demo` trains; FILE defaults to stdin.")
    p.add_argument("paths", nargs="*", metavar="[MODEL] [FILE|-]", help="model directory, then input file(s)")
    p.add_argument("--model", default=None, help="model directory (instead of the first positional argument)")
    p.add_argument("--input-format", default="text", choices=["text", "conll"])
    p.add_argument("--format", default=None, choices=["conll", "json", "spans"],
                   help="output: conll (token tag), json (one object per document), spans (TSV); "
                        "default conll for conll input, json for text")
    p.add_argument("--batch-size", type=int, default=1000, help="documents or sentences per model call")
    add_data_args(p, tags=False)
    p.set_defaults(func=run)


def _split_paths(args) -> tuple[str | None, list[str]]:
    paths = list(args.paths)
    model = args.model
    if model is None and paths and (Path(paths[0]) / "config.json").exists():
        model = paths.pop(0)
    return model, paths or ["-"]


def run(args) -> int:
    from ..tagger import load

    model_path, inputs = _split_paths(args)
    tagger = load(model_path)
    fmt = args.format or ("conll" if args.input_format == "conll" else "json")
    out = sys.stdout
    for path in inputs:
        if args.input_format == "conll":
            _tag_conll(tagger, path, args, fmt, out)
        else:
            _tag_text(tagger, path, args, fmt, out)
    out.flush()
    return 0


def _open_text(path: str):
    from ..errors import DataError

    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except IsADirectoryError:
        raise DataError(path, None, "is a directory, not a text file") from None


def _lines(path: str):
    """Lines of a text file without line ends; bad encoding is reported with its line."""
    from ..errors import DataError

    f = _open_text(path)
    lineno = 0
    try:
        for lineno, line in enumerate(f, 1):
            if "\x00" in line:
                raise DataError(path, lineno, "contains a NUL byte: this looks like a binary file, not text")
            yield line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise DataError(path, lineno + 1, f"not valid UTF-8 ({exc.reason}); save the file as UTF-8") from None
    finally:
        if f is not sys.stdin:
            f.close()


def _tag_text(tagger, path, args, fmt, out) -> None:
    lines = _lines(path)
    doc_id = 0
    while True:
        batch = list(islice(lines, args.batch_size))
        if not batch:
            return
        for doc in tagger.pipe(batch, batch_size=len(batch)):
            _write_doc(doc, doc_id, fmt, out)
            doc_id += 1


def _write_doc(doc, doc_id: int, fmt: str, out) -> None:
    if fmt == "json":
        out.write(json.dumps({"id": doc_id, **doc.to_dict()}, ensure_ascii=False) + "\n")
    elif fmt == "spans":
        for e in doc.ents:
            out.write(f"{doc_id}\t{e.start_char}\t{e.end_char}\t{e.label}\t{e.text}\t{e.score:.4f}\n")
    elif doc.tokens:
        out.write("".join(f"{t.text} {t.tag}\n" for t in doc.tokens) + "\n")


def _tag_conll(tagger, path, args, fmt, out) -> None:
    from ..conll import read_conll
    from ..decode import spans

    sentences = read_conll(path, tag_column=None, scheme=args.scheme)
    sent_id = 0
    while True:
        batch = list(islice(sentences, args.batch_size))
        if not batch:
            return
        tags = tagger.tag_tokens([s.tokens for s in batch])
        for s, t in zip(batch, tags):
            if fmt == "conll":
                out.write("".join(f"{w} {g}\n" for w, g in zip(s.tokens, t)) + "\n")
            else:
                ents = [{"label": lab, "start": a, "end": b, "text": " ".join(s.tokens[a:b])} for lab, a, b in spans(t)]
                if fmt == "json":
                    out.write(json.dumps({"id": sent_id, "tokens": s.tokens, "tags": t, "ents": ents},
                                         ensure_ascii=False) + "\n")
                else:
                    for e in ents:
                        out.write(f"{sent_id}\t{e['start']}\t{e['end']}\t{e['label']}\t{e['text']}\n")
            sent_id += 1
