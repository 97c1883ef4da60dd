"""The JSON form of a tagged text, shared by ``windowner tag --format json`` and ``windowner serve``.

One function builds the object and one writes it, so the command line and the server cannot drift apart.
"""

from __future__ import annotations

import json


def doc_record(doc, doc_id: int) -> dict:
    """``{"id": doc_id, "text": ..., "ents": [...]}`` for a :class:`windowner.tagger.Doc`."""
    return {"id": doc_id, **doc.to_dict()}


def dumps(obj) -> str:
    """One line of JSON as ``windowner tag --format json`` writes it (non-ASCII characters kept as they are)."""
    return json.dumps(obj, ensure_ascii=False)
