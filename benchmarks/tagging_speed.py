"""Tagging speed in one fresh process: cold and warm, pre-tokenized and raw text, 1 vs 2 threads sharing a tagger.

    python benchmarks/tagging_speed.py MODEL_DIR FILE.conll

Prints one JSON line (tokens/s). Texts are the file's sentences, each given once per pass; "cold" is the first
pass of a freshly loaded model (new word types, projections, tokenizer set-up), "warm" a second pass. For a
before/after comparison run it with ``PYTHONPATH`` pointing at another checkout, on the same model.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def rate(n: int, fn) -> float:
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def main(model_dir: str, conll: str) -> dict:
    import windowner
    from windowner.text.conll import read_conll

    sents = [s.tokens for s in read_conll(conll)]
    texts = [" ".join(s) for s in sents]
    n = sum(map(len, sents))
    t0 = time.perf_counter()
    tagger = windowner.load(model_dir)
    out = {"tokens": n, "load_s": time.perf_counter() - t0}
    out["pretok_cold"] = rate(n, lambda: tagger.tag_tokens(sents))
    out["pretok_warm"] = rate(n, lambda: tagger.tag_tokens(sents))
    raw = windowner.load(model_dir)
    out["raw_cold"] = rate(n, lambda: list(raw.pipe(texts)))
    out["raw_warm"] = rate(n, lambda: list(raw.pipe(texts)))
    for threads in (1, 2):  # one shared, warm tagger; each thread tags its share in batches of 50 texts
        shares = [texts[i::threads] for i in range(threads)]
        with ThreadPoolExecutor(threads) as pool:
            out[f"raw_warm_{threads}_threads"] = rate(
                n, lambda shares=shares: list(pool.map(lambda share: list(raw.pipe(share, batch_size=50)), shares))
            )
    return {k: round(v, 3) if k == "load_s" else round(v) for k, v in out.items()}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
