"""``windowner tag [MODEL] [FILE|-]``: tag raw text or CoNLL tokens, streaming in batches.

With ``--workers N`` or ``--scheduler ADDRESS`` the batches are tagged on a Dask cluster and written in
input order, byte for byte what one process writes (each batch is one task; the batches are the same).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from ..text.output import doc_record, dumps


def add_parser(sub) -> None:
    from .options import add_data_args, add_threshold_arg, positive_int

    p = sub.add_parser(
        "tag",
        help="tag raw text or CoNLL files",
        description="Tag text (one document per line) or CoNLL tokens. MODEL defaults to the default "
        "PER/LOC/DATE model (trained once on first use into the user's cache, or `make demo`'s in a checkout); "
        "FILE defaults to stdin, e.g. `echo 'Angela Merkel visited Paris.' | windowner tag`.",
    )
    p.add_argument("paths", nargs="*", metavar="[MODEL] [FILE|-]", help="model directory, then input file(s)")
    p.add_argument("--model", default=None, help="model directory (instead of the first positional argument)")
    p.add_argument(
        "--input-format",
        default="text",
        choices=["text", "conll", "jsonl", "spacy"],
        help="text (one document per line, default), conll (tokens), jsonl (JSON lines: their tokens, or their text "
        "tokenized and cut into sentences as MODEL does) or spacy (DocBin); labels in the input are ignored",
    )
    p.add_argument(
        "--format",
        default=None,
        choices=["conll", "json", "spans"],
        help="output: conll (token tag), json (one object per document), spans (TSV); "
        "default json for text input, conll for the others",
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=1000,
        help="documents or sentences per model call (with --workers/--scheduler: per Dask task)",
    )
    add_threshold_arg(p)
    g = p.add_argument_group("Dask (pip install 'windowner[dask]')")
    g.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="tag on a local Dask cluster of N worker processes (loopback only)",
    )
    g.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="tag on an existing Dask cluster, e.g. tcp://10.0.0.5:8786; its workers must have "
        "windowner installed and see MODEL at the same path",
    )
    add_data_args(p, tags=False)
    p.set_defaults(func=run)


def _split_paths(args) -> tuple[str | None, list[str]]:
    paths = list(args.paths)
    model = args.model
    if model is None and paths and Path(paths[0]).is_dir():  # an input is never a directory: report a broken model
        model = paths.pop(0)
    return model, paths or ["-"]


def run(args) -> int:
    from ..tagger import load

    model_path, inputs = _split_paths(args)
    fmt = args.format or ("json" if args.input_format == "text" else "conll")
    out = sys.stdout
    if args.workers is not None or args.scheduler is not None:
        _run_on_dask(model_path, inputs, args, fmt, out)
        out.flush()
        return 0
    tagger = load(model_path)
    for path in inputs:
        for kind, items, first_id in _batches(path, args, tagger.segment):
            out.write(_format_batch(tagger, kind, items, first_id, fmt, args.threshold))
    out.flush()
    return 0


def _batches(path: str, args, segment=None):
    """(kind, batch, id of its first document) for one input; ids restart at 0 in each file. ``segment``
    tokenizes JSON lines without tokens (the tagger's)."""
    items: Iterator[list[str]] | Iterator[str]
    if args.input_format == "conll":
        from ..text.conll import read_conll

        items, kind = (s.tokens for s in read_conll(path, tag_column=None, scheme=args.scheme)), "conll"
    elif args.input_format in ("jsonl", "spacy"):
        from ..text.formats import read_sentences

        items, kind = (s.tokens for s in read_sentences(path, args.input_format, segment=segment)), "conll"
    else:
        from ..text.lines import text_lines

        items, kind = text_lines(path), "text"
    first_id = 0
    while True:
        batch = list(islice(items, args.batch_size))
        if not batch:
            return
        yield kind, batch, first_id
        first_id += len(batch)


def _format_batch(tagger, kind: str, items: list, first_id: int, fmt: str, threshold: float = 0.0) -> str:
    """One batch of lines (kind "text") or token lists ("conll") -> its output text."""
    out = io.StringIO()
    if kind == "conll":
        _write_conll_batch(tagger, items, first_id, fmt, out, threshold)
        return out.getvalue()
    docs = tagger.pipe(items, batch_size=len(items), threshold=threshold)
    if fmt == "conll":  # one sentence per document, numbered by its line of the input
        from ..errors import WindownerError
        from ..text.conll import Sentence, write_conll

        sentences = (Sentence([t.text for t in doc.tokens], doc.tags, i + 1) for i, doc in enumerate(docs, first_id))
        try:
            write_conll(sentences, out, start=first_id + 1)
        except ValueError as exc:  # a token CoNLL cannot hold, such as -DOCSTART-
            raise WindownerError(f"{exc}; write this text with --format json or spans") from None
        return out.getvalue()
    for doc_id, doc in enumerate(docs, first_id):
        _write_doc(doc, doc_id, fmt, out)
    return out.getvalue()


def _format_batch_on_worker(
    model_dir: str, kind: str, items: list, first_id: int, fmt: str, threshold: float = 0.0
) -> str:
    """Dask task: the same as :func:`_format_batch`, with the worker process's cached model."""
    from ..integrations.dask import worker_tagger

    with worker_tagger(model_dir) as tagger:
        return _format_batch(tagger, kind, items, first_id, fmt, threshold)


def _run_on_dask(model_path, inputs: list[str], args, fmt: str, out) -> None:
    from ..errors import ModelError, WindownerError
    from ..integrations.dask import connect, map_ordered, require_dask
    from ..tagger import ensure_default_model

    if args.workers is not None and args.scheduler is not None:
        raise WindownerError("give --workers N (a local cluster) or --scheduler ADDRESS (an existing one), not both")
    require_dask("windowner tag --workers/--scheduler")
    if model_path is None:
        model_path = ensure_default_model()
    model = Path(model_path).resolve()
    if not (model / "config.json").is_file():  # fail before starting a cluster
        raise ModelError(
            f"{model_path}: not a model directory (no config.json); pass a directory written by "
            "`windowner train`, or leave MODEL out to use the default one"
        )
    segment = None
    if args.input_format == "jsonl":  # texts without tokens are tokenized here, as the model does
        from ..tagger import load

        segment = load(model).segment
    tasks = (
        (str(model), kind, items, first_id, fmt, args.threshold)
        for path in inputs
        for kind, items, first_id in _batches(path, args, segment)
    )
    with connect(workers=args.workers, scheduler=args.scheduler) as client:
        for text in map_ordered(client, _format_batch_on_worker, tasks):
            out.write(text)


def _write_doc(doc, doc_id: int, fmt: str, out) -> None:
    """One tagged text as a JSON line (``--format json``) or its entities as TSV lines (``spans``)."""
    if fmt == "json":
        out.write(dumps(doc_record(doc, doc_id)) + "\n")
    else:
        for e in doc.ents:
            out.write(f"{doc_id}\t{e.start_char}\t{e.end_char}\t{e.label}\t{e.text}\t{e.score:.4f}\n")


def _write_conll_batch(
    tagger, sentences: list[list[str]], first_id: int, fmt: str, out, threshold: float = 0.0
) -> None:
    from ..text.tags import bio2_spans as spans

    tags = tagger.tag_tokens(sentences, threshold)
    if fmt == "conll":  # the tokens came from read_conll: write_conll can write them all
        from ..text.conll import write_conll

        write_conll(zip(sentences, tags), out)
        return
    for sent_id, (tokens, t) in enumerate(zip(sentences, tags), first_id):
        ents = [{"label": lab, "start": a, "end": b, "text": " ".join(tokens[a:b])} for lab, a, b in spans(t)]
        if fmt == "json":
            out.write(dumps({"id": sent_id, "tokens": tokens, "tags": t, "ents": ents}) + "\n")
        else:
            for e in ents:
                out.write(f"{sent_id}\t{e['start']}\t{e['end']}\t{e['label']}\t{e['text']}\n")
