"""Load test of ``windowner serve``: concurrent clients posting mixed texts, every answer checked.

    python benchmarks/serve_load.py [--model DIR] [--conll FILE] [--clients 32] [--requests 100] [--no-write]

Starts ``windowner serve MODEL`` in a subprocess on a free 127.0.0.1 port (model: ``--model``, else
``models/default`` from ``make demo``), then ``--clients`` asyncio clients (httpx, one connection each) send
``--requests`` requests each: single texts of one to eight sentences of ``--conll`` (default the project's dev
file) and batches of two to eight texts, in a fixed shuffled order. Every response must be 200 and byte for byte
what :func:`windowner.integrations.serve.tag_json` gives for the same request, single-threaded, in this process. Prints
p50/p99 latency and requests/s and updates the ``<!-- serve -->`` section of benchmarks/RESULTS.md (unless
``--no-write``). ``tests/test_serve.py`` runs the same load with the test model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
EXTRA_TEXTS = [
    "",
    "   ",
    "Nothing to see here.",
    "Anna Chen 🙂 flew from Łódź to São Paulo on Friday.",
    "<script>alert(1)</script> Kofi Mensah & Mei Chen met in Lima.",
    "x" * 2000,
]


def mixed_requests(sentences: list[str], n: int = 200, seed: int = 0) -> list[dict]:
    """``n`` request bodies: single texts (one to eight sentences, or an odd one) and batches of 2..8 texts."""
    rng = random.Random(seed)

    def text() -> str:
        if rng.random() < 0.1:
            return rng.choice(EXTRA_TEXTS)
        start = rng.randrange(len(sentences))
        return " ".join(sentences[start : start + rng.randint(1, 8)])

    return [
        {"texts": [text() for _ in range(rng.randint(2, 8))]} if rng.random() < 0.3 else {"text": text()}
        for _ in range(n)
    ]


def expected_bodies(tagger, requests: list[dict]) -> list[bytes]:
    """What the server must answer to each request: the same function, single-threaded, in this process."""
    from windowner.integrations.serve import tag_json

    return [
        tag_json(tagger, r["texts"], True) if "texts" in r else tag_json(tagger, [r["text"]], False) for r in requests
    ]


@dataclass
class LoadResult:
    clients: int
    requests: int
    wall: float
    latencies: list[float] = field(repr=False)
    errors: list[str] = field(repr=False)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")

    @property
    def per_second(self) -> float:
        return self.requests / self.wall

    def summary(self) -> str:
        return (
            f"{self.clients} clients x {self.requests // self.clients} requests: {self.requests} in "
            f"{self.wall:.2f} s, {self.per_second:,.0f} requests/s, latency p50 {1000 * self.percentile(50):.1f} "
            f"ms, p99 {1000 * self.percentile(99):.1f} ms, {len(self.errors)} errors"
        )


def run_load(
    base_url: str, requests: list[dict], expected: list[bytes], clients: int = 32, per_client: int = 100
) -> LoadResult:
    """``clients`` concurrent clients, each sending ``per_client`` of ``requests`` (client k starts at offset
    k), every response compared with ``expected``; a bounded run (30 s timeout per request)."""
    import httpx

    bodies = [json.dumps(r).encode() for r in requests]
    latencies: list[float] = []
    errors: list[str] = []

    async def client(k: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            for j in range(per_client):
                i = (k * 7 + j) % len(bodies)
                t0 = time.perf_counter()
                try:
                    r = await http.post("/tag", content=bodies[i], headers={"Content-Type": "application/json"})
                except httpx.HTTPError as exc:
                    errors.append(f"client {k} request {j}: {type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200 or r.content != expected[i]:
                    errors.append(f"client {k} request {j} (body {i}): {r.status_code} {r.content[:200]!r}")

    async def main() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        return time.perf_counter() - t0

    wall = asyncio.run(main())
    return LoadResult(clients, clients * per_client, wall, latencies, errors)


@contextmanager
def cli_server(model: str | os.PathLike, *options: str, timeout: float = 60) -> Iterator[str]:
    """``windowner serve MODEL --port 0 OPTIONS`` in a subprocess; yields its base URL, stops it with Ctrl-C."""
    cmd = [sys.executable, "-m", "windowner", "serve", str(model), "--port", "0", *options]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT)
    log: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def drain() -> None:  # read stderr to the end, so the server never blocks on a full pipe
        for line in proc.stderr:
            log.append(line)
            m = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if m and not url:
                url.append(m.group(1))
                found.set()
        found.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not found.wait(timeout) or not url:
            raise RuntimeError(f"windowner serve did not start: {' '.join(cmd)}\n{''.join(log)}")
        yield url[0]
    finally:
        proc.send_signal(2)  # SIGINT, as Ctrl-C
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)


def corpus_sentences(path: Path) -> list[str]:
    from windowner.text.conll import read_conll

    return [" ".join(s.tokens) for s in read_conll(path, tag_column=None)]


def write_results(result: LoadResult, command: str, model: str, corpus: str, load_before: float) -> None:
    """Replace (or append) the ``<!-- serve -->`` section of benchmarks/RESULTS.md."""
    import windowner

    section = f"""<!-- serve -->
## Serving

Generated by `benchmarks/serve_load.py`; `{command}`, {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.
`windowner serve {model}` in its own process on 127.0.0.1; {result.clients} asyncio clients (httpx, one
connection each) send {result.requests // result.clients} requests each, single texts of 1–8 sentences of {corpus} and
batches of 2–8 texts; every response is checked byte for byte against single-threaded tagging.
Machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, windowner
{windowner.__version__}; 1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (the clients
share the cores with the server; other jobs on a shared machine make the figures noisy).

| clients | requests | errors | wall s | requests/s | p50 latency ms | p99 latency ms |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| {result.clients} | {result.requests} | {len(result.errors)} | {result.wall:.2f} | {result.per_second:,.0f} | \
{1000 * result.percentile(50):.1f} | {1000 * result.percentile(99):.1f} |
<!-- /serve -->"""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    marked = re.compile(r"<!-- serve -->.*?<!-- /serve -->", re.S)
    text = marked.sub(lambda _: section, text) if marked.search(text) else text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    import windowner
    from windowner.tagger import DEFAULT_MODEL_DIR

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model directory (default: models/default)")
    p.add_argument("--conll", default=str(ROOT / "corpora" / "wn-pld.dev.conll"), help="where the texts come from")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--requests", type=int, default=100, help="requests per client")
    p.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/RESULTS.md alone")
    args = p.parse_args(argv)

    tagger = windowner.load(args.model)
    requests = mixed_requests(corpus_sentences(Path(args.conll)))
    expected = expected_bodies(tagger, requests)
    load_before = os.getloadavg()[0]
    with cli_server(args.model) as url:
        result = run_load(url, requests, expected, args.clients, args.requests)
    print(result.summary())
    for e in result.errors[:10]:
        print("error:", e, file=sys.stderr)
    if not args.no_write:
        command = "python benchmarks/serve_load.py" + "".join(
            f" {a}" for a in (argv or sys.argv[1:]) if a != "--no-write"
        )
        write_results(result, command, Path(args.model).name, Path(args.conll).name, load_before)
        print(f"updated {RESULTS.relative_to(ROOT)}")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
