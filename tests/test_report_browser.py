"""Every shipped config's run writes a report.html that renders in headless Chromium.

Each ``configs/*.yaml`` runs shrunk (``test_shipped_configs.SHRINK``) through ``cortical run``; its
report must hold the figures of its protocol with none failed, and, opened from disk in headless
Chromium (Debian's ``chromium``; ``.ci/run`` installs it), must render with every ``<img>``
decoded (``naturalWidth > 0``, checked by a script injected into a copy of the page that writes the
result into the DOM, read back with ``--dump-dom``) and nothing on the browser console.  A control
page with a broken image and a console error shows the check can fail.

Without Chromium the browser test is skipped, unless ``CORTICAL_REQUIRE_BROWSER=1`` (set by
``.ci/run``), where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from regions.cli import main

from test_shipped_configs import CONFIGS, SHRINK

pytest.importorskip("matplotlib")

#: Figures each protocol's report must hold (titles of the <img> tags, in order).
EXPECTED_FIGURES: dict[str, list[str]] = {
    "touch_objects": ["Convergence", "Column activity", "Time to consensus", "The network"],
    "grid_objects": ["Recognition vs sensations", "Capacity", "The network"],
    "hierarchy_scenes": ["Feedback", "The network"],
    "critical_sweep": ["Branching ratio", "Avalanche distributions", "&lt;S&gt;(T)", "The network"],
    "spiking_network": ["Population activity", "Firing rates", "Avalanche distributions", "The network"],
    "continual_learning": ["Continual learning", "Novelty", "The network"],
    "digit_saccades": ["Digits by saccades", "The network"],
    "learned_criticality": ["Cluster agreement and avalanche onsets", "Avalanche distributions", "The network"],
    "arena_navigation": ["Path integration", "Phase error growth", "Position error", "The network"],
}

_CHECK = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  document.body.setAttribute("data-check", `images=${images.length} broken=${broken}`
    + ` h1=${document.querySelectorAll("h1").length} width=${document.body.scrollWidth}`);
});
</script>"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _open(page: Path, profile: Path) -> tuple[str, list[str]]:
    """Open ``page`` (a copy with the check script) in headless Chromium: (data-check, console lines)."""
    checked = page.with_name(page.stem + ".checked.html")
    checked.write_text(page.read_text().replace("</body>", _CHECK + "</body>"))
    args = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
            "--window-size=1200,900", "--dump-dom", checked.as_uri()]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-check="([^"]*)"', done.stdout)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return (found.group(1) if found else ""), console


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every shipped config run shrunk by `cortical run`: stem -> output directory."""
    base = tmp_path_factory.mktemp("reports")
    out = {}
    for path in CONFIGS:
        if path.stem not in SHRINK:
            continue  # test_shipped_configs fails for it, asking for a shrink entry
        if path.stem == "digit_saccades":
            pytest.importorskip("sklearn")
        target = base / path.stem
        args = ["run", str(path), *(a for o in SHRINK[path.stem] for a in ("--set", o)), "--out", str(target), "--quiet"]
        assert main(args) == 0, f"cortical {' '.join(args)}"
        out[path.stem] = target
    return out


def test_every_shipped_config_report_has_its_protocol_figures(runs):
    import json

    for stem, folder in runs.items():
        text = (folder / "report.html").read_text()
        kind = json.loads((folder / "metrics.json").read_text())["experiment"]
        assert "figure failed" not in text, f"{stem}: {re.findall(r'figure failed: [^<]*', text)}"
        titles = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', text)
        # a kind without figures of its own gets its metric series drawn (regions.report._generic_figures)
        expected = EXPECTED_FIGURES.get(kind, ["The network"])
        assert [t for t in titles if t in expected] == expected, f"{stem}: {titles}"


def test_every_report_renders_in_headless_chromium(runs, tmp_path):
    if _chromium() is None:
        if os.environ.get("CORTICAL_REQUIRE_BROWSER") == "1":
            pytest.fail("CORTICAL_REQUIRE_BROWSER=1 but no chromium on PATH (.ci/run installs Debian's chromium)")
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    # the control: a broken image and a console error are both seen
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><html><body><h1>x</h1><img src="missing.png">'
                       '<script>console.error("control error")</script></body></html>')
    check, console = _open(control, tmp_path / "profile")
    assert "images=1 broken=1" in check and any("control error" in line for line in console), (check, console)
    for stem, folder in runs.items():
        page = tmp_path / f"{stem}.html"
        page.write_text((folder / "report.html").read_text())
        check, console = _open(page, tmp_path / "profile")
        images = len(re.findall(r"<img ", page.read_text()))
        assert check.startswith(f"images={images} broken=0 h1=1"), f"{stem}: {check!r}"
        assert images >= 2, f"{stem}: {images} images"
        assert console == [], f"{stem}: browser console: {console}"
