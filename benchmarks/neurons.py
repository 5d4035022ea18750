"""Izhikevich neurons: speed of the vectorised step and of the 1000-neuron network, and the
spike-count accuracy of each integration scheme against a solve_ivp reference.

    python benchmarks/neurons.py            # all three tables (about 30 s on one core)
    python benchmarks/neurons.py --quick    # skip the accuracy table
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.integrate import solve_ivp

from columns.neurons import PRESETS, IzhikevichPopulation, izhikevich_network, simulate_network


def reference_count(a: float, b: float, c: float, d: float, current: float, duration_ms: float) -> int:
    """Spikes of one neuron from v = -65, u = b v: DOP853, rtol = atol = 1e-9, event at 30 mV."""

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [0.04 * y[0] ** 2 + 5 * y[0] + 140 - y[1] + current, a * (b * y[0] - y[1])]

    def threshold(_t: float, y: np.ndarray) -> float:
        return y[0] - 30.0

    threshold.terminal = True  # type: ignore[attr-defined]
    threshold.direction = 1  # type: ignore[attr-defined]
    t, y, n = 0.0, [-65.0, -65.0 * b], 0
    while True:
        sol = solve_ivp(rhs, (t, duration_ms), y, method="DOP853", rtol=1e-9, atol=1e-9, events=threshold)
        if sol.status != 1:
            return n
        n += 1
        t = float(sol.t_events[0][0])
        y = [c, float(sol.y_events[0][0][1]) + d]


def best_of(fn, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def step_table() -> None:
    print("population step (RS, I = 10, 200 steps, best of 3)")
    print(f"{'neurons':>9} {'scheme':>11} {'us/step':>9} {'ns/neuron-step':>15}")
    for n in (1, 1_000, 10_000, 100_000):
        for scheme in ("euler", "euler_half"):
            pop = IzhikevichPopulation.from_preset("RS", n=n, scheme=scheme)
            current = np.full(n, 10.0)

            def run(pop=pop, current=current) -> None:
                for _ in range(200):
                    pop.step(current)

            seconds = best_of(run) / 200
            print(f"{n:>9} {scheme:>11} {seconds * 1e6:>9.1f} {seconds * 1e9 / n:>15.2f}")


def network_table() -> None:
    print("\n1000-neuron network (800 exc + 200 inh), 1 s simulated, best of 3")
    print(f"{'scheme':>11} {'dt ms':>6} {'wall s':>7} {'exc Hz':>7} {'inh Hz':>7}")
    net = izhikevich_network(rng=0)
    for scheme, dt in (("euler_half", 1.0), ("euler_half", 0.5), ("euler", 0.1)):
        result = {}

        def run(scheme=scheme, dt=dt) -> None:
            result["spikes"] = simulate_network(net, 1000.0, rng=1, scheme=scheme, dt=dt)

        seconds = best_of(run)
        rates = result["spikes"].rates_hz()
        print(f"{scheme:>11} {dt:>6} {seconds:>7.3f} {rates[:800].mean():>7.2f} {rates[800:].mean():>7.2f}")


def accuracy_table() -> None:
    print("\nspike counts, I = 10 for 1000 ms from v = -65 (reference: solve_ivp DOP853, rtol 1e-9)")
    schemes = (("euler", 0.01), ("euler", 0.1), ("euler", 0.5), ("euler", 1.0), ("euler_half", 1.0))
    header = " ".join(f"{(s[:5] + ('_h' if s == 'euler_half' else '') + '@' + str(dt)):>10}" for s, dt in schemes)
    print(f"{'preset':>6} {'ref':>5} {header}")
    for name, params in PRESETS.items():
        counts = [
            len(IzhikevichPopulation.from_preset(name, dt=dt, scheme=scheme).run(10.0, 1000.0))
            for scheme, dt in schemes
        ]
        print(f"{name:>6} {reference_count(*params, 10.0, 1000.0):>5} " + " ".join(f"{c:>10}" for c in counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the accuracy table")
    args = parser.parse_args()
    step_table()
    network_table()
    if not args.quick:
        accuracy_table()


if __name__ == "__main__":
    main()
