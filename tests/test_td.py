"""TD learning over the frame (regions/td.py): the chain's closed form, replay order, the agent, the protocol."""

from __future__ import annotations

import numpy as np
import pytest

from regions.builder import build
from regions.config import ConfigError, load_config
from regions.entorhinal import CoordinateFrame
from regions.td import (
    ArenaLattice,
    ArenaTDParams,
    LinearTD,
    TransitionMemory,
    arena_lattice,
    backup_errors,
    episodes_to_criterion,
    rest,
    run_agent,
)
from regions.worlds.arena import ArenaWorld

CONFIG = "configs/arena_td.yaml"


def chain_lattice(n: int) -> ArenaLattice:
    """``n`` places in a row, one-hot codes (a tabular code: the closed form is exact)."""
    idx = np.arange(n)
    neighbours = np.full((n, 8), -1)
    neighbours[:-1, 0] = idx[:-1] + 1
    neighbours[1:, 1] = idx[1:] - 1
    return ArenaLattice(positions=np.column_stack([idx, np.zeros(n)]).astype(float), n=n, step=1.0,
                        neighbours=neighbours, phi=np.eye(n), place=None)


def run_chain(td: LinearTD, n: int, episodes: int) -> None:
    """Episodes along the chain 0 -> 1 -> ... -> n-1 (the goal, reward 1, terminal)."""
    eye = np.eye(n)
    for _ in range(episodes):
        td.begin()
        for s in range(n - 1):
            td.update(eye[s], 0.0, eye[s + 1])
        td.update(eye[n - 1], 1.0, None)


@pytest.mark.parametrize(("lam", "trace"), [(0.0, "accumulating"), (0.8, "accumulating"), (0.8, "replacing"),
                                             (1.0, "replacing")])
def test_td_on_a_chain_reaches_the_closed_form(lam, trace):
    n, gamma = 12, 0.9
    td = LinearTD(n, alpha=0.5, gamma=gamma, lam=lam, trace=trace)
    run_chain(td, n, 300)
    closed = gamma ** np.arange(n - 1, -1, -1)  # V(i) = gamma^(n-1-i)
    assert np.max(np.abs(td.w - closed)) < 1e-3


def test_td_lambda_carries_reward_further_back_in_one_episode():
    n, gamma = 12, 0.9
    td0, tdl = LinearTD(n, alpha=0.5, gamma=gamma, lam=0.0), LinearTD(n, alpha=0.5, gamma=gamma, lam=0.9)
    run_chain(td0, n, 1)
    run_chain(tdl, n, 1)
    assert np.count_nonzero(td0.w) == 1  # TD(0): only the goal learned from one episode
    assert np.count_nonzero(tdl.w) == n  # the trace reaches the start


def test_td_fixed_point_with_a_shared_code_is_the_least_squares_td_solution():
    """Offline TD(0) on a stochastic chain with an overlapping (non-tabular) code converges to the
    closed-form TD fixed point ``A w = b`` (LSTD on the same transitions)."""
    rng = np.random.default_rng(0)
    n, gamma = 7, 0.9
    phi = np.zeros((n, 4))  # each place activates 1-2 of 4 cells: values are shared
    phi[np.arange(n), np.arange(n) * 4 // n] = 1.0
    phi[np.arange(1, n, 2), (np.arange(1, n, 2) * 4 // n + 1) % 4] = 1.0
    s = rng.integers(0, n - 1, 200)
    s2 = np.minimum(s + rng.choice([0, 1, 2], s.size), n - 1)  # moves right by 0-2
    reward = (s2 == n - 1).astype(float)
    next_phi = np.where((s2 == n - 1)[:, None], 0.0, phi[s2])  # the last place ends the episode
    a = phi[s].T @ (phi[s] - gamma * next_phi)
    b = phi[s].T @ reward
    w_closed = np.linalg.solve(a, b)
    td = LinearTD(4, alpha=0.05, gamma=gamma, lam=0.0)
    for sweep in range(300):  # sweeps over the same transitions, step size decaying (Robbins-Monro)
        td.alpha = 0.05 / (1.0 + sweep)
        for k in range(s.size):
            td.backup(phi[s[k]], reward[k], None if s2[k] == n - 1 else phi[s2[k]])
    assert np.max(np.abs(td.w - w_closed)) < 1e-3


def episode_memory(n: int) -> TransitionMemory:
    """The memory of one episode along the chain, ending at place n-1 with reward 1."""
    memory = TransitionMemory(4)
    for s in range(n - 1):
        memory.observe(s, 0.0, s + 1)
    memory.observe(n - 1, 1.0, -1)
    return memory


def test_prioritized_replay_runs_backwards_from_the_goal_in_one_rest():
    n, gamma = 10, 0.9
    lattice, memory = chain_lattice(n), episode_memory(n)
    td = LinearTD(n, alpha=0.5, gamma=gamma, lam=0.0, replay_rate=1.0)
    log = rest(td, memory, lattice, "prioritized", n, np.random.default_rng(0))
    assert log.first == [n - 1]  # the goal first: the only place with a TD error
    assert log.reverse == n - 1 and log.forward == 0 and log.events == [n]  # one reverse sequence
    np.testing.assert_allclose(lattice.phi @ td.w, gamma ** np.arange(n - 1, -1, -1), atol=1e-12)
    random = LinearTD(n, alpha=0.5, gamma=gamma, lam=0.0, replay_rate=1.0)
    rest(random, memory, lattice, "random", n, np.random.default_rng(0))
    assert (lattice.phi @ random.w)[0] < gamma ** (n - 1)  # the same budget drawn at random does not get back


def test_prioritized_replay_backs_up_the_largest_gain_first_and_need_weights_it():
    lattice = chain_lattice(4)
    memory = TransitionMemory(4)
    memory.observe(1, 0.3, -1)  # two places where an episode ended, different rewards
    memory.observe(3, 0.8, -1)
    memory.observe(0, 0.0, 1)
    td = LinearTD(4, alpha=0.5, gamma=0.9, lam=0.0)
    errors = backup_errors(lattice.phi @ td.w, memory, td.gamma, 4)
    np.testing.assert_allclose(errors, [0.0, 0.3, 0.0, 0.8])
    assert rest(td, memory, lattice, "prioritized", 1, np.random.default_rng(0)).first == [3]
    td = LinearTD(4, alpha=0.5, gamma=0.9, lam=0.0)
    need = np.array([1.0, 1.0, 1.0, 0.1])  # gain x need: 0.3 x 1 beats 0.8 x 0.1
    assert rest(td, memory, lattice, "prioritized", 1, np.random.default_rng(0), need=need).first == [1]


def test_memory_keeps_the_latest_reward_of_a_place():
    memory = episode_memory(3)
    assert memory.leads(2, -1)
    memory.observe(2, 0.0, 1)  # the goal moved: the episode went on from place 2
    assert not memory.leads(2, -1) and memory.leads(2, 1)
    memory.observe(1, 1.0, -1)  # now an episode ends at place 1: moves remembered from it are stale
    assert not memory.leads(1, 2) and memory.leads(1, -1)


def small_agent(**params):
    frame = CoordinateFrame((6.0, 8.4, 11.8, 16.5), lattice="hexagonal")
    rng = np.random.default_rng(1)
    p = ArenaTDParams.model_validate({"episodes": 12, "max_steps": 300, "start": [1.0, 1.0], "goal": [8.0, 8.0],
                                      "move_goal_after": 0, "place_cells": 300, **params})
    lattice = arena_lattice(frame, 10.0, p.step, rng, features=p.features, place_cells=p.place_cells,
                            synapses_per_module=p.place_synapses_per_module, threshold=p.place_threshold)
    starts = np.full(p.episodes, lattice.index(np.array(p.start)))
    return run_agent(ArenaWorld(10.0, 1, seed=0), lattice, p, "none", starts, np.random.default_rng(2))


def test_agent_with_learned_values_beats_a_random_walk():
    learned = small_agent()
    walk = small_agent(learning_rate=1e-12)  # values stay ~0: the softmax picks moves uniformly
    assert learned.reached.all()
    assert learned.steps[-5:].mean() < 0.25 * walk.steps[-5:].mean()
    assert learned.steps[-5:].mean() < 2.0 * learned.shortest[0]


def test_episodes_to_criterion_counts_the_window_end():
    shortest = np.full(8, 4)
    steps = np.array([40, 30, 20, 4, 4, 5, 4, 4])
    assert episodes_to_criterion(steps, shortest, window=3, tolerance=0.1) == 6.0  # episodes 4-6: 13 <= 13.2
    assert episodes_to_criterion(steps, shortest, window=3, tolerance=0.0) == np.inf
    assert episodes_to_criterion(steps, shortest, window=2, tolerance=0.1, first=5) == 3.0  # episodes 7-8


SHRINK = ["experiment.params.episodes=6", "experiment.params.move_goal_after=3", "experiment.params.max_steps=150",
          "experiment.params.start=[13.0, 13.0]",
          "experiment.params.place_cells=300"]


def test_the_protocol_runs_and_replay_steps_change_the_result():
    base = build(load_config(CONFIG, SHRINK)).run()[0]
    assert base["lattice_points"] == 441 and len(base["table"]) == 6
    other = build(load_config(CONFIG, [*SHRINK, "experiment.params.replay_steps=0"])).run()[0]
    assert [r["steps_none"] for r in other["table"]] == [r["steps_none"] for r in base["table"]]  # same agent
    assert [r["steps_prioritized"] for r in other["table"]] == [r["steps_none"] for r in base["table"]]  # no replay
    assert [r["steps_prioritized"] for r in base["table"]] != [r["steps_none"] for r in base["table"]]


@pytest.mark.parametrize("setting", ["experiment.params.beta=50", "experiment.params.sr_learning_rate=0.2",
                                     "experiment.params.value=successor"])
def test_keys_that_would_not_be_read_are_refused(setting):
    with pytest.raises(ConfigError):
        load_config(CONFIG, [*SHRINK, "experiment.params.policy=epsilon_greedy", setting]
                    if "beta" in setting else [*SHRINK, setting])


def test_demo_and_benchmark_run(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for name, argv in (("demos/arena_td.py", ["--episodes", "4", "--max-steps", "60"]),
                       ("benchmarks/td.py", ["--seeds", "1", "--set", "experiment.params.episodes=4", "--set",
                                             "experiment.params.move_goal_after=2", "--set",
                                             "experiment.params.max_steps=60", "--figure", str(tmp_path / "td.png")])):
        spec = importlib.util.spec_from_file_location(Path(name).stem, root / name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main(argv)
    out = capsys.readouterr().out
    assert "prioritized" in out and "episodes until" in out and "recover" in out


def test_predicted_successors_back_up_moves_never_made():
    lattice = chain_lattice(4)
    memory = TransitionMemory(4)
    memory.observe(1, 0.0, 0)  # from place 1 the agent only ever went to place 0
    memory.observe(3, 1.0, -1)
    values = np.array([0.0, 0.0, 0.9, 1.0])
    remembered = backup_errors(values, memory, 0.9, 4)
    predicted = backup_errors(values, memory, 0.9, 4, lattice.neighbours)
    np.testing.assert_allclose(remembered, [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(predicted, [0.0, 0.81, 0.0, 0.0])  # the frame knows 1 -> 2 leads to V = 0.9
    td = LinearTD(4, alpha=0.5, gamma=0.9, lam=0.0, replay_rate=1.0)
    td.w[:] = values
    log = rest(td, memory, lattice, "prioritized", 1, np.random.default_rng(0), successors="predicted")
    assert log.first == [1] and td.w[1] == pytest.approx(0.81)
