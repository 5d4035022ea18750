"""docs/tutorial.md runs as written: every ```bash and ```python block, in order, in one empty directory.

The blocks run with the installed ``cortical`` on PATH (the console script beside this interpreter)
and this interpreter as ``python``; each must exit 0.  The test then checks what the tutorial says
the commands produce.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"


def blocks(text: str) -> list[tuple[str, str]]:
    """The fenced ``bash`` and ``python`` blocks of a Markdown text: (language, code), in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(bash|python)\n(.*?)^```$", text, re.S | re.M)]


def test_tutorial_has_the_steps_it_promises():
    found = blocks(TUTORIAL.read_text())
    code = "\n".join(c for _, c in found)
    for command in ("cortical validate", "cortical describe", "cortical run", "--save", "--load", "cortical report"):
        assert command in code, f"docs/tutorial.md: no {command!r} in its runnable blocks"
    assert [lang for lang, _ in found].count("python") >= 1


def test_tutorial_commands_run_as_written(tmp_path):
    pytest.importorskip("matplotlib")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    outputs = []
    for k, (lang, code) in enumerate(blocks(TUTORIAL.read_text())):
        args = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"docs/tutorial.md block {k + 1} ({lang}) failed:\n{code}\n{done.stderr[-3000:]}"
        outputs.append(done.stdout)
    assert outputs[1].startswith("ok\n")  # cortical validate
    assert "region S1: 4 column(s)" in outputs[1] and "lateral cycle_graph" in outputs[1]
    for folder in ("my_columns", "one_column", "reloaded"):
        assert (tmp_path / "out" / folder / "report.html").is_file(), folder
    trained = json.loads((tmp_path / "out" / "my_columns" / "metrics.json").read_text())["trials"][0]
    reloaded = json.loads((tmp_path / "out" / "reloaded" / "metrics.json").read_text())["trials"][0]
    # the reloaded network recognises what it learned, without a learning step
    assert trained["accuracy_at_3"] == 1.0 and reloaded["accuracy_at_3"] == 1.0
    assert reloaded["columns"] == 4 and (tmp_path / "my_columns.npz").is_file()
    assert (tmp_path / "convergence.png").read_bytes()[:4] == b"\x89PNG"
    report = (tmp_path / "out" / "my_columns" / "report.html").read_text()
    assert "Drawn beside the runs in <code>out/one_column</code>" in report and "1, 4 column(s)" in report
    assert any(line.startswith("[1, 4]") for line in "".join(outputs).splitlines())
