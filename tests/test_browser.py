"""A real headless browser (Debian's Chromium driven by Playwright) on the ``windowner serve`` page and on the
``windowner evaluate --html`` report. Skipped when /usr/bin/chromium is missing (``make browser`` installs it).

``WINDOWNER_SCREENSHOTS=1`` also saves docs/serve.png and docs/report.png for the README.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from windowner.evaluation.report import ERROR_KINDS, KINDS, ErrorAnalysis
from windowner.text.conll import read_conll

from conftest import write_conll
from servekit import ROOT, thread_server
from test_report import noisy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = os.environ.get("WINDOWNER_SCREENSHOTS") == "1"
TEXT = (
    "Kofi Mensah visited Paris on 5 May 2009 . 🙂 On Monday , Anna Chen arrived in Buenos Aires .\n"
    "Reporters asked Ivan Petrov about the floods in Lima . Officials in Oslo met Mei Chen yesterday to discuss "
    "trade ."
)

if not os.path.exists(CHROMIUM) and os.environ.get("CI") and os.geteuid() == 0:
    pytest.fail(f"CI runs as root, so `make test` (its browser target) should have installed {CHROMIUM}", pytrace=False)
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"needs Debian's Chromium at {CHROMIUM} (as root: make browser, or apt-get install chromium)",
        allow_module_level=True,
    )
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def url(tiny_tagger):
    from windowner.integrations.serve import create_app

    with thread_server(create_app(tiny_tagger)) as base:
        yield base


@pytest.fixture
def page(browser):
    """A fresh page that may only reach 127.0.0.1 and file:// and must log no error."""
    context = browser.new_context(viewport={"width": 1000, "height": 640})
    problems: list[str] = []

    def guard(route):
        where = urlparse(route.request.url)
        if where.scheme == "file" or where.hostname == "127.0.0.1":
            return route.continue_()
        problems.append(f"request to {route.request.url}")
        return route.abort()

    context.route("**/*", guard)
    p = context.new_page()
    p.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def console(msg) -> None:  # a 4xx answer the page shows is expected; anything else is not
        if msg.type == "error" and "the server responded with a status of 4" not in msg.text:
            problems.append(f"console {msg.type}: {msg.text}")

    p.on("console", console)
    yield p
    context.close()
    assert problems == []


def tag_in_page(page, url: str, text: str) -> list[dict]:
    """Open the page, type ``text``, click Tag; the highlighted entities as the DOM shows them."""
    page.goto(url)
    page.wait_for_selector("body[data-ready=yes]")
    page.locator("#text").fill("")
    page.locator("#text").press_sequentially(text)
    page.click("#tag-button")
    page.wait_for_selector("body[data-tagged='1']")
    return page.eval_on_selector_all(
        "#result .ent",
        """els => els.map(e => ({
        label: e.dataset.label, start: +e.dataset.start, end: +e.dataset.end, score: +e.dataset.score,
        text: e.firstChild.textContent, off: e.classList.contains('off')}))""",
    )


def badge_visible(page, ent: dict) -> bool:
    return page.locator(f".ent[data-start='{ent['start']}'] .badge").is_visible()


def test_page_highlights_what_the_api_returns(page, url, tiny_tagger):
    shown = tag_in_page(page, url, TEXT)
    api = httpx.post(f"{url}/tag", json={"text": TEXT}).json()["ents"]
    assert len(api) >= 5
    assert [(e["label"], e["start"], e["end"], e["text"]) for e in shown] == [
        (e["label"], e["start_char"], e["end_char"], e["text"]) for e in api
    ]
    assert [e["score"] for e in shown] == [e["score"] for e in api]
    assert not any(e["off"] for e in shown) and all(badge_visible(page, e) for e in shown)
    assert page.inner_text("#result").startswith("Kofi Mensah")
    assert (
        page.eval_on_selector("#labels", "el => Array.from(el.querySelectorAll('input')).map(i => i.dataset.label)")
        == tiny_tagger.labels
    )


def test_slider_and_label_toggles_hide_entities(page, url):
    shown = tag_in_page(page, url, TEXT)
    scores = sorted(e["score"] for e in shown)
    steps = [k / 100 for k in range(101) if scores[0] < k / 100 <= scores[-1]]
    assert steps, f"the test text needs entities of different scores, got {scores}"
    t = steps[len(steps) // 2]
    page.locator("#threshold").fill(str(t))
    after = page.eval_on_selector_all("#result .ent", "els => els.map(e => e.classList.contains('off'))")
    assert after == [e["score"] < t for e in shown]
    assert any(after) and not all(after)
    for e, hidden in zip(shown, after):
        assert badge_visible(page, e) is not hidden
    assert page.inner_text("#summary") == f"{after.count(False)} of {len(shown)} entities shown"

    page.locator("#threshold").fill("0")
    label = shown[0]["label"]
    page.locator(f"#labels input[data-label='{label}']").uncheck()
    after = page.eval_on_selector_all(
        "#result .ent", "els => els.map(e => [e.dataset.label, e.classList.contains('off')])"
    )
    assert after == [[e["label"], e["label"] == label] for e in shown]
    assert page.inner_text("#result").replace("\n", " ").count(shown[0]["text"]) >= 1  # the text stays, unmarked
    page.locator(f"#labels input[data-label='{label}']").check()
    assert page.locator("#result .ent.off").count() == 0


def test_page_shows_api_errors(page, url):
    page.goto(url)
    page.wait_for_selector("body[data-ready=yes]")
    page.locator("#text").fill("x" * 1_000_001)
    page.click("#tag-button")
    page.wait_for_selector("body[data-tagged='1']")
    assert "the limit is 1,000,000" in page.inner_text("#error")


def test_report_shows_the_computed_counts(page, tiny_model_dir, tiny_corpus, tmp_path):
    """The report of the tiny model on a gold file with perturbed tags (so that there are errors to show)."""
    from windowner.model.files import load_model

    pairs = tiny_corpus["test"] * 3
    gold = write_conll(
        [(tokens, tags) for (tokens, _), tags in zip(pairs, noisy(pairs, 0.3, 5))], tmp_path / "gold.conll"
    )
    out = tmp_path / "report.html"
    r = subprocess.run(
        [sys.executable, "-m", "windowner", "evaluate", str(tiny_model_dir), str(gold), "--html", str(out), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    printed = json.loads(r.stdout)
    model = load_model(tiny_model_dir)
    sents = list(read_conll(gold))
    tags, proba = model.predict([s.tokens for s in sents], with_proba=True)
    analysis = ErrorAnalysis()
    for s, t, p in zip(sents, tags, proba):
        analysis.add(s.tokens, s.tags, t, p)

    page.set_viewport_size({"width": 1100, "height": 1250})
    page.goto(out.as_uri())
    cells = page.eval_on_selector_all(
        "#taxonomy tbody td.count", "tds => tds.map(td => [td.dataset.type, td.dataset.kind, +td.textContent])"
    )
    assert cells == [[t, k, analysis.counts[t][k]] for t in analysis.labels for k in KINDS]
    f1 = {
        row[0]: float(row[1])
        for row in page.eval_on_selector_all(
            "#scores tbody tr", "trs => trs.map(tr => [tr.dataset.type, tr.querySelector('td.f').textContent])"
        )
    }
    assert math.isclose(f1["overall"], 100 * printed["overall"]["f1"], abs_tol=0.005)
    for label, s in printed["per_type"].items():
        assert math.isclose(f1[label], 100 * s["f1"], abs_tol=0.005)

    n = analysis.error_sentences
    assert n > 25 and all(
        sum(c[k] for c in analysis.counts.values()) for k in ("wrong_type", "wrong_boundary", "spurious")
    )
    assert page.inner_text("#match-count") == f"{n} sentences shown; page 1 of {-(-n // 25)}"
    assert page.locator("#sentences .sent:visible").count() == 25
    page.click("#next-page")
    assert page.inner_text("#match-count").endswith(f"page 2 of {-(-n // 25)}")
    for kind in ERROR_KINDS:
        page.select_option("#kind-filter", kind)
        want = sum(any(m.kind == kind for m in s.matches) for s in analysis.kept)
        assert page.inner_text("#match-count").startswith(f"{want} sentence"), kind
        assert page.locator("#sentences .sent:visible").count() == min(want, 25)
    page.select_option("#kind-filter", "")
    # a count in the taxonomy table filters the sentences to those errors
    cell = page.locator("#taxonomy tbody td.count[data-type='LOC'][data-kind='spurious']")
    cell.click()
    assert page.input_value("#kind-filter") == "spurious" and page.input_value("#type-filter") == "LOC"
    want = sum(any(m.kind == "spurious" and m.label == "LOC" for m in s.matches) for s in analysis.kept)
    assert page.inner_text("#match-count").startswith(f"{want} sentence")


@pytest.mark.skipif(not SCREENSHOTS, reason="set WINDOWNER_SCREENSHOTS=1 to write docs/serve.png and docs/report.png")
def test_screenshots_for_the_readme(page, tmp_path):
    """docs/serve.png and docs/report.png with the model `make demo` trains, on the project's dev file."""
    import windowner
    from windowner.integrations.serve import create_app

    model, dev = ROOT / "models" / "default", ROOT / "corpora" / "wn-pld.dev.conll"
    if not model.is_dir():
        pytest.skip("run `make demo` first: the screenshots show the default model")
    text = (
        "Barack Obama visited Paris on 5 May 2009 with Angela Merkel. Heavy snow closed the roads around "
        "Denver last Tuesday, officials said.\nDr. Amina Yusuf will lecture in Nairobi and Kampala in March. "
        "Jordan beat Syria 2-1 in Amman, while Michael Jordan watched from Chicago."
    )
    with thread_server(create_app(windowner.load(model))) as base:
        shown = tag_in_page(page, base, text)
        assert shown
        page.locator("#threshold").fill("0.5")
        page.screenshot(path=str(ROOT / "docs" / "serve.png"))
    out = tmp_path / "report.html"
    r = subprocess.run(
        [sys.executable, "-m", "windowner", "evaluate", str(model), str(dev), "--html", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    page.set_viewport_size({"width": 1100, "height": 1500})
    page.goto(out.as_uri())
    page.screenshot(path=str(ROOT / "docs" / "report.png"))

    from windowner.integrations.annotate import create_app as annotate_app
    from windowner.integrations.annotator import Annotator
    from windowner.integrations.answers import AnswerLog

    texts = [
        "Heavy snow closed the roads around Denver last Tuesday, officials said.",
        "Dr. Amina Yusuf will lecture in Nairobi and Kampala in March.",
    ]
    annotator = Annotator(windowner.load(model), texts, AnswerLog(tmp_path / "answers.jsonl"), order="sequential")
    with thread_server(annotate_app(annotator)) as base:
        page.set_viewport_size({"width": 1000, "height": 560})
        page.goto(base + "/")
        page.locator("#doc .ent").first.wait_for()
        page.screenshot(path=str(ROOT / "docs" / "annotate.png"))
