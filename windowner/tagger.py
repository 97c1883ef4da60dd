"""The user's entry points: ``windowner.load(dir)("Obama visited Paris on 5 May.")`` and ``windowner.train``.

A :class:`Tagger` wraps a trained :class:`~windowner.model.inference.NERModel`: raw text is segmented
(:mod:`windowner.text.segment`), sentences of many texts are tagged together in model calls of at most
:data:`MAX_CALL_TOKENS` tokens (bounded memory, whatever the text length), and each text becomes a
:class:`~windowner.text.doc.Doc`. Integrations (spaCy, scikit-learn, Dask, explain) use its public methods.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

import numpy as np

from .errors import ModelError
from .evaluation.confidence import Scored, ScoredSpan, check_threshold
from .model.config import TrainConfig
from .model.explain import TokenSaliency, explain_segmentation
from .model.files import TOKENIZER_FILE, load_model, save_model
from .model.inference import NERModel
from .model.training import Pairs, check_tagged, fit
from .text.conventions import build_tokenizer, spacy_tables
from .text.doc import Doc
from .text.segment import (
    SCORE_ATTR,
    Segmentation,
    check_text,
    segment_doc,
    segment_text,
    set_spacy_entities,
    tokenizable,
    tokenizer_is_full,
)
from .text.tokenizer import Tokenizer

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "default"  # `make demo` writes it in a checkout
MAX_CALL_TOKENS = 100_000  # tokens per model call; the model works through them in small chunks


class Tagger:
    """Raw text in, entities with labels, character offsets and scores out.

    >>> tagger = windowner.load("model/")
    >>> [(e.text, e.label) for e in tagger("Obama visited Paris on 5 May.").ents]
    """

    def __init__(self, model: NERModel, path: str | os.PathLike | None = None):
        self.model = model
        self.path = None if path is None else Path(path)
        self._tok = None
        self._raw: Tokenizer | None = None
        self._raw_lock = threading.Lock()

    def __repr__(self) -> str:
        where = f"path={str(self.path)!r}, " if self.path is not None else ""
        return f"Tagger({where}labels={self.labels}, window={self.model.window})"

    # -- construction and files -----------------------------------------------------------------

    @classmethod
    def from_disk(cls, path: str | os.PathLike) -> Tagger:
        """Load a model directory written by :meth:`to_disk` or ``windowner train``."""
        return cls(load_model(path), path)

    def to_disk(self, path: str | os.PathLike) -> Path:
        """Write the model directory (atomically); ``windowner.load(path)`` gives identical predictions."""
        self.path = save_model(self.model, path)
        return self.path

    @property
    def labels(self) -> list[str]:
        """Entity types, e.g. ["DATE", "LOC", "PER"]."""
        return self.model.labels

    @property
    def tags(self) -> list[str]:
        """The BIO2 tags the model predicts ("O" first)."""
        return list(self.model.tags)

    @property
    def tokenizer(self):
        """The spaCy tokenizer of :meth:`to_spacy` (raw text otherwise goes through :attr:`raw_tokenizer`, which
        makes the same tokens without spaCy): it follows the conventions of the model's training data
        (``model.tokenizer_rules``, saved as ``tokenizer.json``), or is spaCy's English tokenizer for models
        without them. spaCy adds every new word to its Vocab, so a tokenizer whose Vocab is full
        (:data:`~windowner.text.segment.MAX_TOKENIZER_WORDS`) is replaced by a fresh one: memory stays bounded."""
        tok = self._tok
        if tok is None or tokenizer_is_full(tok):
            self._tok = tok = build_tokenizer(self.model.tokenizer_rules)
        return tok

    @property
    def raw_tokenizer(self) -> Tokenizer:
        """The tokenizer :meth:`__call__`, :meth:`pipe` and :meth:`segment` use: the same tokens as
        :attr:`tokenizer`, from spaCy's algorithm in plain Python over the tables saved in ``tokenizer.json``
        (:mod:`windowner.text.tokenizer`), so tagging raw text neither imports spaCy nor grows a Vocab. For a model
        without saved tables (trained in this process, or saved before windowner kept them) they are read off
        spaCy's tokenizer once."""
        tok = self._raw
        if tok is None:
            with self._raw_lock:
                if self._raw is None:
                    self._raw = self._build_raw_tokenizer()
                tok = self._raw
        return tok

    def _build_raw_tokenizer(self) -> Tokenizer:
        if self.model.tokenizer_tables is None:
            self.model.tokenizer_tables = spacy_tables(self.model.tokenizer_rules)
        try:
            return Tokenizer(self.model.tokenizer_tables)
        except ValueError as exc:
            where = self.path / TOKENIZER_FILE if self.path is not None else "the model's tokenizer tables"
            raise ModelError(
                f'{where}: {exc}; retrain the model, or delete the file\'s "tables" to tokenize with spaCy'
            ) from None

    def spacy_tokenizer(self, vocab):
        """A new spaCy ``Tokenizer`` on ``vocab`` that tokenizes as this tagger does: ``nlp.tokenizer =
        tagger.spacy_tokenizer(nlp.vocab)`` gives a pipeline whose ``windowner`` component finds the entities
        ``tagger(text)`` finds (one that ends inside a spaCy token, ``Corp`` of a final ``Corp.``, takes all
        of it). Unlike :attr:`tokenizer`, its Vocab is the pipeline's, and is never replaced."""
        return build_tokenizer(self.model.tokenizer_rules, vocab)

    # -- pre-tokenized input --------------------------------------------------------------------

    def tag_tokens(self, sentences: Iterable[Sequence[str]], threshold: float = 0.0) -> list[list[str]]:
        """Pre-tokenized sentences -> BIO2 tags, one list per sentence (same lengths); entities scoring below
        ``threshold`` are tagged O."""
        threshold = check_threshold(threshold)
        return self._checked(sentences, threshold, tags_only=threshold == 0.0).tags  # no scores needed at 0

    def predict(
        self, sentences: Iterable[Sequence[str]], threshold: float = 0.0
    ) -> tuple[list[list[str]], list[np.ndarray]]:
        """Pre-tokenized sentences -> (BIO2 tags, the probability that each tag is right), one entry per
        sentence; entities scoring below ``threshold`` are tagged O."""
        return self.predict_scored(sentences, threshold)[:2]

    def predict_scored(self, sentences: Iterable[Sequence[str]], threshold: float = 0.0) -> Scored:
        """Pre-tokenized sentences -> :class:`~windowner.evaluation.confidence.Scored`: per sentence the BIO2 tags, each
        tag's probability, and the entities (label, start, end, score) scoring at least ``threshold``."""
        return self._checked(sentences, check_threshold(threshold))

    def _checked(self, sentences: Iterable[Sequence[str]], threshold: float, tags_only: bool = False) -> Scored:
        """:meth:`_predict` on ``sentences`` after checking that they are lists of tokens."""
        if isinstance(sentences, (str, bytes)):
            raise TypeError(
                "tag_tokens takes a list of sentences, each a list of token strings, "
                "e.g. [['Obama', 'visited', 'Paris']]; for raw text call tagger(text)"
            )
        checked = []
        for i, sent in enumerate(sentences):
            if type(sent) is not list and (isinstance(sent, (str, bytes)) or not isinstance(sent, Iterable)):
                raise TypeError(
                    f"tag_tokens takes a list of sentences, each a list of token strings, but sentence {i} "
                    f"is {type(sent).__name__}; e.g. [['Obama', 'visited', 'Paris']]"
                )
            checked.append(sent if type(sent) is list else list(sent))
        try:  # token types are checked where a token is first seen (the lexicon), not once per token here
            return self._predict(checked, threshold, tags_only)
        except TypeError:
            for i, sent in enumerate(checked):
                for j, tok in enumerate(sent):
                    if not isinstance(tok, str):
                        raise TypeError(
                            f"sentence {i}, token {j} is {type(tok).__name__}; tokens must be str"
                        ) from None
            raise

    def _predict(self, sentences: list[list[str]], threshold: float, tags_only: bool = False) -> Scored:
        """``model.predict_scored`` in calls of at most MAX_CALL_TOKENS tokens (whole sentences); with
        ``tags_only``, ``model.predict`` (proba and ents are then left empty)."""

        def call(part: list[list[str]]) -> Scored:
            return Scored(self.model.predict(part), [], []) if tags_only else self.model.predict_scored(part, threshold)

        if sum(map(len, sentences)) <= MAX_CALL_TOKENS:
            return call(sentences)
        out = Scored([], [], [])
        lo, count = 0, 0
        for hi in range(len(sentences) + 1):
            n = len(sentences[hi]) if hi < len(sentences) else 0
            if hi == len(sentences) or (count + n > MAX_CALL_TOKENS and hi > lo):
                part = call(sentences[lo:hi])
                out.tags.extend(part.tags)
                out.proba.extend(part.proba)
                out.ents.extend(part.ents)
                lo, count = hi, 0
            count += n
        return out

    # -- raw text -------------------------------------------------------------------------------

    def __call__(self, text: str, threshold: float = 0.0) -> Doc:
        """Tag one text. Empty or whitespace-only text gives a Doc without tokens. Only entities scoring at
        least ``threshold`` are kept (the tokens of the others are tagged O)."""
        return self._tag_batch([check_text(text)], check_threshold(threshold))[0]

    def pipe(self, texts: Iterable[str], batch_size: int = 1000, threshold: float = 0.0) -> Iterator[Doc]:
        """Tag a stream of texts lazily (a generator), sentences of ``batch_size`` texts tagged together; only
        entities scoring at least ``threshold`` are kept."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("pipe takes an iterable of texts (e.g. a list of str); to tag one text call tagger(text)")
        if not isinstance(texts, Iterable):
            raise TypeError(f"pipe takes an iterable of texts, got {type(texts).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        return self._pipe(iter(texts), batch_size, check_threshold(threshold))

    def _pipe(self, texts: Iterator[str], batch_size: int, threshold: float) -> Iterator[Doc]:
        done = 0
        while True:
            batch = list(islice(texts, batch_size))
            if not batch:
                return
            for i, t in enumerate(batch):
                check_text(t, f"text {done + i} of the stream")
            done += len(batch)
            yield from self._tag_batch(batch, threshold)

    def segment(self, text: str) -> Segmentation:
        """The tokens and sentence cuts of ``text``, exactly as :meth:`__call__` tags them."""
        return segment_text(self.raw_tokenizer, check_text(text), self._final_period)

    def segment_spacy(self, doc) -> Segmentation:
        """The tokens (the Doc's own) and sentence cuts of a spaCy ``Doc``, as this tagger cuts them."""
        return segment_doc(doc, final_period=self._final_period)

    @property
    def _final_period(self) -> bool:
        """Does the training data give a final abbreviation's period to the sentence (``Corp .``)?"""
        rules = self.model.tokenizer_rules
        return rules is not None and rules.split["final_period"]

    def tag_segments(
        self, segs: Sequence[Segmentation], threshold: float = 0.0
    ) -> list[tuple[list[str], np.ndarray, list[ScoredSpan]]]:
        """One (BIO2 tags, tag probabilities (n,), entities (label, start, end, score)) triple per segmented
        text, token indices counted over the whole text; all sentences tagged together."""
        sentences = [sent for seg in segs for sent in seg.sentences()]
        tags, proba, ents = self._predict(sentences, check_threshold(threshold))
        out, s = [], 0
        for seg in segs:
            n = len(seg.cuts) - 1
            doc_tags = [t for sent in tags[s : s + n] for t in sent]
            doc_proba = np.concatenate(proba[s : s + n]) if n else np.zeros(0)
            doc_ents = [
                (label, a + cut, b + cut, score)
                for sent, cut in zip(ents[s : s + n], seg.cuts)
                for label, a, b, score in sent
            ]
            out.append((doc_tags, doc_proba, doc_ents))
            s += n
        return out

    def _tag_batch(self, texts: list[str], threshold: float) -> list[Doc]:
        tokenizer = self.raw_tokenizer
        final_period = self._final_period
        segs = [segment_text(tokenizer, text, final_period) for text in texts]
        return [
            Doc.from_tags(text, seg.words, seg.starts, tags, proba, ents)
            for text, seg, (tags, proba, ents) in zip(texts, segs, self.tag_segments(segs, threshold))
        ]

    # -- integrations -----------------------------------------------------------------------------

    def explain(self, text: str, label: str | None = None, method: str = "norm") -> list[TokenSaliency]:
        """Per token of ``text``, how much each window position drives its class score (∂s_c/∂x); see
        :mod:`windowner.model.explain`. ``label``: an entity type, a tag, or None (each token's predicted tag)."""
        return explain_segmentation(self.model, self.segment(text), label, method)

    def to_spacy(self, text: str, threshold: float = 0.0):
        """Tag ``text`` into a spaCy ``Doc`` (same tokenizer) with ``doc.ents`` set (those scoring at least
        ``threshold``) and each entity's score in ``span._.windowner_score``. Lone surrogates, which spaCy
        cannot hold, become U+FFFD."""
        doc = self.tokenizer(tokenizable(check_text(text)))
        seg = self.segment_spacy(doc)
        [tagged] = self.tag_segments([seg], threshold)
        return self.set_entities(doc, seg, tagged)

    @staticmethod
    def set_entities(doc, seg: Segmentation, tagged: tuple[list[str], np.ndarray, list[ScoredSpan]]):
        """Put one :meth:`tag_segments` result on the spaCy ``doc`` it was segmented from: ``doc.ents`` and
        each entity's score in ``span._.windowner_score``. Returns ``doc``."""
        tags, proba, ents = tagged
        set_spacy_entities(doc, seg, tags, proba)
        for span, (_, _, _, score) in zip(doc.ents, ents):  # the entities' own scores, not token means
            span._.set(SCORE_ATTR, score)
        return doc


def default_model_path() -> Path:
    """``$WINDOWNER_MODEL`` if set and not empty; else ``models/default`` of a checkout where ``make demo`` has
    run; else the per-user cached default model (:mod:`windowner.model.default`; it may not be trained yet)."""
    if os.environ.get("WINDOWNER_MODEL"):
        return Path(os.environ["WINDOWNER_MODEL"])
    if (DEFAULT_MODEL_DIR / "config.json").is_file():
        return DEFAULT_MODEL_DIR
    from .model.default import cached_model_dir

    return cached_model_dir()


def ensure_default_model() -> Path:
    """:func:`default_model_path`, the cached default model trained first (about 10 s, once per user and
    windowner version) if it is not there yet."""
    if os.environ.get("WINDOWNER_MODEL"):
        path = Path(os.environ["WINDOWNER_MODEL"])
        if not path.is_dir():
            raise ModelError(
                f"$WINDOWNER_MODEL={path}: no such model directory; unset WINDOWNER_MODEL to use the default "
                "model, point it at a directory written by `windowner train`, or run `make demo` in a checkout"
            )
        return path
    if (DEFAULT_MODEL_DIR / "config.json").is_file():
        return DEFAULT_MODEL_DIR
    from .model.default import ensure_default_model as ensure_cached

    return ensure_cached()[0]


def load(path: str | os.PathLike | None = None) -> Tagger:
    """Load a model directory written by ``windowner train`` or ``Tagger.to_disk``; without ``path``, the
    default PER/LOC/DATE model (:func:`ensure_default_model`: trained on first use into the user's cache)."""
    if path is None:
        path = ensure_default_model()
    return Tagger.from_disk(path)


def train(
    train: str | os.PathLike | Pairs,
    dev: str | os.PathLike | Pairs | None = None,
    *,
    progress: bool = False,
    verbose: bool = False,
    tag_column: int = -1,
    scheme: str = "auto",
    init_model: str | os.PathLike | Tagger | None = None,
    **hyper_parameters,
) -> Tagger:
    """Train a tagger on a CoNLL file or (tokens, tags) pairs; ``hyper_parameters`` are TrainConfig fields.

    With ``dev``, the epoch with the best dev entity F1 is kept. ``scheme`` names the tagging scheme of
    the data (converted to BIO2); ``tag_column`` the CoNLL column of the tags. ``init_model`` (a model
    directory or a Tagger, left unchanged): train on from it; its vocabulary grows with the new data, labels
    may be added, its shape settings (window, hidden, vectors, feature sizes) are kept.

    >>> tagger = windowner.train("corpora/wn-pld.train.conll", dev="corpora/wn-pld.dev.conll", epochs=5)
    """
    known = set(TrainConfig.__dataclass_fields__)
    unknown = sorted(set(hyper_parameters) - known)
    if unknown:
        raise TypeError(f"unknown hyper-parameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    config = TrainConfig(**hyper_parameters).validate()
    read = {"tag_column": tag_column, "scheme": scheme, "labels": config.labels}
    start = None
    if isinstance(init_model, Tagger):
        start = init_model.model
    elif isinstance(init_model, (str, os.PathLike)):
        start = load_model(init_model)
    elif init_model is not None:
        raise TypeError(f"init_model must be a model directory or a Tagger, got {type(init_model).__name__}")
    model = fit(
        _pairs(train, read, "train"),
        None if dev is None else _pairs(dev, read, "dev"),
        config,
        progress=progress,
        log=print if verbose else None,
        init_model=start,
    )
    return Tagger(model)


def _pairs(data, read: dict, what: str) -> list:
    if isinstance(data, (str, os.PathLike)):
        from .text.conll import read_conll

        return [(s.tokens, s.tags) for s in read_conll(data, **read)]
    if isinstance(data, Iterable) and not isinstance(data, bytes):
        items = list(data)
        for i, item in enumerate(items):
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise TypeError(
                    f"{what}[{i}] is {type(item).__name__}; {what} must be a CoNLL file path or a list of "
                    "(tokens, tags) pairs, e.g. [(['Obama', 'visited', 'Paris'], ['B-PER', 'O', 'B-LOC'])]"
                )
        return check_tagged(
            [t for t, _ in items], [g for _, g in items], read["scheme"], (f"{what} tokens", f"{what} tags")
        )
    raise TypeError(f"{what} must be a CoNLL file path or a list of (tokens, tags) pairs, got {type(data).__name__}")
