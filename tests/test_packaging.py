"""Installed as users install it: a wheel in a fresh virtual environment, run from elsewhere.

The wheel is built from a copy of the source (``pip wheel --no-deps --no-build-isolation``, so no
network; ``setuptools`` and ``wheel`` come with the ``test`` extra) and installed with ``--no-deps``
into a fresh venv.  That venv sees the outer environment's packages (numpy, scipy, ...) through
``--system-site-packages`` and, when the tests themselves run in a venv, through a ``.pth`` line
naming the outer site-packages -- a ``.pth`` line adds a directory without running the ``.pth``
files in it, so the outer editable install of this project cannot shadow the wheel (checked).
Then ``cortical`` runs from a temporary directory: no argument (the shipped default config),
shipped configs by name, an unknown name.  The wheel must hold every package and every
``configs/*.yaml`` (as ``regions/configs``), byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["pyproject.toml", "README.md", "columns", "regions", "configs"]
BIN = "Scripts" if os.name == "nt" else "bin"


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _check(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel, install it into a fresh venv; the venv's paths and a clean environment."""
    for module in ("setuptools", "wheel"):
        try:
            __import__(module)
        except ImportError:
            pytest.fail(f"building the wheel needs {module!r}: pip install -e '.[test]' installs it")
    base = tmp_path_factory.mktemp("packaging")
    src = base / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in SOURCES:  # a copy: the build writes build/ and *.egg-info beside the sources
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    dist = base / "dist"
    _check(_run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                 "--no-index", "-w", str(dist)], cwd=src, env=env))
    (wheel,) = dist.glob("cortical_columns-*.whl")

    venv = base / "venv"
    _check(_run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                cwd=base, env=env))
    python = venv / BIN / ("python.exe" if os.name == "nt" else "python")
    purelib = Path(_check(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               cwd=base, env=env)).stdout.strip())
    # installed before the outer packages are visible, so pip never sees (or touches) the outer
    # editable install of this project
    _check(_run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                 "--force-reinstall", "--no-index", str(wheel)], cwd=base, env=env))
    outer = [p for p in [*site.getsitepackages(), sysconfig.get_paths()["purelib"]] if os.path.isdir(p)]
    (purelib / "_outer_site_packages.pth").write_text("".join(f"{p}\n" for p in dict.fromkeys(outer)))

    env["PATH"] = str(venv / BIN) + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(venv)
    work = base / "elsewhere"  # not the repository: nothing of the checkout is reachable from here
    work.mkdir()
    return {"wheel": wheel, "venv": venv, "python": python, "purelib": purelib, "env": env, "cwd": work,
            "cortical": str(venv / BIN / "cortical")}


def test_the_wheel_holds_every_package_and_every_shipped_config(installed):
    from setuptools import find_packages

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    packages = find_packages(str(ROOT), include=["columns*", "regions*"])
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    missing = sorted(set(packages) - set(declared))
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    for package in packages:
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    shipped = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
    assert shipped and sorted(n.split("/")[-1] for n in names if n.startswith("regions/configs/")) == shipped
    with zipfile.ZipFile(installed["wheel"]) as whl:
        for name in shipped:  # the root configs/ is the one source: the wheel carries the same bytes
            assert whl.read(f"regions/configs/{name}") == (ROOT / "configs" / name).read_bytes(), name


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    proc = _check(_run([str(installed["python"]), "-c", "import regions, numpy; print(regions.__file__)"],
                       cwd=installed["cwd"], env=installed["env"]))
    where = Path(proc.stdout.strip()).resolve()
    assert where.is_relative_to(installed["purelib"].resolve()), where
    assert (where.parent / "configs" / "touch_objects.yaml").is_file()


def test_cortical_run_without_arguments_from_anywhere(installed):
    proc = _check(_run([installed["cortical"], "run", "--set", "experiment.n_objects=5",
                        "--set", "experiment.max_sensations=3", "--quiet"],
                       cwd=installed["cwd"], env=installed["env"]))
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    out = installed["cwd"] / "out" / "touch_objects"
    assert sorted(p.name for p in out.iterdir()) == [
        "metrics.csv", "metrics.json", "report.html", "resolved_config.yaml", "run_info.json", "seed"]
    assert "<h1>touch_objects</h1>" in (out / "report.html").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["experiment"] == "touch_objects" and len(metrics["trials"]) == 1


def test_shipped_configs_by_name(installed):
    cortical, cwd, env = installed["cortical"], installed["cwd"], installed["env"]
    proc = _check(_run([cortical, "validate", "grid_objects"], cwd=cwd, env=env))
    assert proc.stdout.splitlines()[0] == "ok" and "experiment grid_objects" in proc.stdout
    proc = _check(_run([cortical, "list"], cwd=cwd, env=env))
    listed = [line.split()[0] for line in proc.stdout.splitlines()]
    assert listed == sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))
    proc = _run([cortical, "validate", "grid_objcts"], cwd=cwd, env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "'grid_objcts'" in proc.stderr
    assert "did you mean 'grid_objects'" in proc.stderr and "touch_objects" in proc.stderr
