"""The ``cortical`` command: run / report / validate / describe / schema / avalanches.

::

    cortical run [CONFIG] [--set k=v ...] [--seed N] [--out DIR] [--plot] [--trials N]
                 [--workers N] [--scheduler ADDRESS] [--quiet]
    cortical report RUN_DIR [--no-figures] [--compare OTHER_RUN_DIR ...]
    cortical validate CONFIG [--set k=v ...]
    cortical describe CONFIG [--set k=v ...]
    cortical schema
    cortical avalanches CONFIG_OR_RUN_DIR [run options]
    cortical list

CONFIG is a YAML file, or the name of a shipped config (``grid_objects``, ``touch_objects.yaml``:
a file of ``configs/``, installed with the package as ``regions/configs``); a path that exists
wins over a name.  ``cortical run`` without CONFIG runs ``touch_objects``.

Every run writes, into its output directory, ``metrics.json``, ``metrics.csv``,
``resolved_config.yaml``, ``seed``, ``run_info.json`` (versions, git commit, command) and
``report.html`` (:mod:`regions.report`: one self-contained page with the figures of the
protocol; tables only when matplotlib, the ``plot`` extra, is missing).  ``--plot`` (or
``output.plot: true``) also writes each figure as a PNG file.  ``cortical report RUN_DIR``
rebuilds the page from those files.

Exit codes: 0 success; 2 bad usage or a bad config (one line on stderr); 1 a failure while
running (one line, ``--debug`` shows the traceback); 141 (128 + SIGPIPE) when the reader of
stdout went away (``cortical describe x | head``), silently.  Heavy modules (experiments,
matplotlib, networkx) are imported only by the subcommands that need them, so ``cortical --help``
is fast.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "main", "default_config_path", "shipped_configs_dir", "shipped_configs", "resolve_config",
    "describe_config", "estimate_budget",
]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


class UsageError(Exception):
    """Bad command-line usage detected after parsing (exit code 2)."""


class _StdoutClosed(Exception):
    """The reader of stdout went away (``cortical describe x | head -n 2``)."""


def _emit(text: str) -> None:
    """Print ``text`` and a newline to stdout now (flushed, so a closed pipe shows here)."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        raise _StdoutClosed from None


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass


# --------------------------------------------------------------------------------------------
# shipped configs
# --------------------------------------------------------------------------------------------


def shipped_configs_dir() -> Path:
    """The shipped configs: ``regions/configs`` when installed from a wheel (package data), else
    the repository's ``configs/`` (a source checkout or an editable install)."""
    package = Path(__file__).resolve().parent
    installed = package / "configs"
    return installed if installed.is_dir() else package.parent / "configs"


def shipped_configs() -> dict[str, Path]:
    """Name (file stem) -> path of every shipped config, sorted by name."""
    folder = shipped_configs_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def default_config_path() -> Path:
    """The shipped ``touch_objects.yaml``, what ``cortical run`` runs without a CONFIG."""
    return shipped_configs_dir() / "touch_objects.yaml"


def resolve_config(value: str) -> str:
    """A CONFIG argument -> the file to load: a path that exists wins; else a shipped config's
    name (``grid_objects`` or ``grid_objects.yaml``).  ``ConfigError`` for a missing path with a
    directory part, ``UsageError`` (naming the shipped configs) for an unknown name."""
    from regions.config import ConfigError

    if os.path.isfile(value):
        return value
    bare = not (os.path.dirname(value) or (os.altsep and os.altsep in value))
    name = value[: -len(".yaml")] if value.endswith(".yaml") else value
    shipped = shipped_configs()
    if bare and name in shipped:  # (a directory of that name in the working directory is no config)
        return str(shipped[name])
    if os.path.exists(value):  # a directory, a pipe (<(...)), a device: load_config says what is wrong
        return value
    if not bare:
        raise ConfigError("file not found", source=value)
    import difflib

    close = difflib.get_close_matches(name, list(shipped), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    names = ", ".join(shipped) if shipped else f"none found in {shipped_configs_dir()}"
    raise UsageError(f"config {value!r}: no such file and no shipped config of that name{hint}; "
                     f"shipped configs: {names}")


# --------------------------------------------------------------------------------------------
# argument parsing
# --------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse that prints a one-line error (plus the usage line) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _make_parser() -> argparse.ArgumentParser:
    from regions import __version__

    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="show full tracebacks on failure",
    )
    overrides = argparse.ArgumentParser(add_help=False)
    overrides.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value (YAML value), e.g. --set regions[0].columns=4; repeatable",
    )
    run_opts = argparse.ArgumentParser(add_help=False)
    run_opts.add_argument("--seed", type=_non_negative_int, help="master seed (overrides config seed)")
    run_opts.add_argument("--out", metavar="DIR", help="results directory (default out/<config stem>)")
    run_opts.add_argument("--plot", action="store_true",
                          help="also write the report's figures as PNG files (needs matplotlib)")
    run_opts.add_argument("--trials", type=_positive_int, help="number of trials (overrides experiment.trials)")
    run_opts.add_argument("--workers", type=_positive_int, default=1, help="parallel trial processes (default 1)")
    run_opts.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run trials on a Dask scheduler (address, or 'local'); needs the 'dask' extra",
    )
    run_opts.add_argument("--quiet", action="store_true", help="no progress bars, no report table")
    run_opts.add_argument("--save", metavar="PATH", help="write the trained network (trial 0) to PATH (.npz)")
    run_opts.add_argument(
        "--load", metavar="PATH",
        help="run on a trained network saved with --save: evaluates it without learning (experiment.phases "
             "[test]; --set 'experiment.phases=[train, test]' continues learning)",
    )

    parser = _Parser(
        prog="cortical",
        description="Cortical-column networks from YAML: run experiments, validate and describe configs.",
        parents=[debug],
    )
    parser.add_argument("--version", action="version", version=f"cortical-columns {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "run", parents=[debug, overrides, run_opts], help="run the experiment of a config",
        description="Run a config's experiment and write metrics.json, metrics.csv, "
        "resolved_config.yaml, seed, run_info.json and report.html into the output directory.",
    )
    p.add_argument("config", nargs="?", help=f"{_CONFIG_HELP} (default: configs/touch_objects.yaml)")

    p = sub.add_parser(
        "report", parents=[debug], help="rebuild report.html of a run directory",
        description="Rebuild RUN_DIR/report.html (the self-contained page of a run: question, config, "
        "versions, metrics, figures) from the files `cortical run` wrote there.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="the output directory of a `cortical run` (--out)")
    p.add_argument("--no-figures", action="store_true", help="tables only, even when matplotlib is installed")
    p.add_argument("--compare", nargs="+", metavar="OTHER_RUN_DIR", default=[],
                   help="runs of the same experiment drawn beside this one (touch_objects: one convergence line "
                        "per column count)")

    p = sub.add_parser("validate", parents=[debug, overrides], help="check a config; print 'ok' and a summary")
    p.add_argument("config", help=_CONFIG_HELP)

    p = sub.add_parser(
        "describe", parents=[debug, overrides],
        help="regions, layers, connections, lateral graph statistics and a memory budget",
    )
    p.add_argument("config", help=_CONFIG_HELP)

    sub.add_parser("schema", parents=[debug], help="print the config JSON Schema")
    sub.add_parser("list", parents=[debug], help="the shipped configs, usable by name (cortical run NAME)")

    p = sub.add_parser(
        "avalanches", parents=[debug, overrides, run_opts],
        help="avalanche statistics of a recorded run (or a critical_sweep experiment)",
    )
    p.add_argument("config", metavar="CONFIG_OR_RUN_DIR",
                   help="a run directory holding recording/ (cortical run with a recording block), a config "
                        "with a recording block (run, then analysed), or a critical_sweep config")
    return parser


_CONFIG_HELP = "YAML config file, or the name of a shipped config (see `cortical list`)"


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cortical`` command line; returns the exit code."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # buffered output (--help) meets a closed pipe here
    except (_StdoutClosed, BrokenPipeError):
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = _make_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # the command line, for run_info.json
    try:
        handler = {
            "run": _cmd_run,
            "report": _cmd_report,
            "avalanches": _cmd_avalanches,
            "validate": _cmd_validate,
            "describe": _cmd_describe,
            "schema": _cmd_schema,
            "list": _cmd_list,
        }[args.command]
        return handler(args)
    except KeyboardInterrupt:
        print("cortical: interrupted", file=sys.stderr)
        return 130
    except BaseException as exc:  # noqa: BLE001 - the CLI turns every failure into an exit code
        if isinstance(exc, (SystemExit, _StdoutClosed)):
            raise
        code = _exit_code(exc)
        debug = bool(getattr(args, "debug", False))
        if debug:
            traceback.print_exc()
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if code == EXIT_USAGE:
            extra = ""
            errors = getattr(exc, "errors", None)
            if isinstance(errors, list) and len(errors) > 1:
                extra = f" (and {len(errors) - 1} more; `cortical validate` lists them all)"
            print(f"cortical: error: {text}{extra}", file=sys.stderr)
        else:
            hint = "" if debug else " (run with --debug for the traceback)"
            print(f"cortical: error: {type(exc).__name__}: {text}{hint}", file=sys.stderr)
        return code


def _exit_code(exc: BaseException) -> int:
    from regions.builder import BuilderNotFoundError
    from regions.config import ConfigError
    from regions.parallel import DaskUnavailableError
    from regions.report import ReportError

    if isinstance(exc, (ConfigError, BuilderNotFoundError, DaskUnavailableError, UsageError, ReportError)):
        return EXIT_USAGE
    return EXIT_FAILURE


def _load(args: argparse.Namespace, extra: Sequence[str] = ()) -> Any:
    from regions.config import load_config

    path = args.config
    if path is None:
        default = default_config_path()
        if not default.exists():
            raise UsageError(
                f"no CONFIG given and the default config {default} does not exist yet; "
                "pass a config file, e.g. `cortical run my_config.yaml`"
            )
        path = str(default)
    else:
        path = resolve_config(path)
    return path, load_config(path, list(args.overrides) + list(extra))


# --------------------------------------------------------------------------------------------
# validate / schema / describe
# --------------------------------------------------------------------------------------------


def _cmd_validate(args: argparse.Namespace) -> int:
    from regions.config import ConfigError

    try:
        _path, cfg = _load(args)
    except ConfigError as exc:
        for err in exc.errors:
            print(f"cortical: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    _emit("ok")
    _emit(_summary(cfg))
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    import yaml

    shipped = shipped_configs()
    width = max((len(name) for name in shipped), default=0)
    for name, path in shipped.items():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            description = data.get("description", "") if isinstance(data, dict) else ""
        except (OSError, yaml.YAMLError):
            description = ""
        _emit(f"{name.ljust(width)}  {description}".rstrip())
    return EXIT_OK


def _summary(cfg: Any) -> str:
    regions = ", ".join(f"{r.name} ({r.columns} column{'s' if r.columns != 1 else ''})" for r in cfg.regions)
    n = len(cfg.connections)
    return (
        f"{len(cfg.regions)} region{'s' if len(cfg.regions) != 1 else ''}: {regions}; "
        f"{n} connection{'s' if n != 1 else ''}; world {cfg.world.kind}; "
        f"experiment {cfg.experiment.kind} x {cfg.experiment.trials} trial"
        f"{'s' if cfg.experiment.trials != 1 else ''}; seed {cfg.seed}"
    )


def _cmd_schema(args: argparse.Namespace) -> int:
    from regions.config import config_json_schema

    _emit(json.dumps(config_json_schema(), indent=2))
    return EXIT_OK


_SYNAPSE_BYTES = 12  # DendriteStore: segment id + float32 permanence + index entry, 4 bytes each
_SEGMENT_BYTES = 12  # owner cell, last-used step, synapse count (int32 each)
_CELL_STATE_BYTES = 2  # active + predicted/winner flags (bool arrays)


def estimate_budget(cfg: Any, lateral_degree: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Estimated memory per region and layer after learning ``cfg.experiment`` (bytes).

    Model (one learned (feature, location) pair = one sensation; P = n_objects x
    features_per_object per column): L4 basal and apical: every one of the ``active_minicolumns``
    winner cells grows one segment of ``sample_size`` synapses per pair; L1 (only with incoming
    feedback): the same with the L1 sample size; L2/3 proximal: ``sdr_size`` cells x
    ``proximal.sample_size`` synapses per pair, on one segment per (cell, pair) (``per_sensation``)
    or one dendrite per cell (``per_cell``); L2/3 distal: one internal segment per object cell
    plus one per lateral neighbour (mean degree), ``distal.sample_size`` synapses each, per object
    (``per_object``) or per cell (``per_source``); L6 (grid
    modules): one anchor segment per module per pair.  Only the layers a column lists are counted.  Synapses cost 12 bytes, segments 12, cells 2.
    """
    exp = cfg.experiment
    pairs = exp.n_objects * exp.features_per_object
    fed_back = {c.target for c in cfg.connections if c.kind == "feedback"}
    rows = []
    for region in cfg.regions:
        col = region.column
        k = region.columns
        degree = (lateral_degree or {}).get(region.name, k - 1)
        l4, l23, l6 = col.L4, col.L23, col.L6
        layers = {
            "L4": (l4.cells, 2 * pairs * l4.active_minicolumns, 2 * pairs * l4.active_minicolumns * l4.sample_size),
            "L23": (
                l23.cells,
                (pairs * l23.sdr_size if l23.proximal.dendrites == "per_sensation"
                 else min(l23.cells, exp.n_objects * l23.sdr_size))
                + (exp.n_objects * l23.sdr_size if l23.distal.dendrites == "per_object"
                   else min(l23.cells, exp.n_objects * l23.sdr_size)) * (1 + degree),
                pairs * l23.sdr_size * l23.proximal.sample_size
                + exp.n_objects * l23.sdr_size * (1 + degree) * l23.distal.sample_size,
            ),
            "L6": (l6.cells, pairs * l6.modules, pairs * l6.modules * l6.anchor_sample_size),
            "L1": (
                0,
                pairs * l4.active_minicolumns if region.name in fed_back else 0,
                pairs * l4.active_minicolumns * l4.sample_size if region.name in fed_back else 0,
            ),
        }
        if "L6" in col.layers and l6.kind == "encoder":
            layers["L6"] = (0, 0, 0)  # the world's location SDR: no cells or synapses of its own
        for layer, (cells, segments, synapses) in layers.items():
            if layer not in col.layers:
                continue  # not built, not budgeted
            rows.append(
                {
                    "region": region.name,
                    "layer": layer,
                    "cells": int(cells * k),
                    "segments": int(round(segments * k)),
                    "synapses": int(round(synapses * k)),
                    "bytes": int(round(k * (cells * _CELL_STATE_BYTES + segments * _SEGMENT_BYTES
                                            + synapses * _SYNAPSE_BYTES))),
                }
            )
    return rows


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _describe_growth(cfg: Any) -> list[str]:
    """The ``growth`` block as lines of ``describe``: each step's shape change, the rule, pruning."""
    g = getattr(cfg, "growth", None)
    if g is None:
        return []
    region = next((r for r in cfg.regions if r.name == g.region), cfg.regions[0]) if g.region else cfg.regions[0]
    columns, cells = region.columns, region.column.L23.cells
    lines = ["", f"growth of region {region.name} while it learns:"]
    for step in g.schedule:
        grown = f"after {step.after_objects} objects:"
        if step.add_columns:
            grown += f" columns {columns} -> {columns + step.add_columns}"
            columns += step.add_columns
        if step.l23_cells:
            grown += f"{',' if step.add_columns else ''} L2/3 cells per column {cells} -> {cells + step.l23_cells}"
            cells += step.l23_cells
        lines.append("  " + grown)
    rule = g.rule
    how = (f"networkx {rule.topology or region.lateral.topology} over the grown set, old edges kept"
           if rule.attach == "topology" else f"each new column listens to the {rule.k or 4} most co-active columns")
    lines.append(f"  new columns join the lateral graph: {how}")
    lines.append(f"  re-exposures of earlier objects after a step: {g.reexpose}"
                 + ("; old columns listen to the new codes" if g.listen_to_new and g.reexpose else ""))
    prune = [f"L2/3 cells idle > {g.budget.idle_sensations} sensations"] if g.budget.idle_sensations else []
    prune += [f"over {g.budget.synapses:,} synapses, the stalest cells"] if g.budget.synapses else []
    lines.append("  pruning: " + ("; ".join(prune) if prune else "none"))
    lines.append(f"  final shape: {columns} columns x {cells} L2/3 cells")
    return lines


def describe_config(cfg: Any, source: str = "") -> str:
    """A human-readable description: regions, layers, connections, lateral graphs, budget.

    Only the layers each column lists appear (and are budgeted): what will be built.
    """
    import networkx as nx

    from regions.config import column_wiring

    from regions.builder import build

    net = build(cfg)
    lines = [f"config {source}".rstrip() + f"  (seed {cfg.seed})"]
    if cfg.description:
        lines.append(f"  {cfg.description}")
    exp = cfg.experiment
    lines.append(
        f"experiment {exp.kind}: {exp.n_objects} objects x {exp.features_per_object} features "
        f"(pool {exp.n_features} features, {exp.n_locations} locations), {exp.trials} trial(s); "
        f"world {cfg.world.kind}"
    )
    degrees: dict[str, float] = {}
    for region in cfg.regions:
        g = net.lateral[region.name]
        deg = [d for _, d in g.degree()]
        mean_deg = sum(deg) / len(deg) if deg else 0.0
        degrees[region.name] = mean_deg
        lat = region.lateral
        topo = "edges list" if lat.edges is not None else lat.topology
        if lat.args:
            topo += "(" + ", ".join(f"{a}={v}" for a, v in lat.args.items()) + ")"
        clustering = nx.average_clustering(g) if g.number_of_nodes() else 0.0
        lines.append("")
        lines.append(f"region {region.name}: {region.columns} column(s), plasticity {region.column.plasticity}")
        lines.append(
            f"  lateral {topo}: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges, degree "
            f"mean {mean_deg:.2f} (min {min(deg, default=0)}, max {max(deg, default=0)}), "
            f"clustering {clustering:.3f}, {nx.number_connected_components(g)} component(s)"
        )
        col = region.column
        l4, l23, l6 = col.L4, col.L23, col.L6
        table = [
            ("L4", l4.cells, f"{l4.minicolumns} minicolumns x {l4.cells_per_minicolumn} cells, "
                  f"{l4.active_minicolumns} active; thresholds basal {l4.basal_threshold} / apical "
                  f"{l4.apical_threshold} / reduced {l4.reduced_basal_threshold}, sample {l4.sample_size}"),
            ("L23", l23.cells, f"{l23.sdr_size} active; proximal {l23.proximal.threshold}/"
                   f"{l23.proximal.sample_size}, distal {l23.distal.threshold}/{l23.distal.sample_size}, "
                   f"inertia {l23.inertia:g}, settle <= {l23.settle_max_iterations}"),
            ("L6", l6.cells, f"{l6.modules} grid modules x {l6.cells_per_axis}x{l6.cells_per_axis} cells, "
                  f"scale {l6.scale:g}, anchoring threshold {l6.anchoring_threshold}")
            if l6.kind == "grid_modules" else ("L6", None, "location encoder: the world's location SDR -> L4 basal"),
            ("L5", None, f"policy {col.L5.policy}"),
            ("L1", None, f"apical feedback {'on' if 'L1' in col.layers else 'off'}"),
        ]
        table = [row for row in table if row[0] in col.layers]
        lines.append(f"  layers {' '.join(col.layers)}; wiring: "
                     + ", ".join(f"{a}->{b}" for a, b, _ in column_wiring(col.layers)))
        lines.append(f"  {'layer':<6}{'cells/column':>13}{'cells':>11}  details")
        for name, cells, details in table:
            per = f"{cells:,}" if cells is not None else "-"
            total = f"{cells * region.columns:,}" if cells is not None else "-"
            lines.append(f"  {name:<6}{per:>13}{total:>11}  {details}")
    lines.append("")
    if cfg.connections:
        lines.append("connections:")
        for conn in cfg.connections:
            target = conn.target if conn.target_layer is None else f"{conn.target}.{conn.target_layer}"
            lines.append(f"  {conn.kind:<12}{conn.source}.{conn.source_layer} -> {target}")
    else:
        lines.append("connections: none")
    grown = _describe_growth(cfg)
    lines.extend(grown)
    rows = estimate_budget(cfg, degrees)
    lines.append("")
    lines.append(
        f"budget (estimate after learning {exp.n_objects} x {exp.features_per_object} pairs per column"
        + (", as first built" if grown else "") + "):"
    )
    lines.append(f"  {'region':<12}{'layer':<6}{'cells':>12}{'segments':>12}{'synapses':>14}{'memory':>12}")
    for row in rows:
        lines.append(
            f"  {row['region']:<12}{row['layer']:<6}{row['cells']:>12,}{row['segments']:>12,}"
            f"{row['synapses']:>14,}{_human_bytes(row['bytes']):>12}"
        )
    total_bytes = sum(r["bytes"] for r in rows)
    lines.append(
        f"  {'total':<18}{sum(r['cells'] for r in rows):>12,}{sum(r['segments'] for r in rows):>12,}"
        f"{sum(r['synapses'] for r in rows):>14,}{_human_bytes(total_bytes):>12}  ({total_bytes:,} bytes)"
    )
    return "\n".join(lines)


def _cmd_describe(args: argparse.Namespace) -> int:
    path, cfg = _load(args)
    _emit(describe_config(cfg, path))
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# run / avalanches
# --------------------------------------------------------------------------------------------


def _cmd_avalanches(args: argparse.Namespace) -> int:
    """Avalanche statistics: of a stored recording (a run directory, or its ``recording/``), of a
    config with a ``recording`` block (run first, into --out), or a ``critical_sweep`` run."""
    if Path(args.config).is_dir():
        if args.overrides:
            raise UsageError(f"{args.config} is a run directory: --set applies to a config")
        return _recording_avalanches(args, Path(args.config))
    path, cfg = _load(args, _run_overrides(args))
    if cfg.experiment.kind == "critical_sweep" or not cfg.recording.layers:
        return _cmd_run(args, require_kind=None if cfg.recording.layers else "critical_sweep")
    code = _cmd_run(args)
    return code if code != EXIT_OK else _recording_avalanches(
        args, Path(args.out or cfg.output.dir or Path("out") / Path(path).stem))


def _recording_avalanches(args: argparse.Namespace, where: Path) -> int:
    """Print (and write ``avalanches.json`` beside ``index.json``) the avalanches of a stored recording."""
    from regions.dynamics.recording import load_recording, recording_avalanches

    try:
        recording = load_recording(where)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    plot = bool(getattr(args, "plot", False))
    if plot:
        from regions import figures

        if not figures.available():
            raise UsageError("--plot needs matplotlib, which is not installed: pip install 'cortical-columns[plot]'")
    rows = recording_avalanches(recording, keep_sets=plot)
    sets = [row.pop("set", None) for row in rows]
    (recording.root / "avalanches.json").write_text(json.dumps(rows, indent=1) + "\n")
    written = [recording.root / "avalanches.json"]
    for row, aval in zip(rows, sets):
        if aval is not None and len(aval):
            fig = figures.avalanche_ccdf(figures.ccdf(aval.sizes), figures.ccdf(aval.durations), tau=row["tau"],
                                         tau_x_min=row["tau_x_min"], alpha=row["alpha"],
                                         alpha_x_min=row["alpha_x_min"], label=f"{row['region']} {row['layer']}",
                                         units=("active cells", "bins"))
            written.append(recording.root / f"avalanches_{row['region']}_{row['layer']}.png")
            written[-1].write_bytes(figures.to_png(fig, dpi=110))
    if not args.quiet:
        def cell(v: Any) -> str:
            return "-" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)

        keys = ["region", "layer", "events", "avalanches", "mean_size", "max_size", "mean_duration", "tau",
                "alpha", "branching_ratio"]
        _emit(f"{recording.steps} steps recorded in {recording.root}")
        _emit("  ".join(f"{k:>14}" for k in keys))
        for row in rows:
            _emit("  ".join(f"{cell(row[k]):>14}" for k in keys))
        _emit(f"results: {', '.join(str(f) for f in written)}")
    return EXIT_OK


def _run_overrides(args: argparse.Namespace) -> list[str]:
    extra = []
    if args.seed is not None:
        extra.append(f"seed={args.seed}")
    if args.trials is not None:
        extra.append(f"experiment.trials={args.trials}")
    return extra


def _cmd_report(args: argparse.Namespace) -> int:
    from regions.report import write_report

    path = write_report(Path(args.run_dir), figures_enabled=False if args.no_figures else None,
                        compare=[Path(p) for p in args.compare])
    _emit(str(path))
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, require_kind: str | None = None) -> int:
    from regions.builder import ProgressFactory, build, get_builder

    path, cfg = _load(args, _run_overrides(args))
    if require_kind is not None and cfg.experiment.kind != require_kind:
        raise UsageError(
            f"{path}: experiment.kind: `cortical {args.command}` needs an experiment of kind "
            f"{require_kind!r}, got {cfg.experiment.kind!r}"
        )
    plot = bool(args.plot or cfg.output.plot)
    if plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError(
                "--plot needs matplotlib, which is not installed: pip install 'cortical-columns[plot]'"
            ) from None
    get_builder("experiment", cfg.experiment.kind)  # unknown kinds fail before any work
    out = Path(args.out or cfg.output.dir or Path("out") / Path(path).stem)
    _check_writable_dir(out, "--out" if args.out else "output.dir" if cfg.output.dir else "output directory")
    if plot or args.out or cfg.recording.layers:
        # runners that draw their own figures, and recordings, read output.plot / output.dir
        cfg = cfg.with_values({"output.plot": plot, "output.dir": str(out)})
    progress = ProgressFactory.auto(quiet=args.quiet)
    save = getattr(args, "save", None)
    load = getattr(args, "load", None)
    reg = _registration(cfg)
    if (save or load) and not reg.protocol:
        raise UsageError(f"experiment {cfg.experiment.kind!r} does not learn into the network yet, so it "
                         f"cannot be saved or loaded (--save / --load)")
    if save:
        _check_writable_file(save, "--save")
    if load:
        net = _load_trained(load, cfg, args)
        cfg = net.config
    else:
        net = build(cfg)
    results = net.run(workers=args.workers, scheduler=args.scheduler, progress=progress)
    if save:
        net.save(save, meta={"experiment": cfg.experiment.kind})

    from regions.parallel import trial_seeds

    from regions.report import run_info, write_figures, write_report, write_run_info

    seeds = trial_seeds(cfg.seed, len(results))
    files = write_results(out, cfg, results, seeds)
    command = ["cortical", *getattr(args, "argv", [])]
    files.append(write_run_info(out, run_info(command, path, list(args.overrides) + _run_overrides(args))))
    files.append(write_report(out, config=cfg))
    if plot:
        files += write_figures(out, config=cfg)
    if not args.quiet:
        _emit(format_report(cfg, results))
        _emit(f"results: {', '.join(str(f) for f in files)}")
    return EXIT_OK


def _registration(cfg: Any) -> Any:
    from regions.builder import get_registration

    return get_registration("experiment", cfg.experiment.kind)


def _check_writable_file(path: str, flag: str) -> None:
    """Refuse, before any work, a file path that cannot be written."""
    import os

    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"{flag} {path}: is a directory, not a file")
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{flag} {path}: directory {parent} is not writable")


def _check_writable_dir(path: Path, what: str) -> None:
    """Refuse, before any work, an output directory that cannot be created or written into."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path}: exists and is not a directory")
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent  # the nearest ancestor that exists: mkdir -p starts there
    if not existing.is_dir():
        raise UsageError(f"{what} {path}: cannot create it, {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        why = "directory is not writable" if existing == path else f"cannot create it, {existing} is not writable"
        raise UsageError(f"{what} {path}: {why}")


def _load_trained(path: str, cfg: Any, args: argparse.Namespace) -> Any:
    """The trained network at ``path``, set to run ``cfg``'s experiment (phases [test] unless set)."""
    from regions.builder import load_network
    from regions.persist import CheckpointError

    try:
        net = load_network(path)
    except (CheckpointError, OSError) as exc:
        raise UsageError(f"--load {path}: {exc}") from None
    saved, wanted = net.config.resolved(), cfg.resolved()
    for key in ("seed", "regions", "connections", "world"):
        if saved[key] != wanted[key]:
            raise UsageError(f"--load {path}: the saved network's {key} differ from the config's; run the "
                             f"config it was trained with (its resolved config is stored in the file)")
    if not any(o.split("=", 1)[0].strip() == "experiment.phases" for o in args.overrides or []):
        cfg = cfg.with_values({"experiment.phases": ["test"]})
    net.config = cfg
    return net


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in metrics.items()
        if k not in ("table", "series") and (v is None or isinstance(v, (int, float, str, bool)))
    }


def _summary_stats(results: list[dict[str, Any]]) -> dict[str, Any]:
    keys: list[str] = []
    for metrics in results:
        keys += [k for k in _scalars(metrics) if k not in keys]
    summary: dict[str, Any] = {}
    for key in keys:
        values = [m.get(key) for m in results]
        numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) == len(values) and numbers:
            mean = sum(numbers) / len(numbers)
            std = math.sqrt(sum((x - mean) ** 2 for x in numbers) / len(numbers))
            summary[key] = {"mean": mean, "std": std, "min": min(numbers), "max": max(numbers)}
        else:
            summary[key] = {"values": values}
    return summary


def _table_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for trial, metrics in enumerate(results):
        table = metrics.get("table")
        if isinstance(table, list) and table:
            rows += [{"trial": trial, **row} for row in table if isinstance(row, dict)]
        else:
            rows.append({"trial": trial, **_scalars(metrics)})
    return rows


def write_results(out: Path, cfg: Any, results: list[dict[str, Any]], seeds: list[int]) -> list[Path]:
    """Write metrics.json, metrics.csv, resolved_config.yaml and seed into ``out``."""
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "experiment": cfg.experiment.kind,
        "seed": cfg.seed,
        "trials": [{"trial": t, "seed": s, **m} for t, (s, m) in enumerate(zip(seeds, results))],
        "summary": _summary_stats(results),
    }
    files = [out / "metrics.json", out / "metrics.csv", out / "resolved_config.yaml", out / "seed"]
    files[0].write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    rows = _table_rows(results)
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    with open(files[1], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(row.get(k)) for k in columns})
    files[2].write_text(yaml.safe_dump(cfg.resolved(), sort_keys=False))
    files[3].write_text(f"{cfg.seed}\n")
    return files


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"metrics value of type {type(value).__name__} is not JSON-serialisable")


def _csv_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=_json_default)
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isfinite(value) and abs(value) >= 1e4:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    if value is None:
        return "-"
    return str(value)


def format_report(cfg: Any, results: list[dict[str, Any]]) -> str:
    """The concise report printed by ``cortical run``: the metrics table and a summary."""
    lines = [f"{cfg.experiment.kind}: {len(results)} trial(s), seed {cfg.seed}"]
    rows = _table_rows(results)
    has_table = any(isinstance(m.get("table"), list) and m.get("table") for m in results)
    if has_table:
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        if len(results) == 1:
            columns.remove("trial")
        cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        lines.append("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    summary = _summary_stats(results)
    if summary:
        width = max(len(k) for k in summary)
        for key, stats in summary.items():
            if "mean" in stats:
                text = _fmt(stats["mean"])
                if len(results) > 1:
                    text += f" ± {_fmt(stats['std'])} (min {_fmt(stats['min'])}, max {_fmt(stats['max'])})"
            else:
                text = ", ".join(_fmt(v) for v in stats["values"])
            lines.append(f"{key.ljust(width)}  {text}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
