"""Behaviour is pinned: a fixed-seed model trained on corpora/ predicts exactly what tests/data/golden.json holds."""

from __future__ import annotations

import json

import pytest

from golden import GOLDEN, blas_info, record


@pytest.fixture(scope="module")
def pair():
    return json.loads(GOLDEN.read_text(encoding="utf-8")), record()


def test_tags_and_entities_are_unchanged(pair):
    want, got = pair
    assert got["config"] == want["config"]
    assert got["tags"] == want["tags"]
    assert [[e[:3] for e in d] for d in got["ents"]] == [[e[:3] for e in d] for d in want["ents"]]
    # scores: exact where the BLAS kernels are the ones the record was made with; else float32 rounding apart
    same_blas = got["blas"] == want["blas"]
    for d_got, d_want in zip(got["ents"], want["ents"]):
        for e_got, e_want in zip(d_got, d_want):
            assert e_got[3] == (e_want[3] if same_blas else pytest.approx(e_want[3], abs=1e-5))


def test_weights_hash_is_unchanged(pair):
    want, got = pair
    if got["blas"] != want["blas"]:
        pytest.skip(
            f"BLAS kernels {blas_info()} differ from the record's {want['blas']}: float32 training "
            "rounds differently, so only the predictions are compared"
        )
    assert got["weights_sha256"] == want["weights_sha256"]
