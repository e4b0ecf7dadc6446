"""Small Sphinx fixes for this book (loaded through `sphinx.local_extensions` in _config.yml).

1. Duplicate scripts. Sphinx 7.4 adds an inline script registered after the builder starts
   (sphinx-thebe's ``const THEBE_JS_URL = ...`` configuration) twice to every page: once as
   it is registered (file name None) and again when the page is written (file name ''), and
   the two copies are not recognised as the same. The second ``const`` declaration is a
   script error in the browser ("Identifier 'THEBE_JS_URL' has already been declared").
   This drops exact duplicates from each page's script list, keeping the first.

2. Offline ipywidgets. On pages that carry widget state (chapter 7), myst-nb adds the
   scripts named by ``nb_ipywidgets_js``: here our copies of RequireJS and the ipywidgets
   embed bundle in ``_static/widgets/`` (book/_vendor/widgets, installed by book/vendor/fetch.py). Two things
   in that bundle assume the CDN layout and a MathJax 2 page, so an inline script is put
   just before RequireJS on those pages:

   - Asset path. The bundle's CSS loads the Font Awesome fonts of the widget buttons from
     the folder of each AMD module it defines, which RequireJS derives from the module's
     name (``<page folder>/@jupyter-widgets/...``: not found). A RequireJS ``paths`` entry
     for each module the bundle defines points them all at ``_static/widgets/embed-amd``,
     and ``__jupyter_widgets_assets_path__`` does the same for the one module that reads it,
     so the fonts load from ``_static/widgets/``.
   - MathJax. The widgets typeset their labels with MathJax 2's ``MathJax.Hub.Queue``; the
     book serves MathJax 3, which has no ``Hub``, and every widget view threw
     "Cannot read properties of undefined (reading 'Queue')". A minimal ``Hub.Queue`` that
     forwards ``["Typeset", hub, element]`` to MathJax 3's ``typesetPromise`` fixes that.

3. Test markers. Cells whose output the tests compare carry a ``# NBVAL_CHECK_OUTPUT`` or
   ``# NBVAL_IGNORE_OUTPUT`` line for nbval (tests/test_notebooks.py). They mean nothing to a
   reader, so the rendered code cells leave those comment lines out; the notebooks, their
   .ipynb downloads and Binder / Colab keep them.
"""
import json
import re

from docutils import nodes

# A line that is only an nbval marker comment (nbval reads them anywhere in a cell).
NBVAL_MARKER = re.compile(r"^[ \t]*# ?NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)

WIDGETS_DIR = "_static/widgets/"
WIDGETS_BUNDLE = WIDGETS_DIR + "embed-amd.js"
# The AMD modules that embed-amd.js defines (html-manager 1.x, ipywidgets 8).
WIDGET_MODULES = ("@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/base7",
                  "@jupyter-widgets/controls7", "@jupyter-widgets/html-manager",
                  "@jupyter-widgets/html-manager/dist/libembed-amd")

WIDGETS_SHIM = """
(function () {
  var assets = new URL(%(relative)s, document.baseURI).href;
  window.__jupyter_widgets_assets_path__ = assets;
  var paths = {};
  %(modules)s.forEach(function (name) { paths[name] = assets + "embed-amd"; });
  window.require = {paths: paths};          /* RequireJS reads a global `require` as its config */
  window.addEventListener("load", function () {   /* before the widgets render, after MathJax loads */
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.startup) return;
    mj.Hub = {Queue: function () {
      Array.prototype.forEach.call(arguments, function (job) {
        if (Array.isArray(job) && job[0] === "Typeset" && job[2])
          mj.startup.promise.then(function () { return mj.typesetPromise([job[2]]); })
            .catch(function (e) { console.warn("MathJax in a widget:", e); });
      });
    }};
  });
})();
"""


def _script_key(script):
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", script) or ""
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _filename(script):
    return str(getattr(script, "filename", script) or "")


def _fix_page_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    bundle = [i for i, s in enumerate(unique) if _filename(s).endswith(WIDGETS_BUNDLE)]
    if bundle:
        from sphinx.builders.html._assets import _JavaScript

        first = min([i for i, s in enumerate(unique) if _filename(s).startswith(WIDGETS_DIR)])
        relative = context["pathto"](WIDGETS_DIR, resource=True)
        body = WIDGETS_SHIM % {"relative": json.dumps(relative), "modules": json.dumps(list(WIDGET_MODULES))}
        shim = _JavaScript(None, priority=getattr(unique[first], "priority", 500), body=body)
        unique.insert(first, shim)
    context["script_files"] = unique


def _strip_test_markers(app, doctree):
    """Leave the nbval marker lines out of every code block of the page (3. above)."""
    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        if "NBVAL_" not in text:
            continue
        kept = NBVAL_MARKER.sub("", text)
        block.children = [nodes.Text(kept)]
        block.rawsource = kept


def setup(app):
    app.connect("html-page-context", _fix_page_scripts, priority=900)
    app.connect("doctree-read", _strip_test_markers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
