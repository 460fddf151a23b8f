"""``python -m distillery.offline_plots``: ``dvc plots show`` (or ``diff REV``) as HTML that renders offline.

DVC's default page loads Vega from a CDN, which machines without internet cannot reach. This
fetches the same Vega, Vega-Lite and Vega-Embed builds once through npm (a package registry, which
these machines can use), caches them under ``.cache/vega/``, and hands DVC a page template with
the scripts inlined (``make plots``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from distillery import atomic
from distillery.dvc_cli import dvc_command

# The versions DVC's own template pins.
PACKAGES = {"vega": "5.20.2", "vega-lite": "5.2.0", "vega-embed": "6.18.2"}
CACHE = Path(".cache/vega")
TEMPLATE = CACHE / "template.html"

PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>distillery plots</title>
{scripts}
<style>body {{ font-family: sans-serif; }} .vega-embed, img {{ margin: 12px; }}</style>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def script_of(package: str, version: str) -> str:
    """The minified browser build of ``package`` (downloaded once with ``npm pack``)."""
    cached = CACHE / f"{package}-{version}.min.js"
    if not cached.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            result = subprocess.run(["npm", "pack", f"{package}@{version}", "--pack-destination", tmp, "--silent"],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                sys.exit(f"error: npm pack {package}@{version} failed (is npm installed and the registry "
                         f"reachable?): {result.stderr.strip()[-300:]}")
            with tarfile.open(next(Path(tmp).glob("*.tgz"))) as archive:
                member = archive.extractfile(f"package/build/{package}.min.js")
                atomic.write_bytes(cached, member.read())
    return cached.read_text(encoding="utf-8")


def inline_script(code: str) -> str:
    return "<script>" + code.replace("</script", "<\\/script") + "</script>"


def template() -> Path:
    scripts = "\n".join(inline_script(script_of(package, version)) for package, version in PACKAGES.items())
    atomic.write_text(TEMPLATE, PAGE.format(scripts=scripts))
    return TEMPLATE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diff", metavar="REV", help="compare with REV (dvc plots diff) instead of showing")
    parser.add_argument("--out", default="dvc_plots", help="output folder (default: dvc_plots)")
    args = parser.parse_args(argv)
    command = ["plots", "diff", args.diff] if args.diff else ["plots", "show"]
    result = subprocess.run(dvc_command(*command, "--html-template", str(template()), "-o", args.out))
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
