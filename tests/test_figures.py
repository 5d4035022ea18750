"""regions.figures on small synthetic data: what each figure draws (series, axes, limits, labels, ticks)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from regions import figures  # noqa: E402


def _lines(ax):
    """Labelled data lines of an axes (matplotlib's private '_child' labels excluded)."""
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def _integer_ticks(ax, axis="x"):
    lo, hi = (ax.get_xlim() if axis == "x" else ax.get_ylim())
    ticks = [t for t in (ax.get_xticks() if axis == "x" else ax.get_yticks()) if lo <= t <= hi]
    return bool(ticks) and all(float(t).is_integer() for t in ticks)


def test_convergence_one_line_per_column_count_and_published_beside_ours():
    fig = figures.convergence({1: [0.0, 0.36, 0.9, 0.99, 1.0], 2: [0.3, 0.9, 1.0, 1.0, 1.0],
                               4: [0.8, 1.0, 1.0, 1.0, 1.0]},
                              mean_sensations={1: 2.74, 2: 1.65, 4: 1.15}, published={1: 2.8, 2: 1.7, 3: 1.1})
    left, right = fig.axes
    assert [line.get_label() for line in _lines(left)] == ["1 column", "2 columns", "4 columns"]
    assert left.get_ylim() == (0.0, 1.02) and left.get_xlim() == (0.5, 5.5)
    assert left.get_xlabel() == "sensations" and "recognised" in left.get_ylabel()
    assert _integer_ticks(left)
    assert list(_lines(left)[0].get_ydata()) == [0.0, 0.36, 0.9, 0.99, 1.0]
    labels = [line.get_label() for line in _lines(right)]
    assert labels == ["ours", "published"]
    published = _lines(right)[1]
    assert list(published.get_xdata()) == [1, 2, 3] and published.get_linestyle() == "--"
    assert right.get_xlabel() == "columns" and _integer_ticks(right)
    assert right.get_ylim()[0] == 0.0 and right.get_ylim()[1] >= 2.8


def test_convergence_without_sensation_means_is_one_panel_and_empty_is_refused():
    assert len(figures.convergence({3: [1.0, 1.0]}).axes) == 1
    with pytest.raises(ValueError, match="empty"):
        figures.convergence({})


def _steps():
    # 2 columns of 10 L2/3 cells; the code is cells {0, 1} of column 0 and {10, 11} of column 1.
    # Sensation 1 starts with a union (4 cells per column), settles to the code; sensation 2 stays.
    union = [0, 1, 2, 3, 10, 11, 12, 13]
    code = [0, 1, 10, 11]
    return [
        {"sensation": 1, "iteration": 0, "L23": union, "L4": [0, 1, 5, 6]},
        {"sensation": 1, "iteration": 1, "L23": code, "L4": [0, 1, 5, 6]},
        {"sensation": 2, "iteration": 0, "L23": code, "L4": [2, 7]},
    ], code


def test_column_activity_raster_panels_dots_and_code_colour():
    steps, code = _steps()
    fig = figures.column_activity(steps, cells_per_column={"L23": 10, "L4": 5}, columns=2, code=code)
    assert len(fig.axes) == 4  # (L2/3, L4) x 2 columns
    l23_col0, l23_col1, l4_col0, l4_col1 = fig.axes
    assert l23_col0.get_title() == "column 1: L2/3" and l4_col1.get_title() == "column 2: L4"
    # L2/3 column 0: 4 active at step 0, 2 at step 1, 2 at step 2 = 8 dots, of which 6 in the code
    other, in_code = l23_col0.collections
    assert len(in_code.get_offsets()) == 6 and len(other.get_offsets()) == 2
    # the code sits on the bottom rows, the union's extra cells above it
    assert sorted({int(y) for _, y in in_code.get_offsets()}) == [0, 1]
    assert sorted({int(y) for _, y in other.get_offsets()}) == [2, 3]
    # L4 column 1: cells 5, 6 (twice) and 7 -> 5 dots on 3 rows
    assert len(l4_col1.collections[0].get_offsets()) == 5 and l4_col1.get_ylim() == (-0.5, 2.5)
    # ticks at the first iteration of each sensation, labelled by sensation
    assert list(l23_col0.get_xticks()) == [0, 2]
    assert [t.get_text() for t in l23_col0.get_xticklabels()] == ["1", "2"]
    assert l23_col0.get_xlim() == (-0.5, 2.5)


def test_column_activity_refuses_empty_and_unknown_layers():
    with pytest.raises(ValueError, match="no steps"):
        figures.column_activity([], cells_per_column={"L23": 10}, columns=1)
    with pytest.raises(ValueError, match="none of the layers"):
        figures.column_activity([{"sensation": 1, "iteration": 0, "L5": [1]}], cells_per_column={"L23": 10}, columns=1)


def test_time_to_consensus_histogram_counts_and_columns_panel():
    fig = figures.time_to_consensus([0, 1, 1, 2, 2, 2, 4], by_columns={1: 1.2, 2: 1.6, 4: 2.0})
    hist, by_cols = fig.axes
    heights = [p.get_height() for p in hist.patches]
    assert heights == [1, 2, 3, 0, 1]
    assert _integer_ticks(hist, "x") and _integer_ticks(hist, "y")
    assert hist.get_xlabel() == "settling iterations to consensus" and hist.get_ylabel() == "sensations"
    assert list(_lines(by_cols)[0].get_xdata()) == [1, 2, 4] and _integer_ticks(by_cols)
    with pytest.raises(ValueError, match=">= 0"):
        figures.time_to_consensus([1, -1])


def test_capacity_curve_accuracy_axis_threshold_and_published_line():
    fig = figures.capacity_curve([50, 100, 150, 200], [1.0, 0.99, 0.91, 0.6], published_capacity=148)
    ax = fig.axes[0]
    assert ax.get_ylim() == (0.0, 1.02) and _integer_ticks(ax)
    labels = [line.get_label() for line in _lines(ax)]
    assert labels == ["ours", "capacity criterion (0.9)", "published capacity (148)"]
    assert list(_lines(ax)[2].get_xdata()) == [148, 148]
    with pytest.raises(ValueError):
        figures.capacity_curve([1, 2], [1.0])


def test_capacity_trend_published_ours_and_this_run():
    fig = figures.capacity_trend({6: 63, 10: 148, 14: 259, 20: 467}, ours={6: 63, 10: 150},
                                 this_run=(10, 120, 0.95))
    ax = fig.axes[0]
    published, ours, star = _lines(ax)
    assert list(published.get_ydata()) == [63, 148, 259, 467] and published.get_linestyle() == "--"
    assert list(ours.get_xdata()) == [6, 10]
    assert list(star.get_xdata()) == [10] and list(star.get_ydata()) == [120] and "0.95" in star.get_label()
    assert ax.get_xlabel() == "cells per axis" and ax.get_ylim()[0] == 0 and _integer_ticks(ax, "y")


def test_avalanche_ccdf_log_axes_fit_slope_and_range():
    x = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    y = [1.0, 0.6, 0.35, 0.2, 0.12, 0.07]
    fig = figures.avalanche_ccdf((x, y), ([1.0, 2.0, 3.0], [1.0, 0.4, 0.1]), tau=1.5, tau_x_min=2.0, alpha=2.0,
                                 alpha_x_min=1.0)
    sizes, durations = fig.axes
    assert sizes.get_xscale() == "log" and sizes.get_yscale() == "log" and durations.get_xscale() == "log"
    measured, fit = _lines(sizes)
    assert "τ = 1.50" in fit.get_label() and "range 2..32" in fit.get_label()
    fx, fy = fit.get_xdata(), fit.get_ydata()
    assert fx[0] == pytest.approx(2.0) and fx[-1] == pytest.approx(32.0)
    # CCDF slope 1 - tau on log-log axes, anchored at the data point at x_min
    assert math.log(fy[-1] / fy[0]) / math.log(fx[-1] / fx[0]) == pytest.approx(-0.5)
    assert fy[0] == pytest.approx(0.6)
    assert len(sizes.patches) == 1  # the shaded fit range
    assert "α = 2.00" in _lines(durations)[1].get_label()
    with pytest.raises(ValueError, match="positive"):
        figures.avalanche_ccdf(([0.0, 1.0], [1.0, 0.5]))


def test_size_vs_duration_recovers_the_slope_it_draws():
    t = np.array([1, 2, 4, 8, 16], dtype=float)
    s = 3.0 * t ** 1.5
    fig = figures.size_vs_duration(t, s, gamma=1.5, gamma_predicted=2.0)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    points, fit, predicted = _lines(ax)
    fx, fy = fit.get_xdata(), fit.get_ydata()
    assert math.log(fy[1] / fy[0]) / math.log(fx[1] / fx[0]) == pytest.approx(1.5)
    assert fit.get_label() == "fit γ = 1.50" and predicted.get_label() == "predicted γ = 2.00"
    assert list(fx) == [1.0, 16.0]


def test_branching_vs_knob_analytic_measured_and_critical_marks():
    fig = figures.branching_vs_knob([0.5, 0.3, 0.4], [1.1, 0.6, 0.85], analytic=[1.05, 0.62, 0.83],
                                    knob="connected probability", analytic_critical=0.46)
    ax = fig.axes[0]
    labels = [line.get_label() for line in _lines(ax)]
    assert labels[:3] == ["analytic", "measured", "critical (m = 1)"] and "0.46" in labels[3]
    assert list(_lines(ax)[1].get_xdata()) == [0.3, 0.4, 0.5]  # sorted by the knob
    assert list(_lines(ax)[1].get_ydata()) == [0.6, 0.85, 1.1]
    assert list(_lines(ax)[2].get_ydata()) == [1.0, 1.0]
    assert ax.get_xlabel() == "connected probability" and ax.get_ylim()[0] == 0.0
    with pytest.raises(ValueError):
        figures.branching_vs_knob([0.1, 0.2], [1.0], analytic=None)


def test_network_diagram_nodes_edges_and_clusters():
    regions = [{"name": "S1", "columns": 4, "layers": ["L6", "L4", "L23", "L1"]},
               {"name": "S2", "columns": 1, "layers": ["L6", "L4", "L23"]}]
    connections = [{"kind": "feedforward", "source": "S1", "source_layer": "L23", "target": "S2", "target_layer": None},
                   {"kind": "feedback", "source": "S2", "source_layer": "L23", "target": "S1", "target_layer": "L1"}]
    lateral = nx.stochastic_block_model([2, 2], [[1.0, 0.0], [0.0, 1.0]], seed=0)
    fig = figures.network_diagram(regions, connections, wiring=[("L4", "L23"), ("L23", "L23"), ("L6", "L4")],
                                  lateral=lateral)
    diagram, graph = fig.axes
    texts = [t.get_text() for t in diagram.texts]
    assert "S1\n4 columns" in texts and "S2\n1 column" in texts
    assert texts.count("L2/3") == 2 and texts.count("L1") == 1  # one node per (region, layer)
    legend = [t.get_text() for t in diagram.get_legend().get_texts()]
    assert legend == ["feedback", "feedforward", "inside a column"]
    assert "2 clusters" in graph.get_title() and "4 columns" in graph.get_title()
    colours = {tuple(c) for c in graph.collections[-1].get_facecolors()}
    assert len(colours) == 2  # the two blocks in two colours
    with pytest.raises(ValueError):
        figures.network_diagram([], [])


def test_accuracy_curves_baselines_and_integer_axis():
    fig = figures.accuracy_curves({"learned": ([1, 2, 3], [1.0, 1.0, 1.0]), "held-out": ([1, 2, 3], [0.3, 0.5, None])},
                                  xlabel="saccades", baselines={"1-NN on pixels": 0.6})
    ax = fig.axes[0]
    lines = _lines(ax)
    assert [line.get_label() for line in lines] == ["learned", "held-out", "1-NN on pixels (0.60)"]
    assert math.isnan(lines[1].get_ydata()[2])  # a missing value is a gap, not a zero
    assert list(lines[2].get_ydata()) == [0.6, 0.6] and lines[2].get_linestyle() == "--"
    assert ax.get_ylim() == (0.0, 1.02) and _integer_ticks(ax) and ax.get_xlabel() == "saccades"
    with pytest.raises(ValueError, match="2 x and 1 y"):
        figures.accuracy_curves({"bad": ([1, 2], [0.5])}, xlabel="x")


def test_series_figure_axes_follow_the_data():
    loglog = figures.series_figure({"a": {"x": [1, 10, 100], "y": [1.0, 0.1, 0.01], "loglog": True}})
    assert loglog.axes[0].get_xscale() == "log" and loglog.axes[0].get_yscale() == "log"
    fractions = figures.series_figure({"acc": {"x": [1, 2, 3], "y": [0.2, 0.5, 0.9], "ylabel": "accuracy"},
                                       "other": {"x": [1, 2, 3], "y": [0.1, 0.4, 0.8]}})
    ax = fractions.axes[0]
    assert ax.get_ylim() == (0.0, 1.02) and _integer_ticks(ax) and len(_lines(ax)) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["acc", "other"]
    counts = figures.series_figure({"rate": {"x": [1, 2, 3], "y": [5, 9, 4], "ylabel": "spikes / ms"}})
    assert counts.axes[0].get_ylabel() == "spikes / ms" and counts.axes[0].get_ylim() != (0.0, 1.02)


def test_trajectory_equal_aspect_and_start_marks():
    fig = figures.trajectory({"true": ([0, 1, 2], [0, 1, 0]), "decoded": ([0, 1.1, 2.1], [0, 0.9, 0.1])})
    ax = fig.axes[0]
    assert ax.get_aspect() == 1.0
    assert [line.get_label() for line in _lines(ax)] == ["true", "decoded"]


def test_to_png_writes_a_png():
    png = figures.to_png(figures.time_to_consensus([1, 2]))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_ccdf_and_mean_size_by_duration_compute_what_the_figures_draw():
    x, p = figures.ccdf([1, 1, 2, 4])
    assert x == [1.0, 2.0, 4.0] and p == [1.0, 0.5, 0.25]
    assert figures.ccdf([]) == ([], [])
    xs, ps = figures.ccdf(np.arange(1, 1001), points=20)
    assert len(xs) <= 20 and xs[0] == 1.0 and xs[-1] == 1000.0 and ps[-1] == pytest.approx(0.001)
    t, s = figures.mean_size_by_duration([2, 4, 3, 10], [1, 1, 2, 5])
    assert t == [1.0, 2.0, 5.0] and s == [3.0, 3.0, 10.0]
    with pytest.raises(ValueError):
        figures.mean_size_by_duration([1, 2], [1])


def test_avalanche_ccdf_axis_units():
    fig = figures.avalanche_ccdf(([1.0, 2.0], [1.0, 0.5]), ([1.0, 2.0], [1.0, 0.3]), units=("spikes", "time bins"))
    assert [ax.get_xlabel() for ax in fig.axes] == ["avalanche size (spikes)", "avalanche duration (time bins)"]


def test_agreement_onsets_bars_controls_and_p_values():
    fig = figures.agreement_onsets(0.6, {"shuffled": 0.2, "time-shifted": 0.25}, p_values={"shuffled": 0.01},
                                   events=40, window=2)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [0.6, 0.2, 0.25]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["observed", "shuffled", "time-shifted"]
    assert ax.get_ylim() == (0.0, 1.02) and "40 events within 2 bins" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["p = 0.01"]
    with pytest.raises(ValueError):
        figures.agreement_onsets(0.5, {})


def test_learned_sweep_measured_m_with_interval_theory_runaways_and_verdicts():
    agreement = [{"observed": 0.3, "shuffled": 0.1, "shifted": 0.12, "verdict": "supported", "events": 40},
                 {"observed": 0.05, "shuffled": 0.06, "shifted": 0.07, "verdict": "not supported", "events": 70}]
    fig = figures.learned_sweep([1.0, 0.5], [0.6, 1.01], ci=[(0.55, 0.65), (1.0, 1.02)], theory=[6.8, 5.0],
                                runaway=[0.02, 0.95], agreement=agreement, knob="connected_probability")
    top, middle, bottom = fig.axes
    labels = [line.get_label() for line in _lines(top)]
    assert labels == ["theory: cascade model's m", "critical (m = 1)"]  # the measured points are an errorbar
    assert list(_lines(top)[0].get_xdata()) == [0.5, 1.0] and list(_lines(top)[0].get_ydata()) == [5.0, 6.8]
    assert top.get_yscale() == "symlog" and top.get_ylim()[0] == 0.0  # linear below 1, log above (theory > 2)
    assert list(middle.get_lines()[0].get_ydata()) == [0.95, 0.02] and middle.get_ylim() == (0.0, 1.02)
    assert [t.get_text() for t in bottom.texts] == ["not supported (70 events)", "supported (40 events)"]
    assert bottom.get_xlabel() == "connected_probability" and top.get_xlabel() == ""
    near = figures.learned_sweep([0.2, 0.4], [0.9, 1.1])
    assert len(near.axes) == 1 and near.axes[0].get_yscale() == "linear"
    with pytest.raises(ValueError):
        figures.learned_sweep([0.1, 0.2], [1.0])
    with pytest.raises(ValueError):
        figures.learned_sweep([0.1, 0.2], [1.0, 0.9], theory=[1.0])
