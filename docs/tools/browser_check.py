#!/usr/bin/env python3
"""Check a built ddpm_theory site in headless Chromium.

    python docs/tools/browser_check.py docs/_build/html [--screenshot PATH]

1. Static scan: no page or stylesheet under the build asks for anything outside it
   (an http(s):// or protocol-relative URL in a script, stylesheet, font, image, frame
   or media reference, or in a CSS ``url(...)``/``@import``). Ordinary links (``<a>``)
   are fine: they are followed only when clicked.
2. Rendering: every derivation page (and the index of derivations) is opened in headless
   Chromium with networking disabled; MathJax must have turned every math element into
   ``mjx-container`` output, with no MathJax error and no raw TeX (``\\frac``,
   ``\\begin``, ``$$``, ``\\[``) left in the visible text.
3. ``--screenshot PATH`` saves a PNG of one derivation page (default: bayes-posterior).

Exits 0 when all checks pass; otherwise prints each problem and exits 1 (2 when Chromium
cannot be found or run).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", re.I)
RAW_TEX = re.compile(r"\\frac|\\begin\{|\\end\{|\$\$|\\\[|\\\]|\\mathcal|\\tilde|\\bar")
#: attributes that make the browser fetch something, per tag
FETCHING = {
    "script": ("src",), "img": ("src", "srcset"), "iframe": ("src",), "frame": ("src",),
    "embed": ("src",), "object": ("data",), "source": ("src", "srcset"), "audio": ("src",),
    "video": ("src", "poster"), "track": ("src",), "input": ("src",),
}
#: <link rel=...> values whose href is fetched
FETCHED_LINKS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "manifest",
                 "prefetch", "apple-touch-icon", "mask-icon"}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


class _Refs(HTMLParser):
    """Collect the URLs a page fetches, its math elements and its visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fetched: list[str] = []
        self.inline_css: list[str] = []
        self.math = 0
        self.mjx = 0
        self.errors = 0
        self.text: list[str] = []
        self._skip = 0  # inside <script>/<style>/<mjx-assistive-mml>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for attr in FETCHING.get(tag, ()):
            if a.get(attr):
                self.fetched += [u.strip().split(" ")[0] for u in a[attr].split(",")]
        if tag == "link" and FETCHED_LINKS & set(a.get("rel", "").lower().split()):
            self.fetched.append(a.get("href", ""))
        if "style" in a:
            self.inline_css.append(a["style"])
        classes = a.get("class", "").split()
        if "math" in classes and tag in ("div", "span"):
            self.math += 1
        if tag == "mjx-container":
            self.mjx += 1
        if tag == "mjx-merror" or "data-mjx-error" in a:
            self.errors += 1
        if tag in ("script", "style", "mjx-assistive-mml", "template"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "mjx-assistive-mml", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            if self.lasttag == "style":
                self.inline_css.append(data)
            return
        self.text.append(data)


def parse(html: str) -> _Refs:
    p = _Refs()
    p.feed(html)
    return p


def static_problems(site: Path) -> list[str]:
    """Every reference under ``site`` to something outside the build."""
    problems = []
    for f in sorted(site.rglob("*.html")):
        refs = parse(f.read_text(encoding="utf-8", errors="replace"))
        for url in refs.fetched + [u for css in refs.inline_css for u in CSS_URL.findall(css)]:
            if EXTERNAL.match(url):
                problems.append(f"{f.relative_to(site)}: fetches {url} from outside the build")
    for f in sorted(site.rglob("*.css")):
        for url in CSS_URL.findall(f.read_text(encoding="utf-8", errors="replace")):
            if EXTERNAL.match(url):
                problems.append(f"{f.relative_to(site)}: fetches {url} from outside the build")
    return problems


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError("no Chromium found (tried " + ", ".join(CHROMIUM_NAMES) +
                            "); on Debian: apt-get install -y chromium")


def chromium(browser: str, page: Path, *extra: str, timeout: float = 120) -> str:
    """Run headless Chromium on ``page`` with networking disabled; return its stdout."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
               "--disable-extensions", "--disable-background-networking",
               f"--user-data-dir={profile}",
               # networking disabled: names do not resolve and every non-file request
               # goes to a proxy that does not exist
               "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
               "--virtual-time-budget=15000", *extra, page.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed on {page} ({done.returncode}): "
                           f"{done.stderr[-2000:]}")
    return done.stdout


def derivation_pages(site: Path) -> list[Path]:
    pages = sorted(p for p in (site / "proofs").glob("*.html"))
    return [p for p in pages if 'class="ddpm-derivation' in p.read_text(encoding="utf-8")
            or p.name == "index.html"]


def render_problems(browser: str, page: Path, site: Path) -> list[str]:
    before = parse(page.read_text(encoding="utf-8"))
    after = parse(chromium(browser, page, "--dump-dom"))
    name = page.relative_to(site)
    problems = []
    if before.math == 0 and 'class="ddpm-derivation' in page.read_text(encoding="utf-8"):
        problems.append(f"{name}: a derivation page without math elements")
    if after.mjx < before.math:
        problems.append(f"{name}: MathJax rendered {after.mjx} of {before.math} math elements "
                        "(is MathJax served from the build? see _static/mathjax)")
    if after.errors:
        problems.append(f"{name}: {after.errors} MathJax error(s) (mjx-merror): bad LaTeX")
    visible = " ".join(after.text)
    raw = sorted(set(RAW_TEX.findall(visible)))
    if raw:
        problems.append(f"{name}: raw TeX left in the visible text: {' '.join(raw)}")
    return problems


def _progress(pages: list[Path]) -> Iterable[Path]:
    """The pages, with a progress bar (total and ETA) on stderr when tqdm is installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the check itself needs only the standard library
        return pages
    return tqdm(pages, desc="browser_check", unit="page", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("site", type=Path, help="the built HTML folder (docs/_build/html)")
    ap.add_argument("--screenshot", type=Path, help="save a PNG of one derivation page here")
    ap.add_argument("--page", default="proofs/bayes-posterior.html",
                    help="the page to screenshot (relative to SITE)")
    args = ap.parse_args(argv)
    site: Path = args.site
    if not (site / "index.html").is_file():
        print(f"browser_check: {site} is not a built site (no index.html)", file=sys.stderr)
        return 1
    problems = static_problems(site)
    pages = derivation_pages(site)
    if not pages:
        problems.append(f"no derivation pages under {site / 'proofs'}")
    try:
        browser = find_chromium()
        for page in _progress(pages):
            problems += render_problems(browser, page, site)
        if args.screenshot:
            target = site / args.page
            if not target.is_file():
                problems.append(f"--page {args.page} does not exist under {site}")
            else:
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                chromium(browser, target, f"--screenshot={args.screenshot.resolve()}",
                         "--window-size=1280,2400", "--hide-scrollbars")
                if not args.screenshot.is_file():
                    problems.append(f"chromium wrote no screenshot to {args.screenshot}")
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"browser_check: cannot run Chromium: {exc}", file=sys.stderr)
        return 2
    if problems:
        print(f"browser_check: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"browser_check: {len(pages)} derivation page(s) rendered with MathJax and no "
          f"network; no page under {site} asks for anything outside the build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
