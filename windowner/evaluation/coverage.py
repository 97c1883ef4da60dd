"""Which entity types a gold file and a model share, so that no gold entity is dropped without a word.

``windowner evaluate`` scores every gold entity, as conlleval does: a gold type the model never predicts counts as
missed (recall 0), and an entity of a model type the file never holds counts as a false positive. With
``--types model`` the gold entities of other types are left out of the scores instead. Either way
:class:`TypeCoverage` says which types differ and how many entities they hold (on stderr, in ``--json`` and in the
``--html`` report).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..text.tags import entity_counts, format_counts

TYPES = ("all", "model")  # what `windowner evaluate --types` scores


@dataclass
class TypeCoverage:
    """Entity counts per type of the gold data and of the predictions, against the ``model_types``.

    ``scored``: "all" (every gold entity is scored, as conlleval does) or "model" (only the model's types).
    """

    model_types: tuple[str, ...]
    scored: str = "all"
    gold: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.scored not in TYPES:
            raise ValueError(f"scored must be one of {', '.join(TYPES)}, got {self.scored!r}")
        self.model_types = tuple(self.model_types)

    def add(self, gold: Iterable[Sequence[str]], predicted: Iterable[Sequence[str]]) -> None:
        """Count the entities of BIO2 gold and predicted tag sequences (the gold before any restriction)."""
        self.gold.update(entity_counts(gold))
        self.predicted.update(entity_counts(predicted))

    @property
    def gold_not_predicted(self) -> dict[str, int]:
        """Gold entities per type the model does not predict, the most frequent first."""
        counts = {t: n for t, n in self.gold.items() if t not in self.model_types}
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def model_not_in_gold(self) -> dict[str, int]:
        """The model's types that the gold data never holds, with how often the model predicted each."""
        return {t: self.predicted[t] for t in sorted(self.model_types) if not self.gold[t]}

    def messages(self) -> list[str]:
        """One line per mismatch (none when the types agree), as ``windowner evaluate`` prints them."""
        out = []
        if self.gold_not_predicted:
            how = (
                "left out of the scores (--types model)"
                if self.scored == "model"
                else "scored as missed, as conlleval does (--types model leaves them out)"
            )
            out.append(f"gold types the model does not predict: {format_counts(self.gold_not_predicted)}; {how}")
        if self.model_not_in_gold:
            found = ", ".join(f"{t} ({n:,} predicted)" for t, n in self.model_not_in_gold.items())
            out.append(f"model types the file never holds: {found}; every such prediction counts as a false positive")
        return out

    def to_dict(self) -> dict:
        """The facts for ``--json``: what was scored, the model's types and both mismatches with their counts."""
        return {
            "scored": self.scored,
            "model_types": sorted(self.model_types),
            "gold_not_predicted": self.gold_not_predicted,
            "model_not_in_gold": self.model_not_in_gold,
        }
