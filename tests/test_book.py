"""Build the book, then open every page in headless Chromium with no network.

1. ``jupyter-book build -W -n --keep-going`` into a temporary folder must succeed with no
   warning (the notebooks are not executed: they carry their outputs).
2. Each page of the built book is served from 127.0.0.1 and opened at 1280 px in Debian's
   chromium, driven by Playwright's Python API, by ``book/pages.py`` (the same code behind
   ``python book/pages.py check`` and ``python book/pages.py screenshots``). Every request that
   leaves 127.0.0.1 is blocked and reported. On each page: no script or console errors,
   MathJax has typeset every formula (no raw TeX in the prose, no MathJax error nodes), no
   code block, cell output, table or display equation is cut off at the right edge (content
   wider than its box, or past the text column), every image has loaded and no figure is shown
   at less than 60% of its natural width, every image but a live widget's has alt text, every
   audio element has a source, and a page that carries saved ipywidgets state (chapter 7)
   renders every widget view as a visible snapshot.

Skips, with the reason, when jupyter-book, Playwright or a chromium executable is missing:
    pip install "jupyter-book<2" playwright      apt-get install -y chromium
The browser is found as $CHROMIUM, else chromium / chromium-browser / google-chrome on PATH.
Playwright's own browser download is not needed. To see the pages: python book/pages.py
screenshots --out screenshots (keep them out of git).
"""
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAVE_JB = importlib.util.find_spec("jupyter_book") is not None
HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
sys.path.insert(0, str(ROOT / "book"))
import pages  # noqa: E402  (book/pages.py: the page checks, shared with its command line)

pytestmark = pytest.mark.skipif(not HAVE_JB, reason='jupyter-book not installed: pip install "jupyter-book<2"')


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """Build the book once into a temporary folder; returns (completed process, html folder)."""
    try:
        return pages.build_book(tmp_path_factory.mktemp("book"), timeout=600)
    except FileNotFoundError as e:
        pytest.fail(str(e))


def test_book_builds_without_warnings(build):
    result, html = build
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0 and not warnings, (
        f"jupyter-book build failed (exit {result.returncode}) or warned:\n"
        + "\n".join(warnings[:50]) + "\n" + log[-3000:])
    assert (html / "book" / "intro.html").is_file()
    # nbval's marker comments stay in the notebooks but not in the pages (book/_ext/book_fixes.py)
    marked = sorted(page.name for page in html.rglob("*.html") if "NBVAL_" in page.read_text())
    assert not marked, f"nbval markers shown to readers on {marked}"


@pytest.fixture(scope="module")
def served(build):
    result, html = build
    if result.returncode != 0 or not html.is_dir():
        pytest.skip("the book did not build (see test_book_builds_without_warnings)")
    with pages.serve(html) as base:
        yield base, html


@pytest.fixture(scope="module")
def browser():
    if not HAVE_PLAYWRIGHT:
        pytest.skip("playwright not installed: pip install playwright (no browser download needed)")
    if pages.find_chromium() is None:
        pytest.skip("no chromium executable: apt-get install -y chromium, or set $CHROMIUM")
    with pages.chromium() as browser:
        yield browser


def test_pages_render_offline(served, browser):
    base, html = served
    found = pages.list_pages(html)
    assert "book/intro.html" in found and "book/references.html" in found, found
    assert pages.WIDGET_PAGES <= set(found), \
        f"widget pages missing from the book: {sorted(pages.WIDGET_PAGES - set(found))}"
    report = {p: pages.open_page(browser, base, p) for p in found}
    bad = {p: probs for p, probs in report.items() if probs}
    assert not bad, "pages with problems (see them: python book/pages.py screenshots):\n" + "\n".join(
        f"  {p}:\n" + "\n".join(f"    - {x}" for x in probs) for p, probs in bad.items())


# The page checks must catch what they claim to: a page built to break each rule, opened in
# the same browser. (A check that cannot fail would let today's cut-off pages through.)
BROKEN_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body><main>
<article class="bd-article" style="width: 600px">
<div class="cell"><div class="cell_input"><pre id="code" style="overflow: auto">{long}</pre></div>
<div class="cell_output"><div class="output"><pre>ok</pre></div></div></div>
<table><tr>{cells}</tr></table>
<img id="missing" src="no-such-image.png">
<img id="small" src="big.png" style="width: 300px" alt="a wide figure">
<img id="silent" src="big.png" style="width: 600px">
</article></main></body></html>"""


def test_page_checks_fail_on_broken_page(browser, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 2), dpi=100)          # 1000 px natural, shown at 300 px
    fig.savefig(tmp_path / "big.png")
    plt.close(fig)
    (tmp_path / "page.html").write_text(BROKEN_PAGE.format(
        long="x = " + "1 + " * 120, cells="".join(f"<td>column_{i}</td>" for i in range(40))))
    (tmp_path / "fine.html").write_text("<!doctype html><html><body><main><article class='bd-article'>"
                                        "<pre>short</pre></article></main></body></html>")
    with pages.serve(tmp_path) as base:
        problems = pages.open_page(browser, base, "page.html")
        fine = pages.open_page(browser, base, "fine.html")
    text = "\n".join(problems)
    assert 'cut off: pre in cell 1: "x = 1 + 1' in text, text
    assert "cut off: table" in text or "cut off: div" in text or "cut off: body" in text, text
    assert "image did not load: no-such-image.png" in text, text
    assert "figure shown at 300 px, 30% of its natural 1000 px" in text, text
    assert text.count("image without alt text") == 2 and "alt text: big.png" in text, text
    assert fine == [], fine
