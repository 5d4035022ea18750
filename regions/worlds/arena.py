"""A 2-D arena: an agent moves, landmarks can be sensed when near.

The world knows nothing of columns or grid cells: it takes motor commands (displacements in
world units, reflected at the walls) and hands out the displacement actually made plus, per
sensor, the feature SDR of the nearest landmark within ``sense_radius`` (an empty SDR when
none) and its egocentric offset.  Path integration with grid modules, place cells, one-shot
landmark memory and replay live on the agent's side (:mod:`regions.entorhinal`,
:mod:`regions.hippocampus`; see ``demos/arena_navigation.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict
from pydantic.types import NonNegativeFloat, PositiveFloat, PositiveInt

from columns.sdr import random_batch

from ..config import Params

from .sensors import SensorNoise

__all__ = ["ArenaWorld", "ArenaWorldParams", "build_arena_world"]


class ArenaWorld:
    """A square arena of side ``side`` with ``n_landmarks`` landmarks.

    Parameters
    ----------
    side : arena side, world units.
    n_landmarks : landmarks, placed uniformly in the inner 80 % of the arena.
    sense_radius : a landmark is sensed when closer than this, world units.
    feature_size, feature_active : landmark feature SDRs.
    noise : observation noise (``bit_noise`` on landmark features).
    seed : seed of the landmarks, their features and the start position.

    Attributes
    ----------
    position : float ``(2,)``, the agent's true position.
    landmarks : float ``(n_landmarks, 2)``.
    features : CSR ``(n_landmarks, feature_size)``.
    """

    def __init__(self, side: float = 20.0, n_landmarks: int = 8, sense_radius: float = 1.5, *,
                 feature_size: int = 1024, feature_active: int = 20, noise: SensorNoise | None = None,
                 seed: int = 0) -> None:
        if not float(side) > 0:
            raise ValueError(f"side must be positive, got {side}")
        if int(n_landmarks) < 0:
            raise ValueError(f"n_landmarks must be >= 0, got {n_landmarks}")
        if not float(sense_radius) > 0:
            raise ValueError(f"sense_radius must be positive, got {sense_radius}")
        rng = np.random.default_rng(seed)
        self.side, self.sense_radius = float(side), float(sense_radius)
        self.landmarks = rng.uniform(0.1 * self.side, 0.9 * self.side, (int(n_landmarks), 2))
        self.features = random_batch(max(int(n_landmarks), 1), feature_size, feature_active, rng)[: int(n_landmarks)]
        self.feature_size = int(feature_size)
        self.noise = noise or SensorNoise(seed=rng)
        self.position = rng.uniform(0.2 * self.side, 0.8 * self.side, 2)

    def reset(self, position: np.ndarray) -> None:
        """Place the agent at ``position`` (inside the arena)."""
        p = np.asarray(position, dtype=np.float64).reshape(-1)
        if p.shape != (2,) or np.any(p < 0) or np.any(p > self.side):
            raise ValueError(f"position must be 2 numbers in [0, {self.side}], got {position}")
        self.position = p

    def move(self, displacement: np.ndarray) -> np.ndarray:
        """Move by ``displacement`` (world units), reflecting at the walls; returns the displacement made."""
        d = np.asarray(displacement, dtype=np.float64).reshape(-1)
        if d.shape != (2,) or not np.isfinite(d).all():
            raise ValueError(f"displacement must be 2 finite numbers, got {displacement}")
        new = self.position + d
        new = np.where(new < 0, -new, new)
        new = np.where(new > self.side, 2 * self.side - new, new)
        new = np.clip(new, 0.0, self.side)
        made = new - self.position
        self.position = new
        return made

    def sense(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(landmark id or -1, its feature SDR indices, its egocentric offset ``(2,)``)."""
        if len(self.landmarks) == 0:
            return -1, np.zeros(0, dtype=np.int32), np.zeros(2)
        offsets = self.landmarks - self.position
        dist = np.linalg.norm(offsets, axis=1)
        k = int(np.argmin(dist))
        if dist[k] >= self.sense_radius:
            return -1, np.zeros(0, dtype=np.int32), np.zeros(2)
        f = self.noise.corrupt_sdrs(self.features[[k]])
        return k, f.indices.astype(np.int32), offsets[k]

    def random_walk(self, n_steps: int, speed: float, rng: np.random.Generator,
                    turn_sigma: float = 0.4) -> np.ndarray:
        """Walk ``n_steps`` correlated random steps; returns positions ``(n_steps + 1, 2)``."""
        if int(n_steps) < 0 or not float(speed) > 0:
            raise ValueError(f"n_steps must be >= 0 and speed > 0, got {n_steps}, {speed}")
        heading = rng.uniform(0, 2 * np.pi)
        path = [self.position.copy()]
        for _ in range(int(n_steps)):  # sequential by nature
            heading += rng.normal(0.0, turn_sigma)
            made = self.move(speed * np.array([np.cos(heading), np.sin(heading)]))
            heading = np.arctan2(made[1], made[0])
            path.append(self.position.copy())
        return np.array(path)


class ArenaWorldParams(Params):
    """``world.params`` of the ``arena`` world.

    Landmark feature SDRs have the sensing column's L4 size (``L4.minicolumns`` bits,
    ``L4.active_minicolumns`` active: one source of truth for both).
    """

    model_config = ConfigDict(extra="forbid")

    side: PositiveFloat = 20.0
    n_landmarks: PositiveInt = 8
    sense_radius: PositiveFloat = 1.5
    bit_noise: NonNegativeFloat = 0.0


def build_arena_world(spec: Any, *, config: Any, seed: int) -> ArenaWorld:
    """The arena of a config's ``world.params``, landmark features sized by the first region's L4."""
    p = ArenaWorldParams.model_validate(spec.params)
    l4 = config.regions[0].column.L4
    return ArenaWorld(p.side, p.n_landmarks, p.sense_radius, feature_size=l4.minicolumns,
                      feature_active=l4.active_minicolumns, noise=SensorNoise(min(p.bit_noise, 1.0), 0.0, seed + 1),
                      seed=seed)


def _register() -> None:
    from regions.builder import register_builder

    register_builder("arena", "world", params=ArenaWorldParams)(build_arena_world)


_register()
