"""Small fixes to the HTML that Jupyter Book 1.x produces (loaded as a local extension).

* Jupyter Book registers the thebe and toggle-button setup scripts twice on every page;
  the second ``const THEBE_JS_URL = ...`` is a SyntaxError in the browser console.
  Each identical script is kept once.
* pydata-sphinx-theme logs "Got invalid theme mode" when no default colour mode is set:
  the book sets one (light, the figures have white backgrounds).
"""
from __future__ import annotations


def _default_mode(app, config) -> None:
    # pydata-sphinx-theme >= 0.16 reads it from html_context, not the theme options
    config.html_context = {**(config.html_context or {}), "default_mode": "light"}


def _script_key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # the two copies differ only in filename None vs "" (an inline script either way)
    return (getattr(script, "filename", str(script)) or "", attributes.get("body"),
            tuple(sorted((k, str(v)) for k, v in attributes.items() if k != "body")))


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("config-inited", _default_mode)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
