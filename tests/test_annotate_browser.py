"""``windowner annotate`` in a real headless browser (Debian's Chromium driven by Playwright) against the real
command in a subprocess: five texts answered with mouse and keyboard, the server killed (SIGKILL) and restarted,
the file holding exactly the acknowledged answers and the page resuming after them; bad requests to the live
server get a 4xx and change nothing. Skipped when /usr/bin/chromium is missing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest

from test_annotate import corpus_texts

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"needs Debian's Chromium at {CHROMIUM}", allow_module_level=True)
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(model, texts, out, port: int, log) -> subprocess.Popen:
    """``windowner annotate`` as its own process; returns once it answers /status."""
    cmd = [sys.executable, "-m", "windowner", "annotate", str(model), str(texts), "--out", str(out)]
    cmd += ["--order", "sequential", "--retrain-every", "0", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/status", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"windowner annotate did not start (exit {proc.poll()})")
        time.sleep(0.1)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


@pytest.fixture
def page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        problems: list[str] = []

        def guard(route):
            if urlparse(route.request.url).hostname == "127.0.0.1":
                return route.continue_()
            problems.append(f"request to {route.request.url}")
            return route.abort()

        context.route("**/*", guard)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        pg.on(
            "console",
            lambda msg: (
                problems.append(f"console: {msg.text}")
                if msg.type == "error" and "status of 4" not in msg.text and "Failed to fetch" not in msg.text
                else None
            ),
        )
        yield pg
        context.close()
        browser.close()
        assert problems == []


def spans_of(ents) -> list[tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label) for e in ents]


def saved(out) -> list[dict]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_annotate_kill_restart_resume(page, tiny_model_dir, tiny_tagger, tmp_path):
    texts = [t for t, _ in corpus_texts(40, 11) if len(tiny_tagger(t).ents) >= 2][:8]
    assert len(texts) == 8
    path, out, port = tmp_path / "texts.txt", tmp_path / "answers.jsonl", free_port()
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    labels = tiny_tagger.labels
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115
    proc = start(tiny_model_dir, path, out, port, log)
    try:
        page.goto(url)
        expected: list[tuple[int, str, list]] = []

        def ready(i) -> None:
            page.wait_for_selector(f"body[data-ready='{i}']")

        def answered(n: int) -> None:
            page.wait_for_selector(f"body[data-acked='{n}']")

        def token(k: int):
            return page.locator(f"#doc .tok[data-i='{k}']")

        # 0: keyboard only, accepted as the model marked it
        ready(0)
        assert page.locator("#doc mark.ent").count() == len(tiny_tagger(texts[0]).ents)
        page.keyboard.press("Enter")
        answered(1)
        expected.append((0, "accept", spans_of(tiny_tagger(texts[0]).ents)))
        # 1: skipped with the key
        ready(1)
        page.keyboard.press("s")
        answered(2)
        expected.append((1, "skip", []))
        # 2: every entity removed by keyboard, a new one dragged over the first two tokens with label key 1
        ready(2)
        for _ in tiny_tagger(texts[2]).ents:
            page.keyboard.press("Tab")
            page.keyboard.press("x")
        assert page.locator("#doc mark.ent").count() == 0
        page.keyboard.press("1")
        first, second = token(0).bounding_box(), token(1).bounding_box()
        page.mouse.move(first["x"] + 2, first["y"] + first["height"] / 2)
        page.mouse.down()
        page.mouse.move(second["x"] + second["width"] - 2, second["y"] + second["height"] / 2, steps=5)
        page.mouse.up()
        assert page.locator("#doc mark.ent").count() == 1
        page.click("#accept")
        answered(3)
        toks = tiny_tagger(texts[2]).tokens
        expected.append((2, "accept", [(toks[0].start_char, toks[1].end_char, labels[0])]))
        # 3: the first entity relabelled with key 2, removed, the removal undone; accepted with A
        ready(3)
        page.keyboard.press("Tab")
        page.keyboard.press("2")
        page.keyboard.press("x")
        page.keyboard.press("u")
        page.keyboard.press("a")
        answered(4)
        ents = spans_of(tiny_tagger(texts[3]).ents)
        expected.append((3, "accept", [(ents[0][0], ents[0][1], labels[1]), *ents[1:]]))
        # 4: the last entity clicked with the mouse and removed with Delete; accepted with the button
        ready(4)
        page.locator("#doc mark.ent").last.locator(".tok").first.click()
        assert page.locator("#doc mark.ent.selected").count() == 1
        page.keyboard.press("Delete")
        page.click("#accept")
        answered(5)
        expected.append((4, "accept", spans_of(tiny_tagger(texts[4]).ents)[:-1]))
        ready(5)
        assert "5 of 8 answered" in page.inner_text("#progress")

        def check_file() -> None:
            got = [(r["id"], r["answer"], [(s["start"], s["end"], s["label"]) for s in r["spans"]]) for r in saved(out)]
            assert got == expected

        check_file()
        before = out.read_bytes()
        word = tiny_tagger(texts[5]).tokens[0]
        # wrong requests to the live server: 4xx, nothing written
        bad = [
            {"id": 99, "action": "accept", "spans": []},
            {"id": 5, "action": "accept", "spans": [{"start": 0, "end": 10_000, "label": labels[0]}]},
            {"id": 5, "action": "accept", "spans": [{"start": word.start_char, "end": word.end_char, "label": "NOPE"}]},
            {
                "id": 5,
                "action": "accept",
                "spans": [{"start": word.start_char + 1, "end": word.end_char, "label": labels[0]}],
            },
            {"id": 0, "action": "skip"},
        ]
        for body in bad:
            r = httpx.post(f"{url}/answer", json=body)
            assert 400 <= r.status_code < 500 and "error" in r.json(), (body, r.text)
        assert out.read_bytes() == before

        kill(proc)
        check_file()  # every acknowledged answer survived SIGKILL, and nothing else is there
        proc = start(tiny_model_dir, path, out, port, log)
        page.reload()
        ready(5)
        assert "5 of 8 answered" in page.inner_text("#progress")
        assert page.inner_text("#doc").startswith(texts[5].split()[0])
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-ready='6']")
        assert [r["id"] for r in saved(out)] == [0, 1, 2, 3, 4, 5]
    finally:
        kill(proc)
        log.close()


def test_page_shows_the_retrained_models_f1(page, tiny_tagger, tmp_path):
    from windowner.integrations.annotate import create_app
    from windowner.integrations.annotator import Annotator
    from windowner.integrations.answers import AnswerLog

    from servekit import thread_server

    data = corpus_texts(8, 5)
    hyper = dict(epochs=2, seed=0)
    log = AnswerLog(tmp_path / "answers.jsonl")
    annotator = Annotator(
        tiny_tagger, [t for t, _ in data], log, order="sequential", retrain_every=4, heldout_every=2, hyper=hyper
    )
    try:
        with thread_server(create_app(annotator)) as url:
            page.goto(url)
            for i in range(4):
                page.wait_for_selector(f"body[data-ready='{i}']")
                page.keyboard.press("Enter")
            page.wait_for_selector("body[data-ready='4']")  # the 4th answer acknowledged: the retrain has started
            annotator.wait_retrain(120)
            page.wait_for_selector("body[data-model-version='1']", timeout=60_000)
            shown = page.inner_text("#model")
            status = annotator.status()["model"]
            assert f"held-out F1 {status['f1']:.3f}" in shown and "on 2 answers" in shown, shown
    finally:
        log.close()
