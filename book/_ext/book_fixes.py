"""Small Sphinx fixes for this book (loaded through `sphinx.local_extensions` in _config.yml).

Sphinx 7.4 adds an inline script registered after the builder starts (sphinx-thebe's
``const THEBE_JS_URL = ...`` configuration) twice to every page: once as it is registered
(file name None) and again when the page is written (file name ''), and the two copies are
not recognised as the same. The second ``const`` declaration is a script error in the
browser ("Identifier 'THEBE_JS_URL' has already been declared"). This drops exact duplicates
from each page's script list, keeping the first.
"""


def _script_key(script):
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", script) or ""
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
