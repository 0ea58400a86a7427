"""Screenshot a report.html in headless Chromium at 1280 px, and say whether it fits without horizontal scrolling.

    python bench/screenshot_report.py reports/latest/report.html [--out report.png] [--width 1280]

Exit 0: screenshot written and the page fits the width; 1: it needs horizontal scrolling (the PNG is still
written, to look at); 2: no Chromium, or the page or the browser failed. Chromium is found as `chromium`,
`chromium-browser`, `google-chrome` or `google-chrome-stable` on PATH, or at $CHROMIUM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXIT_OK, EXIT_OVERFLOW, EXIT_SETUP = 0, 1, 2
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "headless Chromium not found: install it (Debian/Ubuntu: `sudo apt-get install -y chromium`; "
    "macOS: `brew install --cask chromium`) or point $CHROMIUM at a Chrome/Chromium binary"
)
MAX_HEIGHT = 16000  # px: Chromium's screenshots grow memory with the height; longer pages are cut there
# Appended to a copy of the page: the layout's real widths, read back from the DOM Chromium dumps.
MEASURE = (
    "<script>document.title = JSON.stringify({scroll: document.documentElement.scrollWidth, "
    "client: document.documentElement.clientWidth, height: document.documentElement.scrollHeight});</script>"
)


def find_chromium() -> str | None:
    """The browser binary: $CHROMIUM, else the first known name on PATH."""
    chosen = os.environ.get("CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def _chromium(binary: str, width: int, height: int, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        binary,
        "--headless",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def measure(binary: str, page: Path, width: int) -> dict[str, int]:
    """The page's scroll width, client width and height at `width` px, as the browser lays it out."""
    with tempfile.TemporaryDirectory(prefix="contractgate-shot-") as folder:
        copy = Path(folder) / "measure.html"
        copy.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
        done = _chromium(binary, width, 900, "--dump-dom", copy.as_uri())
    found = re.search(r"<title>(\{.*?\})</title>", done.stdout)
    if done.returncode != 0 or not found:
        why = done.stderr.strip()[-400:]
        raise RuntimeError(f"chromium could not lay the page out (exit {done.returncode}): {why}")
    sizes: dict[str, int] = json.loads(found.group(1).replace("&quot;", '"'))
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Measure, screenshot, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="a report.html (e.g. reports/latest/report.html)")
    parser.add_argument("--out", type=Path, default=None, help="PNG to write (default: beside the page)")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)
    if not args.page.is_file():
        print(f"screenshot_report: {args.page}: no such file", file=sys.stderr)
        return EXIT_SETUP
    binary = find_chromium()
    if binary is None:
        print(f"screenshot_report: {INSTALL_HINT}", file=sys.stderr)
        return EXIT_SETUP
    out = args.out or args.page.with_suffix(".png")
    try:
        sizes = measure(binary, args.page.resolve(), args.width)
        height = min(sizes["height"], MAX_HEIGHT)
        done = _chromium(binary, args.width, height, f"--screenshot={out.resolve()}", args.page.resolve().as_uri())
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"screenshot_report: {error}", file=sys.stderr)
        return EXIT_SETUP
    if done.returncode != 0 or not out.is_file():
        print(f"screenshot_report: chromium wrote no screenshot: {done.stderr.strip()[-400:]}", file=sys.stderr)
        return EXIT_SETUP
    cut = f" (cut at {MAX_HEIGHT} px)" if sizes["height"] > MAX_HEIGHT else ""
    print(f"{out}: {args.width} x {height} px{cut}; page content {sizes['scroll']} px wide in {sizes['client']} px")
    if sizes["scroll"] > sizes["client"]:
        print(f"the page needs horizontal scrolling: {sizes['scroll'] - sizes['client']} px too wide")
        return EXIT_OVERFLOW
    print("fits: no horizontal scrolling")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
