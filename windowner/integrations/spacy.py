"""A spaCy pipeline component: ``nlp.add_pipe("windowner", config={"model": "model/"})`` sets ``doc.ents``.

The factory is registered with spaCy through the ``spacy_factories`` entry point (and by importing this
module). Each entity's score (the probability that the span with its label is exactly right) is in
``span._.windowner_score``; with ``config={"threshold": 0.8}`` only entities scoring at least 0.8 are set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

from ..errors import ModelError
from ..evaluation.confidence import check_threshold
from ..model.files import save_model
from ..tagger import Tagger, load
from ..text.segment import SCORE_ATTR

if not Span.has_extension(SCORE_ATTR):
    Span.set_extension(SCORE_ATTR, default=None)


class WindownerComponent:
    """Tags the non-whitespace tokens of each Doc with a windowner model and sets ``doc.ents``.

    Sentences are cut as :class:`windowner.Tagger` cuts them, and the Doc's own tokens are tagged: with
    the model's tokenizer (``nlp.tokenizer = component.tagger.spacy_tokenizer(nlp.vocab)``) the entities
    equal ``tagger(text).ents``; ``spacy.blank("en")`` tokenizes like models trained before windowner
    learned tokenizer conventions.
    """

    def __init__(
        self, model_path: str | Path | None, name: str = "windowner", batch_size: int = 1000, threshold: float = 0.0
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"windowner component: batch_size must be a positive int, got {batch_size!r}")
        try:
            self.threshold = check_threshold(threshold)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"windowner component: {exc}") from None
        self.name, self.batch_size = name, batch_size
        try:
            self.tagger = load(model_path)
        except ModelError as exc:
            if model_path is not None:
                raise
            raise ModelError(
                "the windowner spaCy component needs a model directory, e.g. nlp.add_pipe('windowner', "
                f"config={{'model': 'model/'}}); none was given, and {exc}"
            ) from exc

    @property
    def labels(self) -> list[str]:
        return self.tagger.labels

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        """Tag a stream of Docs, sentences of ``batch_size`` Docs in one model call (up to the tagger's token cap)."""
        docs = iter(docs)
        size = batch_size or self.batch_size
        while True:
            batch = list(islice(docs, size))
            if not batch:
                return
            segs = [self.tagger.segment_spacy(d) for d in batch]
            for d, seg, tagged in zip(batch, segs, self.tagger.tag_segments(segs, self.threshold)):
                yield self.tagger.set_entities(d, seg, tagged)

    # -- serialization: nlp.to_disk copies the model into the pipeline directory ---------------

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        save_model(self.tagger.model, path)  # atomic, replaces an older copy

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> WindownerComponent:
        self.tagger = Tagger.from_disk(path)
        return self


@Language.factory("windowner", default_config={"model": None, "batch_size": 1000, "threshold": 0.0})
def make_windowner(
    nlp: Language, name: str, model: str | None, batch_size: int, threshold: float
) -> WindownerComponent:
    """spaCy factory: ``model`` is a model directory written by ``windowner train``; entities scoring below
    ``threshold`` are left out."""
    return WindownerComponent(model, name, batch_size, threshold)
