"""``make plots``: DVC's plot page, with Vega inlined, renders in headless Chromium without network."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from PIL import Image

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
    expected = len(re.findall(r"vegaEmbed\(", page.read_text()))
    assert expected >= 6 and len(drawn) == expected  # losses, val F1, per-class F1, PR per class, confusion
    images = re.findall(r"<img src=\"(static/[^\"]+\.png)\"", dom)
    assert len(images) >= 3  # the PR curves, per-class F1 and confusion PNGs
    for image in images:  # none wider than a page shows: a wider one was clipped at the right edge
        assert Image.open(out / image).size[0] <= 1200, image
    shot = tmp_path / "plots.png"
    subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                    f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()], capture_output=True,
                   timeout=120, check=True)
    assert shot.read_bytes()[:4] == b"\x89PNG"
