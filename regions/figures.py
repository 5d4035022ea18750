"""Figures of the experiments, as functions: plain data in, a matplotlib ``Figure`` out.

Every function takes lists / mappings (what ``metrics.json`` holds, or numbers you computed
yourself), draws one figure and returns it without showing or saving it; :func:`to_png` turns a
figure into PNG bytes.  ``regions.report`` picks the figures of a run's protocol from these.

Conventions: accuracy axes run 0..1, count axes (sensations, columns, iterations, objects) get
integer ticks, heavy-tailed quantities (avalanche sizes and durations) are drawn on log-log
axes, published values are drawn as open markers with dashed lines beside ours (solid).

The figures use matplotlib's object API (``matplotlib.figure.Figure``, no pyplot state), so they
are safe to build in any thread and need no display.  matplotlib is the optional ``plot`` extra:
every function raises :class:`FiguresUnavailable` (an ``ImportError``) naming the install
command when it is missing.

>>> from regions import figures
>>> fig = figures.convergence({1: [0.0, 0.4, 0.9, 1.0], 3: [0.6, 1.0, 1.0, 1.0]})  # doctest: +SKIP
>>> open("convergence.png", "wb").write(figures.to_png(fig))                      # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "FiguresUnavailable",
    "available",
    "to_png",
    "convergence",
    "column_activity",
    "time_to_consensus",
    "capacity_curve",
    "capacity_trend",
    "avalanche_ccdf",
    "size_vs_duration",
    "branching_vs_knob",
    "network_diagram",
    "accuracy_curves",
    "trajectory",
    "series_figure",
    "agreement_onsets",
    "learned_sweep",
    "ccdf",
    "mean_size_by_duration",
]

#: Colours for published values and reference lines.
PUBLISHED_STYLE = {"linestyle": "--", "marker": "o", "markerfacecolor": "none", "color": "0.35"}


class FiguresUnavailable(ImportError):
    """matplotlib (the ``plot`` extra) is not installed."""


def available() -> bool:
    """Whether matplotlib can be imported (the figures can be drawn)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(rows: int = 1, cols: int = 1, *, width: float = 6.4, height: float = 4.0) -> tuple[Figure, Any]:
    """A new Figure with a grid of axes (``squeeze=False``: always a 2-D array of Axes)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise FiguresUnavailable(
            "figures need matplotlib, which is not installed: pip install 'cortical-columns[plot]'"
        ) from None
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (Agg renderer, no display needed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_pyplot_png(fig: Any, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Write a pyplot figure to ``path`` as PNG (parent folders made, tight layout), close it, return the path."""
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def _integer_ticks(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _accuracy_axis(ax: Axes, label: str = "accuracy") -> None:
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel(label)


def _finite(values: Sequence[Any]) -> list[float]:
    return [float(v) if isinstance(v, (int, float)) and v is not None and math.isfinite(v) else math.nan
            for v in values]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------------------- columns (2017)
def convergence(
    accuracy: Mapping[int, Sequence[float]],
    *,
    mean_sensations: Mapping[int, float] | None = None,
    published: Mapping[int, float] | None = None,
    published_label: str = "published",
    ideal: Mapping[int, float] | None = None,
) -> Figure:
    """Recognition by touch: accuracy vs sensations, one line per column count (2017 Fig 4A look).

    Parameters
    ----------
    accuracy : columns -> fraction of objects recognised after sensation 1, 2, ... (0..1).
    mean_sensations : columns -> our mean sensations to converge (right panel, solid).
    published : columns -> the published mean sensations to converge (right panel, dashed).
    ideal : columns -> the ideal observer's mean sensations on the same touches (dotted).

    The right panel (mean sensations vs columns, the 2017 Fig 4B look) is drawn when any of
    ``mean_sensations`` / ``published`` / ``ideal`` is given.
    """
    if not accuracy:
        raise ValueError("convergence: accuracy is empty (no column count to draw)")
    right = bool(mean_sensations or published or ideal)
    fig, axes = _figure(1, 2 if right else 1, width=10.5 if right else 6.4)
    ax = axes[0, 0]
    longest = 1
    for columns in sorted(accuracy):
        y = _finite(accuracy[columns])
        longest = max(longest, len(y))
        ax.plot(range(1, len(y) + 1), y, marker="o", label=_plural(int(columns), "column"))
    ax.set_xlim(0.5, longest + 0.5)
    _integer_ticks(ax.xaxis)
    ax.set_xlabel("sensations")
    _accuracy_axis(ax, "fraction of objects recognised")
    ax.set_title("recognition vs sensations")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    if right:
        ax2 = axes[0, 1]
        top = 1.0
        if mean_sensations:
            cols = sorted(mean_sensations)
            ys = _finite([mean_sensations[c] for c in cols])
            ax2.plot(cols, ys, marker="o", label="ours")
            top = max([top, *(v for v in ys if math.isfinite(v))])
        if ideal:
            cols = sorted(ideal)
            ys = _finite([ideal[c] for c in cols])
            ax2.plot(cols, ys, linestyle=":", marker="x", color="C2", label="ideal observer")
            top = max([top, *(v for v in ys if math.isfinite(v))])
        if published:
            cols = sorted(published)
            ys = [float(published[c]) for c in cols]
            ax2.plot(cols, ys, label=published_label, **PUBLISHED_STYLE)
            top = max([top, *ys])
        _integer_ticks(ax2.xaxis)
        everything = [*(mean_sensations or {}), *(published or {}), *(ideal or {})]
        ax2.set_xlim(min(everything) - 0.5, max(everything) + 0.5)
        ax2.set_ylim(0.0, top * 1.1)
        ax2.set_xlabel("columns")
        ax2.set_ylabel("mean sensations to converge")
        ax2.set_title("sensations to converge vs columns")
        ax2.legend()
        ax2.grid(alpha=0.3)
    return fig


def column_activity(
    steps: Sequence[Mapping[str, Any]],
    *,
    cells_per_column: Mapping[str, int],
    columns: int,
    code: Sequence[int] | None = None,
    max_columns: int = 4,
) -> Figure:
    """Raster of each column's active cells across sensations and settling iterations (2017 Fig 3 look).

    Parameters
    ----------
    steps : one entry per settling iteration, in time order: ``{"sensation": s (1-based),
        "iteration": i (0-based), "L23": [flat cell ids], "L4": [flat cell ids]}``; a flat id is
        ``column * cells_per_column[layer] + cell``.  Layers drawn are the keys of
        ``cells_per_column`` present in the steps (L2/3 first).
    cells_per_column : layer -> cells per column (``{"L23": 4096, "L4": 2400}``).
    columns : columns of the region; the first ``max_columns`` are drawn.
    code : flat L2/3 ids of the object's learned code: drawn in colour, other cells in grey.

    One panel per (layer, column): x is the settling step (ticks at the first iteration of each
    sensation, dotted lines between sensations), y the cells of that column that were ever
    active (the object's code at the bottom, then other cells in order of first activation).  L2/3 starts as the union of candidate objects and
    narrows to the code as the columns vote.
    """
    if not steps:
        raise ValueError("column_activity: no steps to draw")
    layers = [layer for layer in ("L23", "L4") if layer in cells_per_column and any(layer in s for s in steps)]
    layers += [layer for layer in cells_per_column if layer not in layers and any(layer in s for s in steps)]
    if not layers:
        raise ValueError(f"column_activity: the steps hold none of the layers {sorted(cells_per_column)}")
    shown = max(1, min(int(columns), int(max_columns)))
    fig, axes = _figure(len(layers), shown, width=3.2 * shown + 1.0, height=2.6 * len(layers) + 0.6)
    code_set = {int(c) for c in (code or [])}
    starts = [t for t, s in enumerate(steps) if t == 0 or s["sensation"] != steps[t - 1]["sensation"]]
    for r, layer in enumerate(layers):
        per = int(cells_per_column[layer])
        for c in range(shown):
            ax = axes[r, c]
            # rows: the object's code first (bottom), then other cells in order of first activation
            order: dict[int, int] = {cell: k for k, cell in enumerate(
                sorted(x for x in code_set if x // per == c))} if layer == "L23" else {}
            xs_code: list[int] = []
            ys_code: list[int] = []
            xs: list[int] = []
            ys: list[int] = []
            for t, step in enumerate(steps):
                for cell in step.get(layer, []):
                    cell = int(cell)
                    if cell // per != c:
                        continue
                    row = order.setdefault(cell, len(order))
                    if layer == "L23" and cell in code_set:
                        xs_code.append(t)
                        ys_code.append(row)
                    else:
                        xs.append(t)
                        ys.append(row)
            size = max(2.0, min(12.0, 1500.0 / max(len(steps) * max(len(order), 1), 1) ** 0.5))
            ax.scatter(xs, ys, s=size, marker="s", color="0.55", linewidths=0,
                       label="other cells" if layer == "L23" and code_set else "active cells")
            if xs_code:
                ax.scatter(xs_code, ys_code, s=size, marker="s", color="C3", linewidths=0, label="object's code")
            for start in starts[1:]:
                ax.axvline(start - 0.5, color="0.8", linestyle=":", linewidth=0.8)
            ax.set_xlim(-0.5, len(steps) - 0.5)
            ax.set_ylim(-0.5, max(len(order), 1) - 0.5)
            ax.set_xticks(starts, [str(steps[t]["sensation"]) for t in starts])
            _integer_ticks(ax.yaxis)
            ax.set_title(f"column {c + 1}: {'L2/3' if layer == 'L23' else layer}", fontsize=10)
            if c == 0:
                ax.set_ylabel(f"{'L2/3' if layer == 'L23' else layer} cells ever active")
            if r == len(layers) - 1:
                ax.set_xlabel("sensation (settling iterations between ticks)")
            if r == 0 and c == shown - 1 and code_set:
                ax.legend(loc="upper right", fontsize=7, markerscale=3)
    return fig


def time_to_consensus(
    iterations: Sequence[int],
    *,
    by_columns: Mapping[int, float] | None = None,
) -> Figure:
    """Settling iterations to consensus: histogram over sensations, and mean vs columns.

    Parameters
    ----------
    iterations : settling iterations each sensation took to reach its fixed point or cycle
        (non-negative integers; 0 = the state did not change).
    by_columns : columns -> mean iterations to consensus (right panel) when given.
    """
    values = [int(v) for v in iterations]
    if not values:
        raise ValueError("time_to_consensus: no iterations to draw")
    if any(v < 0 for v in values):
        raise ValueError(f"time_to_consensus: iterations must be >= 0, got {min(values)}")
    fig, axes = _figure(1, 2 if by_columns else 1, width=10.5 if by_columns else 6.4)
    ax = axes[0, 0]
    top = max(values)
    counts = [values.count(k) for k in range(top + 1)]
    ax.bar(range(top + 1), counts, width=0.8, color="C0")
    ax.set_xlim(-0.6, top + 0.6)
    _integer_ticks(ax.xaxis)
    _integer_ticks(ax.yaxis)
    ax.set_xlabel("settling iterations to consensus")
    ax.set_ylabel("sensations")
    ax.set_title(f"time to consensus ({_plural(len(values), 'sensation')})")
    if by_columns:
        ax2 = axes[0, 1]
        cols = sorted(by_columns)
        ax2.plot(cols, _finite([by_columns[c] for c in cols]), marker="o", label="mean")
        _integer_ticks(ax2.xaxis)
        ax2.set_xlim(min(cols) - 0.5, max(cols) + 0.5)
        ax2.set_ylim(bottom=0.0)
        ax2.set_xlabel("columns")
        ax2.set_ylabel("mean iterations to consensus")
        ax2.set_title("time to consensus vs columns")
        ax2.grid(alpha=0.3)
    return fig


# ------------------------------------------------------------------------------ locations (2019)
def capacity_curve(
    objects: Sequence[int],
    recognised: Sequence[float],
    *,
    threshold: float = 0.9,
    published_capacity: float | None = None,
) -> Figure:
    """Recognised fraction vs number of learned objects (2019 Fig 8 look).

    Parameters
    ----------
    objects : learned object counts (x, integers).
    recognised : fraction recognised at each count (0..1).
    threshold : the capacity criterion, drawn as a horizontal line (0.9 = fewer than 10 % fail).
    published_capacity : the published capacity, drawn as a dashed vertical line.
    """
    if len(objects) != len(recognised) or len(objects) == 0:
        raise ValueError(f"capacity_curve: {len(objects)} object counts and {len(recognised)} fractions")
    fig, axes = _figure()
    ax = axes[0, 0]
    ax.plot([int(o) for o in objects], _finite(recognised), marker="o", label="ours")
    ax.axhline(threshold, color="0.6", linestyle=":", label=f"capacity criterion ({threshold:g})")
    if published_capacity is not None:
        ax.axvline(published_capacity, color=PUBLISHED_STYLE["color"], linestyle="--",
                   label=f"published capacity ({published_capacity:g})")
    _integer_ticks(ax.xaxis)
    ax.set_xlabel("objects learned")
    _accuracy_axis(ax, "fraction of objects recognised")
    ax.set_title("recognition vs objects learned")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    return fig


def capacity_trend(
    published: Mapping[int, float],
    *,
    ours: Mapping[int, float] | None = None,
    xlabel: str = "cells per axis",
    this_run: tuple[int, int, float] | None = None,
) -> Figure:
    """Capacity (objects) vs a network size knob, ours beside published (2019 Fig 8B/C look).

    Parameters
    ----------
    published : knob value -> published capacity (objects).
    ours : knob value -> our measured capacity, when a capacity search was run.
    xlabel : the knob (``cells per axis``, ``feature pool``).
    this_run : ``(knob, objects, recognised fraction)`` of a run that was no capacity search: drawn
        as one annotated point (filled when recognised >= 0.9, open otherwise).
    """
    if not published:
        raise ValueError("capacity_trend: no published values")
    fig, axes = _figure()
    ax = axes[0, 0]
    ks = sorted(published)
    ax.plot(ks, [published[k] for k in ks], label="published", **PUBLISHED_STYLE)
    if ours:
        ko = sorted(ours)
        ax.plot(ko, [ours[k] for k in ko], marker="o", color="C0", label="ours (capacity search)")
    if this_run is not None:
        knob, n, fraction = this_run
        ax.plot([knob], [n], marker="*", markersize=12, linestyle="none", color="C3",
                markerfacecolor="C3" if fraction >= 0.9 else "none",
                label=f"this run: {n} objects, {fraction:.2f} recognised")
    _integer_ticks(ax.xaxis)
    _integer_ticks(ax.yaxis)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("capacity (objects, < 10 % failures)")
    ax.set_title(f"capacity vs {xlabel}")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig


# ------------------------------------------------------------------------------------- dynamics
def _fit_line(ax: Axes, x: Sequence[float], y: Sequence[float], exponent: float | None,
              x_min: float | None, symbol: str) -> None:
    """Draw the power-law CCDF P(X >= x) ~ x^-(exponent - 1) over the fit range [x_min, max x]."""
    if exponent is None or x_min is None or not math.isfinite(exponent) or len(x) == 0:
        return
    xs = [float(v) for v in x]
    x_max = max(xs)
    if x_min > x_max:
        return
    # anchor at the empirical CCDF at x_min (the first point >= x_min)
    anchor = next((yy for xx, yy in zip(xs, y) if xx >= x_min), None)
    if anchor is None or anchor <= 0:
        return
    grid = [x_min * (x_max / x_min) ** (k / 49) for k in range(50)] if x_max > x_min else [x_min]
    ax.plot(grid, [anchor * (g / x_min) ** (1.0 - exponent) for g in grid], color="C3", linestyle="--",
            label=f"fit {symbol} = {exponent:.2f}, range {x_min:g}..{x_max:g}")
    ax.axvspan(x_min, x_max, color="C3", alpha=0.06)


def avalanche_ccdf(
    sizes: tuple[Sequence[float], Sequence[float]],
    durations: tuple[Sequence[float], Sequence[float]] | None = None,
    *,
    tau: float | None = None,
    tau_x_min: float | None = None,
    alpha: float | None = None,
    alpha_x_min: float | None = None,
    label: str = "measured",
    units: tuple[str, str] = ("active cells", "steps"),
) -> Figure:
    """Avalanche size (and duration) distributions: log-log CCDF with the power-law fit and its range.

    Parameters
    ----------
    sizes : ``(x, P(S >= x))``, the empirical complementary CDF of avalanche sizes (x > 0).
    durations : the same for durations (right panel) when given.
    tau, tau_x_min : size exponent of P(S = s) ~ s^-tau fitted on s >= tau_x_min; the CCDF
        falls as s^-(tau - 1): drawn dashed over the fit range, which is shaded.
    alpha, alpha_x_min : the same for durations.
    units : units of size and duration, shown on the x axes.
    """
    panels = [("size", sizes, tau, tau_x_min, "τ")]
    if durations is not None:
        panels.append(("duration", durations, alpha, alpha_x_min, "α"))
    fig, axes = _figure(1, len(panels), width=5.4 * len(panels) + 0.6)
    for k, (name, (x, y), exponent, x_min, symbol) in enumerate(panels):
        ax = axes[0, k]
        if len(x) != len(y):
            raise ValueError(f"avalanche_ccdf: {name} x has {len(x)} points, y {len(y)}")
        if any(float(v) <= 0 for v in x):
            raise ValueError(f"avalanche_ccdf: {name} values must be positive for log axes")
        ax.plot(list(x), list(y), marker=".", linestyle="-", label=label)
        _fit_line(ax, x, y, exponent, x_min, symbol)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"avalanche {name} ({units[0] if name == 'size' else units[1]})")
        ax.set_ylabel(f"P({'S' if name == 'size' else 'T'} ≥ x)")
        ax.set_title(f"avalanche {name} distribution")
        ax.legend(loc="lower left", fontsize=8)
        ax.grid(alpha=0.3, which="both")
    return fig


def size_vs_duration(
    durations: Sequence[float],
    mean_sizes: Sequence[float],
    *,
    gamma: float | None = None,
    gamma_predicted: float | None = None,
) -> Figure:
    """Mean avalanche size <S>(T) vs duration T on log-log axes, with the fitted slope gamma.

    ``gamma_predicted`` ((alpha - 1) / (tau - 1), the crackling-noise relation) is drawn as a
    second dashed slope when given; both lines pass through the geometric centre of the data.
    """
    if len(durations) != len(mean_sizes) or len(durations) == 0:
        raise ValueError(f"size_vs_duration: {len(durations)} durations and {len(mean_sizes)} sizes")
    fig, axes = _figure()
    ax = axes[0, 0]
    t = [float(v) for v in durations]
    s = [float(v) for v in mean_sizes]
    ax.plot(t, s, marker="o", linestyle="none", label="measured <S>(T)")
    logt = [math.log(v) for v in t if v > 0]
    logs = [math.log(v) for v in s if v > 0]
    if logt and logs:
        ct, cs = math.exp(sum(logt) / len(logt)), math.exp(sum(logs) / len(logs))
        span = [min(t), max(t)]
        for value, style, name in ((gamma, "--", "fit γ"), (gamma_predicted, ":", "predicted γ")):
            if value is not None and math.isfinite(value):
                ax.plot(span, [cs * (v / ct) ** value for v in span], linestyle=style, color="C3" if style == "--"
                        else "0.4", label=f"{name} = {value:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("avalanche duration T (steps)")
    ax.set_ylabel("mean size <S>(T)")
    ax.set_title("<S>(T)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3, which="both")
    return fig


def branching_vs_knob(
    values: Sequence[float],
    measured: Sequence[float],
    *,
    analytic: Sequence[float] | None = None,
    knob: str = "coupling",
    analytic_critical: float | None = None,
) -> Figure:
    """Branching ratio m vs a coupling knob: measured points, the analytic line, m = 1 marked.

    ``analytic_critical`` (the knob value where the analytic m reaches 1) is drawn as a dotted
    vertical line.
    """
    if len(values) != len(measured) or len(values) == 0:
        raise ValueError(f"branching_vs_knob: {len(values)} values and {len(measured)} measurements")
    if analytic is not None and len(analytic) != len(values):
        raise ValueError(f"branching_vs_knob: {len(values)} values and {len(analytic)} analytic points")
    fig, axes = _figure()
    ax = axes[0, 0]
    order = sorted(range(len(values)), key=lambda i: values[i])
    xs = [float(values[i]) for i in order]
    if analytic is not None:
        ax.plot(xs, [float(analytic[i]) for i in order], color="0.35", linestyle="-", label="analytic")
    ax.plot(xs, _finite([measured[i] for i in order]), marker="o", linestyle="none", color="C0", label="measured")
    ax.axhline(1.0, color="C3", linestyle=":", label="critical (m = 1)")
    if analytic_critical is not None and math.isfinite(analytic_critical):
        ax.axvline(analytic_critical, color="C3", linestyle="--", alpha=0.6,
                   label=f"analytic critical value {analytic_critical:.3g}")
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel(knob)
    ax.set_ylabel("branching ratio m")
    ax.set_title("branching ratio vs coupling")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def agreement_onsets(
    observed: float,
    controls: Mapping[str, float],
    *,
    p_values: Mapping[str, float] | None = None,
    events: int | None = None,
    window: int | None = None,
) -> Figure:
    """Cluster agreement vs avalanche onsets: the observed fraction beside its controls' means (0..1).

    Parameters
    ----------
    observed : fraction of "cluster reaches agreement" events followed (within ``window`` bins) by an
        avalanche starting in the same cluster.
    controls : control name -> mean of the same statistic with the agreement times shuffled /
        shifted (the chance level).
    p_values : control name -> one-sided p of observed against that control, shown on its bar.
    events : number of agreement events (in the title).
    """
    if not controls:
        raise ValueError("agreement_onsets: no controls to compare with")
    fig, axes = _figure(width=5.6, height=4.0)
    ax = axes[0, 0]
    names = ["observed", *controls]
    values = [float(observed), *(float(v) for v in controls.values())]
    bars = ax.bar(range(len(names)), _finite(values), color=["C3", *(["0.6"] * len(controls))])
    for bar, name in zip(bars[1:], controls):
        if p_values and name in p_values and p_values[name] is not None:
            ax.annotate(f"p = {float(p_values[name]):.3g}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)), names)
    _accuracy_axis(ax, "agreement events followed by an onset")
    within = f" within {window} bins" if window else ""
    ax.set_title("cluster agreement -> avalanche onset" + (f" ({_plural(int(events), 'event')}{within})"
                                                          if events is not None else ""), fontsize=10)
    return fig


def learned_sweep(
    values: Sequence[float],
    measured: Sequence[float],
    *,
    ci: Sequence[Sequence[float]] | None = None,
    theory: Sequence[float] | None = None,
    runaway: Sequence[float] | None = None,
    agreement: Sequence[Mapping[str, Any]] | None = None,
    knob: str = "knob",
) -> Figure:
    """A knob swept through the learned network: measured m beside the theory line, runaways, agreement.

    Parameters
    ----------
    values : the knob's values (x).
    measured : measured branching ratio at each value (points), ``ci`` its 95 % interval per value
        (``(low, high)``, error bars).
    theory : the analytic cascade model's m at each value (a grey line); m = 1 is drawn dotted.  When
        anything drawn exceeds 2 the m axis is linear up to 1 and logarithmic above it.
    runaway : fraction of runaway avalanches per value (a panel below, 0..1).
    agreement : per value a mapping with ``observed``, ``shuffled``, ``shifted`` (share of
        cluster-agreement events followed by an onset, and the controls' means), ``verdict`` and
        ``events``; a panel below with each verdict written at its value.
    """
    n = len(values)
    if n == 0 or len(measured) != n:
        raise ValueError(f"learned_sweep: {n} values and {len(measured)} measurements")
    for name, seq in (("ci", ci), ("theory", theory), ("runaway", runaway), ("agreement", agreement)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"learned_sweep: {n} values and {len(seq)} {name} entries")
    rows = 1 + (runaway is not None) + (agreement is not None)
    fig, axes = _figure(rows, 1, width=6.4, height=3.6 + 2.4 * (rows - 1))
    order = sorted(range(n), key=lambda i: float(values[i]))
    xs = [float(values[i]) for i in order]
    m = _finite([measured[i] for i in order])
    ax = axes[0, 0]
    drawn = [v for v in m if math.isfinite(v)]
    if theory is not None:
        line = _finite([theory[i] for i in order])
        drawn += [v for v in line if math.isfinite(v)]
        ax.plot(xs, line, color="0.35", linestyle="-", marker=".", label="theory: cascade model's m")
    if ci is not None:
        low = _finite([ci[i][0] if ci[i] is not None and len(ci[i]) == 2 else None for i in order])
        high = _finite([ci[i][1] if ci[i] is not None and len(ci[i]) == 2 else None for i in order])
        below = [max(v - lo, 0.0) if math.isfinite(v) and math.isfinite(lo) else 0.0 for v, lo in zip(m, low)]
        above = [max(hi - v, 0.0) if math.isfinite(v) and math.isfinite(hi) else 0.0 for v, hi in zip(m, high)]
        ax.errorbar(xs, m, yerr=[below, above], marker="o", linestyle="-", color="C0", capsize=3,
                    label="measured m (95 % interval)")
        drawn += [v for v in high if math.isfinite(v)]
    else:
        ax.plot(xs, m, marker="o", linestyle="-", color="C0", label="measured m")
    ax.axhline(1.0, color="C3", linestyle=":", label="critical (m = 1)")
    if drawn and max(drawn) > 2.0:
        ax.set_yscale("symlog", linthresh=1.0, linscale=1.0)
        ax.set_ylim(0.0, max(drawn) * 1.3)
        ticks = [t for t in (0.0, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0) if t <= max(drawn) * 1.3]
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_ylabel("branching ratio m\n(linear below 1, log above)")
    else:
        ax.set_ylim(bottom=0.0)
        ax.set_ylabel("branching ratio m")
    ax.set_title("measured branching ratio vs the theory line", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    row = 1
    if runaway is not None:
        ax = axes[row, 0]
        ax.plot(xs, _finite([runaway[i] for i in order]), marker="s", color="C3", label="runaway avalanches")
        _accuracy_axis(ax, "runaway fraction")
        ax.grid(alpha=0.3)
        row += 1
    if agreement is not None:
        ax = axes[row, 0]
        rows_ = [agreement[i] or {} for i in order]
        ax.plot(xs, _finite([r.get("observed") for r in rows_]), marker="o", color="C3", label="observed")
        for key, style in (("shuffled", "--"), ("shifted", ":")):
            ax.plot(xs, _finite([r.get(key) for r in rows_]), color="0.45", linestyle=style,
                    label=f"{'time-shifted' if key == 'shifted' else key} control (mean)")
        for x, r in zip(xs, rows_):
            events = r.get("events")
            text = str(r.get("verdict", "")) + (f" ({_plural(int(events), 'event')})" if events is not None else "")
            ax.annotate(text, (x, 1.0), xytext=(0, -4), textcoords="offset points", ha="center", va="top",
                        rotation=90, fontsize=7, color="0.2")
        _accuracy_axis(ax, "agreement events\nfollowed by an onset")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=7, frameon=False)
        ax.grid(alpha=0.3)
    for k in range(rows):
        axes[k, 0].set_xlabel(knob if k == rows - 1 else "")
    return fig


# -------------------------------------------------------------------------------------- network
_LAYER_ROWS = {"L1": 4, "L23": 3, "L4": 2, "L5": 1, "L6": 0}


def network_diagram(
    regions: Sequence[Mapping[str, Any]],
    connections: Sequence[Mapping[str, Any]],
    *,
    wiring: Sequence[tuple[str, str]] = (),
    lateral: nx.Graph | None = None,
    lateral_title: str = "lateral graph",
) -> Figure:
    """The network drawn: regions side by side, each column's layers stacked, connections as arrows.

    Parameters
    ----------
    regions : ``{"name": str, "columns": int, "layers": [layer names]}`` per region, in order.
    connections : ``{"kind", "source", "source_layer", "target", "target_layer"}`` (target_layer
        may be None: the target's L4) per inter-region connection.
    wiring : ``(source layer, target layer)`` pairs inside a column (``config.column_wiring``).
    lateral : the first region's lateral graph (columns as nodes); drawn in a second panel with
        its clusters coloured (node attribute ``block`` when present, else modularity
        communities).
    """
    import networkx as nx

    if not regions:
        raise ValueError("network_diagram: no regions")
    fig, axes = _figure(1, 2 if lateral is not None else 1, width=11.0 if lateral is not None else 6.4,
                        height=4.6)
    ax = axes[0, 0]
    g = nx.DiGraph()
    pos: dict[tuple[str, str], tuple[float, float]] = {}
    for i, region in enumerate(regions):
        for layer in region["layers"]:
            node = (str(region["name"]), str(layer))
            g.add_node(node)
            pos[node] = (2.2 * i, float(_LAYER_ROWS.get(str(layer), -1)))
        for src, dst in wiring:
            if src in region["layers"] and dst in region["layers"]:
                g.add_edge((region["name"], src), (region["name"], dst), kind="column")
    cross = []
    for conn in connections:
        target_layer = conn.get("target_layer") or "L4"
        a, b = (conn["source"], conn["source_layer"]), (conn["target"], target_layer)
        if a in pos and b in pos:
            g.add_edge(a, b, kind=conn.get("kind", "connection"))
            cross.append((a, b, conn.get("kind", "connection")))
    inner = [(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "column"]
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=900, node_color="#dbe8f5", edgecolors="C0")
    nx.draw_networkx_labels(g, pos, ax=ax, labels={n: n[1].replace("L23", "L2/3") for n in g.nodes}, font_size=8)
    nx.draw_networkx_edges(g, pos, ax=ax, edgelist=inner, node_size=900, edge_color="0.45",
                           arrows=True, arrowstyle="-|>", connectionstyle="arc3,rad=0.25")
    colours = {"feedforward": "C2", "feedback": "C1"}
    for a, b, kind in cross:
        nx.draw_networkx_edges(g, pos, ax=ax, edgelist=[(a, b)], node_size=900, edge_color=colours.get(kind, "C4"),
                               width=2.0, arrows=True, arrowstyle="-|>", connectionstyle="arc3,rad=-0.15")
    for kind in sorted({k for _, _, k in cross}):
        ax.plot([], [], color=colours.get(kind, "C4"), linewidth=2, label=kind)
    ax.plot([], [], color="0.45", label="inside a column")
    for i, region in enumerate(regions):
        ax.text(2.2 * i, 5.0, f"{region['name']}\n{_plural(int(region['columns']), 'column')}", ha="center",
                va="center", fontsize=10, fontweight="bold")
    ax.set_xlim(-1.1, 2.2 * (len(regions) - 1) + 1.1)
    ax.set_ylim(-0.8, 5.7)
    ax.set_title("regions, layers and connections")
    ax.legend(loc="lower center", fontsize=7, ncol=3, bbox_to_anchor=(0.5, -0.02))
    ax.set_axis_off()
    if lateral is not None:
        ax2 = axes[0, 1]
        clusters = _clusters(lateral)
        node_colour = [f"C{clusters.get(n, 0) % 10}" for n in lateral.nodes]
        layout = nx.spring_layout(lateral, seed=0) if lateral.number_of_nodes() > 1 else {
            n: (0.0, 0.0) for n in lateral.nodes}
        size = max(20, 300 - 2 * lateral.number_of_nodes())
        nx.draw_networkx_edges(lateral, layout, ax=ax2, edge_color="0.7", width=0.6)
        nx.draw_networkx_nodes(lateral, layout, ax=ax2, node_size=size, node_color=node_colour)
        if lateral.number_of_nodes() <= 16:
            nx.draw_networkx_labels(lateral, layout, ax=ax2, labels={n: str(n) for n in lateral.nodes}, font_size=7)
        n_clusters = len(set(clusters.values()))
        ax2.set_title(f"{lateral_title}\n{_plural(lateral.number_of_nodes(), 'column')}, "
                      f"{_plural(lateral.number_of_edges(), 'edge')}, {_plural(n_clusters, 'cluster')}", fontsize=10)
        ax2.set_axis_off()
    return fig


def _clusters(graph: nx.Graph) -> dict[Any, int]:
    """Node -> cluster index: the ``block`` attribute when every node has one, else modularity communities."""
    import networkx as nx

    blocks = nx.get_node_attributes(graph, "block")
    if graph.number_of_nodes() and len(blocks) == graph.number_of_nodes():
        names = {b: k for k, b in enumerate(sorted(set(blocks.values()), key=str))}
        return {n: names[b] for n, b in blocks.items()}
    if graph.number_of_edges() == 0:
        return {n: 0 for n in graph.nodes}
    communities = nx.community.greedy_modularity_communities(graph)
    return {n: k for k, members in enumerate(communities) for n in members}


# ------------------------------------------------------------------------------ generic figures
def accuracy_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str = "accuracy",
    baselines: Mapping[str, float] | None = None,
    title: str = "",
    styles: Mapping[str, Mapping[str, Any]] | None = None,
) -> Figure:
    """Accuracy-like curves (0..1) over an integer x (sensations, saccades, objects learned).

    Parameters
    ----------
    curves : label -> ``(x, y)``; x integers, y fractions in 0..1 (None / nan drawn as gaps).
    baselines : label -> a constant accuracy drawn as a dashed horizontal line (a baseline that
        does not depend on x, such as 1-nearest-neighbour on pixels).
    styles : label -> extra matplotlib line keywords (``{"linestyle": "--"}``).
    """
    if not curves:
        raise ValueError("accuracy_curves: no curves")
    fig, axes = _figure()
    ax = axes[0, 0]
    xs_all: list[float] = []
    for label, (x, y) in curves.items():
        if len(x) != len(y):
            raise ValueError(f"accuracy_curves: curve {label!r} has {len(x)} x and {len(y)} y values")
        xs_all += [float(v) for v in x]
        ax.plot(list(x), _finite(y), label=label, **{"marker": "o", **dict((styles or {}).get(label, {}))})
    for k, (label, value) in enumerate((baselines or {}).items()):
        ax.axhline(float(value), linestyle=("--", ":", "-.")[k % 3], color=f"C{(k + 5) % 10}",
                   label=f"{label} ({float(value):.2f})")
    if xs_all:
        ax.set_xlim(min(xs_all) - 0.5, max(xs_all) + 0.5)
    _integer_ticks(ax.xaxis)
    ax.set_xlabel(xlabel)
    _accuracy_axis(ax, ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def trajectory(
    paths: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str = "x",
    ylabel: str = "y",
    title: str = "trajectory",
) -> Figure:
    """Paths in the plane on equal axes (true vs decoded position); start marked with a circle."""
    if not paths:
        raise ValueError("trajectory: no paths")
    fig, axes = _figure(width=5.6, height=5.0)
    ax = axes[0, 0]
    for k, (label, (x, y)) in enumerate(paths.items()):
        if len(x) != len(y):
            raise ValueError(f"trajectory: path {label!r} has {len(x)} x and {len(y)} y values")
        ax.plot(list(x), list(y), linewidth=1.2 if k == 0 else 1.0, linestyle="-" if k == 0 else "--", label=label)
        if len(x):
            ax.plot([x[0]], [y[0]], marker="o", color=f"C{k}")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return fig


def series_figure(series: Mapping[str, Mapping[str, Any]], *, title: str = "") -> Figure:
    """Overlay metric series sharing one y quantity: ``name -> {"x", "y", "xlabel", "ylabel", "loglog"}``.

    Integer x values get integer ticks, fractions in 0..1 with a y label naming an accuracy or
    fraction get the 0..1 axis, ``loglog`` series get log axes.
    """
    if not series:
        raise ValueError("series_figure: no series")
    fig, axes = _figure()
    ax = axes[0, 0]
    loglog = any(bool(s.get("loglog")) for s in series.values())
    ints = True
    ys_all: list[float] = []
    xlabel = ylabel = ""
    for name, s in series.items():
        y = _finite(list(s.get("y", [])))
        x = list(s.get("x", range(1, len(y) + 1)))
        if len(x) != len(y):
            raise ValueError(f"series_figure: series {name!r} has {len(x)} x and {len(y)} y values")
        ints = ints and all(isinstance(v, int) and not isinstance(v, bool) for v in x)
        ys_all += [v for v in y if math.isfinite(v)]
        xlabel = xlabel or str(s.get("xlabel", ""))
        ylabel = ylabel or str(s.get("ylabel", ""))
        ax.plot(x, y, marker="." if len(y) <= 60 else None, label=name)
    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
    elif ints:
        _integer_ticks(ax.xaxis)
    label = ylabel.lower()
    if not loglog and ys_all and min(ys_all) >= 0 and max(ys_all) <= 1 and any(
            w in label for w in ("accuracy", "fraction", "recognised", "agreement")):
        _accuracy_axis(ax, ylabel)
    else:
        ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


# ----------------------------------------------------------------------- data for the figures
def ccdf(values: Sequence[float] | Any, *, points: int = 120) -> tuple[list[float], list[float]]:
    """Empirical complementary CDF ``P(X >= x)`` of positive values at up to ``points`` log-spaced x.

    Returns ``(x, p)`` lists (JSON-ready) for :func:`avalanche_ccdf`; empty lists for no values.
    """
    import numpy as np

    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return [], []
    u, counts = np.unique(v, return_counts=True)
    survival = np.cumsum(counts[::-1])[::-1] / v.size
    if u.size > points and u[0] > 0:
        pick = np.unique(np.searchsorted(u, np.geomspace(u[0], u[-1], points)).clip(0, u.size - 1))
        u, survival = u[pick], survival[pick]
    return [float(x) for x in u], [float(p) for p in survival]


def mean_size_by_duration(sizes: Sequence[float] | Any, durations: Sequence[float] | Any) -> tuple[list[float], list[float]]:
    """``(T, <S>(T))``: each distinct avalanche duration and the mean size of avalanches that long."""
    import numpy as np

    s = np.asarray(sizes, dtype=np.float64).ravel()
    d = np.asarray(durations, dtype=np.float64).ravel()
    if s.shape != d.shape:
        raise ValueError(f"mean_size_by_duration: {s.size} sizes and {d.size} durations")
    if s.size == 0:
        return [], []
    t, inverse = np.unique(d, return_inverse=True)
    mean = np.bincount(inverse, weights=s) / np.bincount(inverse)
    return [float(x) for x in t], [float(m) for m in mean]
