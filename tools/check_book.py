"""Open every page of the built book in headless Chromium, offline, and check it.

For each page listed in ``_toc.yml`` (served from ``_build/html`` on 127.0.0.1; every other
host name resolves to nothing, so the page gets no network):

* no errors in the browser console;
* every ``<img>`` decoded (``naturalWidth > 0``);
* math rendered by the bundled MathJax: every math element holds an ``mjx-container``,
  no ``merror``, and MathJax was loaded from the book itself, not a CDN;
* no resource requested from anywhere but the local server (or ``data:`` URLs);
* the sidebar links to every page of the table of contents;
* a screenshot written to ``_build/screenshots/<page>.png``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make browsers`` installs them) and
the ``selenium`` package. Exit status 0 when every page passes, 1 otherwise (each failure
named), 2 when the book or the browser is missing.

Usage (from the repository root): ``.venv/bin/python -m tools.check_book [--html _build/html]``
"""
from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path

from tools.build_book import toc_files

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Runs in the page after load: waits for MathJax and the images, then reports.
PAGE_REPORT_JS = r"""
const done = arguments[arguments.length - 1];
(async () => {
  if (document.readyState !== "complete") {
    await new Promise((resolve) => window.addEventListener("load", resolve, {once: true}));
  }
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all(Array.from(document.images, (img) => img.decode().catch(() => null)));
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  if (mj && mj.typesetPromise) { await mj.typesetPromise().catch(() => null); }
  const math = Array.from(document.querySelectorAll(".math"));
  const scripts = Array.from(document.scripts, (s) => s.src).filter((s) => /mathjax/i.test(s));
  done({
    title: document.title,
    brokenImages: Array.from(document.images)
      .filter((img) => !(img.complete && img.naturalWidth > 0)).map((img) => img.src.slice(0, 120)),
    images: document.images.length,
    math: math.length,
    mathUnrendered: math.filter((m) => !m.querySelector("mjx-container")).length,
    mathErrors: document.querySelectorAll("mjx-merror, [data-mjx-error]").length,
    mathjaxScripts: scripts,
    mathjaxLoaded: Boolean(mj && mj.version),
    sidebar: Array.from(document.querySelectorAll("nav.bd-links a, .bd-sidenav a, #bd-docs-nav a"),
                        (a) => a.href.split("#")[0]),
    resources: performance.getEntriesByType("resource").map((e) => e.name),
  });
})();
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the report readable
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def browser(width: int = 1280, height: int = 1600):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--disable-extensions",
                 f"--window-size={width},{height}",
                 # the network is off: every host but the local server resolves to nothing
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    return driver


def check_page(driver, base: str, page: str, pages: list[str], shots: Path) -> list[str]:
    """Problems found on one page (empty: it passed)."""
    url = f"{base}/{page}.html"
    for _attempt in range(3):
        driver.get(url)
        report = driver.execute_async_script(PAGE_REPORT_JS)
        if report["title"] and report["sidebar"]:
            break  # rarely, the report runs on the page that is being left: load it again
    problems = []
    for entry in driver.get_log("browser"):
        if entry.get("level") == "SEVERE":
            problems.append(f"console error: {entry.get('message', '')[:300]}")
    if report["brokenImages"]:
        problems.append(f"{len(report['brokenImages'])} of {report['images']} images not decoded: "
                        + ", ".join(report["brokenImages"][:3]))
    if report["math"]:
        if not report["mathjaxLoaded"]:
            problems.append(f"{report['math']} math elements but MathJax did not load")
        elif report["mathUnrendered"]:
            problems.append(f"{report['mathUnrendered']} of {report['math']} math elements not rendered")
        if report["mathErrors"]:
            problems.append(f"{report['mathErrors']} MathJax errors")
        remote = [s for s in report["mathjaxScripts"] if not s.startswith(base)]
        if remote:
            problems.append(f"MathJax loaded from outside the book: {remote}")
    outside = [r for r in report["resources"] if not (r.startswith(base) or r.startswith("data:"))]
    if outside:
        problems.append(f"requests outside the book (the reader may be offline): {outside[:3]}")
    linked = {link[len(base) + 1:].removesuffix(".html") for link in report["sidebar"]
              if link.startswith(base)}
    missing = [p for p in pages if p != pages[0] and p not in linked]
    if missing:
        problems.append(f"the sidebar does not list {missing}")
    shot = shots / f"{page.replace('/', '__')}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(shot))
    print(f"  {page}: {report['images']} images, {report['math']} math, "
          f"{'ok' if not problems else 'FAILED'} -> {shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "screenshots")
    args = parser.parse_args(argv)
    if not (args.html / "index.html").exists():
        print(f"check_book: {args.html}/index.html is missing; build the book first (make book)",
              file=sys.stderr)
        return 2
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(tool):
            print(f"check_book: {tool} is missing; install Debian's chromium and chromium-driver "
                  "(make browsers)", file=sys.stderr)
            return 2
    pages = toc_files(ROOT / "_toc.yml")
    server, base = serve(args.html)
    driver = browser()
    failures = {}
    try:
        print(f"checking {len(pages)} pages of {args.html} in {driver.capabilities.get('browserName')} "
              f"{driver.capabilities.get('browserVersion')} (offline)")
        for page in pages:
            problems = check_page(driver, base, page, pages, args.screenshots)
            if problems:
                failures[page] = problems
    finally:
        driver.quit()
        server.shutdown()
    for page, problems in failures.items():
        for problem in problems:
            print(f"FAIL {page}: {problem}")
    print(f"{len(pages) - len(failures)} of {len(pages)} pages passed; screenshots in {args.screenshots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
