"""``make plots``: DVC's plot page, with Vega inlined, renders in headless Chromium without network."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from distillery.offline_plots import CACHE, PACKAGES
from tests.dvc_repo import REPO

pytestmark = pytest.mark.slow

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
BROWSER = next((b for b in BROWSERS if shutil.which(b)), None)


@pytest.mark.skipif(BROWSER is None, reason="no headless Chromium: `make setup` installs chromium-headless-shell "
                                            "from Debian when apt-get is available")
def test_plots_render_offline_as_svg_and_images(tmp_path) -> None:
    if not all((REPO / CACHE / f"{p}-{v}.min.js").is_file() for p, v in PACKAGES.items()) and not shutil.which("npm"):
        pytest.skip("the Vega builds are not cached in .cache/vega and npm is absent to fetch them")
    out = tmp_path / "plots"
    subprocess.run([sys.executable, "-m", "distillery.offline_plots", "--out", str(out)], cwd=REPO, check=True,
                   capture_output=True)
    page = out / "index.html"
    assert "cdn.jsdelivr" not in page.read_text()
    dom = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    drawn = re.findall(r"<(?:canvas|svg)[^>]*class=\"marks\"", dom)  # what Vega draws, canvas or SVG
    assert len(drawn) >= 3  # teacher curves, student curves, per-class F1: rendered, not placeholders
    assert len(re.findall(r"<img src=\"static/[^\"]+\.png\"", dom)) >= 2  # the PR curves and per-class F1 PNGs
    shot = tmp_path / "plots.png"
    subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                    f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()], capture_output=True,
                   timeout=120, check=True)
    assert shot.read_bytes()[:4] == b"\x89PNG"
