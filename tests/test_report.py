"""report.html: written by every run, self-contained, rebuilt by `cortical report`, tables-only without matplotlib."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from regions.cli import main
from regions.report import PUBLISHED_2017, REPORT_NAME, render_report

ROOT = Path(__file__).resolve().parent.parent
SHRUNK = ["--set", "experiment.n_objects=5", "--set", "experiment.max_sensations=3"]


@pytest.fixture(scope="module")
def touch_run(tmp_path_factory):
    """One shrunk touch_objects run (3 columns, 5 objects, 3 sensations) written by `cortical run`."""
    out = tmp_path_factory.mktemp("touch") / "run"
    assert main(["run", "touch_objects", *SHRUNK, "--out", str(out), "--quiet"]) == 0
    return out


def _images(text):
    return re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', text)


def test_every_run_writes_a_self_contained_report(touch_run):
    text = (touch_run / REPORT_NAME).read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # nothing is fetched: no script, no stylesheet or image from elsewhere, every image inline
    assert "<script" not in text and "<link" not in text
    assert not re.search(r'(src|href)="(?!data:)', text)
    images = _images(text)
    assert [alt for alt, _ in images] == ["Convergence", "Column activity", "Time to consensus", "The network"]
    for _, data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figure failed" not in text


def test_report_states_question_config_seed_versions_commit_and_metrics(touch_run):
    text = (touch_run / REPORT_NAME).read_text()
    payload = json.loads((touch_run / "metrics.json").read_text())
    info = json.loads((touch_run / "run_info.json").read_text())
    assert "<strong>Question.</strong>" in text and "recognise them by touch" in text
    assert f"<dt>seed</dt><dd>{payload['seed']}</dd>" in text
    assert str(payload["trials"][0]["seed"]) in text  # the trial seed
    assert f"cortical-columns {info['versions']['cortical-columns']}" in text and "numpy " in text
    commit = info["git_commit"]
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", commit)
    assert (commit or "unknown") in text
    assert "run touch_objects --set experiment.n_objects=5" in text  # the command
    # the resolved config, escaped, in full
    resolved = (touch_run / "resolved_config.yaml").read_text()
    assert "n_objects: 5" in resolved and "n_objects: 5" in text
    # the metrics: summary rows and the per-sensation table
    assert "<td class=\"key\">accuracy_at_3</td>" in text and "<th class=\"key\">sensation</th>" in text
    # the published 2017 values are named in the caption of the convergence figure
    assert "published values (2017 Fig 4B" in text and str(PUBLISHED_2017["objects"]) in text


def test_touch_objects_metrics_carry_the_raster_and_settling_data(touch_run):
    trial = json.loads((touch_run / "metrics.json").read_text())["trials"][0]
    activity = trial["activity"]
    assert activity["cells_per_column"] == {"L23": 4096, "L4": 150 * 16}
    assert len(activity["code"]) == 3 * 40  # the object's code: 40 cells in each of 3 columns
    sensations = sorted({s["sensation"] for s in activity["steps"]})
    assert sensations == [1, 2, 3]
    # the learned object is recognised: the last step's L2/3 is the object's code
    assert sorted(activity["steps"][-1]["L23"]) == activity["code"]
    # settling iterations per sensation (5 objects x 3 sensations, fixed points or cycles)
    assert len(trial["settle_iterations"]) <= 15 and all(v >= 0 for v in trial["settle_iterations"])


def test_cortical_report_rebuilds_the_page(touch_run, tmp_path, capsys):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("metrics.json", "resolved_config.yaml", "run_info.json", "seed"):
        (copy / name).write_bytes((touch_run / name).read_bytes())
    assert main(["report", str(copy)]) == 0
    assert capsys.readouterr().out.strip() == str(copy / REPORT_NAME)
    rebuilt = (copy / REPORT_NAME).read_text()
    assert [alt for alt, _ in _images(rebuilt)] == [alt for alt, _ in _images((touch_run / REPORT_NAME).read_text())]
    assert main(["report", str(copy), "--no-figures"]) == 0
    tables_only = (copy / REPORT_NAME).read_text()
    assert "<img" not in tables_only and "accuracy_at_3" in tables_only


def test_report_without_matplotlib_has_tables_and_says_so(touch_run, tmp_path):
    """matplotlib made unimportable in a fresh interpreter: the report is written without figures."""
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from regions.cli import main\n"
            f"sys.exit(main(['report', {str(touch_run)!r}]))")
    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("metrics.json", "resolved_config.yaml", "run_info.json"):
        (copy / name).write_bytes((touch_run / name).read_bytes())
    done = subprocess.run([sys.executable, "-c", code.replace(str(touch_run), str(copy))], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    text = (copy / REPORT_NAME).read_text()
    assert "<img" not in text
    assert "Figures need matplotlib" in text and "pip install 'cortical-columns[plot]'" in text
    assert "accuracy_at_3" in text


def test_run_plot_without_matplotlib_is_refused_before_any_work(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from regions.cli import main\n"
            f"sys.exit(main(['run', 'touch_objects', '--plot', '--out', {str(tmp_path / 'o')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and "--plot needs matplotlib" in done.stderr
    assert not (tmp_path / "o").exists()


def test_report_of_a_bad_run_directory_names_it(tmp_path, capsys):
    missing = tmp_path / "nothing"
    assert main(["report", str(missing)]) == 2
    assert capsys.readouterr().err == f"cortical: error: {missing}: no such run directory\n"
    assert main(["report", str(tmp_path)]) == 2
    assert "no metrics.json" in capsys.readouterr().err
    (tmp_path / "metrics.json").write_text("{not json")
    assert main(["report", str(tmp_path)]) == 2
    assert "metrics.json: cannot read it as JSON" in capsys.readouterr().err
    (tmp_path / "metrics.json").write_text('{"trials": []}')
    assert main(["report", str(tmp_path)]) == 2
    assert "non-empty 'trials' list" in capsys.readouterr().err


def test_html_escapes_what_it_shows(touch_run, tmp_path):
    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("metrics.json", "resolved_config.yaml"):
        (copy / name).write_bytes((touch_run / name).read_bytes())
    (copy / "run_info.json").write_text(json.dumps({"command": ["cortical", "run", "<b>x</b>"]}))
    text = render_report(copy, figures_enabled=False)
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text
    assert "<dt>git commit</dt><dd>unknown" in text  # no commit recorded


def test_report_falls_back_to_the_recorded_config_and_overrides(touch_run, tmp_path):
    """A resolved_config.yaml that does not load back on its own: run_info.json's config + overrides are used."""
    copy = tmp_path / "run"
    copy.mkdir()
    (copy / "metrics.json").write_bytes((touch_run / "metrics.json").read_bytes())
    (copy / "resolved_config.yaml").write_text("seed: 0\nregions: not-a-list\n")
    info = json.loads((touch_run / "run_info.json").read_text())
    assert info["config"].endswith("touch_objects.yaml") and "experiment.n_objects=5" in info["overrides"]
    (copy / "run_info.json").write_text(json.dumps(info))
    text = render_report(copy, figures_enabled=False)
    assert "S1: 3 columns" in text and "regions: not-a-list" in text  # the file is shown as written
    info["config"] = None
    (copy / "run_info.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="resolved_config.yaml"):
        render_report(copy, figures_enabled=False)


@pytest.fixture(scope="module")
def one_column_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "run"
    assert main(["run", "touch_objects", *SHRUNK, "--set", "regions[0].columns=1", "--out", str(out), "--quiet"]) == 0
    return out


def test_compare_draws_other_column_counts_in_one_figure(touch_run, one_column_run, tmp_path, capsys):
    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("metrics.json", "resolved_config.yaml", "run_info.json"):
        (copy / name).write_bytes((touch_run / name).read_bytes())
    assert main(["report", str(copy), "--compare", str(one_column_run)]) == 0
    text = (copy / REPORT_NAME).read_text()
    assert f"Drawn beside the runs in <code>{one_column_run}</code>" in text
    assert "1, 3 column(s)" in text  # one convergence line per column count
    assert "the mean by column count over the compared runs" in text
    assert "figure failed" not in text and len(_images(text)) == 4


def test_compare_refuses_runs_that_cannot_be_drawn_together(touch_run, one_column_run, tmp_path, capsys):
    assert main(["report", str(touch_run), "--compare", str(touch_run)]) == 2  # 3 columns twice
    assert "a second run with 3 column(s)" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    trials = json.loads((one_column_run / "metrics.json").read_text())["trials"]
    trials[0]["objects"] = 7
    (other / "metrics.json").write_text(json.dumps({"experiment": "touch_objects", "trials": trials}))
    assert main(["report", str(touch_run), "--compare", str(other)]) == 2
    assert f"--compare {other}: objects 7 differs from this run's 5" in capsys.readouterr().err
    (other / "metrics.json").write_text(json.dumps({"experiment": "critical_sweep", "trials": trials}))
    assert main(["report", str(touch_run), "--compare", str(other)]) == 2
    assert "experiment 'critical_sweep', this run's is 'touch_objects'" in capsys.readouterr().err
    assert main(["report", str(touch_run), "--compare", str(tmp_path / "none")]) == 2
    assert "no metrics.json" in capsys.readouterr().err
