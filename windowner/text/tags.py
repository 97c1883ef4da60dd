"""NER tags: tagging schemes (BIO2, IOB1, BIOES, IO), conversion to and from BIO2, spans, entity types.

Everything inside windowner speaks BIO2 (``B-X`` opens an entity, ``I-X`` continues it). One state
machine, :class:`BIO2Converter`, turns any scheme into BIO2; the CoNLL reader and :func:`to_bio2` both
use it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "SCHEMES",
    "BIO2Converter",
    "TagError",
    "bio2_spans",
    "check_scheme",
    "from_bio2",
    "label_problem",
    "parse_labels",
    "parse_mapping",
    "parse_tag",
    "relabel",
    "to_bio2",
]

SCHEMES = ("bio2", "iob1", "bioes", "io")

# Prefixes each declared scheme may use ("auto" accepts them all).
ALLOWED_PREFIXES = {
    "bio2": frozenset("OBI"),
    "iob1": frozenset("OBI"),
    "io": frozenset("OI"),
    "bioes": frozenset("OBIES"),
    "auto": frozenset("OBIES"),
}
_TAG_RE = re.compile(r"[BIES]-\S+\Z")


class TagError(ValueError):
    """An invalid tag (``kind="invalid"``) or one the declared scheme does not use (``kind="scheme"``)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def parse_tag(tag: str) -> tuple[str, str] | None:
    """``(prefix, label)`` of a valid tag (``("O", "")`` for O), else None."""
    if tag == "O":
        return ("O", "")
    if _TAG_RE.match(tag):
        return (tag[0], tag[2:])
    return None


def tag_problem(tag: str) -> str:
    """Explain why ``tag`` is not a valid NER tag."""
    hint = "tags must be 'O' or B-, I-, E- or S- followed by an entity type, e.g. 'B-PER'"
    if tag.upper() != tag and parse_tag(tag.upper()[:2] + tag[2:]) is not None:
        return f"invalid NER tag {tag!r}: tags are case-sensitive; {hint}"
    if len(tag) >= 2 and tag[0] in "BIES" and tag[1] == "-":
        return f"invalid NER tag {tag!r}: the entity type after {tag[:2]!r} is missing; {hint}"
    return f"invalid NER tag {tag!r}: {hint}"


def check_scheme(scheme: str, *, allow_auto: bool) -> None:
    """ValueError unless ``scheme`` is one of :data:`SCHEMES` (or "auto" where allowed)."""
    valid = SCHEMES + (("auto",) if allow_auto else ())
    if scheme not in valid:
        raise ValueError(f"unknown tagging scheme {scheme!r}; choose one of {', '.join(valid)}")


class BIO2Converter:
    """Tags of one scheme in, BIO2 tags out, one tag at a time; call :meth:`end_sentence` between sentences.

    An I-X (or E-X) that does not continue an entity of type X opens a new one as B-X; it counts as a
    *repair* (see :attr:`repairs`), which for IOB1/IO data is a normal opening (:meth:`repairs_for`).
    With ``scheme="auto"`` the scheme is decided from what was seen (:attr:`scheme`): E-/S- → BIOES,
    an I- opening the first entity → IOB1, else BIO2.
    """

    def __init__(self, scheme: str = "auto"):
        check_scheme(scheme, allow_auto=True)
        self.declared = scheme
        self._allowed = ALLOWED_PREFIXES[scheme]
        self._info: dict[str, tuple[str, str, str, str]] = {}  # tag -> (prefix, label, "B-"+label, "I-"+label)
        self._open: str | None = None  # the type of the entity the previous tag left open
        self.first_prefix: str | None = None  # prefix of the first non-O tag
        self.saw_es = False
        self.repairs = 0

    def end_sentence(self) -> None:
        self._open = None

    def push(self, tag: str) -> tuple[str, bool]:
        """The BIO2 tag for ``tag`` and whether it was a repair. Raises :class:`TagError`."""
        if tag == "O":
            self._open = None
            return "O", False
        info = self._info.get(tag)
        if info is None:
            parsed = parse_tag(tag)
            if parsed is None:
                raise TagError(tag_problem(tag), "invalid")
            if parsed[0] not in self._allowed:
                raise TagError(f"tag {tag!r} is not used by the {self.declared.upper()} scheme", "scheme")
            info = self._info[tag] = (parsed[0], parsed[1], "B-" + parsed[1], "I-" + parsed[1])
        prefix, label, btag, itag = info
        if self.first_prefix is None:
            self.first_prefix = prefix
        if prefix == "B":
            self._open = label
            return btag, False
        if prefix == "S":
            self.saw_es = True
            self._open = None
            return btag, False
        # I or E: continues an open entity of the same type, or opens one
        repaired = self._open != label
        if prefix == "E":
            self.saw_es = True
            self._open = None
        else:
            self._open = label
        if repaired:
            self.repairs += 1
            return btag, True
        return itag, False

    @property
    def scheme(self) -> str:
        """The declared scheme, or the detected one for "auto"."""
        if self.declared != "auto":
            return self.declared
        return "bioes" if self.saw_es else "iob1" if self.first_prefix == "I" else "bio2"

    def repairs_for(self) -> int:
        """Repairs that were real fixes: openings by I-/E- count only in BIO2 and BIOES data."""
        return self.repairs if self.scheme in ("bio2", "bioes") else 0


def to_bio2(tags: Sequence[str], scheme: str) -> tuple[list[str], int]:
    """Convert ``tags`` of ``scheme`` (or "auto") to BIO2; return ``(bio2_tags, repairs)``.

    See :class:`BIO2Converter`. Raises ValueError (a :class:`TagError`) on an invalid tag or one the
    scheme does not use.
    """
    conv = BIO2Converter(scheme)
    out = [conv.push(tag)[0] for tag in tags]
    return out, conv.repairs_for()


def bio2_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities of BIO2 ``tags`` as ``(label, start, end_exclusive)``.

    An I-X that does not continue an X entity starts a new one (as conlleval does).
    Raises ValueError on a tag that is not BIO2.
    """
    spans: list[tuple[str, int, int]] = []
    label: str | None = None
    start = 0
    for i, tag in enumerate(tags):
        if tag == "O":
            if label is not None:
                spans.append((label, start, i))
                label = None
            continue
        parsed = parse_tag(tag)
        if parsed is None or parsed[0] not in "BI":
            raise ValueError(f"{tag!r} is not a BIO2 tag (expected 'O', 'B-X' or 'I-X')")
        prefix, lab = parsed
        if prefix == "I" and label == lab:
            continue
        if label is not None:
            spans.append((label, start, i))
        label, start = lab, i
    if label is not None:
        spans.append((label, start, len(tags)))
    return spans


def from_bio2(tags: Sequence[str], scheme: str) -> list[str]:
    """Convert BIO2 ``tags`` to ``scheme``.

    Stray I- tags are treated as entity openings (see :func:`bio2_spans`). IO cannot mark where
    two adjacent entities of the same type meet, so they merge when read back.
    """
    check_scheme(scheme, allow_auto=False)
    out = ["O"] * len(tags)
    prev_end, prev_label = -1, None
    for label, start, end in bio2_spans(tags):
        b, i = "B-" + label, "I-" + label
        if scheme == "bio2":
            out[start] = b
            out[start + 1 : end] = [i] * (end - start - 1)
        elif scheme == "iob1":
            out[start:end] = [i] * (end - start)
            if prev_end == start and prev_label == label:
                out[start] = b
        elif scheme == "io":
            out[start:end] = [i] * (end - start)
        else:  # bioes
            if end - start == 1:
                out[start] = "S-" + label
            else:
                out[start] = b
                out[start + 1 : end - 1] = [i] * (end - start - 2)
                out[end - 1] = "E-" + label
        prev_end, prev_label = end, label
    return out


# --------------------------------------------------------------------------- entity types


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot be an entity type, or None if it can."""
    if not label:
        return "an entity type may not be empty"
    if any(c.isspace() for c in label):
        return f"entity type {label!r} contains whitespace"
    if label == "O":
        return "'O' is not an entity type"
    if _TAG_RE.match(label):
        return f"{label!r} looks like a tag: give the entity type without the B-/I- prefix, e.g. {label[2:]!r}"
    return None


def parse_labels(text: str) -> list[str]:
    """Parse a comma-separated list of entity types: ``"PER,LOC,DATE"`` -> ``["PER", "LOC", "DATE"]``."""
    if not text or not text.strip():
        raise ValueError("no entity types given: expected a comma-separated list such as 'PER,LOC,ORG'")
    labels: list[str] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"empty entity type in {text!r} (check for doubled or trailing commas)")
        problem = label_problem(item)
        if problem:
            raise ValueError(f"bad entity type list {text!r}: {problem}")
        if item in labels:
            raise ValueError(f"bad entity type list {text!r}: {item!r} is listed twice")
        labels.append(item)
    return labels


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``"PERSON=PER,GPE=LOC"`` into ``{"PERSON": "PER", "GPE": "LOC"}``.

    A target of ``O`` drops the type (``MISC=O``).
    """
    if not text or not text.strip():
        raise ValueError("no mapping given: expected a comma-separated list such as 'PERSON=PER,GPE=LOC'")
    mapping: dict[str, str] = {}
    for item in text.split(","):
        if item.count("=") != 1:
            raise ValueError(
                f"bad mapping item {item.strip()!r} in {text!r}: each item must look like OLD=NEW, e.g. 'PERSON=PER'"
            )
        old, new = (s.strip() for s in item.split("="))
        problem = label_problem(old) or (None if new == "O" else label_problem(new))
        if problem:
            raise ValueError(f"bad mapping item {item.strip()!r} in {text!r}: {problem}")
        if old in mapping:
            raise ValueError(f"bad mapping {text!r}: {old!r} is mapped twice")
        mapping[old] = new
    return mapping


def relabel(tags: Sequence[str], mapping: Mapping[str, str], keep: frozenset[str] | None) -> list[str]:
    """Rename the entity types of BIO2 ``tags`` with ``mapping``, then keep only ``keep`` (others -> O)."""
    out = ["O"] * len(tags)
    for label, start, end in bio2_spans(tags):
        label = mapping.get(label, label)
        if label == "O" or (keep is not None and label not in keep):
            continue
        out[start] = "B-" + label
        if end - start > 1:
            out[start + 1 : end] = ["I-" + label] * (end - start - 1)
    return out


def entity_counts(tag_sequences: Iterable[Sequence[str]]) -> Counter[str]:
    """Entities per type in BIO2 tag sequences (each ``B-`` opens one)."""
    return Counter(tag[2:] for tags in tag_sequences for tag in tags if tag.startswith("B-"))


def format_counts(counts: Mapping[str, int]) -> str:
    """``ORG 1,341, MISC 922``: types and counts, the most frequent first (ties by name); "none" when empty."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{label} {n:,}" for label, n in items) or "none"
