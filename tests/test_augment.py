"""Entity replacement (issue #28 item 3): copies of training sentences with other PER and LOC names."""

from __future__ import annotations

import numpy as np

from windowner.model.augment import replace_entities
from windowner.model.config import TrainConfig
from windowner.model.training import _training_pairs

PAIRS = [
    ("President Amina Diallo arrived in Dakar late Sunday .".split(), "B-PER I-PER I-PER O O B-LOC O B-DATE O".split()),
    ("MR. HOLT FLIES TO PARIS".split(), "B-PER I-PER O O B-LOC".split()),
    ("Nothing happened on Monday .".split(), "O O O B-DATE O".split()),
    ("Obama spoke .".split(), "B-PER O O".split()),
]


def spans(tags):
    from windowner.text.tags import bio2_spans

    return [label for label, _, _ in bio2_spans(tags)]


def test_every_per_and_loc_mention_is_replaced_and_the_rest_kept():
    copies = replace_entities(PAIRS, 1.0, np.random.default_rng(0))
    assert len(copies) == 3  # the sentence without PER or LOC is not copied
    for (tokens, tags), (old_tokens, old_tags) in zip(copies, [PAIRS[0], PAIRS[1], PAIRS[3]]):
        assert len(tokens) == len(tags) and spans(tags) == spans(old_tags)
        assert [t for t, g in zip(tokens, tags) if g == "O" or "DATE" in g] == [
            t for t, g in zip(old_tokens, old_tags) if g == "O" or "DATE" in g
        ]
    first, caps, _ = copies
    assert first[0][0] == "President" and first[0][1:3] != ["Amina", "Diallo"]  # the title stays
    assert caps[0][0] == "MR." and all(t.isupper() for t, g in zip(*caps) if g != "O")  # the mention's casing


def test_the_share_and_the_seed():
    many = PAIRS * 200
    copies = replace_entities(many, 0.25, np.random.default_rng(1))
    assert 0.15 * 600 < len(copies) < 0.35 * 600
    assert copies == replace_entities(many, 0.25, np.random.default_rng(1))
    assert replace_entities(many, 0.0, np.random.default_rng(1)) == []


def test_the_training_option_adds_the_copies():
    base, tags = _training_pairs(PAIRS, TrainConfig())
    more, same_tags = _training_pairs(PAIRS, TrainConfig(entity_replacement=1.0))
    assert more[: len(base)] == base and len(more) == len(base) + 3 and tags == same_tags
