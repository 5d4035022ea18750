"""Episodic memory: one-shot storage, partial-cue recall, sequence recall and replay."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from regions.entorhinal import CoordinateFrame
from regions.hippocampus import EpisodicMemory


def random_sdr(rng: np.random.Generator, size: int, active: int) -> np.ndarray:
    return np.sort(rng.choice(size, active, replace=False))


def corrupt(rng: np.random.Generator, sdr: np.ndarray, size: int, fraction: float) -> np.ndarray:
    n_swap = int(round(fraction * sdr.size))
    keep = rng.choice(sdr, sdr.size - n_swap, replace=False)
    new = rng.choice(np.setdiff1d(np.arange(size), sdr), n_swap, replace=False)
    return np.sort(np.concatenate([keep, new]))


@pytest.fixture
def stored() -> tuple[EpisodicMemory, list[dict[str, np.ndarray]]]:
    rng = np.random.default_rng(0)
    memory = EpisodicMemory(1024, 512, 256)
    objects = [random_sdr(rng, 256, 10) for _ in range(5)]
    episodes = []
    for i in range(100):
        episode = {
            "location": random_sdr(rng, 1024, 40),
            "feature": random_sdr(rng, 512, 20),
            "object": objects[i % 5],  # objects shared by many episodes
        }
        assert memory.store(**episode) == i
        episodes.append(episode)
    return memory, episodes


def test_one_exposure_then_recall_from_any_single_field(
    stored: tuple[EpisodicMemory, list[dict[str, np.ndarray]]],
) -> None:
    memory, episodes = stored
    assert len(memory) == 100
    for i in (0, 37, 99):
        by_location = memory.recall(location=episodes[i]["location"])
        assert by_location.episode == i and by_location.overlap == 40
        np.testing.assert_array_equal(by_location.feature, episodes[i]["feature"])
        np.testing.assert_array_equal(by_location.object, episodes[i]["object"])
        assert memory.recall(feature=episodes[i]["feature"]).episode == i


def test_noisy_partial_cues_recall_the_right_episode(
    stored: tuple[EpisodicMemory, list[dict[str, np.ndarray]]],
) -> None:
    memory, episodes = stored
    rng = np.random.default_rng(1)
    correct = 0
    for i in range(100):
        # 40 % of the location bits replaced, and only half of the remainder given
        cue = corrupt(rng, episodes[i]["location"], 1024, 0.4)
        cue = rng.choice(cue, cue.size // 2, replace=False)
        result = memory.recall(location=cue)
        correct += result.episode == i
    assert correct == 100
    # location + object: the object alone is ambiguous (20 episodes share it), together not
    i = 42
    result = memory.recall(location=episodes[i]["location"][:8], object=episodes[i]["object"])
    assert result.episode == i
    assert result.field_overlaps == {"location": 8, "object": 10}


def test_recall_on_an_empty_or_unrelated_memory_reports_no_episode() -> None:
    memory = EpisodicMemory(64, 64, 8, min_overlap=3)
    assert memory.recall(location=[1, 2]).episode == -1
    memory.store(location=[1, 2, 3, 4], feature=[5], object=[0])
    assert memory.recall(location=[10, 11, 12]).episode == -1
    assert memory.recall(location=[1, 2], feature=[5]).episode == 0


def random_walk_codes(rng: np.random.Generator, n_steps: int, side: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """A lattice random walk on a small arena (many revisits) and one random SDR per cell."""
    moves = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])
    position = np.zeros((n_steps, 2), dtype=int)
    for t in range(1, n_steps):
        position[t] = np.clip(position[t - 1] + moves[rng.integers(4)], 0, side - 1)
    place_sdrs = [random_sdr(rng, 2048, 40) for _ in range(side * side)]
    codes = [place_sdrs[x * side + y] for x, y in position]
    return position, codes


def test_recall_next_gives_the_successor() -> None:
    rng = np.random.default_rng(2)
    _, codes = random_walk_codes(rng, 50, 20)
    memory = EpisodicMemory(2048, 8, 8)
    elements = memory.store_trajectory(codes, timestamps=np.arange(50) * 0.1)
    np.testing.assert_array_equal(elements, np.arange(50))
    step = memory.recall_next(codes[10], after=9)
    assert step.matched == 10 and step.next == 11
    np.testing.assert_array_equal(step.code, codes[11])
    assert memory.recall_next(codes[49], after=48).next == -1


def test_noisy_replay_follows_the_traversal_order_despite_revisits() -> None:
    rng = np.random.default_rng(3)
    position, codes = random_walk_codes(rng, 300, 6)  # 36 places, 300 steps: every place revisited
    _, unique_counts = np.unique(position[:, 0] * 6 + position[:, 1], return_counts=True)
    assert unique_counts.max() > 5
    memory = EpisodicMemory(2048, 8, 8)
    memory.store_trajectory(codes)
    replay = memory.replay(compression=20.0, noise=0.3, rng=rng)
    rho = spearmanr(np.arange(replay.order.size), replay.order).statistic
    assert replay.order.size > 250
    assert rho > 0.9
    np.testing.assert_allclose(replay.timestamps, replay.order / 20.0)
    assert np.mean(np.diff(replay.order) == 1) > 0.9
    # without the temporal context (after=None) the chain jumps between revisits of a place
    element, current, chain = 0, codes[0], [0]
    for _ in range(299):
        step = memory.recall_next(corrupt(rng, current, 2048, 0.3))
        if step.next < 0:
            break
        element, current = step.next, step.code
        chain.append(element)
    assert spearmanr(np.arange(len(chain)), chain).statistic < 0.5


def test_replay_of_positions_through_an_encoder_and_time_compression() -> None:
    frame = CoordinateFrame((3, 4, 5, 7))
    rng = np.random.default_rng(4)
    steps = rng.normal(0, 0.7, (200, 2))
    positions = np.cumsum(steps, axis=0) + 10.0
    memory = EpisodicMemory(frame.cells_per_code, 8, 8, location_encoder=frame.grid_code)
    memory.store_trajectory(positions, timestamps=np.arange(200) * 0.05)
    replay = memory.replay(compression=10.0, start=20, noise=0.2, rng=rng)
    assert replay.order[0] == 20
    rho = spearmanr(np.arange(replay.order.size), replay.order).statistic
    assert rho > 0.9
    real_span = 0.05 * (replay.order[-1] - replay.order[0])
    assert replay.timestamps[-1] == pytest.approx(real_span / 10.0)


def test_several_trajectories_are_replayed_separately() -> None:
    rng = np.random.default_rng(5)
    _, first = random_walk_codes(rng, 30, 10)
    _, second = random_walk_codes(rng, 40, 10)
    memory = EpisodicMemory(2048, 8, 8)
    memory.store_trajectory(first)
    memory.store_trajectory(second)
    assert memory.n_trajectories == 2 and memory.n_sequence_elements == 70
    np.testing.assert_array_equal(memory.replay(trajectory=0).order, np.arange(30))
    latest = memory.replay()
    np.testing.assert_array_equal(latest.elements, 30 + np.arange(40))


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="location_size"):
        EpisodicMemory(0, 4, 4)
    memory = EpisodicMemory(16, 8, 4)
    with pytest.raises(ValueError, match="feature"):
        memory.store(location=[1], feature=[8], object=[0])
    with pytest.raises(ValueError, match="at least one"):
        memory.recall()
    with pytest.raises(ValueError, match="location_encoder"):
        memory.store_trajectory(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="no trajectory"):
        memory.replay()
    memory.store_trajectory([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="compression"):
        memory.replay(compression=0.0)
    with pytest.raises(ValueError, match="rng"):
        memory.replay(noise=0.2)
    with pytest.raises(ValueError, match="timestamps"):
        memory.store_trajectory([[1], [2]], timestamps=[1.0, 0.0])
