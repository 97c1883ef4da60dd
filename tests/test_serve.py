"""``windowner serve``: a real uvicorn server on 127.0.0.1, answers equal to ``windowner tag --format json``,
every error as JSON, and a bounded load test (32 clients x 100 requests) checked response by response."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import windowner  # noqa: E402
from windowner.integrations.serve import MAX_BODY, create_app  # noqa: E402

from servekit import ROOT, serve_load, thread_server  # noqa: E402

TEXTS = [
    "Kofi Mensah visited Paris on 5 May 2009 .",
    "On Monday , Anna Chen arrived in Buenos Aires . Reporters asked Ivan Petrov about the floods in Lima .",
    "",
    "   ",
    "Nothing to see here.",
    "Mei Chen 🙂 flew from Łódź to São Paulo last Tuesday, said Priya Sharma.",
    "<script>alert(1)</script> Omar Haddad & Jonas Berg met in Oslo\tyesterday .",
    "  leading and trailing spaces, Diego Alvarez in Hanoi  ",
]


@pytest.fixture(scope="module")
def url(tiny_tagger):
    with thread_server(create_app(tiny_tagger)) as base:
        yield base


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "windowner", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def cli_json_lines(model_dir, paths) -> list[str]:
    r = run_cli("tag", str(model_dir), *map(str, paths), "--format", "json")
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def assert_alive(url: str) -> None:
    r = httpx.post(f"{url}/tag", json={"text": "Anna Chen visited Paris ."})
    assert r.status_code == 200 and r.json()["id"] == 0


def test_health(url, tiny_model_dir, tiny_tagger):
    r = httpx.get(f"{url}/health")
    assert r.status_code == 200
    assert r.json() == {"model": tiny_model_dir.name, "labels": tiny_tagger.labels, "version": windowner.__version__}


def test_single_texts_equal_cli_output(url, tiny_model_dir, tmp_path):
    """Each text alone in its own file is document 0 of its own batch: exactly what POST {"text": ...} answers."""
    files = []
    for i, text in enumerate(TEXTS):
        files.append(tmp_path / f"{i}.txt")
        files[-1].write_text(text + "\n", encoding="utf-8")
    lines = cli_json_lines(tiny_model_dir, files)
    assert len(lines) == len(TEXTS)
    for text, line in zip(TEXTS, lines):
        r = httpx.post(f"{url}/tag", json={"text": text})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.content.decode("utf-8") == line
    assert any(json.loads(line)["ents"] for line in lines)


def test_batch_equals_cli_output(url, tiny_model_dir, tmp_path):
    f = tmp_path / "all.txt"
    f.write_text("".join(t + "\n" for t in TEXTS), encoding="utf-8")
    lines = cli_json_lines(tiny_model_dir, [f])
    r = httpx.post(f"{url}/tag", json={"texts": TEXTS})
    assert r.status_code == 200
    assert r.content.decode("utf-8") == '{"docs": [' + ", ".join(lines) + "]}"
    assert [d["id"] for d in r.json()["docs"]] == list(range(len(TEXTS)))
    assert httpx.post(f"{url}/tag", json={"texts": []}).json() == {"docs": []}


def test_lone_surrogate_gives_valid_json(url, tiny_tagger):
    r = httpx.post(f"{url}/tag", content=b'{"text": "Anna Chen \\ud800 visited Paris ."}')
    assert r.status_code == 200
    assert r.json()["text"] == "Anna Chen \ud800 visited Paris ."


def test_page_is_self_contained(url):
    r = httpx.get(f"{url}/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    for marker in ('id="text"', 'id="tag-button"', 'id="threshold"', 'id="labels"', 'id="result"'):
        assert marker in page
    assert "http://" not in page and "https://" not in page and "<script src" not in page


ERRORS = [
    ("POST", "/tag", b'{"text": ', 400, "not valid JSON"),
    ("POST", "/tag", b"", 400, "the request body is empty"),
    ("POST", "/tag", b"\xff\xfe\xfa", 400, "not valid JSON"),
    ("POST", "/tag", b"[" * 200_000, 400, "nested too deeply"),
    ("POST", "/tag", b'["Anna"]', 422, "must be an object, got an array"),
    ("POST", "/tag", b'{"text": 5}', 422, '"text" must be a string, got a number'),
    ("POST", "/tag", b'{"text": null}', 422, '"text" must be a string, got null'),
    ("POST", "/tag", b'{"texts": "Anna"}', 422, '"texts" must be an array of strings, got a string'),
    ("POST", "/tag", b'{"texts": ["Anna", {}]}', 422, "item 1 is an object"),
    ("POST", "/tag", b'{"text": "a", "texts": ["b"]}', 422, 'give "text" or "texts", not both'),
    ("POST", "/tag", b"{}", 422, 'missing field "text" or "texts"'),
    ("POST", "/tag", b'{"txt": "Anna"}', 422, "unknown field 'txt'"),
    ("POST", "/tag", b'{"text": "a", "model": "/etc"}', 422, "unknown field 'model'"),
    ("GET", "/nope", None, 404, "no such route: /nope"),
    ("GET", "/static/../../etc/passwd", None, 404, "no such route"),
    ("GET", "/tag", None, 405, "GET is not allowed on /tag; use POST"),
    ("POST", "/health", b"{}", 405, "POST is not allowed on /health"),
    ("DELETE", "/", None, 405, "DELETE is not allowed on /"),
    ("POST", "/tag", b"x" * (MAX_BODY + 1), 413, "the limit is 1,000,000"),
]


@pytest.mark.parametrize("method,path,body,status,message", ERRORS, ids=[f"{e[3]}-{i}" for i, e in enumerate(ERRORS)])
def test_errors_are_json_and_the_server_keeps_serving(url, method, path, body, status, message):
    r = httpx.request(method, f"{url}{path}", content=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert list(r.json()) == ["error"] and message in r.json()["error"], r.json()
    assert_alive(url)


def raw_request(url: str, head: bytes, body: bytes = b"") -> bytes:
    """Send ``head`` and ``body`` over a socket and return what the server answers before closing."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head + body)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_content_length_over_the_limit_is_refused_before_the_body_arrives(url):
    answer = raw_request(
        url, b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ") and b"connection: close" in head.lower()
    assert "1,000,000,000 bytes" in json.loads(body)["error"]
    assert_alive(url)


def test_streamed_body_over_the_limit_is_refused(url):
    """Chunked upload without Content-Length: the bytes are counted as they arrive. The client sends one byte
    over the limit and no final chunk, so the server has read everything when it answers and closes."""
    chunks = [b"x" * 50_000] * (MAX_BODY // 50_000) + [b"x"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    answer = raw_request(url, b"POST /tag HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", body)
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(rest)["error"] == "the request body is over the limit of 1,000,000 bytes"
    assert_alive(url)


def test_small_max_body(tiny_tagger):
    with thread_server(create_app(tiny_tagger, max_body=100)) as base:
        assert httpx.post(f"{base}/tag", json={"text": "Anna Chen visited Paris ."}).status_code == 200
        r = httpx.post(f"{base}/tag", json={"text": "x" * 100})
        assert r.status_code == 413 and "limit is 100" in r.json()["error"]
    with pytest.raises(ValueError, match="max_body"):
        create_app(tiny_tagger, max_body=0)


def test_import_and_help_do_not_load_starlette():
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "windowner", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 0 and "serve" in r.stdout
    assert "starlette" not in r.stderr and "uvicorn" not in r.stderr


def test_serve_without_the_extra_says_what_to_install(monkeypatch, capsys, tiny_model_dir):
    from windowner.cli import main

    monkeypatch.setitem(sys.modules, "starlette", None)  # import starlette now fails as if not installed
    assert main(["serve", str(tiny_model_dir)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'windowner[serve]'" in err and "Traceback" not in err


def test_serve_on_a_taken_port_fails_cleanly(tiny_model_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        r = run_cli("serve", str(tiny_model_dir), "--port", str(taken.getsockname()[1]))
    assert r.returncode == 2
    assert "windowner serve: error: cannot listen on 127.0.0.1:" in r.stderr and "Traceback" not in r.stderr


def test_load_32_clients_x_100_requests(tiny_model_dir, tiny_tagger, tiny_files, capsys):
    """The load of benchmarks/serve_load.py against `windowner serve` in a subprocess: no error, every response
    byte for byte what single-threaded tagging gives, well under a minute on two cores."""
    load = serve_load()
    requests = load.mixed_requests(load.corpus_sentences(tiny_files["dev"]))
    expected = load.expected_bodies(tiny_tagger, requests)
    assert any(b'"ents": [{' in e for e in expected) and any(b'"docs"' in e for e in expected)
    t0 = time.monotonic()
    with load.cli_server(tiny_model_dir) as base:
        result = load.run_load(base, requests, expected, clients=32, per_client=100)
        assert_alive(base)
    with capsys.disabled():
        print(f"\nserve load ({time.monotonic() - t0:.1f} s with server start): {result.summary()}")
    assert result.errors == []
    assert len(result.latencies) == result.requests == 3200
    assert result.wall < 40
