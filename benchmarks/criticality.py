"""Criticality benchmark: avalanche exponents, branching ratio and fit speed against ground truth.

Ground truth is a Galton-Watson process with Poisson(m) offspring (tau = 3/2, alpha = 2,
gamma = 2 at m = 1) and a driven branching network for multistep regression.  Prints:

1. exponents at m = 1 (1e5 avalanches) with the finite-size expectation of each estimator at the
   x_min it chose (the infinite-sample limit of the discrete MLE on the exact law);
2. fit time of our x_min scan against the ``powerlaw`` package on the same sizes;
3. preferred size distributions at m = 0.9 / 1.0 / 1.1, and the lognormal fit at m = 1, x_min 2
   against an independent optimiser (profile likelihood: Brent over mu inside Brent over sigma);
4. branching ratio by multistep regression (fully observed and 10 % of units) and pooled;
5. the learned network (configs/learned_criticality.yaml, protocol ``learned_criticality``; 4 movers,
   object change 0.01): the continuous knob ``experiment.params.connected_probability`` (share of the
   learned lateral distal synapses left connected) swept through ``experiment.sweep``; per value the
   MEASURED m (multistep regression, 95 % interval; pooled) beside the THEORY m of the analytic
   cascade model (regions/sweeps.py), tau, alpha, gamma both routes, the preferred law, the runaway
   fraction; the cluster-agreement test per value; then a long stream at the value nearest m = 1;
6. recording at scale: 1e6 and 1e7 events written through RecordingWriter in chunks and analysed
   chunk by chunk, time and peak memory of each phase.

Run:  python benchmarks/criticality.py [--n-avalanches 100000] [--seed 0] [--skip-powerlaw]
                                       [--learned-only] [--skip-learned] [--stream 1000] [--long 3000]
                                       [--values 0.4,...,1.0] [--plot m.png] [--recording-only]

Measured (seed 0, 2 shared cores): the lognormal at m = 1, x_min 2 reaches -263563.259 against the
independent optimum -263563.258 (before the fix: -264676.2).

Section 5 (1000 sensations per value, 4 movers, object change 0.01; sweep 568 s, long stream 173 s):

     knob        m (MR) [95% CI]  m pool m model    tau  alpha  g fit g pred           preferred runaway n_aval ev/sens
      0.4  1.002 [0.994, 1.011]     0.146    4.63    nan    nan    nan    nan                 n/a    1.00   1056   750.8
     0.45  1.015 [1.004, 1.025]     0.450    5.28   2.22   2.84    nan   1.51           power_law    0.97    906   428.7
      0.5  1.007 [0.986, 1.027]     0.560    5.80   2.19   1.86    nan   0.72           power_law    0.96    926   294.1
     0.55  0.994 [0.985, 1.004]     0.510    6.18   2.61   3.20    nan   1.37           power_law    0.95    992   213.8
      0.6  0.947 [0.918, 0.977]     0.476    6.45   2.72   3.68    nan   1.55           power_law    0.95   1120   113.9
      0.8  0.757 [0.720, 0.794]     0.544    6.78   2.68   3.58   1.07   1.54 truncated_power_law    0.47    976    35.7
      1.0  0.626 [0.574, 0.679]     0.429    6.79   3.46   3.68   1.06   1.09           power_law    0.04    854    24.0
    measured m crosses 1 at connected_probability = 0.527 (interpolated)

The measured m rises as fewer learned lateral synapses stay connected: 0.626 [0.574, 0.679] with all
of them, 1.00-1.015 at p <= 0.5 (m crosses 1 between 0.5 and 0.55).  The cascade model (THEORY, m
model) moves the other way and stays far above 1 (6.79 -> 4.63): it assumes a vote that fires its
segment changes its target, while in the learned network a fired vote mostly holds the target on the
object it already has (a cell's support counts the sources agreeing on its object), so taking votes
away is what frees a column.  Past m = 1 the bounded region does not explode: it stays active until
the settling limit (runaway 0.95-1.00 at p <= 0.6, 750 L2/3 on-events a sensation at 0.4), and m of
that bounded active state is ~1.

tau / alpha at m = 1: not reached, and this network cannot reach them at this size.  The long stream
at 0.55 (nearest m = 1 among the values with complete avalanches): 3000 sensations, m = 0.992
[0.978, 1.007], runaway 0.94, 3072 avalanches of which 182 complete: tau = 2.97 (51 in the tail),
alpha = 3.00.  An avalanche lives inside one sensation's settling, so durations are capped by the
settling limit (max duration 20 = the limit), and near m = 1 only 0.061 avalanches per sensation end
before it: 1e4 complete avalanches would take ~1.6e5 sensations (~2.6 h here), and they would still
span at most 1.3 decades of duration.  At 0.4 (nearest m = 1 overall, 1.002 [0.996, 1.009] on 3000
sensations) 12 of 3183 avalanches are complete.

Cluster agreement -> avalanche onset, per value (an agreement event: 80 % of an SBM block's columns
come to hold one object; window 3 bins; 200 shuffled and 200 circularly shifted controls):

     knob events observed shuffled  shifted  p shuf p shift  verdict
      0.4    324    0.037    0.044    0.041   0.776   0.557  not supported
     0.45    346    0.023    0.053    0.050   0.995   0.965  not supported
      0.5    165    0.061    0.061    0.059   0.582   0.458  not supported
     0.55     83    0.024    0.048    0.049   0.915   0.881  not supported
      0.6    186    0.043    0.096    0.096   1.000   0.910  not supported
      0.8     79    0.316    0.152    0.151   0.005   0.050  supported
      1.0     31    0.065    0.141    0.135   0.950   0.935  not supported

Not supported at 6 of 7 values (31-346 events); at 0.4-0.6 the onset rate after agreement is at or
below chance (0.023-0.061 against 0.044-0.096).  At 0.8 it is supported (79 events, 0.316 against
0.152, p = 0.005 / 0.050), one of seven tests, uncorrected.  On the long stream at 0.55: 186 events,
0.038 against 0.057 +- 0.018 (shuffled) / 0.056 +- 0.022 (shifted), p = 0.905 / 0.846: not
supported; the test resolves an excess of about 0.04 (twice the controls' spread) there.

Section 6 (a loaded machine): 1.28e6 / 1.01e7 events written in 8.5 / 79.5 s with a write peak of
13.9 / 14.3 MB (the writer's fixed chunk buffers: it does not grow with the recording), analysed in
0.9 / 3.5 s with a peak of 4.5 / 10.8 MB (one chunk plus 8 bytes per time bin), where holding the
events would take 19 / 154 MB.
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
    parser.add_argument("--movers", type=int, default=4, help="sensors moved per sensation in section 5")
    parser.add_argument("--change", type=float, default=0.01, help="object change probability per sensation in section 5")
    parser.add_argument("--knob", type=str, default="experiment.params.connected_probability",
                        help="config key swept in section 5 (any numeric key)")
    parser.add_argument("--values", type=str, default="0.4,0.45,0.5,0.55,0.6,0.8,1.0",
                        help="knob values swept in section 5")
    parser.add_argument("--long", type=int, default=3000,
                        help="sensations of the long stream at the value nearest m = 1 (0: skip)")
    parser.add_argument("--long-at", type=float, default=None,
                        help="knob value of the long stream (default: nearest m = 1 with complete avalanches)")
    parser.add_argument("--plot", type=str, default="", help="write measured and theory m vs the knob to this PNG")
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


def _crossing(values: list[float], m: list[float]) -> float:
    """The knob value where the measured m crosses 1 (linear interpolation between the first pair of
    neighbouring values, in knob order, on either side of 1); NaN when it does not cross."""
    pairs = sorted((v, x) for v, x in zip(values, m) if math.isfinite(x))
    for (v0, m0), (v1, m1) in zip(pairs, pairs[1:]):
        if (m0 - 1.0) * (m1 - 1.0) <= 0 and m0 != m1:
            return v0 + (1.0 - m0) * (v1 - v0) / (m1 - m0)
    return float("nan")


def _long_value(rows: list[dict]) -> object:
    """The knob value for the long stream: nearest m = 1 among the values with complete avalanches to
    fit (finite tau); the nearest overall when there is none."""
    fitted = [r for r in rows if math.isfinite(r["m"]) and math.isfinite(r["tau"])]
    pool = fitted or [r for r in rows if math.isfinite(r["m"])] or rows
    return min(pool, key=lambda r: abs(r["m"] - 1.0) if math.isfinite(r["m"]) else math.inf)["value"]


def learned_network(args: argparse.Namespace) -> int:
    """Section 5: the knob sweep of the learned network (one fresh network per value), then a long
    stream at the value nearest m = 1 for the exponents."""
    from regions.builder import ProgressFactory, build
    from regions.config import load_config
    from regions.criticality import measure_learned_criticality, run_learned_criticality

    root = Path(__file__).resolve().parent.parent
    values = [float(v) if "." in v else int(v) for v in args.values.split(",") if v.strip()]
    base = load_config(root / "configs" / "learned_criticality.yaml").with_values({
        "seed": args.seed, "experiment.params.stream_sensations": args.stream, "experiment.params.movers": args.movers,
        "experiment.params.object_change_probability": args.change})
    spec = base.regions[0]
    long_value = args.long_at
    if values:
        cfg = base.with_values({"experiment.sweep": {"parameter": args.knob, "values": values}})
        spec = cfg.regions[0]
        params = cfg.experiment.params
        start = time.perf_counter()
        metrics = run_learned_criticality(build(cfg), progress=ProgressFactory(False), trial=0)
        elapsed = time.perf_counter() - start
        rows = metrics["table"]
        print(f"\nlearned network: {spec.columns} columns ({spec.lateral.topology}, {len(spec.lateral.args['sizes'])} blocks), "
              f"{cfg.experiment.n_objects} objects, distal threshold {spec.column.L23.distal.threshold} of "
              f"{spec.column.L23.distal.sample_size}; a stream of {args.stream} sensations per value, {params['movers']} "
              f"movers, object change p={params['object_change_probability']}, feature noise {cfg.experiment.noise.feature}; "
              f"knob {metrics['knob']} ({elapsed:.0f} s)")
        print(f"{'knob':>5} {'m (MR) [95% CI]':>22} {'m pool':>7} {'m model':>7} {'tau':>6} {'alpha':>6} "
              f"{'g fit':>6} {'g pred':>6} {'preferred':>19} {'runaway':>7} {'n_aval':>6} {'ev/sens':>7}")
        for r in rows:
            ci = r["m_ci"]
            print(f"{r['value']:>5} {_fmt(r['m']):>6} [{_fmt(ci[0])}, {_fmt(ci[1])}]".ljust(29)
                  + f" {_fmt(r['m_pooled']):>7} {_fmt(r['m_predicted'], 2):>7} {_fmt(r['tau'], 2):>6} "
                  f"{_fmt(r['alpha'], 2):>6} {_fmt(r['gamma'], 2):>6} {_fmt(r['gamma_predicted'], 2):>6} "
                  f"{r['preferred']:>19} {_fmt(r['runaway_fraction'], 2):>7} {r['n_avalanches']:>6} "
                  f"{_fmt(r['events_per_sensation'], 1):>7}")
        crossing = _crossing([float(r["value"]) for r in rows], [r["m"] for r in rows])
        print(f"measured m crosses 1 at {metrics['knob'].split('.')[-1]} = {_fmt(crossing)} (interpolated); "
              f"value nearest m = 1: {metrics['value_nearest_critical']} (m = {_fmt(metrics['m_nearest_critical'])})")
        print("(m (MR): multistep regression, each avalanche's first 2 k_max bins one trial, measured; m pool: sum A_t+1 /\n"
              " sum A_t over complete avalanches, measured; m model: THEORY, the excitable cascade model of regions/sweeps.py,\n"
              " q(p) x mean excess degree with p the connected fraction of the learned lateral synapses; runaway: avalanches\n"
              " whose sensation ended in a cycle or the settling limit; tau / alpha on the complete avalanches.)")
        print(f"\ncluster agreement -> avalanche onset (window {params['agreement_window']} bins, {params['controls']} "
              f"controls each; a cluster = an SBM block, agreeing when {params['agreement_fraction']:.0%} of its columns "
              "hold one object):")
        print(f"{'knob':>5} {'events':>6} {'observed':>8} {'shuffled':>8} {'shifted':>8} {'p shuf':>7} {'p shift':>7}  verdict")
        for r in rows:
            print(f"{r['value']:>5} {r['agreement_events']:>6} {_fmt(r['agreement_observed']):>8} "
                  f"{_fmt(r['agreement_shuffled_mean']):>8} {_fmt(r['agreement_shifted_mean']):>8} "
                  f"{_fmt(r['agreement_p_shuffled']):>7} {_fmt(r['agreement_p_shifted']):>7}  {r['agreement_verdict']}")
        print("(observed: share of agreement events followed within the window by an avalanche starting in that cluster;\n"
              " shuffled / shifted: the same share with each cluster's agreement times drawn uniformly / shifted circularly;\n"
              " one-sided p; supported when both p < 0.05.)")
        if args.plot:
            from regions import figures

            fig = figures.branching_vs_knob([r["value"] for r in rows], [r["m"] for r in rows],
                                            analytic=[r["m_predicted"] for r in rows], knob=metrics["knob"])
            Path(args.plot).write_bytes(figures.to_png(fig))
            print(f"figure: measured m and the cascade model's m (theory line) vs the knob -> {args.plot}")

        long_value = _long_value(rows) if long_value is None else long_value
    if args.long and long_value is not None:
        value = long_value
        long_cfg = base.with_values({args.knob: value, "experiment.params.stream_sensations": args.long})
        start = time.perf_counter()
        one = measure_learned_criticality(build(long_cfg), ProgressFactory(False))
        elapsed = time.perf_counter() - start
        runaway = one["runaway_fraction"]
        n_complete = int(round(one["n_avalanches"] * (1.0 - runaway))) if math.isfinite(runaway) else 0
        ci = one["m_ci"]
        print(f"\nlong stream at {args.knob.split('.')[-1]} = {value} (nearest m = 1 with complete avalanches to fit): {args.long} sensations ({elapsed:.0f} s): "
              f"m = {_fmt(one['m'])} [{_fmt(ci[0])}, {_fmt(ci[1])}], runaway {_fmt(one['runaway_fraction'], 2)}, "
              f"{one['n_avalanches']} avalanches, {n_complete} complete (the exponents are fitted on these): tau = "
              f"{_fmt(one['tau'], 2)} (x_min {one.get('tau_x_min')}, {one.get('tau_n_tail')} in the tail), alpha = "
              f"{_fmt(one['alpha'], 2)} (x_min {one.get('alpha_x_min')}); preferred {one['preferred']}; max duration "
              f"{one['max_duration']} bins (settling limit {spec.column.L23.settle_max_iterations})")
        reached = (n_complete >= 10**4 and abs(one["tau"] - 1.5) <= 0.1 and abs(one["alpha"] - 2.0) <= 0.2)
        print(f"targets tau 1.5 +- 0.1 and alpha 2 +- 0.2 on >= 1e4 complete avalanches: {status(reached)} "
              f"({n_complete} complete of {one['n_avalanches']}, {n_complete / max(args.long, 1):.3f} per sensation)")
        test = one["agreement_test"]
        print(f"agreement test on the long stream: {test.get('agreement_events')} events, observed "
              f"{_fmt(test.get('observed', float('nan')))} vs shuffled {_fmt(test.get('shuffled_mean', float('nan')))} "
              f"+- {_fmt(test.get('shuffled_sd', float('nan')))} / shifted {_fmt(test.get('shifted_mean', float('nan')))} "
              f"+- {_fmt(test.get('shifted_sd', float('nan')))}, p (more onsets) = "
              f"{_fmt(test.get('p_shuffled', float('nan')))} / {_fmt(test.get('p_shifted', float('nan')))}, "
              f"p (fewer) = {_fmt(test.get('p_shuffled_lower', float('nan')))} / "
              f"{_fmt(test.get('p_shifted_lower', float('nan')))}: {test['verdict']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
