"""``report.html``: one self-contained page per run, beside ``metrics.json``.

:func:`write_report` reads a run directory (``metrics.json``, ``resolved_config.yaml``,
``run_info.json``) and writes ``report.html``: the question the run asks, the config as
resolved, seed, versions and git commit, the metrics tables, and the figures of its protocol
(:mod:`regions.figures`) with published values drawn beside ours where the protocol reproduces
a paper.  Figures are embedded as base64 PNG, the page has no script and loads nothing from the
network, so it opens from disk anywhere (``cortical run`` writes it; ``cortical report RUN_DIR``
rebuilds it).

Without matplotlib (the optional ``plot`` extra) the report is still written, with every table
and a line saying that figures need ``pip install 'cortical-columns[plot]'``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import platform
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "REPORT_NAME",
    "RUN_INFO_NAME",
    "PUBLISHED_2017",
    "ReportError",
    "Figure",
    "run_info",
    "write_run_info",
    "protocol_figures",
    "render_report",
    "write_report",
    "write_figures",
]

REPORT_NAME = "report.html"
RUN_INFO_NAME = "run_info.json"

#: Published values of the 2017 columns paper (Hawkins, Ahmad & Cui), as quoted by
#: benchmarks/columns.py: mean sensations to converge by columns, 100 objects, for feature pools
#: of 10 and 5 (Fig 4B, read off the figure, +-0.1), and Fig 6A: accuracy after 10 touches by
#: noise level 0.0..0.7 (one column, 50 objects, pool 10; read off the figure, +-0.01).
PUBLISHED_2017: dict[str, Any] = {
    "sensations_by_columns": {10: {1: 2.8, 2: 1.7, 3: 1.1}, 5: {1: 3.75, 2: 2.4, 3: 1.95, 4: 1.5, 5: 1.2, 6: 1.0}},
    "objects": 100,
    "noise_levels": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
    "fig6a": {"feature": (1.0, 1.0, 1.0, 0.95, 0.82, 0.60, 0.40, 0.20),
              "location": (1.0, 1.0, 1.0, 1.0, 1.0, 0.93, 0.23, 0.02)},
}

#: What each protocol asks, shown at the top of its report.
QUESTIONS: dict[str, str] = {
    "touch_objects": "Can a region of cortical columns learn objects as sets of (location, feature) pairs in one "
                     "exposure and recognise them by touch, and how many sensations does it need as columns vote "
                     "through their lateral L2/3 connections? (Hawkins, Ahmad & Cui 2017)",
    "grid_objects": "Can grid-cell location modules (L6) and L4 recognise objects by path integration, how many "
                    "sensations does it take, and how many objects fit before recognition fails? "
                    "(Lewis et al. 2019)",
    "hierarchy_scenes": "Does a higher region that recognises scenes of objects speed up the lower region through "
                        "feedback?",
    "critical_sweep": "Where does an excitable region of columns become critical (branching ratio m = 1), and do its "
                      "avalanches follow power laws there?",
    "spiking_network": "What firing rates and avalanche statistics does a spiking (Izhikevich) network show?",
    "continual_learning": "Does the column network keep what it learned while learning new objects, unlike a "
                          "backprop-trained MLP, and does novelty fall with exposure?",
    "digit_saccades": "Can columns recognise handwritten digits from saccades over small patches, learned from a few "
                      "images, compared with simple baselines trained on the same images?",
    "learned_criticality": "Is a region of many columns that learned objects critical while it senses a stream, and "
                           "do avalanches start where a cluster of columns has just reached agreement?",
    "arena_navigation": "How well do grid cells path-integrate in an open arena, how fast does the phase error "
                        "grow, and do place cells and replay follow the walk?",
}


class ReportError(ValueError):
    """A run directory that cannot be reported (missing or malformed files)."""


@dataclass
class Run:
    """Another run drawn beside the reported one (``cortical report --compare``): its folder and trials."""

    folder: Path
    trials: list[dict[str, Any]]


@dataclass
class Figure:
    """One figure of a report: a title, a caption and a ``draw()`` returning a matplotlib Figure."""

    title: str
    caption: str
    draw: Callable[[], Any]


# -------------------------------------------------------------------------------- provenance
def _git_commit(where: Path) -> str | None:
    """``<hash>`` (``+dirty`` when the work tree has changes) of the checkout holding ``where``."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def run_info(command: Sequence[str] | None = None, config_path: str | None = None,
             overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Provenance of a run: versions of the package and its dependencies, git commit, time, command."""
    from importlib import metadata

    from regions import __version__

    versions = {"cortical-columns": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scipy", "networkx", "pydantic", "matplotlib", "scikit-learn"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "command": list(command) if command is not None else None,
        "config": str(Path(config_path).resolve()) if config_path else None,
        "overrides": list(overrides),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "git_commit": _git_commit(Path(__file__).resolve().parent),
        "versions": versions,
    }


def write_run_info(out: Path, info: Mapping[str, Any]) -> Path:
    """Write ``run_info.json`` into ``out``; returns its path."""
    path = Path(out) / RUN_INFO_NAME
    path.write_text(json.dumps(dict(info), indent=2) + "\n")
    return path


# ----------------------------------------------------------------------------------- helpers
def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _mean_lists(lists: Sequence[Sequence[Any]]) -> list[float]:
    """Element-wise mean of equal-length numeric lists (None / nan skipped)."""
    n = min(len(v) for v in lists)
    out = []
    for k in range(n):
        vals = [x for x in (_num(v[k]) for v in lists) if x is not None]
        out.append(sum(vals) / len(vals) if vals else math.nan)
    return out


def _series(trials: Sequence[Mapping[str, Any]], name: str) -> list[dict[str, Any]]:
    return [t["series"][name] for t in trials if isinstance(t.get("series"), dict) and name in t["series"]]


def _xy(series: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    y = list(series.get("y", []))
    return list(series.get("x", range(1, len(y) + 1))), y


def _mean_series(trials: Sequence[Mapping[str, Any]], name: str) -> tuple[list[Any], list[float]] | None:
    found = _series(trials, name)
    if not found:
        return None
    x, _ = _xy(found[0])
    return x[: min(len(_xy(s)[1]) for s in found)], _mean_lists([_xy(s)[1] for s in found])


def _mean_of(trials: Sequence[Mapping[str, Any]], key: str) -> float | None:
    values = [v for v in (_num(t.get(key)) for t in trials) if v is not None]
    return sum(values) / len(values) if values else None


def _trial_label(trials: Sequence[Any]) -> str:
    return "" if len(trials) == 1 else f" (mean of {len(trials)} trials)"


# ------------------------------------------------------------------------------ protocol figures
def _network_figure(cfg: Any) -> Figure:
    def draw() -> Any:
        from regions import figures
        from regions.builder import build_lateral_graph
        from regions.config import column_wiring

        regions = [{"name": r.name, "columns": r.columns, "layers": list(r.column.layers)} for r in cfg.regions]
        connections = [{"kind": c.kind, "source": c.source, "source_layer": c.source_layer, "target": c.target,
                        "target_layer": c.target_layer} for c in cfg.connections]
        wiring = sorted({(a, b) for r in cfg.regions for a, b, _ in column_wiring(r.column.layers)})
        first = cfg.regions[0]
        lateral = build_lateral_graph(first.lateral, first.columns, seed=cfg.seed) if first.columns > 1 else None
        return figures.network_diagram(regions, connections, wiring=wiring, lateral=lateral,
                                       lateral_title=f"{first.name} lateral graph ({first.lateral.topology or 'edges'})")

    return Figure("The network", "Regions side by side, each column's layers stacked (L6 location at the bottom, "
                  "L2/3 object layer and L1 apical feedback on top); grey arrows are the wiring inside every column, "
                  "coloured arrows connections between regions. Right: the first region's lateral graph (which "
                  "columns vote with which), clusters coloured.", draw)


def _touch_objects_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures

    out: list[Figure] = []
    first = trials[0]
    columns = int(first.get("columns", cfg.regions[0].columns))
    pool = int(first.get("feature_pool", cfg.experiment.n_features))
    acc = _mean_series(trials, "accuracy_vs_sensations")
    noise = cfg.experiment.noise
    noisy = bool(noise.feature or noise.location)
    published = PUBLISHED_2017["sensations_by_columns"].get(pool) if not noisy else None
    # this run and the compared ones, by column count
    by_columns: dict[int, list[dict[str, Any]]] = {columns: trials}
    for other in others:
        n = int(other.trials[0].get("columns", 0))
        for key in ("objects", "feature_pool"):
            if other.trials[0].get(key) != first.get(key):
                raise ReportError(f"--compare {other.folder}: {key} {other.trials[0].get(key)} differs from this "
                                  f"run's {first.get(key)}; compare runs that differ in columns only")
        if n in by_columns:
            raise ReportError(f"--compare {other.folder}: a second run with {n} column(s); one run per column count")
        by_columns[n] = other.trials
    accuracy = {n: s[1] for n, s in ((n, _mean_series(t, "accuracy_vs_sensations")) for n, t in by_columns.items())
                if s is not None}
    mean_s = {n: m for n, m in ((n, _mean_of(t, "mean_sensations_to_converge")) for n, t in by_columns.items())
              if m is not None}
    ideal = {n: m for n, m in ((n, _mean_of(t, "ideal_mean_sensations_to_converge")) for n, t in by_columns.items())
             if m is not None}
    if acc is not None:
        counts = ", ".join(str(n) for n in sorted(accuracy))
        caption = (f"Left: fraction of the objects recognised after each sensation, {counts} column(s)"
                   f"{_trial_label(trials)}. ")
        if len(by_columns) == 1:
            caption += "`cortical report RUN_DIR --compare OTHER_RUN_DIR ...` draws runs with other column counts here. "
        if published:
            caption += (f"Right: mean sensations to converge, ours ({first.get('objects')} objects, pool {pool}) "
                        f"beside the ideal observer on the same touches and the published values (2017 Fig 4B: "
                        f"{PUBLISHED_2017['objects']} objects, pool {pool}, read off the figure); "
                        "`python benchmarks/columns.py` measures them at the published size.")
        out.append(Figure("Convergence", caption, lambda: figures.convergence(
            accuracy, mean_sensations=mean_s if published else None, ideal=ideal if published else None,
            published=published, published_label=f"published 2017 ({PUBLISHED_2017['objects']} objects)")))
    if noisy and acc is not None and columns == 1:
        kind = "feature" if noise.feature else "location"
        level = float(noise.feature or noise.location)
        levels = list(PUBLISHED_2017["noise_levels"])
        final = acc[1][-1]

        def draw_noise() -> Any:
            fig = figures.accuracy_curves(
                {"published 2017 Fig 6A": (list(range(len(levels))), list(PUBLISHED_2017["fig6a"][kind]))},
                xlabel=f"{kind} noise", ylabel=f"accuracy after {len(acc[1])} touches",
                styles={"published 2017 Fig 6A": figures.PUBLISHED_STYLE})
            ax = fig.axes[0]
            ax.plot([levels.index(level) if level in levels else level * 10], [final], marker="*", markersize=14,
                    linestyle="none", color="C3", label=f"this run ({final:.2f})")
            ax.set_xticks(range(len(levels)), [f"{v:.1f}" for v in levels])
            ax.legend(loc="lower left", fontsize=8)
            return fig

        out.append(Figure("Noise robustness", f"Accuracy after the last touch at {kind} noise {level:g} (this run) "
                          "beside the published Fig 6A curve (one column, 50 objects, pool 10).", draw_noise))
    activity = first.get("activity")
    if isinstance(activity, dict) and activity.get("steps"):
        out.append(Figure(
            "Column activity",
            f"Active cells of each column during one more touch of object {activity.get('object')} after the "
            "measurement, without noise (trial 0): one dot per active cell and settling iteration, sensations "
            "separated by dotted lines. L2/3 starts as the union "
            "of the candidate objects' codes and narrows to the object's code (red) as the columns vote; L4 "
            "shows the sensed feature at the sensed location.",
            lambda: figures.column_activity(activity["steps"], cells_per_column=activity["cells_per_column"],
                                            columns=columns, code=activity.get("code"))))
    iterations = [int(v) for t in trials for v in (t.get("settle_iterations") or [])]
    consensus: dict[int, float] = {}
    for n, runs in by_columns.items():
        values = [int(v) for t in runs for v in (t.get("settle_iterations") or [])]
        if values:
            consensus[n] = sum(values) / len(values)
    if iterations:
        out.append(Figure("Time to consensus",
                          "Settling iterations each sensation took until the L2/3 state repeated (a fixed point "
                          f"or cycle), over all sensations{_trial_label(trials).replace('mean of', 'pooled over')}"
                          + ("; right: the mean by column count over the compared runs." if len(consensus) > 1
                             else "."),
                          lambda: figures.time_to_consensus(iterations,
                                                            by_columns=consensus if len(consensus) > 1 else None)))
    return out


def _grid_objects_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures
    from regions.locations import PUBLISHED

    out: list[Figure] = []
    rec = _mean_series(trials, "recognised_vs_sensations")
    if rec is not None:
        out.append(Figure("Recognition vs sensations", f"Fraction of objects recognised by each sensation"
                          f"{_trial_label(trials)}.", lambda: figures.accuracy_curves(
                              {"ours": rec}, xlabel="sensations", ylabel="fraction of objects recognised")))
    first = trials[0]
    cells = _num(first.get("cells_per_axis"))
    objects = _num(first.get("objects"))
    accuracy = [v for v in (_num(t.get("accuracy")) for t in trials) if v is not None]
    if cells is not None and objects is not None and accuracy:
        this = (int(cells), int(objects), sum(accuracy) / len(accuracy))
        out.append(Figure(
            "Capacity", "Published capacity (2019 Fig 8: the largest object count with fewer than 10 % failures, "
            "median of the reference's trials) by cells per grid-module axis, and this run's object count and "
            "recognised fraction (a star; filled when at least 0.9 were recognised). This run is not a capacity "
            "search: `python benchmarks/locations.py` searches it (150 at 10 x 10 cells against 148 published).",
            lambda: figures.capacity_trend(PUBLISHED["capacity_vs_cells_per_axis"], this_run=this)))
    return out


def _hierarchy_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures

    on, off = _mean_series(trials, "lower_sensations_feedback_on"), _mean_series(trials, "lower_sensations_feedback_off")
    if on is None or off is None:
        return []

    def draw() -> Any:
        fig = figures.series_figure({
            "feedback on": {"x": on[0], "y": on[1], "xlabel": "position in scene",
                            "ylabel": "lower-region sensations to recognise the object"},
            "feedback off": {"x": off[0], "y": off[1]},
        }, title="lower-region sensations, feedback on vs off")
        fig.axes[0].set_ylim(bottom=0)
        return fig

    return [Figure("Feedback", "Sensations the lower region needs to recognise each object of a scene, by position in "
                   f"the scene, with and without feedback from the scene region{_trial_label(trials)}. With feedback "
                   "the scene's expectation narrows later objects sooner.", draw)]


def _critical_sweep_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures

    first = trials[0]
    out: list[Figure] = []
    points = first.get("points") or []
    table = first.get("table") or []
    values = [row.get("value") for row in table]
    if table and all(_num(v) is not None for v in values):
        out.append(Figure(
            "Branching ratio", "Measured branching ratio (pooled estimator) at each swept value beside the analytic "
            "m of the lateral graph; m = 1 is critical (trial 0).",
            lambda: figures.branching_vs_knob(values, [row.get("m_pooled") for row in table],
                                              analytic=[row.get("m_analytic") for row in table],
                                              knob=str(first.get("parameter", "coupling")),
                                              analytic_critical=_num(first.get("p_critical_analytic")))))
    critical = first.get("critical_value")
    label = _value_label(critical)
    sizes, durations = (first.get("series") or {}).get(f"size_ccdf_{label}"), (first.get("series") or {}).get(
        f"duration_ccdf_{label}")
    point = next((p for p in points if p.get("value") == critical), points[0] if points else {})
    if sizes and durations and sizes.get("x"):
        out.append(Figure(
            "Avalanche distributions", f"Complementary CDF of avalanche sizes and durations at {critical} (the value "
            "with m nearest 1), log-log, with the discrete power-law fit drawn over its range (shaded, x_min chosen by "
            "the Kolmogorov-Smirnov distance); a power law with exponent τ has a CCDF of slope 1 - τ.",
            lambda: figures.avalanche_ccdf((sizes["x"], sizes["y"]), (durations["x"], durations["y"]),
                                           tau=_num(point.get("tau")), tau_x_min=_num(point.get("tau_x_min")),
                                           alpha=_num(point.get("alpha")), alpha_x_min=_num(point.get("alpha_x_min")))))
    sbd = point.get("size_by_duration")
    if isinstance(sbd, (list, tuple)) and len(sbd) == 2 and len(sbd[0]) >= 2:
        out.append(Figure("<S>(T)", "Mean avalanche size by duration at the critical value, with the fitted slope γ "
                          "and the crackling-noise prediction (α - 1) / (τ - 1).",
                          lambda: figures.size_vs_duration(sbd[0], sbd[1], gamma=_num(point.get("gamma")),
                                                           gamma_predicted=_num(point.get("gamma_predicted")))))
    return out


def _value_label(value: Any) -> str:
    from regions.sweeps import _label

    return _label(value)


def _spiking_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures

    first = trials[0]
    series = first.get("series") or {}
    out: list[Figure] = []
    if "population_rate" in series:
        out.append(Figure("Population activity", "Spikes per millisecond of the whole network (trial 0).",
                          lambda: figures.series_figure({"all neurons": series["population_rate"]},
                                                        title="population rate")))
    if "rate_histogram_hz" in series:
        out.append(Figure("Firing rates", "Neurons by firing rate over the steady state (after the transient).",
                          lambda: figures.series_figure({"neurons": series["rate_histogram_hz"]},
                                                        title="firing-rate histogram")))
    sizes = series.get("avalanche_size_ccdf")
    durations = series.get("avalanche_duration_ccdf")
    if sizes and sizes.get("x"):
        fraction = (first.get("table") or [{}])[0].get("observed_fraction")
        out.append(Figure(
            "Avalanche distributions", "Complementary CDF of avalanche sizes (spikes) and durations (time bins), "
            f"observed fraction of neurons {fraction}, log-log, with the discrete power-law fits drawn over their "
            "ranges (shaded); a power law with exponent τ has a CCDF of slope 1 - τ (trial 0).",
            lambda: figures.avalanche_ccdf((sizes["x"], sizes["y"]),
                                           (durations["x"], durations["y"]) if durations and durations.get("x") else None,
                                           tau=_num(sizes.get("fit_exponent")), tau_x_min=_num(sizes.get("fit_x_min")),
                                           alpha=_num((durations or {}).get("fit_exponent")),
                                           alpha_x_min=_num((durations or {}).get("fit_x_min")),
                                           units=("spikes", "time bins"))))
    return out


def _continual_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures

    ours = _mean_series(trials, "first_set_recognised")
    mlp = _mean_series(trials, "mlp_first_set")
    out: list[Figure] = []
    if ours is not None:
        curves = {"columns (one-shot Hebbian)": ours}
        if mlp is not None:
            curves["MLP (backprop, retrained per stage)"] = mlp
        out.append(Figure("Continual learning", "Fraction of the first set of objects still recognised as more objects "
                          f"are learned, ours beside the backprop MLP baseline trained on the same stages"
                          f"{_trial_label(trials)}.", lambda: figures.accuracy_curves(
                              curves, xlabel="objects learned", ylabel="first set recognised")))
    novelty = _mean_series(trials, "novelty_by_exposure")
    if novelty is not None:
        out.append(Figure("Novelty", "Mean L4 novelty (fraction of bursting minicolumns) by exposure to the same "
                          "objects.", lambda: figures.accuracy_curves({"L4 novelty": novelty}, xlabel="exposure",
                                                                      ylabel="mean L4 novelty")))
    return out


def _digit_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures

    first = trials[0]
    curves = {}
    for name in (first.get("series") or {}):
        found = _mean_series(trials, name)
        if found is not None:
            curves[name] = found
    if not curves:
        return []
    baselines = {}
    for key, label in (("baseline_1nn_pixels", "1-NN on pixels"), ("baseline_mlp_pixels", "MLP on pixels")):
        vals = [v for v in (_num(t.get(key)) for t in trials) if v is not None]
        if vals:
            baselines[f"{label}, held-out"] = sum(vals) / len(vals)
    held = _num(first.get("accuracy_held_out_final"))
    caption = (f"Accuracy by saccades for learned, held-out and noisy held-out images, {first.get('columns')} "
               f"column(s), {first.get('train_images')} training images{_trial_label(trials)}. Dashed: baselines "
               "trained on the same training images and tested on the same held-out images. ")
    nn = baselines.get("1-NN on pixels, held-out")
    if held is not None and nn is not None:
        caption += (f"Ours reaches {held:.2f} held-out, {'below' if held < nn else 'at or above'} 1-nearest-neighbour "
                    f"on raw pixels ({nn:.2f}).")
    return [Figure("Digits by saccades", caption, lambda: figures.accuracy_curves(
        curves, xlabel="saccades", baselines=baselines))]


def _arena_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures

    series = trials[0].get("series") or {}
    out: list[Figure] = []
    if "trajectory" in series and "decoded_trajectory" in series:
        t, d = series["trajectory"], series["decoded_trajectory"]
        out.append(Figure("Path integration", "True walk and the position decoded from the grid cells (trial 0).",
                          lambda: figures.trajectory({"true": _xy(t), "decoded from grid cells": _xy(d)},
                                                     xlabel=t.get("xlabel", "x"), ylabel=t.get("ylabel", "y"))))
    if "phase_error_vs_steps" in series and "sigma_sqrt_n_vs_steps" in series:
        out.append(Figure("Phase error growth", "RMS grid-phase error by steps beside the random-walk prediction "
                          "σ√N (log-log): path-integration noise accumulates as a random walk.",
                          lambda: figures.series_figure({"measured": series["phase_error_vs_steps"],
                                                         "σ√N": series["sigma_sqrt_n_vs_steps"]},
                                                        title="grid phase error")))
    if "position_error_in_arena" in series:
        out.append(Figure("Position error", "Median decoded position error by walk length.",
                          lambda: figures.series_figure({"median error": series["position_error_in_arena"]},
                                                        title="position error")))
    return out


def _learned_criticality_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures

    test = trials[0].get("agreement_test")
    rest = (_learned_sweep_figures(trials[0]) + _learned_avalanche_figures(trials[0])
            + _generic_figures(trials, cfg, others))
    if not isinstance(test, dict) or _num(test.get("observed")) is None:
        return rest
    controls = {name: test[f"{key}_mean"] for name, key in (("shuffled", "shuffled"), ("time-shifted", "shifted"))
                if _num(test.get(f"{key}_mean")) is not None}
    p_values = {name: test.get(f"p_{key}") for name, key in (("shuffled", "shuffled"), ("time-shifted", "shifted"))}
    if not controls:
        return rest
    return [Figure(
        "Cluster agreement and avalanche onsets",
        "Fraction of the events \"a cluster of columns reaches agreement\" followed by an avalanche starting in "
        "that cluster, beside the same fraction with the agreement times shuffled and circularly shifted (chance); "
        f"one-sided p against each control; verdict: {test.get('verdict')} (trial 0).",
        lambda: figures.agreement_onsets(float(test["observed"]), controls, p_values=p_values,
                                         events=test.get("agreement_events")))] + rest


def _crossing_one(values: Sequence[float], m: Sequence[float | None]) -> float | None:
    """The knob value where measured m first crosses 1 (linear interpolation between neighbours), or None."""
    points = sorted((float(v), float(y)) for v, y in zip(values, m) if y is not None)
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if (y0 - 1.0) * (y1 - 1.0) <= 0.0 and y0 != y1:
            return x0 + (1.0 - y0) * (x1 - x0) / (y1 - y0)
    return None


def _learned_sweep_figures(first: dict[str, Any]) -> list[Figure]:
    """A run with ``experiment.sweep``: measured m (95 % interval) beside the cascade model's m (the theory
    line) and m = 1 against the knob, with the runaway fraction and the cluster-agreement test per value."""
    from regions import figures

    table = [row for row in first.get("table") or [] if isinstance(row, dict)]
    values = [row.get("value") for row in table]
    if not table or any(_num(v) is None for v in values) or not any(_num(r.get("m")) is not None for r in table):
        return []
    knob = str(first.get("knob", "knob"))
    m = [_num(r.get("m")) for r in table]
    ci = [tuple(r["m_ci"]) if isinstance(r.get("m_ci"), (list, tuple)) and len(r["m_ci"]) == 2 else (None, None)
          for r in table]
    theory = [_num(r.get("m_predicted")) for r in table] if any("m_predicted" in r for r in table) else None
    runaway = ([_num(r.get("runaway_fraction")) for r in table]
               if any("runaway_fraction" in r for r in table) else None)
    agreement = None
    if any("agreement_verdict" in r for r in table):
        agreement = [{"observed": _num(r.get("agreement_observed")), "shuffled": _num(r.get("agreement_shuffled_mean")),
                      "shifted": _num(r.get("agreement_shifted_mean")), "verdict": r.get("agreement_verdict", ""),
                      "events": r.get("agreement_events")} for r in table]
    crossing = _crossing_one(values, m)
    where = (f"measured m crosses 1 at {knob.split('.')[-1]} = {crossing:.3g} (interpolated)" if crossing is not None
             else "measured m does not cross 1 inside the swept range")
    verdicts = "; ".join(f"{_value_label(r.get('value'))}: {r.get('agreement_verdict')}" for r in table
                         if "agreement_verdict" in r)
    caption = (f"Branching ratio of the learned network measured at each value of {knob} (multistep regression, "
               "error bars its 95 % interval), beside the theory line (the analytic cascade model's m for the same "
               "share of connected lateral synapses, regions/sweeps.py) and the critical line m = 1; " + where + ". ")
    if runaway is not None:
        caption += "Below: the fraction of avalanches that ran away (their sensation ended in a cycle or the settling limit). "
    if agreement is not None:
        caption += ("Bottom: the cluster-agreement test, the share of \"a cluster reaches agreement\" events followed by "
                    "an avalanche starting in that cluster beside its shuffled and time-shifted controls; verdict per "
                    f"value: {verdicts}. ")
    caption += "(trial 0)"
    return [Figure("Branching ratio across the sweep", caption,
                   lambda: figures.learned_sweep(values, m, ci=ci, theory=theory, runaway=runaway,
                                                 agreement=agreement, knob=knob))]


def _learned_avalanche_figures(first: dict[str, Any]) -> list[Figure]:
    """The learned network's avalanche CCDFs with their fits, and <S>(T) (trial 0, no sweep)."""
    from regions import figures

    sizes, durations = first.get("sizes_ccdf"), first.get("durations_ccdf")
    out: list[Figure] = []
    if isinstance(sizes, (list, tuple)) and len(sizes) == 2 and sizes[0] and durations and durations[0]:
        out.append(Figure(
            "Avalanche distributions", "Complementary CDF of the learned network's avalanche sizes (L2/3 on-events) "
            "and durations (settling iterations), log-log, with the discrete power-law fit over its range (shaded, "
            "x_min by the Kolmogorov-Smirnov distance); a power law with exponent τ has a CCDF of slope 1 - τ.",
            lambda: figures.avalanche_ccdf((sizes[0], sizes[1]), (durations[0], durations[1]),
                                           tau=_num(first.get("tau")), tau_x_min=_num(first.get("tau_x_min")),
                                           alpha=_num(first.get("alpha")), alpha_x_min=_num(first.get("alpha_x_min")))))
    return out


def _generic_figures(trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    from regions import figures

    groups: dict[str, dict[str, Any]] = {}
    for name, s in (trials[0].get("series") or {}).items():
        if isinstance(s, dict):
            groups.setdefault(str(s.get("ylabel", name)), {})[name] = s
    return [Figure(label, f"Metric series {', '.join(group)} (trial 0).",
                   lambda group=group: figures.series_figure(group)) for label, group in groups.items()]


PROTOCOL_FIGURES: dict[str, Callable[[list[dict[str, Any]], Any], list[Figure]]] = {
    "touch_objects": _touch_objects_figures,
    "grid_objects": _grid_objects_figures,
    "hierarchy_scenes": _hierarchy_figures,
    "critical_sweep": _critical_sweep_figures,
    "spiking_network": _spiking_figures,
    "continual_learning": _continual_figures,
    "digit_saccades": _digit_figures,
    "arena_navigation": _arena_figures,
    "learned_criticality": _learned_criticality_figures,
}


#: Experiment kinds whose report draws other runs beside its own (``cortical report --compare``).
COMPARABLE = frozenset({"touch_objects"})


def protocol_figures(kind: str, trials: list[dict[str, Any]], cfg: Any, others: Sequence[Run] = ()) -> list[Figure]:
    """The figures of an experiment kind's report (the network diagram last), not yet drawn.

    ``others``: runs drawn beside this one (kinds in :data:`COMPARABLE` only; ``ReportError`` else).
    """
    if others and kind not in COMPARABLE:
        raise ReportError(f"--compare: the {kind} report draws one run; comparisons are drawn for "
                          f"{', '.join(sorted(COMPARABLE))}")
    builder = PROTOCOL_FIGURES.get(kind, _generic_figures)
    return [*builder(trials, cfg, others), _network_figure(cfg)]


def _read_metrics(path: Path, label: str) -> dict[str, Any]:
    """A run's metrics.json: an object with a non-empty ``trials`` list (ReportError naming ``label``)."""
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"{label}: cannot read it as JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("trials"), list) or not payload["trials"]:
        raise ReportError(f"{label}: expected an object with a non-empty 'trials' list")
    return payload


def _load_compared(folders: Sequence[Path], kind: str) -> list[Run]:
    runs = []
    for folder in folders:
        folder = Path(folder)
        path = folder / "metrics.json"
        if not path.is_file():
            raise ReportError(f"--compare {folder}: no metrics.json")
        payload = _read_metrics(path, f"--compare {path}")
        if payload.get("experiment") != kind:
            raise ReportError(f"--compare {folder}: experiment {payload.get('experiment')!r}, this run's is {kind!r}")
        runs.append(Run(folder, payload["trials"]))
    return runs


# ---------------------------------------------------------------------------------------- HTML
_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1150px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.question { font-size: 1.1em; background: #f4f7fb; border-left: 4px solid #4a7ab5; padding: 0.6em 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f0f0f0; } td.key, th.key { text-align: left; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; border: 1px solid #e3e3e3; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.92em; color: #444; max-width: 62em; }
.note { color: #7a4b00; background: #fff6e0; padding: 0.5em 1em; border-left: 4px solid #e0a800; }
.error { color: #8a1f11; background: #fdecea; padding: 0.5em 1em; border-left: 4px solid #c0392b; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1em; } dt { font-weight: 600; }
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


def _table(rows: Sequence[Mapping[str, Any]], *, key_columns: int = 1) -> str:
    if not rows:
        return "<p>(no rows)</p>"
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    head = "".join(f'<th class="{"key" if i < key_columns else ""}">{_esc(c)}</th>' for i, c in enumerate(columns))
    body = []
    for row in rows:
        cells = "".join(f'<td class="{"key" if i < key_columns else ""}">{_esc(_cell(row.get(c)))}</td>'
                        for i, c in enumerate(columns))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _summary_rows(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if len(payload.get("trials") or []) == 1:  # one trial: its values (mean = min = max, std 0)
        for key, stats in (payload.get("summary") or {}).items():
            value = stats["mean"] if "mean" in stats else ", ".join(_cell(v) for v in stats.get("values", []))
            rows.append({"metric": key, "value": value})
        return rows
    for key, stats in (payload.get("summary") or {}).items():
        if "mean" in stats:
            rows.append({"metric": key, "mean": stats["mean"], "std": stats["std"], "min": stats["min"],
                         "max": stats["max"]})
        else:
            rows.append({"metric": key, "mean": ", ".join(_cell(v) for v in stats.get("values", []))})
    return rows


def _load_run(run_dir: Path, cfg: Any = None) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    from regions.config import ConfigError, load_config

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: no such run directory")
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        raise ReportError(f"{run_dir}: no metrics.json (is this the --out directory of a `cortical run`?)")
    payload = _read_metrics(metrics_path, str(metrics_path))
    config_path = run_dir / "resolved_config.yaml"
    if not config_path.is_file():
        raise ReportError(f"{run_dir}: no resolved_config.yaml")
    info_path = run_dir / RUN_INFO_NAME
    info: dict[str, Any] = {}
    if info_path.is_file():
        try:
            info = json.loads(info_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ReportError(f"{info_path}: cannot read it as JSON: {exc}") from None
    if cfg is None:
        try:
            cfg = load_config(config_path)
        except ConfigError as exc:
            # the config file and overrides the run was started with (run_info.json), when the resolved
            # dump does not load back on its own
            source, overrides = info.get("config"), info.get("overrides") or []
            try:
                if not source:
                    raise exc
                cfg = load_config(source, list(overrides))
            except (ConfigError, OSError):
                raise ReportError(f"{config_path}: {str(exc).splitlines()[0]}") from None
    info["_config_text"] = config_path.read_text()
    return payload, cfg, info


def render_report(run_dir: Path, *, figures_enabled: bool | None = None, config: Any = None,
                  compare: Sequence[Path] = ()) -> str:
    """The HTML text of a run directory's report (see the module docstring).

    ``figures_enabled`` None draws figures when matplotlib is installed; False writes tables only.
    ``config`` is the run's :class:`~regions.config.Config` when the caller has it (``cortical run``);
    otherwise ``resolved_config.yaml`` is loaded (or, failing that, the config file and overrides
    recorded in ``run_info.json``).  ``compare``: run directories of the same experiment drawn beside
    this run (touch_objects: one convergence line per column count); they are checked even when
    figures are off.
    """
    from regions import figures as figs

    payload, cfg, info = _load_run(Path(run_dir), config)
    trials: list[dict[str, Any]] = payload["trials"]
    kind = str(payload.get("experiment", cfg.experiment.kind))
    draw = figs.available() if figures_enabled is None else bool(figures_enabled)
    others = _load_compared(compare, kind)
    items = protocol_figures(kind, trials, cfg, others)  # checks the compared runs before any drawing
    title = f"{kind}: {cfg.description}" if getattr(cfg, "description", None) else kind
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(kind)}</h1>",
    ]
    if getattr(cfg, "description", None):
        parts.append(f"<p><em>{_esc(cfg.description)}</em></p>")
    if others:
        parts.append("<p>Drawn beside the runs in " + ", ".join(f"<code>{_esc(o.folder)}</code>" for o in others)
                     + ".</p>")
    question = QUESTIONS.get(kind)
    if question:
        parts.append(f'<p class="question"><strong>Question.</strong> {_esc(question)}</p>')
    versions = info.get("versions") or {}
    facts = [
        ("experiment", kind),
        ("trials", f"{len(trials)} (trial seeds {', '.join(str(t.get('seed')) for t in trials[:4])}"
                   f"{', ...' if len(trials) > 4 else ''})"),
        ("seed", payload.get("seed", cfg.seed)),
        ("regions", "; ".join(f"{r.name}: {r.columns} column{'s' if r.columns != 1 else ''}, layers "
                              f"{' '.join(r.column.layers)}" for r in cfg.regions)),
        ("world", cfg.world.kind),
        ("git commit", info.get("git_commit") or "unknown (not run from a git checkout)"),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items() if v) or "unknown"),
        ("command", " ".join(info["command"]) if info.get("command") else "unknown"),
        ("started", info.get("started") or "unknown"),
    ]
    parts.append("<h2>Run</h2><dl>" + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts) + "</dl>")
    parts.append("<h2>Figures</h2>")
    if not draw:
        parts.append('<p class="note">Figures need matplotlib, which is not installed: '
                     "<code>pip install 'cortical-columns[plot]'</code>, then <code>cortical report RUN_DIR</code> "
                     "rebuilds this page with them.</p>")
    else:
        for item in items:
            parts.append(_figure_html(item))
    parts.append("<h2>Metrics</h2>")
    parts.append(_table(_summary_rows(payload)))
    tables = [t.get("table") for t in trials]
    if any(isinstance(t, list) and t for t in tables):
        rows = [{"trial": k, **row} for k, t in enumerate(tables) if isinstance(t, list)
                for row in t if isinstance(row, dict)]
        if len(trials) == 1:
            rows = [{k: v for k, v in row.items() if k != "trial"} for row in rows]
        parts.append("<h3>Table</h3>" + _table(rows))
    parts.append("<h2>Config (resolved)</h2>")
    parts.append(f"<pre>{_esc(info['_config_text'])}</pre>")
    parts.append("<p><small>Written by <code>cortical run</code>; rebuild with <code>cortical report "
                 "RUN_DIR</code>. Every number above comes from metrics.json in this directory.</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _figure_html(item: Figure) -> str:
    try:
        from regions.figures import to_png

        fig = item.draw()
        data = base64.b64encode(to_png(fig)).decode("ascii")
    except Exception as exc:  # noqa: BLE001 - a figure that cannot be drawn is shown as such, not hidden
        return (f'<figure><h3>{_esc(item.title)}</h3><p class="error">figure failed: {_esc(type(exc).__name__)}: '
                f"{_esc(exc)}</p></figure>")
    return (f'<figure><h3>{_esc(item.title)}</h3><img alt="{_esc(item.title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_esc(item.caption)}</figcaption></figure>')


def write_report(run_dir: Path, *, figures_enabled: bool | None = None, config: Any = None,
                 compare: Sequence[Path] = ()) -> Path:
    """Write ``report.html`` into the run directory ``run_dir``; returns its path (see :func:`render_report`)."""
    text = render_report(Path(run_dir), figures_enabled=figures_enabled, config=config, compare=compare)
    path = Path(run_dir) / REPORT_NAME
    path.write_text(text, encoding="utf-8")
    return path


def write_figures(run_dir: Path, *, config: Any = None) -> list[Path]:
    """Write the report's figures as PNG files into ``run_dir`` (``figure_01_<title>.png`` ...).

    Needs matplotlib (:class:`regions.figures.FiguresUnavailable` otherwise); a figure that cannot
    be drawn raises.  Returns the files written.
    """
    from regions.figures import to_png

    payload, cfg, _info = _load_run(Path(run_dir), config)
    files = []
    for k, item in enumerate(protocol_figures(str(payload.get("experiment", cfg.experiment.kind)), payload["trials"],
                                              cfg), start=1):
        safe = "".join(c if c.isalnum() else "_" for c in item.title.lower()).strip("_")
        path = Path(run_dir) / f"figure_{k:02d}_{safe}.png"
        path.write_bytes(to_png(item.draw()))
        files.append(path)
    return files
