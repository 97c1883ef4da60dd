"""A spaCy pipeline component: ``nlp.add_pipe("windowner", config={"model": "model/"})`` sets ``doc.ents``."""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc, Span

from .decode import spans


class WindownerComponent:
    """Tags the non-whitespace tokens of each Doc with a windowner model and sets ``doc.ents``."""

    def __init__(self, model_path: str | None, name: str = "windowner", batch_size: int = 1000):
        from .tagger import load

        self.name, self.batch_size = name, batch_size
        self.tagger = load(model_path)

    def _set_ents(self, doc: Doc, words_idx: list[int], tags: list[str]) -> Doc:
        doc.ents = [Span(doc, words_idx[a], words_idx[b - 1] + 1, label=label) for label, a, b in spans(tags)]
        return doc

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs, batch_size: int | None = None):
        from itertools import islice

        docs = iter(docs)
        size = batch_size or self.batch_size
        while True:
            batch = list(islice(docs, size))
            if not batch:
                return
            idx = [[t.i for t in d if not t.is_space] for d in batch]
            tags = self.tagger.tag_tokens([[d[i].text for i in ix] for d, ix in zip(batch, idx)])
            for d, ix, t in zip(batch, idx, tags):
                yield self._set_ents(d, ix, t)


@Language.factory("windowner", default_config={"model": None, "batch_size": 1000})
def make_windowner(nlp: Language, name: str, model: str | None, batch_size: int) -> WindownerComponent:
    return WindownerComponent(model, name, batch_size)
