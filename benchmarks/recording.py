"""Recording benchmark: what recording layers per settling iteration costs the network loop.

Runs ``configs/touch_objects.yaml`` (shrunk by ``--objects`` / ``--sensations``) three ways --
no recording, ``recording: {layers: [L4, L23]}`` kept in memory (no output directory), and
streamed to disk in chunks of ``--chunk`` events -- and prints, per way, the median wall time of
``--repeats`` runs, the events recorded, the write buffers' bytes (fixed by ``chunk_events``), the
bytes on disk per event and the metrics' equality with the unrecorded run.  Then reads the
recording back (chunk by chunk into an ActivityRecorder) and times the avalanche analysis.

Run:  python benchmarks/recording.py [--objects 20] [--sensations 6] [--chunk 100000] [--repeats 3]

Measured (2 cores shared with other jobs, so whole-run times swing by 10 % and more; the
interleaved per-step time is the cost to read; 20 objects, 6 sensations, seed 0)::

    way            median s   events   buffer bytes   disk B/event   metrics equal
    off               25.38        0              0              -   -
    memory            25.17    70078        4400000              -   True
    disk              27.73    70078        4400000          16.09   True
    one inference step, 400 steps interleaved: 1.309 ms without recording, 1.408 ms recording L4 + L23 to disk (+7.6 %)
    read back 70078 events in 0.03 s; avalanche table in 0.14 s

Chunks are uncompressed ``.npz`` (16 bytes an event): ``savez_compressed`` makes 2.7 bytes an
event but costs about 1.5 s per million events, more than the recorded run itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, this folder comes first on sys.path and benchmarks/columns.py would shadow the package
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from regions import build, load_config  # noqa: E402
from regions.dynamics.recording import load_recording, recording_avalanches  # noqa: E402


def one_run(overrides: list[str]) -> tuple[float, dict, object]:
    cfg = load_config(ROOT / "configs" / "touch_objects.yaml", overrides)
    net = build(cfg)
    t0 = time.perf_counter()
    metrics = net.run()[0]
    return time.perf_counter() - t0, metrics, net


def strip(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not (k.endswith("_s") or k.endswith("_ms"))}


def interleaved(base: list[str], recording: str, tmp: str, steps: int = 400) -> None:
    """Median time of one inference step with and without recording, the two networks stepped in
    turn (so machine load drifts hit both alike)."""
    import numpy as np

    _, _, plain = one_run(base)
    _, _, recorded = one_run([*base, recording, f"output.dir={tmp}/steps"])
    world = plain.world
    name = plain.config.regions[0].name
    n_cols = plain.regions[name].n_columns
    rng = np.random.default_rng(0)
    times: dict[str, list[float]] = {"off": [], "disk": []}
    for i in range(steps):
        obj = int(rng.integers(world.n_objects))
        f, loc = world.sense(obj, rng.integers(world.features_per_object, size=n_cols))
        for way, net in (("off", plain), ("disk", recorded)) if i % 2 else (("disk", recorded), ("off", plain)):
            if i % 5 == 0:
                net.reset()
            t0 = time.perf_counter()
            net.step({name: loc}, {name: f})
            times[way].append(time.perf_counter() - t0)
    recorded.close_recording()
    off, on = statistics.median(times["off"]), statistics.median(times["disk"])
    print(f"one inference step, {steps} steps interleaved: {1e3 * off:.3f} ms without recording, "
          f"{1e3 * on:.3f} ms recording L4 + L23 to disk (+{100 * (on / off - 1):.1f} %)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, default=20)
    ap.add_argument("--sensations", type=int, default=6)
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    base = [f"seed={args.seed}", f"experiment.n_objects={args.objects}",
            f"experiment.max_sensations={args.sensations}"]
    recording = f"recording={json.dumps({'layers': ['L4', 'L23'], 'chunk_events': args.chunk})}"
    with tempfile.TemporaryDirectory() as tmp:
        ways = {"off": base, "memory": [*base, recording], "disk": [*base, recording, f"output.dir={tmp}"]}
        print(f"{'way':<12} {'median s':>10} {'events':>8} {'buffer bytes':>14} {'disk B/event':>14}   metrics equal")
        reference = None
        for way, overrides in ways.items():
            times, net = [], None
            for _ in range(args.repeats):
                seconds, metrics, net = one_run(overrides)
                times.append(seconds)
            reference = reference if reference is not None else strip(metrics)
            writer = net.recording
            events = 0 if writer is None else sum(s.n_rows for (_, layer), s in writer.streams.items()
                                                   if layer != "sensations")
            disk = sum(p.stat().st_size for p in Path(tmp).rglob("*.npz")) if way == "disk" else 0
            per_event = f"{disk / events:.2f}" if disk and events else "-"
            equal = "-" if way == "off" else str(strip(metrics) == reference)
            print(f"{way:<12} {statistics.median(times):>10.2f} {events:>8} "
                  f"{0 if writer is None else writer.nbytes:>14} {per_event:>14}   {equal}")
        interleaved(base, recording, tmp)
        t0 = time.perf_counter()
        rec = load_recording(tmp)
        n = sum(rec.recorder(r, layer).n_events for r in rec.regions for layer in rec.layers(r))
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = recording_avalanches(rec)
        t_aval = time.perf_counter() - t0
        print(f"read back {n} events in {t_read:.2f} s; avalanche table in {t_aval:.2f} s")
        for row in rows:
            print("  ", {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()})


if __name__ == "__main__":
    main()
