"""The golden record: what a fixed-seed model trained on corpora/ predicts, and its weights hash.

Refactoring must not change behaviour: ``tests/test_golden.py`` retrains the same model and compares it
with ``tests/data/golden.json``. A change that is *meant* to change predictions regenerates the record with
``.venv/bin/python tests/golden.py --write`` and says why in its commit message.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "corpora"
GOLDEN = Path(__file__).resolve().parent / "data" / "golden.json"
CONFIG = dict(labels=["PER", "LOC", "DATE"], epochs=3, seed=7)


def blas_info() -> list[dict]:
    """numpy's BLAS kernels: a weights hash is only comparable between machines that share them."""
    import numpy  # noqa: F401  (loads its BLAS)
    from threadpoolctl import threadpool_info

    return sorted(
        (
            {k: i.get(k) for k in ("internal_api", "version", "architecture")}
            for i in threadpool_info()
            if i.get("user_api") == "blas" and "numpy" in i.get("filepath", "")
        ),
        key=json.dumps,
    )


def weights_hash(model_dir: Path) -> str:
    import numpy as np

    h = hashlib.sha256()
    with np.load(model_dir / "weights.npz", allow_pickle=False) as data:
        for name in sorted(data.files):
            a = data[name]
            h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def record() -> dict:
    import windowner
    from windowner.text.conll import read_conll

    train = [(s.tokens, s.tags) for s in read_conll(CORPORA / "wn-pld.train.conll")]
    dev = [(s.tokens, s.tags) for s in read_conll(CORPORA / "wn-pld.dev.conll")]
    test = [s.tokens for s in read_conll(CORPORA / "wn-pld.test.conll")]
    tagger = windowner.train(train, dev, **CONFIG)
    with tempfile.TemporaryDirectory() as tmp:
        tagger.to_disk(Path(tmp) / "model")
        digest = weights_hash(Path(tmp) / "model")
    texts = [" ".join(toks) for toks in test]
    docs = list(tagger.pipe(texts))
    return {
        "config": CONFIG,
        "blas": blas_info(),
        "weights_sha256": digest,
        "tags": tagger.tag_tokens(test),
        "ents": [[[e.label, e.start_char, e.end_char, e.score] for e in d.ents] for d in docs],
    }


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/golden.py --write   (regenerates tests/data/golden.json)")
    GOLDEN.write_text(json.dumps(record(), indent=None, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
