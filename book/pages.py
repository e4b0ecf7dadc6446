"""Open every page of the built book in headless Chromium, offline: check it, or photograph it.

    python book/pages.py screenshots --out screenshots       # build the book, then one PNG per page
    python book/pages.py screenshots --html _build/html --out screenshots   # an existing build
    python book/pages.py check                               # build, then list each page's problems
    python book/pages.py check --html _build/html notebooks/03_gru.html     # some pages only

Pages are served from 127.0.0.1 and opened at the width a reader's laptop has (1280 px).
Every request that leaves 127.0.0.1 is blocked and reported, so a page that needs a CDN fails
here instead of rendering raw TeX offline. tests/test_book.py runs ``check`` on every page;
the screenshots are for a person reviewing a change: they show what readers will see (keep
them out of git).

What ``check`` reports, page by page:
- script errors, console errors, failed requests, requests outside the book;
- formulas MathJax did not typeset, MathJax errors, raw TeX left in the prose;
- content cut off at the right edge: any code block, cell output, table or display equation
  whose content is wider than its box (scrollWidth > clientWidth), or that reaches past the
  text column;
- images that did not load, and figures shown at less than 60% of their natural width (their
  text then renders at a few pixels: draw the figure for the column instead);
- images without alt text (a screen reader says nothing of them; a code cell's figures get
  theirs from the cell's metadata, mystnb.image.alt), except a widget's live views;
- audio elements without a source; saved widget views that did not render.

The browser is $CHROMIUM, else chromium / chromium-browser / google-chrome on PATH
(Debian: apt-get install -y chromium); Playwright drives it, without its own browser download.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "book" / "_vendor"
VIEWPORT = {"width": 1280, "height": 900}
# A figure shown at less than this fraction of its natural width has unreadable text.
MIN_FIGURE_SCALE = 0.6
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
# Pages that Sphinx writes for its own machinery, not chapters.
NOT_CHAPTERS = {"genindex.html", "search.html", "index.html"}
# Pages whose notebook saved widget state: their widgets must render in the built HTML.
WIDGET_PAGES = {"notebooks/07_playground.html"}
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'


def find_chromium() -> str | None:
    return os.environ.get("CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def build_book(out: Path, timeout: int = 900) -> tuple[subprocess.CompletedProcess, Path]:
    """``jupyter-book build -W -n --keep-going`` into ``out``; returns (process, html folder).

    The notebooks are not executed: they carry their outputs."""
    if not (VENDOR / "mathjax" / "tex-chtml-full.js").is_file() or not (VENDOR / "widgets").is_dir():
        raise FileNotFoundError("book/_vendor/ is missing: the pages serve MathJax and the widget "
                                "scripts themselves; install them once with `python book/vendor/fetch.py`")
    # the `jupyter-book` command, run with this interpreter (the package has no __main__)
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
           "build", "-W", "-n", "--keep-going", "--path-output", str(out), str(ROOT)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return result, Path(out) / "_build" / "html"


def list_pages(html: Path) -> list:
    """The book's pages, as paths relative to ``html`` (Sphinx's own pages left out)."""
    return sorted(p.relative_to(html).as_posix() for p in Path(html).rglob("*.html")
                  if p.name not in NOT_CHAPTERS and "_static" not in p.parts and "_sources" not in p.parts)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(html: Path):
    """Serve ``html`` on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_QuietHandler, directory=str(html)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def chromium():
    """A headless Chromium driven by Playwright; raises RuntimeError naming what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise RuntimeError("playwright is not installed: pip install playwright "
                           "(no browser download needed)") from None
    executable = find_chromium()
    if executable is None:
        raise RuntimeError("no chromium executable: apt-get install -y chromium, or set $CHROMIUM")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


# What the page looks like once MathJax is done: evaluated in the browser.
INSPECT_PAGE = """async (minScale) => {
  const main = document.querySelector("main") || document.body;
  const article = document.querySelector("article.bd-article") || main;
  const prose = main.cloneNode(true);     // the page's own text: no code, no cell outputs
  prose.querySelectorAll("pre, code, script, style, mjx-container, .highlight, .cell_output, .output")
       .forEach(e => e.remove());
  const maths = [...document.querySelectorAll(".math")];
  const column = article.getBoundingClientRect();
  const describe = e => {
    const text = (e.innerText || e.textContent || "").trim().replace(/\\s+/g, " ");
    const cell = e.closest(".cell");
    const where = cell ? `cell ${[...document.querySelectorAll(".cell")].indexOf(cell) + 1}` : "prose";
    return `${e.tagName.toLowerCase()} in ${where}: "${text.slice(0, 70)}"`;
  };
  // Boxes whose content must be readable in full: code, outputs, tables, display equations.
  const boxes = new Set([
    ...main.querySelectorAll("pre, .output, .cell_output > div, table, mjx-container[display='true'], div.math"),
    ...[...main.querySelectorAll("table")].map(t => t.parentElement),
  ]);
  const cutOff = [];
  for (const e of boxes) {
    if (!e || e === article || e === main) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;            // hidden (a collapsed cell)
    const wider = e.scrollWidth > e.clientWidth + 1;
    const past = r.right > column.right + 1 || r.left < column.left - 1;
    if (wider || past)
      cutOff.push(`${describe(e)} is ${wider ? `${e.scrollWidth} px wide in a ${e.clientWidth} px box`
                                        : `past the text column (${Math.round(r.right)} > ${Math.round(column.right)} px)`}`);
  }
  const images = await Promise.all([...main.querySelectorAll("img")].map(async i => {
    // an ipywidgets Image that was never drawn (empty value) is a blob of 0 bytes: not a failure
    const empty = i.closest(".jupyter-widgets") !== null && i.src.startsWith("blob:")
                  && (await (await fetch(i.src)).blob()).size === 0;
    const shown = i.getBoundingClientRect().width;
    const widget = i.closest(".jupyter-widgets") !== null;
    return {src: (i.getAttribute("src") || "").slice(0, 80), empty,
            noAlt: !widget && !(i.getAttribute("alt") || "").trim(),
            ok: i.complete && i.naturalWidth > 0, natural: i.naturalWidth, shown: Math.round(shown),
            small: i.naturalWidth > 0 && shown > 0 && shown < minScale * i.naturalWidth};
  }));
  return {
    prose: prose.textContent,
    formulas: maths.length,
    untypeset: maths.filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.slice(0, 80)),
    typeset: document.querySelectorAll("mjx-container").length,
    mathErrors: [...document.querySelectorAll("mjx-merror")].map(e => e.textContent.slice(0, 80)),
    cutOff,
    column: Math.round(column.width),
    images,
    audio: [...main.querySelectorAll("audio")].map(a => Boolean(a.src || a.querySelector("source[src]"))),
    // each saved widget view, and whether the embed script put a visible widget beside it
    widgetViews: [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')].map(s => {
      const shown = s.parentElement ? [...s.parentElement.querySelectorAll(".jupyter-widgets")] : [];
      return shown.some(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().height > 0);
    }),
    widgetControls: main.querySelectorAll(".widget-slider, .widget-button, .widget-tab, .lm-TabBar").length,
  };
}"""


def open_page(browser, base: str, page_path: str, screenshot: Path | None = None) -> list:
    """Open one page; return its problems (empty when all is well); save a full-page PNG to
    ``screenshot`` if given."""
    problems, outside = [], []
    context = browser.new_context(viewport=VIEWPORT)

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
        info = page.evaluate(INSPECT_PAGE, MIN_FIGURE_SCALE)
        if screenshot is not None:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
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
    problems += [f"cut off: {c}" for c in info["cutOff"]]
    for i in info["images"]:
        if not i["ok"] and not i["empty"]:
            problems.append(f"image did not load: {i['src']}")
        elif i["small"]:
            problems.append(f"figure shown at {i['shown']} px, {i['shown'] / i['natural']:.0%} of its natural "
                            f"{i['natural']} px (text unreadable; draw it for the {info['column']} px "
                            f"column): {i['src']}")
        if i["noAlt"]:
            problems.append(f"image without alt text: {i['src']}")
    problems += ["an <audio> element without a source" for ok in info["audio"] if not ok]
    if page_path in WIDGET_PAGES and not info["widgetViews"]:
        problems.append("no saved widget views in the page (was the notebook saved without widget state?)")
    if info["widgetViews"] and not all(info["widgetViews"]):
        problems.append(f"{info['widgetViews'].count(False)} of {len(info['widgetViews'])} widget views did not "
                        f"render (the ipywidgets embed scripts did not load or failed)")
    if info["widgetViews"] and not info["widgetControls"]:
        problems.append("widgets rendered without any slider, button or tab")
    return problems


def check_pages(html: Path, pages=None, screenshots: Path | None = None, progress: bool = True) -> dict:
    """{page: problems} for ``pages`` (default: all) of the built book in ``html``."""
    pages = list(pages or list_pages(html))
    report = {}
    with serve(html) as base, chromium() as browser:
        for page_path in pages:
            shot = None if screenshots is None else Path(screenshots) / (page_path.replace("/", "_") + ".png")
            report[page_path] = open_page(browser, base, page_path, shot)
            if progress:
                print(f"{page_path}: {len(report[page_path])} problem(s)"
                      + (f", screenshot {shot}" if shot else ""), file=sys.stderr)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python book/pages.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("check", "screenshots"))
    parser.add_argument("pages", nargs="*", help="pages to open, relative to the html folder "
                        "(e.g. notebooks/03_gru.html; default: every page)")
    parser.add_argument("--html", type=Path, help="an existing build's html folder (default: build "
                        "the book into a temporary folder first)")
    parser.add_argument("--out", type=Path, default=Path("screenshots"),
                        help="screenshots: the folder for the PNGs (default: screenshots/)")
    args = parser.parse_intermixed_args(argv)      # pages may come after --html
    with contextlib.ExitStack() as stack:
        html = args.html
        if html is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="book-")))
            print("building the book ...", file=sys.stderr)
            try:
                result, html = build_book(tmp)
            except FileNotFoundError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            if result.returncode != 0:
                print(result.stdout[-3000:] + result.stderr[-3000:], file=sys.stderr)
                print(f"error: jupyter-book build failed (exit {result.returncode})", file=sys.stderr)
                return 1
        elif not (html / "book" / "intro.html").is_file():
            print(f"error: --html {html}: no built book there (expected book/intro.html); build it with "
                  f"jupyter-book build . and give _build/html", file=sys.stderr)
            return 2
        known = set(list_pages(html))
        unknown = [p for p in args.pages if p not in known]
        if unknown:
            print(f"error: no such page(s) {unknown}; the book has {sorted(known)}", file=sys.stderr)
            return 2
        try:
            report = check_pages(html, args.pages, args.out if args.action == "screenshots" else None)
        except RuntimeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    bad = {p: probs for p, probs in report.items() if probs}
    for page_path, probs in bad.items():
        print(f"{page_path}:")
        print("\n".join(f"  - {x}" for x in probs))
    if args.action == "screenshots":
        print(f"{len(report)} screenshots in {args.out}/", file=sys.stderr)
    return 1 if bad and args.action == "check" else 0


if __name__ == "__main__":
    sys.exit(main())
