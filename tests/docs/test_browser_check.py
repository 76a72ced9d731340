"""docs/tools/browser_check.py: the static scan finds outside requests; the full docs build
(slow) passes -W and renders in headless Chromium without network."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("browser_check",
                                               ROOT / "docs" / "tools" / "browser_check.py")
assert _spec and _spec.loader
browser_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser_check)


def _site(tmp_path: Path, head: str, css: str = "") -> Path:
    (tmp_path / "index.html").write_text(f"<html><head>{head}</head><body>"
                                         "<a href='https://arxiv.org/abs/2006.11239v2'>ok</a>"
                                         "</body></html>")
    (tmp_path / "s.css").write_text(css)
    return tmp_path


@pytest.mark.parametrize("head, css", [
    ("<script src='https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js'></script>", ""),
    ("<link rel='stylesheet' href='//fonts.googleapis.com/css?family=Roboto'>", ""),
    ("<img src='http://example.org/x.png'>", ""),
    ("", "@font-face { src: url(https://example.org/f.woff2); }"),
    ("", "@import 'https://example.org/x.css';"),
], ids=["cdn script", "protocol-relative css", "image", "css font", "css import"])
def test_static_scan_finds_requests_outside_the_build(tmp_path, head, css):
    problems = browser_check.static_problems(_site(tmp_path, head, css))
    assert len(problems) == 1 and "outside the build" in problems[0]


def test_static_scan_accepts_local_assets_and_plain_links(tmp_path):
    site = _site(tmp_path, "<script src='_static/mathjax/tex-chtml.js'></script>"
                           "<link rel='stylesheet' href='_static/x.css'>",
                 "@font-face { src: url(fonts/f.woff2); }")
    assert browser_check.static_problems(site) == []


def test_raw_tex_is_noticed_in_visible_text():
    parsed = browser_check.parse("<div class='math'>\\[\\frac{a}{b}\\]</div>")
    assert parsed.math == 1 and parsed.mjx == 0
    assert browser_check.RAW_TEX.search(" ".join(parsed.text))


@pytest.mark.slow
def test_the_docs_build_with_W_and_render_in_chromium(tmp_path):
    out = tmp_path / "html"
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
                           "-b", "html", str(ROOT / "docs"), str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-5000:]
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    assert browser_check.main([str(out), "--screenshot", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").stat().st_size > 10_000
