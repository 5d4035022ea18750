"""Criticality benchmark: avalanche exponents, branching ratio and fit speed against ground truth.

Ground truth is a Galton-Watson process with Poisson(m) offspring (tau = 3/2, alpha = 2,
gamma = 2 at m = 1) and a driven branching network for multistep regression.  Prints:

1. exponents at m = 1 (1e5 avalanches) with the finite-size expectation of each estimator at the
   x_min it chose (the infinite-sample limit of the discrete MLE on the exact law);
2. fit time of our x_min scan against the ``powerlaw`` package on the same sizes;
3. preferred size distributions at m = 0.9 / 1.0 / 1.1, and the lognormal fit at m = 1, x_min 2
   against an independent optimiser (profile likelihood: Brent over mu inside Brent over sigma);
4. branching ratio by multistep regression (fully observed and 10 % of units) and pooled;
5. the learned network (configs/learned_criticality.yaml, protocol ``learned_criticality``): the
   lateral distal threshold swept through ``experiment.sweep``; per value the measured m (multistep
   regression, 95 % interval; pooled), the analytic cascade model's m beside it, tau, alpha, gamma
   both routes, the preferred law, the runaway fraction, and the cluster-agreement test.

Run:  python benchmarks/criticality.py [--n-avalanches 100000] [--seed 0] [--skip-powerlaw]
                                       [--learned-only] [--skip-learned] [--stream 1000]

Measured (seed 0, 2 shared cores): the lognormal at m = 1, x_min 2 reaches -263563.259 against the
independent optimum -263563.258 (before the fix: -264676.2).  Section 5, 1000 sensations per value,
716 s:

    knob  m (MR) [95% CI]       m pool  m model  tau   alpha  runaway  n_aval  agreement test
       1  0.888 [0.828, 0.949]  0.525   6.79     2.32  4.75   0.51     1081    no events
       2  0.980 [0.938, 1.021]  0.668   6.79     2.35  3.29   0.71     1186    5 events, p = 1.0
       3  0.640 [0.621, 0.659]  0.502   6.79     3.34  3.40   0.22     1108    4 events, p = 1.0
       4  0.469 [0.458, 0.480]  0.453   6.79     3.34  3.60   0.01      928    4 events, p = 1.0
       5  0.512 [0.453, 0.571]  0.456   6.79     2.51  3.74   0.00      829    4 events, p = 1.0

m does not cross 1 inside the range: below threshold 3 the region does not branch more, it locks
into cycles (runaway 0.71 at threshold 2: the sensation never reaches a fixed point) -- an abrupt
transition with no integer threshold between, so tau / alpha near m = 1 stay far from 1.5 / 2
(2.35 / 3.29 on 1186 avalanches, most of the large ones runaways and excluded).  The cascade model
predicts m = 6.79 at every threshold (every learned lateral synapse is connected, so one vote fires
its segment whatever the threshold up to the sample size): the learned network's competition
between votes and inertia, which the model leaves out, holds m below 1.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

# run as a script, this folder comes first on sys.path and its columns.py would shadow the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np
from scipy import optimize, special

from regions import dynamics as dyn
from regions.dynamics.power_law import _exact_exponents


def limiting_exponent(values: np.ndarray, pmf: np.ndarray, tail_mass: float, tail_mean_log: float, x_min: int) -> float:
    """Infinite-sample limit of the discrete MLE on x >= x_min of a known law (tabulated pmf + tail)."""
    keep = values >= x_min
    mass = pmf[keep].sum() + tail_mass
    mean_log = (np.dot(pmf[keep], np.log(values[keep])) + tail_mass * tail_mean_log) / mass
    return float(_exact_exponents(np.array([float(x_min)]), np.array([mean_log]), np.array([10.0]))[0])


def exact_critical_laws(n_sizes: int = 10**7, n_durations: int = 10**6):
    """Exact pmfs at m = 1: Borel sizes e^-s s^(s-1)/s!, durations from q_{n+1} = exp(q_n - 1)."""
    s = np.arange(1, n_sizes + 1, dtype=np.float64)
    size_pmf = np.exp(-s + (s - 1) * np.log(s) - special.gammaln(s + 1))
    size_tail = max(0.0, 1.0 - size_pmf.sum())  # beyond the table: P ~ s^-3/2, E[ln s] = ln N + 2
    q = np.empty(n_durations + 1)
    q[0] = 0.0
    value = 0.0
    for n in range(1, n_durations + 1):
        value = math.exp(value - 1.0)
        q[n] = value
    duration_pmf = np.diff(q)
    duration_tail = 1.0 - q[-1]  # beyond: P ~ t^-2, E[ln t] = ln N + 1
    t = np.arange(1, n_durations + 1, dtype=np.float64)

    def size_limit(x_min: int) -> float:
        return limiting_exponent(s, size_pmf, size_tail, np.log(n_sizes) + 2.0, x_min)

    def duration_limit(x_min: int) -> float:
        return limiting_exponent(t, duration_pmf, duration_tail, np.log(n_durations) + 1.0, x_min)

    return size_limit, duration_limit


def independent_lognormal_optimum(sizes: np.ndarray, x_min: int) -> tuple[float, float, float]:
    """Binned-lognormal MLE on sizes >= x_min by profile likelihood, written apart from
    regions.dynamics: for each sigma the best mu by bounded Brent, then the best sigma by bounded
    Brent around the best of 24 log-spaced sigmas in [0.05, 200].  Returns (LL, mu, sigma)."""
    u, w = np.unique(sizes[sizes >= x_min], return_counts=True)
    u, w = u.astype(np.float64), w.astype(np.float64)
    upper, lower, edge = np.log(u + 0.5), np.log(u - 0.5), np.log(x_min - 0.5)

    def nll(mu: float, sigma: float) -> float:
        a, b = (lower - mu) / sigma, (upper - mu) / sigma
        right = a > 0
        big = np.where(right, special.log_ndtr(-a), special.log_ndtr(b))
        small = np.where(right, special.log_ndtr(-b), special.log_ndtr(a))
        with np.errstate(divide="ignore"):
            value = -(float(w @ (big + np.log1p(-np.exp(small - big))))
                      - w.sum() * float(special.log_ndtr(-(edge - mu) / sigma)))
        return value if np.isfinite(value) else np.inf

    top = float(np.log(u[-1])) + 5.0

    def profile(log_sigma: float) -> tuple[float, float]:
        sigma = float(np.exp(log_sigma))
        r = optimize.minimize_scalar(lambda mu: nll(mu, sigma), method="bounded",
                                     bounds=(-3.0 * sigma**2 - 50.0, top), options={"xatol": 1e-10})
        return float(r.fun), float(r.x)

    grid = np.linspace(np.log(0.05), np.log(200.0), 24)
    values = [profile(g)[0] for g in grid]
    k = int(np.argmin(values))
    outer = optimize.minimize_scalar(lambda g: profile(g)[0], method="bounded",
                                     bounds=(grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]),
                                     options={"xatol": 1e-10})
    value, mu = profile(float(outer.x))
    return -value, mu, float(np.exp(outer.x))


def status(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-avalanches", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-powerlaw", action="store_true", help="do not time the powerlaw package (~25 s)")
    parser.add_argument("--duration-floor", type=int, default=30, help="smallest x_min scanned for durations")
    parser.add_argument("--learned-only", action="store_true", help="only section 5 (the learned network)")
    parser.add_argument("--skip-learned", action="store_true", help="skip section 5")
    parser.add_argument("--stream", type=int, default=1000, help="sensations per knob value in section 5")
    parser.add_argument("--thresholds", type=str, default="1,2,3,4,5", help="distal thresholds swept in section 5")
    parser.add_argument("--events", type=int, default=10**7, help="events recorded and analysed in section 6")
    parser.add_argument("--chunk", type=int, default=100_000, help="events per chunk in section 6")
    parser.add_argument("--recording-only", action="store_true", help="only section 6 (recording at scale)")
    args = parser.parse_args(argv)
    if args.learned_only:
        return learned_network(args)
    if args.recording_only:
        return recording_at_scale(args)
    rng = np.random.default_rng(args.seed)
    n = args.n_avalanches

    # ---------------------------------------------------------------- 1. exponents at m = 1
    start = time.perf_counter()
    critical = dyn.galton_watson_avalanches(1.0, n, rng, profiles=True)
    simulate_s = time.perf_counter() - start
    start = time.perf_counter()
    result = dyn.crackling_noise(critical, duration_x_min_floor=args.duration_floor)
    analyse_s = time.perf_counter() - start
    size_limit, duration_limit = exact_critical_laws()
    tau, alpha = result.size_fit, result.duration_fit
    gamma_pred, gamma_pred_err = result.gamma_predicted
    print(f"Galton-Watson, Poisson(1) offspring: {n} avalanches in {simulate_s:.1f} s "
          f"(max_size {max(10**6, n * n):.0e}, {int(critical.truncated.sum())} censored); analysis {analyse_s:.2f} s")
    print(f"{'quantity':<30} {'estimate':>17} {'x_min':>6} {'n_tail':>7} {'limit@x_min':>11} {'truth':>6} {'target':>8}  ")
    rows = [
        ("tau (sizes, discrete MLE)", tau.exponent, tau.sigma, tau.x_min, tau.n_tail, size_limit(tau.x_min), 1.5, 0.01),
        (f"alpha (durations, x_min>={args.duration_floor})", alpha.exponent, alpha.sigma, alpha.x_min, alpha.n_tail,
         duration_limit(alpha.x_min), 2.0, 0.05),
        ("gamma, <S>(T) fit, T>=10", result.gamma_fit.gamma, result.gamma_fit.stderr, None, None, None, 2.0, 0.1),
        ("gamma = (alpha-1)/(tau-1)", gamma_pred, gamma_pred_err, None, None, None, 2.0, 0.1),
        ("gamma, shape collapse T>=20", result.collapse.gamma, float("nan"), None, None, None, 2.0, 0.1),
    ]
    for name, value, err, x_min, n_tail, limit, truth, target in rows:
        est = f"{value:.4f} +- {err:.4f}" if np.isfinite(err) else f"{value:.4f}"
        print(f"{name:<30} {est:>17} {'' if x_min is None else x_min:>6} {'' if n_tail is None else n_tail:>7} "
              f"{'' if limit is None else f'{limit:.4f}':>11} {truth:>6.2f} {'+-' + str(target):>8}  "
              f"{status(abs(value - truth) <= target)}")
    print("(limit@x_min: what the estimator converges to with infinitely many avalanches at that x_min, from the\n"
          " exact Borel size law and the exact duration law; the duration law approaches t^-2 only as\n"
          " 2/(t + (2/3) ln t + c), hence the duration floor.)")

    # ---------------------------------------------------------------- 2. fit speed
    print(f"\nx_min scan + fit on the same {n} sizes:")
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        ours = dyn.fit_power_law(critical.sizes)
        timings.append(time.perf_counter() - start)
    ours_s = min(timings)
    print(f"{'fitter':<22} {'tau':>8} {'sigma':>7} {'x_min':>6} {'KS':>8} {'time s':>8}")
    print(f"{'regions.dynamics':<22} {ours.exponent:>8.4f} {ours.sigma:>7.4f} {ours.x_min:>6} {ours.ks:>8.5f} {ours_s:>8.3f}")
    if not args.skip_powerlaw:
        try:
            import powerlaw
        except ImportError:
            print("powerlaw package not installed: pip install powerlaw to compare")
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                theirs = powerlaw.Fit(critical.sizes, discrete=True, verbose=0)
                theirs_s = time.perf_counter() - start
            print(f"{'powerlaw ' + powerlaw.__version__:<22} {theirs.power_law.alpha:>8.4f} "
                  f"{theirs.power_law.standard_err:>7.4f} {int(theirs.xmin):>6} {theirs.power_law.D:>8.5f} {theirs_s:>8.3f}")
            same = int(theirs.xmin) == ours.x_min and abs(theirs.power_law.alpha - ours.exponent) <= ours.sigma
            print(f"speed-up {theirs_s / ours_s:.0f}x; same x_min and tau within one standard error: {same}")

    # ---------------------------------------------------------------- 3. preferred distributions
    print("\npreferred size distribution (power law vs alternatives on the KS tail; R = LL_pl - LL_alt, p):")
    print(f"{'m':>4} {'sample':<19} {'tau':>7} {'x_min':>6} {'n_tail':>7}  "
          f"{'lognormal':>22} {'exponential':>22} {'trunc. power law':>22}  preferred")
    for m in (0.9, 1.0, 1.1):
        aval = critical if m == 1.0 else dyn.galton_watson_avalanches(m, n, rng)
        sizes = aval.sizes
        label = "all"
        if m > 1:  # survivors grow without bound and pile up at max_size; the extinct ones are the avalanches
            sizes = aval.sizes[~aval.truncated]
            label = f"extinct ({sizes.size})"
        fit = dyn.fit_power_law(sizes)
        comparisons = dyn.compare_distributions(sizes, fit)
        cells = [f"{c.R:>8.1f} p={c.p:<8.1e}{c.preferred[:4]:>4}" for c in comparisons.values()]
        print(f"{m:>4} {label:<19} {fit.exponent:>7.3f} {fit.x_min:>6} {fit.n_tail:>7}  "
              + " ".join(f"{c:>22}" for c in cells)
              + f"  {dyn.preferred_distribution(sizes, comparisons=comparisons)}")
    print("(at m = 1.1, 17.6 % of the avalanches never die; conditioned on extinction the process is\n"
          " subcritical, m q = 0.906.  Pass --n-avalanches to vary the sample.)")

    x_min = 2
    start = time.perf_counter()
    ours_ln = dyn.fit_lognormal(critical.sizes, x_min)
    ours_ln_s = time.perf_counter() - start
    best_ll, best_mu, best_sigma = independent_lognormal_optimum(critical.sizes, x_min)
    gap = ours_ln.log_likelihood - best_ll
    fixed = dyn.fit_power_law(critical.sizes, x_min=x_min)
    verdict = dyn.compare_distributions(critical.sizes, fixed, alternatives=("lognormal",))["lognormal"]
    print(f"\nlognormal fit at m = 1, x_min {x_min} ({int((critical.sizes >= x_min).sum())} sizes; target: LL within 0.01 "
          "of an independent optimiser):")
    print(f"{'':<24} {'log-likelihood':>16} {'mu':>10} {'sigma':>8}")
    print(f"{'regions.dynamics':<24} {ours_ln.log_likelihood:>16.3f} {ours_ln.parameters['mu']:>10.3f} "
          f"{ours_ln.parameters['sigma']:>8.3f}   ({ours_ln_s:.2f} s)")
    print(f"{'independent (profile)':<24} {best_ll:>16.3f} {best_mu:>10.3f} {best_sigma:>8.3f}")
    print(f"ours - independent = {gap:+.4f} nats  {status(gap >= -0.01)};  power law vs lognormal at x_min {x_min}: "
          f"R = {verdict.R:.2f}, p = {verdict.p:.2g} -> {verdict.preferred}")

    # ---------------------------------------------------------------- 4. branching ratio
    print("\nbranching ratio (target |m_hat - m| <= 0.01, also with 10 % of the units observed):")
    print(f"{'m':>4} {'data':<42} {'MR full':>8} {'MR 10%':>8} {'b 10%':>6} {'r_1 10%':>8} {'pooled':>7}  ")
    setups = {
        0.9: ("1 series x 1e5 steps, h=100, 1e5 units", dict(h=100, n_steps=100_000, n_units=100_000), 40),
        1.0: ("2000 trials x 100 steps, h=10, 1e7 units", dict(h=10, n_steps=100, n_units=10**7, n_trials=2000), 40),
        1.1: ("2000 trials x 60 steps, h=10, 1e7 units", dict(h=10, n_steps=60, n_units=10**7, n_trials=2000), 20),
    }
    for m, (label, options, k_max) in setups.items():
        activity = dyn.driven_branching_process(m, rng=rng, **options)
        full = dyn.multistep_regression(activity, k_max)
        sub = dyn.multistep_regression(dyn.subsample(activity, 0.1, rng), k_max)
        pooled_set = dyn.galton_watson_avalanches(m, 20_000, rng, max_generations=200, profiles=True)
        pooled = dyn.branching_ratio_pooled(pooled_set)
        ok = abs(full.m - m) <= 0.01 and abs(sub.m - m) <= 0.01
        print(f"{m:>4} {label:<42} {full.m:>8.4f} {sub.m:>8.4f} {sub.b:>6.3f} {sub.slopes[0]:>8.4f} {pooled:>7.4f}  {status(ok)}")
    print("(MR: r_k = b m^k fitted for k = 1..k_max; r_1 10%: the naive one-step regression under subsampling;\n"
          " pooled: sum A_t+1 / sum A_t over 2e4 Galton-Watson avalanches, fully observed.)")
    if not args.skip_learned:
        learned_network(args)
    recording_at_scale(args)
    return 0


def recording_at_scale(args: argparse.Namespace) -> int:
    """Section 6: record events into chunked streams on disk and analyse them chunk by chunk.

    Synthetic activity of a 256-column L2/3 (64 cells a column), 8 settling iterations a step: the
    active columns of a bin follow a driven branching process (m = 0.95, h = 0.5: ~10 a bin, with
    silent bins), each active column recording 8 cells (~80 events a bin).  It is written through
    :class:`regions.dynamics.recording.RecordingWriter` (the writer of ``recording:``) and read back
    with :meth:`Recording.population_activity` (one chunk at a time) for avalanches, tau and m.
    Peak memory (tracemalloc, numpy buffers included) of each phase, for 1e6 and ``--events``.
    """
    import tempfile
    import tracemalloc

    from regions.dynamics.recording import RecordingWriter, load_recording

    columns, cells, iterations, block, code = 256, 64, 8, 1024, 8
    print(f"\nrecording at scale: events written to disk in chunks of {args.chunk} (RecordingWriter), read back chunk "
          "by chunk\n(Recording.population_activity), then avalanches, tau and m; peak memory by tracemalloc")
    print(f"{'events':>10} {'bins':>9} {'chunks':>6} {'write s':>8} {'write peak MB':>13} {'analyse s':>9} "
          f"{'analyse peak MB':>15} {'events in RAM MB':>16} {'avalanches':>10} {'tau':>6} {'m':>6}")
    for n_events in sorted({10**6, args.events}):
        rng = np.random.default_rng(args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            tracemalloc.start()
            start = time.perf_counter()
            writer = RecordingWriter(tmp, {"S1": {"columns": columns, "settle_max_iterations": iterations,
                                                  "layers": {"L23": cells}}}, chunk_events=args.chunk)
            written, state = 0, 10
            while written < n_events:
                counts = dyn.driven_branching_process(0.95, 0.5, block * iterations, columns * cells, rng,
                                                      initial=state)
                state = max(int(counts[-1]), 1)
                active = rng.integers(0, columns, size=int(counts.sum()))
                flat = (active[:, None] * cells + rng.integers(0, cells, size=(active.size, code))).reshape(-1)
                counts = counts * code
                ends = np.cumsum(counts)
                for b in range(counts.size):
                    if b % iterations == 0:
                        step = writer.begin_step()
                    writer.record("S1", "L23", step, b % iterations, flat[ends[b] - counts[b]:ends[b]])
                    if b % iterations == iterations - 1:
                        writer.end_sensation("S1", step, False, iterations)
                written += int(counts.sum())
                del counts, active, flat, ends
            writer.close()
            write_s = time.perf_counter() - start
            _, write_peak = tracemalloc.get_traced_memory()
            n_chunks = len(writer.index()["regions"]["S1"]["layers"]["L23"]["chunks"])
            del writer
            tracemalloc.reset_peak()
            start = time.perf_counter()
            recording = load_recording(tmp)
            activity = recording.population_activity("S1", "L23")
            aval = dyn.avalanches(activity)
            tau = dyn.fit_power_law(aval.sizes[~aval.truncated])
            m = dyn.multistep_regression(activity, k_max=10).m
            analyse_s = time.perf_counter() - start
            _, analyse_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        print(f"{written:>10} {activity.size:>9} {n_chunks:>6} {write_s:>8.1f} {write_peak / 2**20:>13.1f} "
              f"{analyse_s:>9.1f} {analyse_peak / 2**20:>15.1f} {16 * written / 2**20:>16.0f} {len(aval):>10} "
              f"{tau.exponent:>6.2f} {m:>6.3f}")
    print("(write peak: the writer's fixed chunk buffers plus one block of generated activity; analyse peak: one chunk\n"
          " plus the per-bin counts (8 B a bin); events in RAM: what holding every event (4 x int32) would take.)")
    return 0


def _fmt(value: object, digits: int = 3) -> str:
    if isinstance(value, float):
        return "nan" if not math.isfinite(value) else f"{value:.{digits}f}"
    return str(value)


def learned_network(args: argparse.Namespace) -> int:
    """Section 5: the distal-threshold sweep of the learned network (one fresh network per value)."""
    from regions.builder import ProgressFactory, build
    from regions.config import load_config
    from regions.criticality import run_learned_criticality

    root = Path(__file__).resolve().parent.parent
    values = [int(v) for v in args.thresholds.split(",")]
    cfg = load_config(root / "configs" / "learned_criticality.yaml").with_values({
        "seed": args.seed,
        "experiment.params.stream_sensations": args.stream,
        "experiment.sweep": {"parameter": "regions.0.column.L23.distal.threshold", "values": values},
    })
    spec = cfg.regions[0]
    start = time.perf_counter()
    metrics = run_learned_criticality(build(cfg), progress=ProgressFactory(False), trial=0)
    elapsed = time.perf_counter() - start
    print(f"\nlearned network: {spec.columns} columns ({spec.lateral.topology}), {cfg.experiment.n_objects} objects, "
          f"{args.stream} sensations per value, {cfg.experiment.params['movers']} movers, "
          f"object change p={cfg.experiment.params['object_change_probability']}, "
          f"feature noise {cfg.experiment.noise.feature}; knob {metrics['knob']} ({elapsed:.0f} s)")
    print(f"{'knob':>4} {'m (MR) [95% CI]':>22} {'m pool':>7} {'m model':>7} {'tau':>6} {'alpha':>6} "
          f"{'g fit':>6} {'g pred':>6} {'preferred':>19} {'runaway':>7} {'n_aval':>6} {'ev/sens':>7} "
          f"{'agree':>5} {'p shuf':>6} {'p shift':>7}  verdict")
    for r in metrics["table"]:
        ci = r["m_ci"]
        print(f"{r['value']:>4} {_fmt(r['m']):>6} [{_fmt(ci[0])}, {_fmt(ci[1])}]".ljust(27)
              + f" {_fmt(r['m_pooled']):>7} {_fmt(r['m_predicted'], 2):>7} {_fmt(r['tau'], 2):>6} "
              f"{_fmt(r['alpha'], 2):>6} {_fmt(r['gamma'], 2):>6} {_fmt(r['gamma_predicted'], 2):>6} "
              f"{r['preferred']:>19} {_fmt(r['runaway_fraction'], 2):>7} {r['n_avalanches']:>6} "
              f"{_fmt(r['events_per_sensation'], 1):>7} {r['agreement_events']:>5} "
              f"{_fmt(r['agreement_p_shuffled'], 3):>6} {_fmt(r['agreement_p_shifted'], 3):>7}  {r['agreement_verdict']}")
    print(f"value nearest m = 1: {metrics['value_nearest_critical']} (m = {_fmt(metrics['m_nearest_critical'])}, "
          f"tau = {_fmt(metrics['tau_nearest_critical'], 2)}, alpha = {_fmt(metrics['alpha_nearest_critical'], 2)}; "
          "targets tau 1.5 +- 0.1, alpha 2 +- 0.2)")
    print("(m (MR): multistep regression, each avalanche's first 2 k_max bins one trial; m pool: sum A_t+1 / sum A_t\n"
          " over complete avalanches; m model: the excitable cascade model of regions/sweeps.py, q(p) x mean excess\n"
          " degree with p the connected fraction of the learned distal synapses; runaway: avalanches whose sensation\n"
          " ended in a cycle or the settling limit; agree: cluster-agreement events; p shuf / p shift: the\n"
          " agreement -> onset test against shuffled and time-shifted agreement times.)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
