"""The cortical command line end to end: exit codes, outputs, messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from regions import cli
from regions.cli import main
from regions.config import Config, load_config

TINY = """
seed: 11
description: tiny two-region network
regions:
  - name: V1
    columns: 4
    lateral: {topology: cycle_graph}
  - name: V2
    columns: 2
connections:
  - {kind: feedforward, source: V1, target: V2}
  - {kind: feedback, source: V2, target: V1}
experiment:
  kind: hierarchy_scenes
  n_objects: 4
  max_sensations: 3
  params: {n_scenes: 2}
"""

KERNEL = """
seed: 11
description: tiny kernel benchmark
experiment:
  kind: kernel_benchmark
  params: {n_cells: 128, n_presynaptic: 128, segments_per_cell: 2, synapses_per_segment: 10,
           n_active: 8, repeats: 2, silent_factors: [1, 2]}
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(textwrap.dedent(TINY).lstrip())
    return path


@pytest.fixture
def kernel(tmp_path) -> Path:
    path = tmp_path / "kernel.yaml"
    path.write_text(textwrap.dedent(KERNEL).lstrip())
    return path


def test_schema_is_json(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object" and "regions" in schema["properties"]


def test_validate_ok_and_summary(tiny, capsys):
    assert main(["validate", str(tiny)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ok"
    assert out[1].startswith("2 regions: V1 (4 columns), V2 (2 columns); 2 connections")
    assert "experiment hierarchy_scenes" in out[1]


def test_validate_lists_every_error_with_its_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("regions:\n  - name: V1\n    colums: 4\n  - name: V2\n    columns: -1\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"cortical: error: {bad}:3: regions[0]: unknown key 'colums' (did you mean 'columns'?)",
        f"cortical: error: {bad}:5: regions[1].columns: must be a positive integer, got -1",
    ]


def test_describe_shows_layers_graph_and_budget(tiny, capsys):
    assert main(["describe", str(tiny), "--set", "regions[0].columns=5"]) == 0
    out = capsys.readouterr().out
    assert "region V1: 5 column(s)" in out
    assert "lateral cycle_graph: 5 nodes, 5 edges, degree mean 2.00 (min 2, max 2), clustering 0.000" in out
    assert "L4            2,400     12,000" in out  # 150 x 16 cells per column, 5 columns
    assert "feedforward V1.L23 -> V2.L4" in out and "feedback    V2.L23 -> V1.L1" in out
    total = [line for line in out.splitlines() if line.strip().startswith("total")][0]
    assert total.rstrip().endswith("bytes)")


def test_describe_shows_the_growth_schedule_and_the_grown_shape(capsys):
    assert main(["describe", "touch_objects_growth", "--set", "growth.schedule[0].l23_cells=64"]) == 0
    out = capsys.readouterr().out
    assert "growth of region S1 while it learns:" in out
    assert "after 30 objects: columns 4 -> 16, L2/3 cells per column 4096 -> 4160" in out
    assert "join the lateral graph: networkx complete_graph over the grown set, old edges kept" in out
    assert "final shape: 16 columns x 4160 L2/3 cells" in out
    assert ", as first built):" in out
    assert main(["describe", "touch_objects"]) == 0
    assert "growth" not in capsys.readouterr().out


def test_budget_grows_with_objects(tiny):
    small = cli.estimate_budget(load_config(tiny, ["experiment.n_objects=50"]))
    large = cli.estimate_budget(load_config(tiny, ["experiment.n_objects=100"]))
    assert sum(r["bytes"] for r in large) > sum(r["bytes"] for r in small)
    assert sum(r["synapses"] for r in large) == pytest.approx(2 * sum(r["synapses"] for r in small), rel=0.05)


def test_run_writes_results(kernel, tmp_path, capsys):
    out_dir = tmp_path / "results"
    assert main(["run", str(kernel), "--out", str(out_dir), "--quiet", "--seed", "5"]) == 0
    assert capsys.readouterr().out == ""  # --quiet
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "metrics.csv", "metrics.json", "report.html", "resolved_config.yaml", "run_info.json", "seed"]
    info = json.loads((out_dir / "run_info.json").read_text())
    assert info["command"] == ["cortical", "run", str(kernel), "--out", str(out_dir), "--quiet", "--seed", "5"]
    assert info["versions"]["cortical-columns"] and info["versions"]["numpy"] and info["overrides"] == ["seed=5"]
    assert "<h1>kernel_benchmark</h1>" in (out_dir / "report.html").read_text()
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["experiment"] == "kernel_benchmark" and metrics["seed"] == 5
    assert len(metrics["trials"]) == 1 and metrics["trials"][0]["synapses"] > 0
    assert (out_dir / "seed").read_text().strip() == "5"
    resolved = yaml.safe_load((out_dir / "resolved_config.yaml").read_text())
    assert Config.model_validate(resolved) == load_config(kernel, ["seed=5", f"output.dir={out_dir}"])
    header = (out_dir / "metrics.csv").read_text().splitlines()[0]
    assert header.startswith("trial,silent_factor,synapses")


def test_run_report_and_trials_in_parallel_match_serial(kernel, tmp_path, capsys):
    assert main(["run", str(kernel), "--out", str(tmp_path / "a"), "--trials", "2"]) == 0
    report = capsys.readouterr().out
    assert report.startswith("kernel_benchmark: 2 trial(s), seed 11")
    assert "median_ms" in report and "silent_factor" in report
    assert main(["run", str(kernel), "--out", str(tmp_path / "b"), "--trials", "2", "--workers", "2", "--quiet"]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())["trials"]
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())["trials"]
    # timings differ from run to run; everything the seed decides is identical
    assert [(t["seed"], t["synapses"], t["active_synapses"]) for t in a] == [
        (t["seed"], t["synapses"], t["active_synapses"]) for t in b
    ]
    assert a[0]["seed"] != a[1]["seed"]


def test_run_plot_writes_png(kernel, tmp_path):
    pytest.importorskip("matplotlib")
    out_dir = tmp_path / "plots"
    assert main(["run", str(kernel), "--out", str(out_dir), "--plot", "--quiet"]) == 0
    pngs = sorted(p.name for p in out_dir.glob("*.png"))
    # the report's figures: the metric series grouped by their y quantity, then the network
    assert pngs == ["figure_01_ms_per_call.png", "figure_02_the_network.png"]
    assert (out_dir / pngs[0]).read_bytes()[:4] == b"\x89PNG"
    assert (out_dir / "report.html").read_text().count("<img ") == 2


def test_bad_config_exits_2_with_one_line(tiny, capsys):
    assert main(["run", str(tiny), "--set", "regions[0].column.L23.cells=-4"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "cortical: error: --set regions[0].column.L23.cells=-4: regions[0].column.L23.cells: "
        "must be a positive integer, got -4\n"
    )


def test_unknown_experiment_kind_exits_2(tiny, capsys):
    assert main(["run", str(tiny), "--set", "experiment.kind=kernel_benchmrk"]) == 2
    assert "did you mean 'kernel_benchmark'" in capsys.readouterr().err


def test_usage_errors_exit_2(tiny, tmp_path, capsys, monkeypatch):
    assert main(["run", str(tiny), "--workers", "0"]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert main(["avalanches", str(tiny)]) == 2
    assert "critical_sweep" in capsys.readouterr().err
    monkeypatch.setattr(cli, "default_config_path", lambda: tmp_path / "configs" / "touch_objects.yaml")
    assert main(["run"]) == 2
    assert "does not exist yet" in capsys.readouterr().err


def test_runtime_failure_exits_1_with_hint(kernel, tmp_path, capsys):
    argv = ["run", str(kernel), "--out", str(tmp_path / "x"), "--quiet", "--set", "experiment.params.n_active=1000"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exceeds n_presynaptic" in err and "--debug" in err
    assert main(["--debug", *argv]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_console_script_in_a_subprocess(tiny):
    run = subprocess.run(
        [sys.executable, "-m", "regions.cli", "validate", str(tiny), "--set", "regions[0].columns=x"],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip() == (
        "cortical: error: --set regions[0].columns=x: regions[0].columns: must be an integer, got 'x'"
    )
    run = subprocess.run([sys.executable, "-m", "regions.cli", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "validate" in run.stdout


# --------------------------------------------------------------------------------------------
# shipped configs by name, the default config, output directories, empty configs, broken pipes
# --------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))


def test_shipped_configs_are_the_root_configs_directory():
    assert list(cli.shipped_configs()) == SHIPPED
    assert cli.default_config_path() == ROOT / "configs" / "touch_objects.yaml"


@pytest.mark.parametrize("name", ["grid_objects", "touch_objects.yaml"])
def test_validate_a_shipped_config_by_name_from_anywhere(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", name]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "ok"


def test_describe_a_shipped_config_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["describe", "hierarchy"]) == 0
    assert capsys.readouterr().out.startswith(f"config {ROOT / 'configs' / 'hierarchy.yaml'}")


def test_a_path_that_exists_wins_over_a_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid_objects").write_text(textwrap.dedent(TINY).lstrip())
    assert main(["validate", "grid_objects"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("2 regions: V1 (4 columns), V2 (2 columns)")


def test_an_unknown_name_lists_the_shipped_configs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for command in (["validate", "grid_objets"], ["run", "grid_objets"], ["describe", "grid_objets"]):
        assert main(command) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert captured.err.startswith("cortical: error: config 'grid_objets': no such file")
        assert "(did you mean 'grid_objects'?)" in captured.err
        assert captured.err.rstrip().endswith("shipped configs: " + ", ".join(SHIPPED))
    assert main(["validate", "nowhere/grid_objets.yaml"]) == 2  # a path: not a name
    assert capsys.readouterr().err == "cortical: error: nowhere/grid_objets.yaml: file not found\n"


def test_list_names_every_shipped_config(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == SHIPPED
    assert any(line.startswith("touch_objects ") and "2017" in line for line in lines)


def test_run_without_config_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--set", "experiment.n_objects=5", "--set", "experiment.max_sensations=3", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "out" / "touch_objects" / "metrics.json").read_text())
    assert metrics["experiment"] == "touch_objects"


@pytest.fixture
def no_work(monkeypatch):
    """Any build of a network fails the test: a refusal must come before any work."""
    import regions.builder

    def build(*_args, **_kwargs):
        raise AssertionError("built a network although the run should have been refused")

    monkeypatch.setattr(regions.builder, "build", build)


def test_unwritable_out_is_refused_before_any_work(kernel, tmp_path, capsys, no_work):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a directory\n")
    cases = [
        (["--out", str(a_file)], f"cortical: error: --out {a_file}: exists and is not a directory\n"),
        (["--out", str(a_file / "x" / "y")],
         f"cortical: error: --out {a_file / 'x' / 'y'}: cannot create it, {a_file} is a file, not a directory\n"),
        (["--set", f"output.dir={a_file}"], f"cortical: error: output.dir {a_file}: exists and is not a directory\n"),
    ]
    for extra, message in cases:
        assert main(["run", str(kernel), "--quiet", *extra]) == 2
        assert capsys.readouterr().err == message


def test_out_under_a_read_only_directory_is_refused(kernel, tmp_path, capsys, no_work, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.access(locked, os.W_OK):  # root writes anywhere: let os.access answer as for a user
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: (
            False if Path(path) == locked and mode & os.W_OK else real_access(path, mode, **kw)))
    try:
        assert main(["run", str(kernel), "--out", str(locked / "results")]) == 2
        assert capsys.readouterr().err == (
            f"cortical: error: --out {locked / 'results'}: cannot create it, {locked} is not writable\n"
        )
        assert main(["run", str(kernel), "--out", str(locked)]) == 2
        assert capsys.readouterr().err == f"cortical: error: --out {locked}: directory is not writable\n"
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "null\n", "---\n~\n"])
def test_an_empty_config_is_an_error(text, tmp_path, capsys):
    from regions.config import ConfigError

    empty = tmp_path / "empty.yaml"
    empty.write_text(text)
    with pytest.raises(ConfigError, match="the file is empty") as info:
        load_config(empty)
    assert info.value.source == str(empty)
    for command in ("validate", "run"):
        assert main([command, str(empty)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1 and captured.err.startswith(f"cortical: error: {empty}: the file is empty")


def test_an_empty_extended_config_is_an_error(tmp_path):
    from regions.config import ConfigError

    (tmp_path / "base.yaml").write_text("# nothing yet\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nseed: 3\n")
    with pytest.raises(ConfigError, match=r"base\.yaml: the file is empty"):
        load_config(child)


def _closed_pipe_run(argv: list[str]) -> subprocess.CompletedProcess:
    """Run ``cortical ARGV`` with stdout a pipe whose reader is already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "regions.cli", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, check=False, timeout=120)
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "argv",
    [["describe", "touch_objects"], ["validate", "touch_objects"], ["schema"], ["list"], ["--help"], ["run"]],
    ids=["describe", "validate", "schema", "list", "help", "run"],
)
def test_a_closed_stdout_ends_quietly(argv, kernel, tmp_path):
    if argv == ["run"]:
        argv = ["run", str(kernel), "--out", str(tmp_path / "out")]
    proc = _closed_pipe_run(argv)
    assert proc.stderr == ""
    # argparse itself swallows a failed write of --help (then exits 0)
    assert proc.returncode in ((0, cli.EXIT_BROKEN_PIPE) if argv == ["--help"] else (cli.EXIT_BROKEN_PIPE,))
    if argv[0] == "run":  # the results were written before the report met the closed pipe
        assert (tmp_path / "out" / "metrics.json").is_file()


def test_describe_into_head_has_no_traceback(tmp_path):
    proc = subprocess.run(
        ["bash", "-c", f"'{sys.executable}' -m regions.cli describe configs/touch_objects.yaml | head -n 1; "
                       f"'{sys.executable}' -m regions.cli schema | head -n 0"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("config configs/touch_objects.yaml")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr and proc.stderr == ""
