"""Build the book, then open every page in headless Chromium with no network.

1. ``jupyter-book build -W -n --keep-going`` into a temporary folder must succeed with no
   warning (the notebooks are not executed: they carry their outputs).
2. Each page of the built book is served from 127.0.0.1 and opened in Debian's chromium,
   driven by Playwright's Python API. Every request that leaves 127.0.0.1 is blocked and
   reported, so a page that needs a CDN fails here instead of rendering raw TeX offline.
   On each page: no script errors or console errors, MathJax has typeset every formula (no
   raw ``$$`` / ``\\(`` / ``\\begin`` text outside code and outputs, no MathJax error nodes),
   every image has loaded, and every audio element has a source. A page that carries saved
   ipywidgets state (chapter 7) must render every widget view as a visible static snapshot,
   from the book's own copies of the embed scripts.

Skips, with the reason, when jupyter-book, Playwright or a chromium executable is missing:
    pip install "jupyter-book<2" playwright      apt-get install -y chromium
The browser is found as $CHROMIUM, else chromium / chromium-browser / google-chrome on PATH.
Playwright's own browser download is not needed. Set GRU_LIB_SCREENSHOTS=<folder> to save a
screenshot of each page there (keep them out of git).
"""
import functools
import http.server
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAVE_JB = importlib.util.find_spec("jupyter_book") is not None
HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
CHROMIUM = os.environ.get("CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
# Pages that Sphinx writes for its own machinery, not chapters.
NOT_CHAPTERS = {"genindex.html", "search.html", "index.html"}
# Pages whose notebook saved widget state: their widgets must render in the built HTML.
WIDGET_PAGES = {"notebooks/07_playground.html"}
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'

pytestmark = pytest.mark.skipif(not HAVE_JB, reason='jupyter-book not installed: pip install "jupyter-book<2"')


VENDOR = ROOT / "book" / "_vendor"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """Build the book once into a temporary folder; returns (completed process, html folder)."""
    if not (VENDOR / "mathjax" / "tex-chtml-full.js").is_file() or not (VENDOR / "widgets").is_dir():
        pytest.fail("book/_vendor/ is missing: the pages serve MathJax and the widget scripts "
                    "themselves, installed from npm by `python book/vendor/fetch.py` (run it once)")
    out = tmp_path_factory.mktemp("book")
    # the `jupyter-book` command, run with this interpreter (the package has no __main__)
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
           "build", "-W", "-n", "--keep-going", "--path-output", str(out), str(ROOT)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return result, out / "_build" / "html"


def test_book_builds_without_warnings(build):
    result, html = build
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0 and not warnings, (
        f"jupyter-book build failed (exit {result.returncode}) or warned:\n"
        + "\n".join(warnings[:50]) + "\n" + log[-3000:])
    assert (html / "book" / "intro.html").is_file()


def _pages(html: Path) -> list:
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if p.name not in NOT_CHAPTERS and "_static" not in p.parts and "_sources" not in p.parts)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(build):
    result, html = build
    if result.returncode != 0 or not html.is_dir():
        pytest.skip("the book did not build (see test_book_builds_without_warnings)")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_QuietHandler, directory=str(html)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", html
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not HAVE_PLAYWRIGHT:
        pytest.skip("playwright not installed: pip install playwright (no browser download needed)")
    if CHROMIUM is None:
        pytest.skip("no chromium executable: apt-get install -y chromium, or set $CHROMIUM")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


# What the page looks like once MathJax is done: evaluated in the browser.
INSPECT_PAGE = """async () => {
  const main = document.querySelector("main") || document.body;
  const prose = main.cloneNode(true);     // the page's own text: no code, no cell outputs
  prose.querySelectorAll("pre, code, script, style, mjx-container, .highlight, .cell_output, .output")
       .forEach(e => e.remove());
  const maths = [...document.querySelectorAll(".math")];
  return {
    prose: prose.textContent,
    formulas: maths.length,
    untypeset: maths.filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.slice(0, 80)),
    typeset: document.querySelectorAll("mjx-container").length,
    mathErrors: [...document.querySelectorAll("mjx-merror")].map(e => e.textContent.slice(0, 80)),
    // an ipywidgets Image that was never drawn (empty value) is a blob of 0 bytes: not a failure
    images: await Promise.all([...main.querySelectorAll("img")].map(async i => ({src: i.getAttribute("src"),
      ok: (i.complete && i.naturalWidth > 0) || (i.closest(".jupyter-widgets") !== null
          && i.src.startsWith("blob:") && (await (await fetch(i.src)).blob()).size === 0)}))),
    audio: [...main.querySelectorAll("audio")].map(a => Boolean(a.src || a.querySelector("source[src]"))),
    // each saved widget view, and whether the embed script put a visible widget beside it
    widgetViews: [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')].map(s => {
      const shown = s.parentElement ? [...s.parentElement.querySelectorAll(".jupyter-widgets")] : [];
      return shown.some(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().height > 0);
    }),
    widgetControls: main.querySelectorAll(".widget-slider, .widget-button, .widget-tab, .lm-TabBar").length,
  };
}"""


def _check_page(browser, base: str, page_path: str) -> list:
    """Open one page; return a list of problems (empty when all is well)."""
    problems, outside = [], []
    context = browser.new_context()

    def route(r):                                     # no network: only our own server
        if r.request.url.startswith(base):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: None if r.url in outside
            else problems.append(f"request failed: {r.url} ({r.failure})"))
    try:
        page.goto(f"{base}/{page_path}", wait_until="load", timeout=60_000)
        has_mathjax = page.evaluate("() => Boolean(window.MathJax && MathJax.startup)")
        if has_mathjax:
            page.evaluate("() => MathJax.startup.promise")    # resolves when typesetting is done
        page.wait_for_load_state("networkidle", timeout=30_000)
        if page.evaluate(f"() => document.querySelectorAll('{WIDGET_VIEW}').length"):
            try:                                          # the embed script renders after `load`
                page.wait_for_selector(".jupyter-widgets", state="visible", timeout=30_000)
            except Exception:
                pass                                      # reported below
        info = page.evaluate(INSPECT_PAGE)
        if os.environ.get("GRU_LIB_SCREENSHOTS"):
            shots = Path(os.environ["GRU_LIB_SCREENSHOTS"])
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / (page_path.replace("/", "_") + ".png")), full_page=True)
    finally:
        context.close()
    if outside:
        problems.append(f"requests outside the book (blocked): {sorted(set(outside))[:10]}")
    if info["formulas"] and not has_mathjax:
        problems.append(f"{info['formulas']} formulas but MathJax did not load")
    if info["untypeset"]:
        problems.append(f"{len(info['untypeset'])} formulas not typeset, e.g. {info['untypeset'][:3]}")
    if info["mathErrors"]:
        problems.append(f"MathJax errors: {info['mathErrors'][:5]}")
    for raw in ("$$", "\\(", "\\[", "\\begin{"):
        if raw in info["prose"]:
            at = info["prose"].index(raw)
            problems.append(f"raw TeX {raw!r} in the page text: ...{info['prose'][max(0, at - 60):at + 60]!r}...")
    problems += [f"image did not load: {i['src']}" for i in info["images"] if not i["ok"]]
    problems += ["an <audio> element without a source" for ok in info["audio"] if not ok]
    if page_path in WIDGET_PAGES and not info["widgetViews"]:
        problems.append("no saved widget views in the page (was the notebook saved without widget state?)")
    if info["widgetViews"] and not all(info["widgetViews"]):
        problems.append(f"{info['widgetViews'].count(False)} of {len(info['widgetViews'])} widget views did not "
                        f"render (the ipywidgets embed scripts did not load or failed)")
    if info["widgetViews"] and not info["widgetControls"]:
        problems.append("widgets rendered without any slider, button or tab")
    return problems


def test_pages_render_offline(server, browser):
    base, html = server
    pages = _pages(html)
    assert "book/intro.html" in pages and "book/references.html" in pages, pages
    assert WIDGET_PAGES <= set(pages), f"widget pages missing from the book: {sorted(WIDGET_PAGES - set(pages))}"
    report = {p: _check_page(browser, base, p) for p in pages}
    bad = {p: probs for p, probs in report.items() if probs}
    assert not bad, "pages with problems:\n" + "\n".join(
        f"  {p}:\n" + "\n".join(f"    - {x}" for x in probs) for p, probs in bad.items())
