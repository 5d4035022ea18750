"""The network loop records any layer (config ``recording:``), streamed to disk in bounded chunks."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

import regions.scenes  # noqa: F401  (registers hierarchy_scenes)
from regions import dynamics as dyn
from regions.builder import build
from regions.config import ConfigError, config_from_dict, load_config
from regions.dynamics.recording import ChunkedEvents, load_recording, recording_avalanches

TOUCH = ["experiment.n_objects=4", "experiment.max_sensations=3", "regions[0].columns=2"]


def _touch(tmp_path=None, recording=None, extra=()):
    overrides = [*TOUCH, *extra]
    if recording is not None:
        overrides.append(f"recording={json.dumps(recording)}")
    if tmp_path is not None:
        overrides.append(f"output.dir={tmp_path}")
    return load_config("configs/touch_objects.yaml", overrides)


def _strip(metrics):
    return {k: v for k, v in metrics.items() if not k.endswith("_s") and not k.endswith("_ms")}


def test_recording_writes_files_and_leaves_the_metrics_unchanged(tmp_path):
    plain = build(_touch()).run()[0]
    net = build(_touch(tmp_path, {"layers": ["L4", "L23"]}))
    recorded = net.run()[0]
    assert _strip(recorded) == _strip(plain)
    rec = load_recording(tmp_path)
    assert rec.meta["complete"] and rec.regions == ["S1"] and rec.layers("S1") == ["L4", "L23"]
    assert (tmp_path / "recording" / "S1" / "L23" / "chunk_00000.npz").is_file()
    assert rec.cells_per_column("S1", "L4") == 150 * 16 and rec.cells_per_column("S1", "L23") == 4096
    sens = rec.sensations("S1")
    # 4 objects x 10 pairs learned, then 4 objects x 3 touches inferred: one step each
    assert rec.steps == 4 * 10 + 4 * 3 == sens["step"].size
    assert sens["learn"].tolist() == [1] * 40 + [0] * 12
    events = rec.events("S1", "L23")
    per_step = np.bincount(events["step"], minlength=rec.steps)
    # a learning step of 3 repeats (learn_repeats): each column's 40-cell code at every repeat
    assert np.all(per_step[:40] == 3 * 2 * 40)
    assert sens["iterations"][:40].tolist() == [3] * 40
    learn_iters = [np.unique(events["iteration"][events["step"] == s]).tolist() for s in range(40)]
    assert learn_iters == [[0, 1, 2]] * 40
    # inference steps record every settling iteration
    iters = np.array([np.unique(events["iteration"][events["step"] == s]).size for s in range(40, 52)])
    assert np.array_equal(iters, sens["iterations"][40:])


def test_recorded_events_are_the_layers_activity_at_every_iteration(tmp_path):
    cfg = _touch(tmp_path, {"layers": ["L4", "L23"], "chunk_events": 1000})
    a, b = build(cfg), build(_touch())
    a.run()
    b.run()
    world, name = a.world, "S1"
    f, loc = world.sense(2, np.array([1, 4]))
    step = a.recording.steps
    res = a.step({name: loc}, {name: f})[name]
    a.close_recording()
    seen: dict[str, list[np.ndarray]] = {"L4": [], "L23": []}
    ref = b.regions[name].infer_sensation(
        f, loc, record=True, observe=lambda i, r: seen["L4"].append(r.L4.active_cells.copy()))
    assert ref.settle.iterations == res.settle.iterations > 0
    rec = load_recording(tmp_path)
    for layer, expected in (("L23", ref.l23_trajectory), ("L4", seen["L4"])):
        ev = rec.events(name, layer)
        here = ev["step"] == step
        per = rec.cells_per_column(name, layer)
        for it, cells in enumerate(expected):
            mine = ev["iteration"][here] == it
            flat = ev["column"][here][mine].astype(np.int64) * per + ev["cell"][here][mine]
            assert np.array_equal(np.sort(flat), np.sort(cells)), (layer, it)
        assert set(ev["iteration"][here].tolist()) == set(range(len(expected)))


def test_recorder_memory_stays_under_a_chunk_while_recording_many_steps(tmp_path):
    chunk = 300
    net = build(_touch(tmp_path, {"layers": ["L4", "L23"], "chunk_events": chunk}))
    net.run()
    writer = net.recording
    region = net.regions["S1"]
    world = net.world
    inputs = [world.sense(o % 4, np.array([o % 10, (o + 3) % 10])) for o in range(8)]
    fixed = writer.nbytes
    assert fixed == 2 * 16 * chunk + 12 * chunk  # two layer buffers and the sensations buffer
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    before = writer.streams[("S1", "L4")].n_rows + writer.streams[("S1", "L23")].n_rows
    first = len(writer.streams[("S1", "L4")].chunks)  # the run's recording, closed by net.run()
    chunks_before = sum(len(s.chunks) for s in writer.streams.values())
    for i in range(150):
        if i % 10 == 0:
            region.reset()
        f, loc = inputs[i % len(inputs)]
        net.step({"S1": loc}, {"S1": f})
        assert writer.buffered < 2 * chunk and writer.nbytes == fixed
    mine = [tracemalloc.Filter(True, "*regions/dynamics/recording.py")]
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().filter_traces(mine).compare_to(
        base.filter_traces(mine), "filename"))
    tracemalloc.stop()
    written = writer.streams[("S1", "L4")].n_rows + writer.streams[("S1", "L23")].n_rows - before
    new_chunks = sum(len(s.chunks) for s in writer.streams.values()) - chunks_before
    assert written > 40 * chunk  # many chunks went to disk (16 bytes an event) ...
    # ... while the recorder's memory grew by less than one chunk of events plus the chunk list (a
    # file name each), a tenth of what keeping the events would hold
    bound = 16 * chunk + 200 * new_chunks
    assert grown < bound < written * 16 / 10, (grown, bound, written)
    net.close_recording()
    files = sorted((tmp_path / "recording" / "S1" / "L4").glob("chunk_*.npz"))
    assert len(files) == len(load_recording(tmp_path).meta["regions"]["S1"]["layers"]["L4"]["chunks"]) > 20
    sizes = [np.load(p)["cell"].size for p in files]
    assert sum(sizes) == writer.streams[("S1", "L4")].n_rows
    assert all(n == chunk for n in sizes[first:-1])  # full chunks but the last


def test_reader_feeds_the_avalanche_tools(tmp_path):
    build(_touch(tmp_path, {"layers": ["L23"], "chunk_events": 500})).run()
    rec = load_recording(tmp_path)
    recorder = rec.recorder("S1", "L23")
    assert isinstance(recorder, dyn.ActivityRecorder) and recorder.n_events == rec.meta["regions"]["S1"][
        "layers"]["L23"]["events"]
    assert recorder.max_iterations == rec.iterations_per_step("S1") == 10
    # the streamed per-iteration activity equals the recorder's at bin width 1
    streamed = rec.population_activity("S1", "L23")
    binned = recorder.population_activity(1.0)
    t0 = int(recorder.times()[0])
    assert np.array_equal(streamed[t0:t0 + binned.size], binned) and streamed.sum() == recorder.n_events
    aval = dyn.avalanches(binned)
    assert aval.sizes.sum() == recorder.n_events
    rows = recording_avalanches(rec)
    assert [(r["region"], r["layer"]) for r in rows] == [("S1", "L23")]
    assert rows[0]["events"] == recorder.n_events and rows[0]["avalanches"] >= 1


def test_in_memory_without_an_output_directory_and_only_trial_zero_records():
    net = build(_touch(recording={"layers": ["L23"], "chunk_events": 300}))
    net.run(trials=2)
    rec = net.recording.reader()
    assert rec.root is None and rec.steps == 52
    assert rec.events("S1", "L23")["step"].size == rec.meta["regions"]["S1"]["layers"]["L23"]["events"]
    from regions.network import Network
    from regions.parallel import trial_seeds

    other = Network(net.config, trial_seed=trial_seeds(net.config.seed, 2)[1])
    assert other.recording is None  # trial 1 is an independent repetition, not recorded


def test_a_rerun_replaces_the_old_recording(tmp_path):
    build(_touch(tmp_path, {"layers": ["L23"], "chunk_events": 200})).run()
    old = load_recording(tmp_path).meta["regions"]["S1"]["layers"]["L23"]["chunks"]
    build(_touch(tmp_path, {"layers": ["L23"], "chunk_events": 5000})).run()
    new = load_recording(tmp_path).meta["regions"]["S1"]["layers"]["L23"]["chunks"]
    assert len(old) > len(new)
    on_disk = sorted(p.name for p in (tmp_path / "recording" / "S1" / "L23").iterdir())
    assert on_disk == sorted(c.split("/")[-1] for c in new)


def test_hierarchy_records_every_region_it_steps(tmp_path):
    cfg = load_config("configs/hierarchy.yaml", ["experiment.n_objects=4", "experiment.params.n_scenes=2",
                                                 "experiment.max_sensations=4", f"output.dir={tmp_path}",
                                                 "recording={layers: [L4, L23]}"])
    plain = build(load_config("configs/hierarchy.yaml", ["experiment.n_objects=4", "experiment.params.n_scenes=2",
                                                         "experiment.max_sensations=4"])).run()[0]
    m = build(cfg).run()[0]
    assert _strip(m) == _strip(plain)
    rec = load_recording(tmp_path)
    assert rec.regions == ["S1", "S2"]
    s1, s2 = rec.sensations("S1"), rec.sensations("S2")
    assert set(s1["step"].tolist()).isdisjoint(s2["step"].tolist())  # one region per step in this protocol
    assert s1["step"].size + s2["step"].size == rec.steps
    # S2 senses once per position: 2 scenes x 4 positions learned, then 2 x 4 per feedback mode inferred
    assert s2["learn"].tolist() == [1] * 8 + [0] * 16
    for name in ("S1", "S2"):
        ev = rec.events(name, "L23")
        assert set(np.unique(ev["step"]).tolist()) <= set(rec.sensations(name)["step"].tolist())


@pytest.mark.parametrize("recording, message", [
    ({"layers": ["L5"]}, "region 'S1' has no L5"),
    ({"layers": ["L1"]}, "L1 has no cells of its own"),
    ({"layers": ["L6"]}, "L6 of kind encoder has no cells"),
    ({"layers": ["L23", "L23"]}, "L23 is listed twice"),
    ({"regions": ["S1"]}, "no layers to record"),
    ({"chunk_events": 10}, "no layers to record"),
    ({"layers": ["L23"], "regions": ["V9"]}, "undefined region 'V9'"),
    ({"layers": ["L23"], "chunk_events": 0}, "chunk_events"),
])
def test_a_bad_recording_block_is_named_at_load(recording, message):
    with pytest.raises(ConfigError, match=message) as err:
        _touch(recording=recording)
    assert "recording" in str(err.value)


def test_recording_is_refused_where_the_experiment_does_not_step_the_network():
    with pytest.raises(ConfigError, match="recording: experiment 'critical_sweep' does not use recording"):
        load_config("configs/critical_sweep.yaml", ["recording={layers: [L23]}"])


def test_a_region_without_the_layer_is_refused_before_any_step():
    data = _touch().resolved()
    data["recording"] = {"layers": ["L23"]}
    net = build(config_from_dict(data))
    net.regions["S1"].L23 = None  # a region built without its object layer
    with pytest.raises(ValueError, match="recording.layers: region 'S1' holds no L23"):
        net.run()


def test_chunked_events_split_rows_across_chunks(tmp_path):
    stream = ChunkedEvents(("a", "b"), 4, tmp_path / "s")
    stream.append(a=np.arange(10), b=7)
    assert stream.buffered == 2 and len(stream.chunks) == 2
    stream.flush()
    parts = [np.load(tmp_path / "s" / f"chunk_{i:05d}.npz") for i in range(3)]
    assert np.concatenate([p["a"] for p in parts]).tolist() == list(range(10))
    assert {int(v) for p in parts for v in p["b"]} == {7}
    with pytest.raises(ValueError, match="chunk_events"):
        ChunkedEvents(("a",), 0, None)
    with pytest.raises(ValueError, match="fields"):
        stream.append(a=[1])


def test_load_recording_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no recording here"):
        load_recording(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a recording index"):
        load_recording(tmp_path)


def test_the_index_lists_every_chunk_on_disk_while_the_run_goes_on(tmp_path):
    net = build(_touch(tmp_path, {"layers": ["L23"], "chunk_events": 100}))
    region, world = net.regions["S1"], net.world
    for i in range(12):
        f, loc = world.sense(i % 4, np.array([i % 10, (i + 1) % 10]))
        net.step({"S1": loc}, {"S1": f}, learn=True)
        region.reset()
    rec = load_recording(tmp_path)  # not closed: what is on disk is readable
    assert not rec.meta["complete"]
    chunks = rec.meta["regions"]["S1"]["layers"]["L23"]["chunks"]
    assert len(chunks) == len(list((tmp_path / "recording" / "S1" / "L23").glob("chunk_*.npz"))) >= 9
    assert rec.events("S1", "L23")["cell"].size == 100 * len(chunks)
    net.close_recording()
    done = load_recording(tmp_path)
    assert done.meta["complete"] and done.events("S1", "L23")["cell"].size == 12 * 3 * 2 * 40  # 3 repeats each


def test_a_learning_step_records_the_layers_activity_at_every_repeat(tmp_path):
    a = build(_touch(tmp_path, {"layers": ["L4", "L23"]}))
    b = build(_touch())
    world, name = a.world, "S1"
    seen: dict[str, list[np.ndarray]] = {"L4": [], "L23": []}

    def observe(repeat: int, region) -> None:
        assert repeat == len(seen["L4"]) % 3
        seen["L4"].append(region.L4.active_cells.copy())
        seen["L23"].append(region.L23.active_cells.copy())

    steps = []
    for i in range(3):  # three novel pairs of one object, 3 repeats each
        f, loc = world.sense(0, np.array([i, i + 1]))
        steps.append(a.recording.steps)
        counts = a.step({name: loc}, {name: f}, learn=True, repeats=3)[name]
        ref = b.regions[name].learn_sensation(f, loc, repeats=3, observe=observe)
        assert np.array_equal(counts, ref)
    a.close_recording()
    assert len(seen["L4"]) == 9
    rec = load_recording(tmp_path)
    sens = rec.sensations(name)
    assert sens["learn"].tolist() == [1] * 3 and sens["iterations"].tolist() == [3] * 3
    # a novel pair bursts on its first repeat and narrows after: the repeats differ in L4
    assert seen["L4"][0].size > seen["L4"][2].size
    for layer in ("L4", "L23"):
        ev = rec.events(name, layer)
        per = rec.cells_per_column(name, layer)
        for k, step in enumerate(steps):
            here = ev["step"] == step
            assert set(ev["iteration"][here].tolist()) == {0, 1, 2}
            for repeat in range(3):
                mine = here & (ev["iteration"] == repeat)
                flat = ev["column"][mine].astype(np.int64) * per + ev["cell"][mine]
                assert np.array_equal(np.sort(flat), np.sort(seen[layer][3 * k + repeat])), (layer, step, repeat)
