"""YAML -> validated configuration of a hierarchy of cortical-column regions.

A configuration names the regions (each a set of identical columns with per-layer parameters and
a lateral graph), the connections between regions, the world, the experiment, what to record and
where to write results.  It is described by pydantic models (unknown keys are errors) and loaded
with :func:`load_config`, which

* parses YAML with ``yaml.SafeLoader`` only (a subclass that also records the line of every
  mapping key and sequence item, so that errors point at lines),
* follows ``extends: base.yaml`` (relative to the extending file; mappings are deep-merged, lists
  and scalars replaced; cycles are an error),
* ignores top-level keys starting with ``x-`` (holders of YAML anchors, as in Compose files),
* applies ``key.path=value`` overrides (the value is parsed as YAML; list items are addressed as
  ``regions[0].columns`` or ``regions.0.columns``),
* validates, including cross-field checks (feedforward cycles, undefined regions, more active
  cells than cells, thresholds that can never be reached, unknown networkx generators).

Every error is a :class:`ConfigError` whose ``str`` reads like::

    configs/x.yaml:14: regions[0].column.L23.cells: must be a positive integer, got -4

Example
-------
>>> cfg = Config.model_validate({"regions": [{"name": "V1", "columns": 4}]})
>>> cfg.regions[0].column.L23.sdr_size
40
>>> cfg.resolved()["regions"][0]["lateral"]["topology"]
'complete_graph'
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.types import NonNegativeInt, PositiveFloat, PositiveInt

__all__ = [
    "ConfigError",
    "Config",
    "Params",
    "TrackedModel",
    "track_reads",
    "unread_keys",
    "RegionSpec",
    "ColumnSpec",
    "L4Params",
    "L23Params",
    "L6Params",
    "L5Params",
    "L1Params",
    "CANONICAL_WIRING",
    "DEFAULT_LAYERS",
    "column_wiring",
    "LateralSpec",
    "ConnectionSpec",
    "WorldSpec",
    "ExperimentSpec",
    "NoiseSpec",
    "SweepSpec",
    "RecordingSpec",
    "GrowthSpec",
    "OutputSpec",
    "LAYER_NAMES",
    "load_config",
    "config_from_dict",
    "config_json_schema",
    "parse_key_path",
    "format_key_path",
    "set_by_path",
    "get_by_path",
    "networkx_generator_names",
]

KeyPath = tuple[str | int, ...]
LAYER_NAMES: tuple[str, ...] = ("L4", "L23", "L6", "L5", "L1")
LAYER_ORDER: tuple[str, ...] = ("L6", "L4", "L23", "L1", "L5")


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------


class ConfigError(ValueError):
    """A configuration problem, located as ``source:line: key.path: message``.

    Attributes
    ----------
    message : the problem, e.g. ``"must be a positive integer, got -4"``.
    source : the file (as given, or as reached through ``extends``) or ``"--set k=v"``; may be None.
    line : 1-based line number in ``source``; None when unknown (e.g. a default value).
    key_path : the dotted key path, e.g. ``"regions[0].column.L23.cells"``; may be empty.
    errors : every problem found (this error first); ``str(error)`` shows the first only.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        key_path: str = "",
        errors: list[ConfigError] | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.key_path = key_path
        self.errors: list[ConfigError] = errors if errors else [self]
        super().__init__(self._format())

    def _format(self) -> str:
        parts: list[str] = []
        if self.source:
            parts.append(f"{self.source}:{self.line}" if self.line else self.source)
        if self.key_path:
            parts.append(self.key_path)
        parts.append(self.message)
        return ": ".join(parts)


class _FieldErrors(ValueError):
    """Raised inside model validators: problems located *relative* to the validated model."""

    def __init__(self, items: list[tuple[KeyPath, str]]) -> None:
        self.items = items
        super().__init__("; ".join(f"{format_key_path(loc) or '<root>'}: {msg}" for loc, msg in items))


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    match = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


# --------------------------------------------------------------------------------------------
# key paths
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def parse_key_path(text: str) -> KeyPath:
    """Parse ``"regions[0].column.L23.cells"`` (or ``"regions.0.column..."``) into a tuple.

    Bracketed and all-digit components become ints (list indices).

    >>> parse_key_path("regions[0].column.L23.cells")
    ('regions', 0, 'column', 'L23', 'cells')
    >>> parse_key_path("regions.1.columns")
    ('regions', 1, 'columns')
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"key path must be a non-empty string, got {text!r}")
    out: list[str | int] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        if text[pos] == ".":
            if pos == 0 or pos == len(text) - 1 or text[pos + 1] == ".":
                raise ValueError(f"malformed key path {text!r}")
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"malformed key path {text!r} at character {pos}")
        if m.group(1) is not None:
            name = m.group(1).strip()
            out.append(int(name) if name.isdigit() else name)
        else:
            out.append(int(m.group(2)))
        pos = m.end()
    return tuple(out)


def format_key_path(path: Sequence[str | int]) -> str:
    """Inverse of :func:`parse_key_path`: ``('regions', 0, 'columns')`` -> ``regions[0].columns``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def get_by_path(data: Any, path: KeyPath) -> Any:
    """The value at ``path`` inside nested dicts/lists; ``KeyError`` naming the missing part."""
    node = data
    for i, part in enumerate(path):
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise KeyError(f"{format_key_path(path[: i + 1])} does not exist")
            node = node[part]
        elif isinstance(node, dict):
            if part not in node:
                raise KeyError(f"{format_key_path(path[: i + 1])} does not exist")
            node = node[part]
        else:
            raise KeyError(f"{format_key_path(path[:i])} is not a mapping or list")
    return node


def set_by_path(data: dict, path: KeyPath, value: Any) -> None:
    """Set ``value`` at ``path`` inside nested dicts/lists, creating missing mappings.

    Raises ``KeyError`` for a list index out of range or a scalar in the way.
    """
    if not path:
        raise KeyError("empty key path")
    node: Any = data
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise KeyError(
                    f"index {part} out of range: {format_key_path(path[:i]) or 'the list'} has "
                    f"{len(node)} item(s)"
                )
            node = node[part]
        elif isinstance(node, dict):
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            raise KeyError(f"{format_key_path(path[:i])} is a {type(node).__name__}, not a mapping")
    last = path[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or not -len(node) <= last < len(node):
            raise KeyError(
                f"index {last} out of range: {format_key_path(path[:-1])} has {len(node)} item(s)"
            )
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise KeyError(f"{format_key_path(path[:-1])} is a {type(node).__name__}, not a mapping")


def _normalise_path(data: Any, path: KeyPath) -> KeyPath:
    """Turn digit-string parts into ints where the container is a list (``regions.0``)."""
    out: list[str | int] = []
    node = data
    for part in path:
        if isinstance(node, list) and isinstance(part, str) and part.lstrip("-").isdigit():
            part = int(part)
        if isinstance(node, dict) and isinstance(part, int) and part not in node and str(part) in node:
            part = str(part)
        out.append(part)
        try:
            node = node[part] if isinstance(node, (dict, list)) else None
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


# --------------------------------------------------------------------------------------------
# networkx generators (names only; networkx is imported lazily)
# --------------------------------------------------------------------------------------------


@functools.cache
def networkx_generator_names() -> frozenset[str]:
    """Names of the graph generators in ``networkx.generators`` (``complete_graph``, ...)."""
    import networkx as nx

    names = set()
    for name in dir(nx.generators):
        obj = getattr(nx.generators, name)
        module = getattr(obj, "__module__", "") or ""
        if callable(obj) and not name.startswith("_") and module.startswith("networkx.generators"):
            if not isinstance(obj, type):
                names.add(name)
    return frozenset(names)


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ModelName = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")]


_READS: list[set[tuple[Any, str]] | None] = [None]


class TrackedModel(BaseModel):
    """A pydantic model whose field reads can be recorded (:func:`track_reads`).

    Every configuration block and every registered ``params`` model derives from it, so a
    test can assert that each key a config sets is read by the run (no silent key).
    """

    def __getattribute__(self, name: str) -> Any:
        reads = _READS[0]
        if reads is not None and name[:1] != "_":
            cls = object.__getattribute__(self, "__class__")
            if name in cls.__pydantic_fields__:
                reads.add((id(self), name))
                reads.add((cls, name))
        return object.__getattribute__(self, name)


class track_reads:  # noqa: N801 - used as a context manager, reads like a function
    """Record which configuration fields are read inside a ``with`` block.

    >>> cfg = Config.model_validate({"regions": [{"name": "V1"}]})
    >>> with track_reads() as reads:
    ...     _ = cfg.regions[0].columns
    >>> unread_keys(cfg, reads, [("regions", 0, "columns"), ("seed",)])
    [('seed',)]
    """

    def __enter__(self) -> set[tuple[Any, str]]:
        self._previous = _READS[0]
        _READS[0] = set() if self._previous is None else self._previous
        return _READS[0]

    def __exit__(self, *exc: object) -> None:
        _READS[0] = self._previous


def unread_keys(cfg: BaseModel, reads: set[tuple[Any, str]], paths: Iterable[KeyPath]) -> list[KeyPath]:
    """The key paths among ``paths`` (leaves of a config's YAML) whose field was never read.

    A key inside ``world.params`` / ``experiment.params`` counts as read when the field of that
    name was read on any instance of the registered params model (runners validate the dict).
    """
    out = []
    for path in paths:
        node: Any = cfg
        read = True
        for i, key in enumerate(path):
            if isinstance(node, BaseModel):
                if (id(node), key) not in reads:
                    read = False
                    break
                node = node.__dict__.get(key) if isinstance(key, str) else None
            elif isinstance(node, list) and isinstance(key, int):
                node = node[key] if key < len(node) else None
            elif isinstance(node, dict) and path[i - 1] == "params" and i >= 2:
                from regions import builder

                kind = get_by_path(cfg.model_dump(), path[: i - 1] + ("kind",))
                model = builder.get_params_model(path[i - 2], kind)
                if model is None or (model, key) not in reads:
                    read = False
                break
            else:
                break
        if not read:
            out.append(tuple(path))
    return out


class _Spec(TrackedModel):
    """Base of every configuration block: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class Params(TrackedModel):
    """Base of a registered kind's ``params`` model: unknown keys are errors, reads are tracked."""

    model_config = ConfigDict(extra="forbid")


class L4Permanence(_Spec):
    """Permanence rule of L4 basal/apical synapses (2017: 0.51 / 0.6 / +0.1 / -0.02)."""

    initial: Fraction = 0.51
    connected: Fraction = 0.6
    increment: Fraction = 0.1
    decrement: Fraction = 0.02


class ProximalPermanence(_Spec):
    """Permanence rule of L2/3 proximal synapses (2017: 0.6 / 0.5 / +0.1 / -0.001)."""

    initial: Fraction = 0.6
    connected: Fraction = 0.5
    increment: Fraction = 0.1
    decrement: Fraction = 0.001


class DistalPermanence(_Spec):
    """Permanence rule of L2/3 distal (internal and lateral) synapses (2017: 0.41 / 0.5 / +0.1 / -0.001)."""

    initial: Fraction = 0.41
    connected: Fraction = 0.5
    increment: Fraction = 0.1
    decrement: Fraction = 0.001


class AnchorPermanence(_Spec):
    """Permanence rule of L6 anchor segments onto L4 (2019: grown at 1.0, connected at 0.6)."""

    initial: Fraction = 1.0
    connected: Fraction = 0.6
    increment: Fraction = 0.1
    decrement: Fraction = 0.0


class ApicalPermanence(L4Permanence):
    """Permanence rule of L1 apical (feedback) synapses; same defaults as L4."""


class ProximalSegments(_Spec):
    """L2/3 proximal dendrites: synapses sampled per learning step and the firing threshold.

    ``dendrites``: ``per_sensation`` (default) grows one segment per (cell, sensation of an
    object), so a segment fires only for its one learned (feature, location) pattern;
    ``per_cell`` keeps one dendrite per cell whose overlap sums every learned pattern (the 2017
    reference's column pooler), which makes a noisy input more likely to reach threshold.
    """

    sample_size: PositiveInt = 10
    threshold: PositiveInt = 5
    dendrites: Literal["per_sensation", "per_cell"] = "per_sensation"
    permanence: ProximalPermanence = Field(default_factory=ProximalPermanence)

    @model_validator(mode="after")
    def _check(self) -> ProximalSegments:
        if self.threshold > self.sample_size:
            raise _FieldErrors([(("threshold",), _threshold_msg(self.threshold, self.sample_size))])
        return self


class DistalSegments(_Spec):
    """L2/3 distal segments (internal context and lateral votes).

    ``dendrites``: ``per_object`` (default) grows one segment per (cell, source column, object)
    and counts the sources voting within one object; ``per_source`` keeps one dendrite per
    (cell, source column) summing every object learned on the cell (the 2017 reference's column
    pooler), its support the number of sources whose dendrite is active.
    """

    sample_size: PositiveInt = 20
    threshold: PositiveInt = 13
    dendrites: Literal["per_object", "per_source"] = "per_object"
    permanence: DistalPermanence = Field(default_factory=DistalPermanence)

    @model_validator(mode="after")
    def _check(self) -> DistalSegments:
        if self.threshold > self.sample_size:
            raise _FieldErrors([(("threshold",), _threshold_msg(self.threshold, self.sample_size))])
        return self


def _threshold_msg(threshold: int, sample_size: int) -> str:
    return (
        f"threshold {threshold} can never be reached: a segment grows at most sample_size = "
        f"{sample_size} synapses"
    )


class L4Params(_Spec):
    """L4 input layer (apical tie-break pair memory), 2017 defaults.

    ``minicolumns`` x ``cells_per_minicolumn`` cells per column; a sensed feature activates
    ``active_minicolumns`` minicolumns.  Segment thresholds are counts of active connected synapses.
    """

    minicolumns: PositiveInt = 150
    cells_per_minicolumn: PositiveInt = 16
    active_minicolumns: PositiveInt = 10
    sample_size: PositiveInt = 30
    basal_threshold: PositiveInt = 13
    min_threshold: PositiveInt = 13
    apical_threshold: PositiveInt = 13
    reduced_basal_threshold: PositiveInt = 7
    permanence: L4Permanence = Field(default_factory=L4Permanence)

    @property
    def cells(self) -> int:
        """Cells per column (minicolumns x cells_per_minicolumn)."""
        return self.minicolumns * self.cells_per_minicolumn

    @model_validator(mode="after")
    def _check(self) -> L4Params:
        errors: list[tuple[KeyPath, str]] = []
        if self.active_minicolumns > self.minicolumns:
            errors.append(
                (
                    ("active_minicolumns",),
                    f"more active minicolumns ({self.active_minicolumns}) than minicolumns "
                    f"({self.minicolumns})",
                )
            )
        for name in ("basal_threshold", "min_threshold", "apical_threshold"):
            value = getattr(self, name)
            if value > self.sample_size:
                errors.append(((name,), _threshold_msg(value, self.sample_size)))
        if self.reduced_basal_threshold > self.basal_threshold:
            errors.append(
                (
                    ("reduced_basal_threshold",),
                    f"must not exceed basal_threshold ({self.basal_threshold}), got "
                    f"{self.reduced_basal_threshold}",
                )
            )
        if errors:
            raise _FieldErrors(errors)
        return self


class L23Params(_Spec):
    """L2/3 object layer (column pooler), 2017 defaults: 4096 cells, 40 active.

    ``inertia`` weighs the previous activity; ``settle_max_iterations`` bounds the lateral voting
    exchange per sensation.
    """

    cells: PositiveInt = 4096
    sdr_size: PositiveInt = 40
    proximal: ProximalSegments = Field(default_factory=ProximalSegments)
    distal: DistalSegments = Field(default_factory=DistalSegments)
    inertia: Annotated[float, Field(ge=0.0)] = 1.0
    settle_max_iterations: PositiveInt = 10

    @model_validator(mode="after")
    def _check(self) -> L23Params:
        errors: list[tuple[KeyPath, str]] = []
        if self.sdr_size > self.cells:
            errors.append(
                (("sdr_size",), f"more active cells ({self.sdr_size}) than cells ({self.cells})")
            )
        if self.distal.threshold > self.sdr_size:
            errors.append(
                (
                    ("distal", "threshold"),
                    f"threshold {self.distal.threshold} can never be reached: only sdr_size = "
                    f"{self.sdr_size} presynaptic L2/3 cells are active",
                )
            )
        if errors:
            raise _FieldErrors(errors)
        return self


class L6Params(_Spec):
    """L6 location layer.  ``kind`` says where a column's location comes from:

    * ``encoder`` (the 2017 protocol): the world supplies each sensation's location SDR
      (``world.params.location_size`` bits); L6 passes it to L4 basal dendrites.  Takes no other key.
    * ``grid_modules`` (Lewis et al. 2019): ``modules`` grid-cell modules of ``cells_per_axis``
      squared cells per column, path-integrating the sensor's movements and anchored to L4.

    For ``grid_modules``: ``scale`` is the grid period in world units (same for every module
    unless ``scales`` lists one per module); ``orientations_deg`` defaults to
    ``(i + 0.5) * 60 / modules``; ``bump_sigma`` defaults to ``0.18172 * 6 / cells_per_axis``.
    Anchor segments grow ``anchor_sample_size`` synapses onto L4 and fire at
    ``anchoring_threshold`` active connected ones.
    """

    kind: Literal["encoder", "grid_modules"] = "encoder"
    modules: PositiveInt = 10
    cells_per_axis: PositiveInt = 10
    scale: PositiveFloat = 40.0
    scales: list[PositiveFloat] | None = None
    orientations_deg: list[float] | None = None
    bump_sigma: PositiveFloat | None = None
    anchoring_threshold: PositiveInt = 8
    anchor_sample_size: PositiveInt = 10
    anchor_permanence: AnchorPermanence = Field(default_factory=AnchorPermanence)

    @property
    def cells(self) -> int:
        """Cells per column (modules x cells_per_axis^2)."""
        return self.modules * self.cells_per_axis**2

    @model_validator(mode="after")
    def _check(self) -> L6Params:
        errors: list[tuple[KeyPath, str]] = []
        if self.kind == "encoder":
            for name in sorted(self.model_fields_set - {"kind"}):
                errors.append(((name,), f"an L6 of kind 'encoder' takes its location from the world and has no "
                                        f"{name!r}; set kind: grid_modules to use grid-cell modules"))
            if errors:
                raise _FieldErrors(errors)
            return self
        for name in ("scales", "orientations_deg"):
            value = getattr(self, name)
            if value is not None and len(value) != self.modules:
                errors.append(
                    ((name,), f"must list one value per module ({self.modules}), got {len(value)}")
                )
        if self.anchoring_threshold > self.anchor_sample_size:
            errors.append(
                (
                    ("anchoring_threshold",),
                    _threshold_msg(self.anchoring_threshold, self.anchor_sample_size).replace(
                        "sample_size", "anchor_sample_size"
                    ),
                )
            )
        if errors:
            raise _FieldErrors(errors)
        return self


class L5Params(_Spec):
    """L5 action layer: how the next movement is chosen (``random``, ``scan`` or ``hypothesis``)."""

    policy: Literal["random", "scan", "hypothesis"] = "random"


class L1Params(_Spec):
    """L1: the apical input of L4 cells -- the column's own L2/3 (2017), or the L2/3 of higher
    regions that feed back (``connections`` of kind ``feedback``).  L4's apical segments take
    ``L4.apical_threshold`` and the L4 permanence rule.  Listing L1 in ``layers`` turns the
    feedback on; the block has no keys of its own."""


#: The canonical wiring among a column's layers: (source, target, pathway).  Only the edges
#: whose both ends a column lists exist (:func:`column_wiring`).
CANONICAL_WIRING: tuple[tuple[str, str, str], ...] = (
    ("L6", "L4", "basal: location context of the sensed feature"),
    ("L4", "L23", "proximal: feed-forward drive of the object layer"),
    ("L23", "L23", "lateral distal: votes of neighbouring columns"),
    ("L23", "L1", "feedback: object hypotheses"),
    ("L1", "L4", "apical: tie-break among predicted cells"),
    ("L4", "L6", "anchoring: a sensed feature narrows the location (grid modules)"),
    ("L23", "L5", "object hypotheses for the next movement"),
    ("L6", "L5", "the current location for the next movement"),
)


def column_wiring(layers: Iterable[str]) -> list[tuple[str, str, str]]:
    """The canonical wiring edges present in a column with ``layers``.

    >>> [(a, b) for a, b, _ in column_wiring(["L4", "L23"])]
    [('L4', 'L23'), ('L23', 'L23')]
    """
    have = set(layers)
    return [(a, b, why) for a, b, why in CANONICAL_WIRING if a in have and b in have]


DEFAULT_LAYERS: tuple[str, ...] = ("L6", "L4", "L23", "L1")


class ColumnSpec(_Spec):
    """One column: the ``layers`` it has (every column of a region is alike), their parameters
    and the plasticity rule name.

    Only the listed layers are built, budgeted and described; a parameter block for a layer that
    is not listed is an error.  L4 is required (a column senses through it).  The canonical wiring
    among the listed layers is :data:`CANONICAL_WIRING`.
    """

    layers: Annotated[list[Literal["L1", "L23", "L4", "L5", "L6"]], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_LAYERS))
    L4: L4Params = Field(default_factory=L4Params)
    L23: L23Params = Field(default_factory=L23Params)
    L6: L6Params = Field(default_factory=L6Params)
    L5: L5Params = Field(default_factory=L5Params)
    L1: L1Params = Field(default_factory=L1Params)
    plasticity: ModelName = "hebbian"

    @model_validator(mode="after")
    def _check(self) -> ColumnSpec:
        errors: list[tuple[KeyPath, str]] = []
        listed = list(self.layers)
        for name in sorted({n for n in listed if listed.count(n) > 1}):
            errors.append((("layers",), f"{name} is listed twice"))
        for name in ("L1", "L23", "L5", "L6"):
            if name in self.model_fields_set and name not in listed:
                errors.append(((name,), f"a {name} block is given but {name} is not in layers {listed}: "
                                        f"add it to layers or remove the block"))
        if "L4" not in listed:
            errors.append((("layers",), f"a column senses through L4: layers {listed} must include L4"))
        if "L5" in listed and "L23" not in listed:
            errors.append((("layers",), "L5 chooses movements from L2/3 hypotheses: layers with L5 must include L23"))
        if errors:
            raise _FieldErrors(errors)
        if "L23" in listed and self.L23.proximal.threshold > self.L4.active_minicolumns:
            raise _FieldErrors(
                [
                    (
                        ("L23", "proximal", "threshold"),
                        f"threshold {self.L23.proximal.threshold} can never be reached: at most "
                        f"L4.active_minicolumns = {self.L4.active_minicolumns} L4 cells are active",
                    )
                ]
            )
        return self


class LateralSpec(_Spec):
    """The lateral (voting) graph between a region's columns.

    Either a networkx generator by name with keyword ``args`` (``n`` defaults to the column
    count and ``seed`` to a seed derived from the config seed, when the generator takes them), or
    an explicit undirected ``edges`` list over columns ``0..columns-1``.
    """

    topology: ModelName | None = "complete_graph"
    args: dict[str, Any] = Field(default_factory=dict)
    edges: list[Annotated[list[NonNegativeInt], Field(min_length=2, max_length=2)]] | None = None

    @model_validator(mode="after")
    def _check(self) -> LateralSpec:
        errors: list[tuple[KeyPath, str]] = []
        if self.edges is not None:
            if "topology" in self.model_fields_set and self.topology is not None:
                errors.append((("edges",), "give either 'topology' or 'edges', not both"))
            if self.args:
                errors.append((("args",), "'args' only applies to a 'topology' generator"))
            for i, (u, v) in enumerate(self.edges):
                if u == v:
                    errors.append((("edges", i), f"self-loop on column {u}"))
        elif self.topology is None:
            errors.append((("topology",), "give a networkx generator name or an 'edges' list"))
        elif self.topology not in networkx_generator_names():
            errors.append(
                (
                    ("topology",),
                    f"unknown networkx generator {self.topology!r}"
                    + _did_you_mean(self.topology, networkx_generator_names()),
                )
            )
        if errors:
            raise _FieldErrors(errors)
        return self


class RegionSpec(_Spec):
    """A region: ``columns`` identical columns sharing batched layer state, and their lateral graph."""

    name: ModelName
    columns: PositiveInt = 1
    column: ColumnSpec = Field(default_factory=ColumnSpec)
    lateral: LateralSpec = Field(default_factory=LateralSpec)

    @model_validator(mode="after")
    def _check(self) -> RegionSpec:
        lat = self.lateral
        if lat.edges is not None:
            bad = [
                (("lateral", "edges", i), f"column index out of range 0..{self.columns - 1}: {e}")
                for i, e in enumerate(lat.edges)
                if max(e) >= self.columns
            ]
            if bad:
                raise _FieldErrors(bad)
            return self
        try:
            from regions.builder import build_lateral_graph

            build_lateral_graph(lat, self.columns, seed=0)
        except ValueError as exc:
            raise _FieldErrors([(("lateral",), str(exc))]) from None
        return self


ConnectionKind = Literal["feedforward", "feedback", "motor"]
_CONNECTION_LAYERS: dict[str, tuple[tuple[str, ...], str | None]] = {
    # kind: (allowed source layers, target layer)
    "feedforward": (("L23", "L5"), "L4"),
    "feedback": (("L23",), "L1"),
    "motor": (("L5",), None),
}


class ConnectionSpec(_Spec):
    """A connection between regions.

    ``feedforward``: source L2/3 (or L5) -> target L4; ``feedback``: source L2/3 -> target L1
    (apical); ``motor``: source L5 -> ``target`` (another region, or ``"world"``).
    ``source_layer`` defaults to L23 (L5 for motor).
    """

    kind: ConnectionKind
    source: ModelName
    target: ModelName
    source_layer: Literal["L23", "L5"] | None = None

    @model_validator(mode="after")
    def _check(self) -> ConnectionSpec:
        allowed, _target = _CONNECTION_LAYERS[self.kind]
        if self.source_layer is None:
            self.source_layer = allowed[0]  # type: ignore[assignment]
        elif self.source_layer not in allowed:
            raise _FieldErrors(
                [
                    (
                        ("source_layer",),
                        f"a {self.kind} connection leaves from {' or '.join(allowed)}, got "
                        f"{self.source_layer!r}",
                    )
                ]
            )
        return self

    @property
    def target_layer(self) -> str | None:
        """The layer receiving the connection (L4, L1, or None for motor output)."""
        return _CONNECTION_LAYERS[self.kind][1]


class WorldSpec(_Spec):
    """The sensorimotor environment; ``params`` are validated by the registered world kind."""

    kind: Literal["feature_objects", "grid_objects", "digits", "arena"] = "feature_objects"
    params: dict[str, Any] = Field(default_factory=dict)


class NoiseSpec(_Spec):
    """Fractions of the feature / location SDR bits replaced by noise at test time."""

    feature: Fraction = 0.0
    location: Fraction = 0.0


class SweepSpec(_Spec):
    """Run the experiment once per value of ``parameter`` (a key path into this config)."""

    parameter: Annotated[str, Field(min_length=1)]
    values: Annotated[list[Any], Field(min_length=1)]


class ExperimentSpec(_Spec):
    """What to run: a registered experiment ``kind`` and its common knobs.

    ``n_features`` and ``n_locations`` are the sizes of the feature and location pools; each
    object has ``features_per_object`` (feature, location) pairs at distinct locations.
    ``params`` holds runner-specific extras, validated by the registered runner when it declares
    a parameter model.
    """

    kind: ModelName = "touch_objects"
    phases: Annotated[list[Literal["train", "test"]], Field(min_length=1)] = Field(
        default_factory=lambda: ["train", "test"]
    )
    n_objects: PositiveInt = 50
    n_features: PositiveInt = 100
    n_locations: PositiveInt = 100
    features_per_object: PositiveInt = 10
    trials: PositiveInt = 1
    noise: NoiseSpec = Field(default_factory=NoiseSpec)
    max_sensations: PositiveInt = 20
    sweep: SweepSpec | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        if self.features_per_object > self.n_locations:
            raise _FieldErrors(
                [
                    (
                        ("features_per_object",),
                        f"an object needs {self.features_per_object} distinct locations but the "
                        f"location pool has n_locations = {self.n_locations}",
                    )
                ]
            )
        return self


class RecordingSpec(_Spec):
    """Which layers' activity to record, in which regions (empty ``regions`` = all), per settling
    iteration of every network step.

    A run writes ``<output.dir>/recording/`` (:mod:`regions.dynamics.recording`: one chunk of
    ``chunk_events`` events at a time per (region, layer), so memory stays bounded); without an
    output directory (Python use) the chunks stay in memory (``net.recording.reader()``).  A layer
    must be listed in the columns of every recorded region; L1 has no cells of its own (it carries
    the apical input) and an L6 of kind ``encoder`` is the world's location SDR, so neither is
    recordable.
    """

    layers: list[Literal["L4", "L23", "L6", "L5", "L1"]] = Field(default_factory=list)
    regions: list[ModelName] = Field(default_factory=list)
    chunk_events: PositiveInt = 1_000_000


class GrowthEvent(_Spec):
    """One growth step of ``growth.schedule``: after learning ``after_objects`` objects (counted
    from the start of the run), the region gains ``add_columns`` columns and ``l23_cells`` more
    L2/3 cells in every column."""

    after_objects: PositiveInt
    add_columns: NonNegativeInt = 0
    l23_cells: NonNegativeInt = 0

    @model_validator(mode="after")
    def _check(self) -> GrowthEvent:
        if self.add_columns == 0 and self.l23_cells == 0:
            raise _FieldErrors([(("add_columns",), "a growth step adds columns or L2/3 cells (both are 0)")])
        return self


class GrowthRule(_Spec):
    """How new columns join the lateral graph.

    ``attach: topology``: the networkx generator ``topology`` (with ``args``; default the region's
    own ``lateral`` generator) over the grown column set, every old edge kept.
    ``attach: co_active``: each new column listens to the ``k`` (default 4) existing columns whose
    L2/3 was most often active together with the rest of the region since the run began (ties:
    lower index first), and the columns added in one step to each other.
    """

    attach: Literal["topology", "co_active"] = "topology"
    topology: ModelName | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    k: PositiveInt | None = None

    @model_validator(mode="after")
    def _check(self) -> GrowthRule:
        errors: list[tuple[KeyPath, str]] = []
        if self.attach != "topology":
            if self.topology is not None:
                errors.append((("topology",), f"'topology' applies to attach: topology, not {self.attach!r}"))
            if self.args:
                errors.append((("args",), f"'args' applies to attach: topology, not {self.attach!r}"))
        elif self.k is not None:
            errors.append((("k",), "'k' applies to attach: co_active, not 'topology'"))
        if self.topology is None and self.args:
            errors.append((("args",), "'args' needs a 'topology' generator name"))
        if self.topology is not None and self.topology not in networkx_generator_names():
            errors.append((("topology",), f"unknown networkx generator {self.topology!r}"
                           + _did_you_mean(self.topology, networkx_generator_names())))
        if errors:
            raise _FieldErrors(errors)
        return self


class GrowthBudget(_Spec):
    """Pruning: L2/3 cells silent for more than ``idle_sensations`` sensations are freed (their
    segments and every synapse onto them), and while the region holds more than ``synapses``
    synapses the least recently active cells are freed too (0 = no such limit)."""

    idle_sensations: NonNegativeInt = 0
    synapses: NonNegativeInt = 0


class GrowthSpec(_Spec):
    """Growth of a running region (neurogenesis) and pruning (see :mod:`regions.growth`).

    ``reexpose``: exposures of the objects learned before a growth step, after it: the new columns
    learn them while the old columns infer (their synapses untouched); with ``listen_to_new`` the
    old columns also grow lateral segments onto the new columns' codes (votes from the new
    neighbours; none of their existing segments changes).
    """

    region: ModelName | None = None
    schedule: Annotated[list[GrowthEvent], Field(min_length=1)]
    rule: GrowthRule = Field(default_factory=GrowthRule)
    reexpose: NonNegativeInt = 1
    listen_to_new: bool = True
    budget: GrowthBudget = Field(default_factory=GrowthBudget)

    @model_validator(mode="after")
    def _check(self) -> GrowthSpec:
        after = [e.after_objects for e in self.schedule]
        bad = [(("schedule", i), f"after_objects must increase along the schedule ({after[i - 1]} then {a})")
               for i, a in enumerate(after) if i and a <= after[i - 1]]
        if self.reexpose == 0 and not self.listen_to_new:
            bad.append((("listen_to_new",), "listen_to_new applies to re-exposures, and reexpose is 0"))
        if bad:
            raise _FieldErrors(bad)
        return self


class OutputSpec(_Spec):
    """Where results go (``dir`` defaults to ``out/<config stem>``) and whether to plot."""

    dir: str | None = None
    plot: bool = False


class Config(_Spec):
    """A whole configuration: seed, regions, connections, world, experiment, recording, output."""

    seed: NonNegativeInt = 0
    description: str = ""
    regions: Annotated[list[RegionSpec], Field(min_length=1)] = Field(
        default_factory=lambda: [RegionSpec(name="region")]
    )
    connections: list[ConnectionSpec] = Field(default_factory=list)
    world: WorldSpec = Field(default_factory=WorldSpec)
    experiment: ExperimentSpec = Field(default_factory=ExperimentSpec)
    recording: RecordingSpec = Field(default_factory=RecordingSpec)
    growth: GrowthSpec | None = None
    output: OutputSpec = Field(default_factory=OutputSpec)

    @model_validator(mode="after")
    def _check(self) -> Config:
        errors = _cross_checks(self)
        if errors:
            raise _FieldErrors(errors)
        return self

    # -- convenience ----------------------------------------------------------------------
    def resolved(self) -> dict[str, Any]:
        """The configuration as a plain JSON/YAML-able dict with every default filled in.

        Blocks of layers a column does not list are left out (they are not built), and an L6 of
        kind ``encoder`` shows only its kind; validating the result gives this config back.
        """
        data = self.model_dump(mode="json")
        for region in data["regions"]:
            column = region["column"]
            for name in ("L1", "L23", "L5", "L6"):
                if name not in column["layers"]:
                    column.pop(name, None)
            if "L6" in column and column["L6"]["kind"] == "encoder":
                column["L6"] = {"kind": "encoder"}
        return data

    def with_values(self, values: Mapping[str, Any]) -> Config:
        """A validated copy with ``{"key.path": value}`` replaced (``ConfigError`` if invalid).

        >>> cfg = Config.model_validate({"regions": [{"name": "V1"}]})
        >>> cfg.with_values({"regions[0].columns": 3}).regions[0].columns
        3
        """
        data = self.resolved()
        origins: dict[KeyPath, Origin] = {}
        for key, value in values.items():
            path = _normalise_path(data, parse_key_path(key))
            try:
                set_by_path(data, path, value)
            except KeyError as exc:
                raise ConfigError(str(exc.args[0]), key_path=format_key_path(path)) from None
        return _validate(data, origins, None)

    def sweep_configs(self) -> list[tuple[Any, Config]]:
        """``[(value, config with experiment.sweep.parameter = value), ...]`` for the sweep
        (the sweep block itself removed); ``[(None, self)]`` when there is no sweep."""
        sweep = self.experiment.sweep
        if sweep is None:
            return [(None, self)]
        out = []
        for value in sweep.values:
            point = self.with_values({"experiment.sweep": None, sweep.parameter: value})
            out.append((value, point))
        return out

    def region(self, name: str) -> RegionSpec:
        """The region spec called ``name`` (``KeyError`` with a suggestion if there is none)."""
        for spec in self.regions:
            if spec.name == name:
                return spec
        names = [r.name for r in self.regions]
        raise KeyError(f"no region {name!r}" + _did_you_mean(name, names))

    def feedforward_graph(self):  # -> networkx.DiGraph
        """Regions as nodes, feedforward connections as directed edges (networkx.DiGraph)."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(r.name for r in self.regions)
        graph.add_edges_from((c.source, c.target) for c in self.connections if c.kind == "feedforward")
        return graph


def _cross_checks(cfg: Config) -> list[tuple[KeyPath, str]]:
    """Checks that involve several blocks of the config; each problem with its key path."""
    errors: list[tuple[KeyPath, str]] = []
    names: dict[str, int] = {}
    for i, region in enumerate(cfg.regions):
        if region.name in names:
            errors.append(
                (
                    ("regions", i, "name"),
                    f"duplicate region name {region.name!r} (also regions[{names[region.name]}])",
                )
            )
        else:
            names[region.name] = i

    seen: dict[tuple[str, str, str], int] = {}
    for i, conn in enumerate(cfg.connections):
        for end in ("source", "target"):
            ref = getattr(conn, end)
            if conn.kind == "motor" and end == "target" and ref == "world":
                continue
            if ref not in names:
                choices = list(names) + (["world"] if conn.kind == "motor" and end == "target" else [])
                errors.append(
                    (("connections", i, end), f"undefined region {ref!r}" + _did_you_mean(ref, choices))
                )
        key = (conn.kind, conn.source, conn.target)
        if key in seen:
            errors.append(
                (("connections", i), f"duplicate {conn.kind} connection {conn.source} -> {conn.target} "
                 f"(also connections[{seen[key]}])")
            )
        else:
            seen[key] = i
        if conn.kind in ("feedback",) and conn.source == conn.target:
            errors.append((("connections", i), f"a region cannot send feedback to itself ({conn.source})"))

    if len(cfg.regions) > 1 and not errors:
        linked = {c.source for c in cfg.connections} | {c.target for c in cfg.connections}
        for i, region in enumerate(cfg.regions):
            if region.name not in linked:
                errors.append((("regions", i), f"region {region.name!r} is not reached by any connection"))

    if not errors:
        import networkx as nx

        graph = cfg.feedforward_graph()
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            path = " -> ".join([cycle[0][0]] + [v for _, v in cycle])
            first = next(
                i
                for i, c in enumerate(cfg.connections)
                if c.kind == "feedforward" and (c.source, c.target) == tuple(cycle[0][:2])
            )
            errors.append((("connections", first), f"feedforward cycle {path}"))

    for i, name in enumerate(cfg.recording.regions):
        if name not in names:
            errors.append(
                (("recording", "regions", i), f"undefined region {name!r}" + _did_you_mean(name, names))
            )
    errors.extend(_check_recording(cfg))

    sweep = cfg.experiment.sweep
    if sweep is not None:
        errors.extend(_check_sweep(cfg, sweep))
    if cfg.growth is not None:
        errors.extend(_check_growth(cfg, cfg.growth, names))
    return errors


def _check_growth(cfg: Config, growth: GrowthSpec, names: Mapping[str, int]) -> list[tuple[KeyPath, str]]:
    """The growth block names a region of this config and grows within the learned objects."""
    if growth.region is not None and growth.region not in names:
        return [(("growth", "region"), f"undefined region {growth.region!r}" + _did_you_mean(growth.region, names))]
    errors: list[tuple[KeyPath, str]] = []
    for i, event in enumerate(growth.schedule):
        if event.after_objects >= cfg.experiment.n_objects:
            errors.append((("growth", "schedule", i, "after_objects"),
                           f"grows after {event.after_objects} objects but the run learns "
                           f"experiment.n_objects = {cfg.experiment.n_objects}: it would never grow"))
    return errors


def _check_recording(cfg: Config) -> list[tuple[KeyPath, str]]:
    """A recorded layer must exist, with cells, in every recorded region's columns."""
    rec = cfg.recording
    errors: list[tuple[KeyPath, str]] = []
    if rec.regions and not rec.layers:
        errors.append((("recording", "layers"), "recording.regions is given but no layers to record"))
    if rec.chunk_events != RecordingSpec.model_fields["chunk_events"].default and not rec.layers:
        errors.append((("recording", "chunk_events"), "recording.chunk_events is given but no layers to record"))
    recorded = [r for r in cfg.regions if not rec.regions or r.name in rec.regions]
    for i, layer in enumerate(rec.layers):
        if rec.layers.index(layer) != i:
            errors.append((("recording", "layers", i), f"{layer} is listed twice"))
            continue
        if layer == "L1":
            errors.append((("recording", "layers", i), "L1 has no cells of its own (it carries the apical input "
                                                       "to L4): record L4 or L23"))
            continue
        for region in recorded:
            if layer not in region.column.layers:
                errors.append((("recording", "layers", i), f"region {region.name!r} has no {layer}: its columns "
                                                           f"list layers {region.column.layers}"))
            elif layer == "L6" and region.column.L6.kind == "encoder":
                errors.append((("recording", "layers", i), f"region {region.name!r}: L6 of kind encoder has no "
                                                           "cells (it is the world's location SDR)"))
    return errors


def _check_sweep(cfg: Config, sweep: SweepSpec) -> list[tuple[KeyPath, str]]:
    loc: KeyPath = ("experiment", "sweep", "parameter")
    try:
        raw = parse_key_path(sweep.parameter)
    except ValueError as exc:
        return [(loc, str(exc))]
    data = cfg.resolved()
    path = _normalise_path(data, raw)
    free = any(path[:2] == p for p in (("experiment", "params"), ("world", "params")))
    if path[:2] == ("experiment", "sweep"):
        return [(loc, "cannot sweep the sweep itself")]
    if not free:
        try:
            get_by_path(data, path)
        except KeyError as exc:
            # suggest the closest key at the failing level
            msg = str(exc.args[0])
            for depth in range(len(path)):
                try:
                    parent = get_by_path(data, path[:depth])
                except KeyError:
                    break
                if isinstance(parent, dict) and path[depth] not in parent:
                    msg = f"unknown key path {sweep.parameter!r}: {format_key_path(path[: depth + 1])} does not exist" + _did_you_mean(path[depth], parent)
                    break
            return [(loc, msg)]
    problems: list[tuple[KeyPath, str]] = []
    for j, value in enumerate(sweep.values):
        trial = copy.deepcopy(data)
        trial["experiment"]["sweep"] = None
        try:
            set_by_path(trial, path, value)
            Config.model_validate(trial)
        except KeyError as exc:
            problems.append((("experiment", "sweep", "values", j), str(exc.args[0])))
        except ValidationError as exc:
            first = _translate(exc, trial)[0]
            where = format_key_path(first[0])
            problems.append(
                (("experiment", "sweep", "values", j), f"invalid for {sweep.parameter}: {where}: {first[1]}")
            )
    return problems


# --------------------------------------------------------------------------------------------
# pydantic errors -> our messages
# --------------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _model_at(model: type[BaseModel], loc: KeyPath) -> type[BaseModel] | None:
    """The pydantic model class describing the data at ``loc`` (None if not a model)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, int):
            if get_origin(tp) is list:
                tp = get_args(tp)[0]
                continue
            return None
        if isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
            continue
        return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        args = [a for a in get_args(tp) if a is not type(None)]
        if origin is not None and origin is not list and origin is not dict and len(args) == 1:
            tp = args[0]  # Optional[X]
            continue
        return tp


def _translate(exc: ValidationError, data: Any) -> list[tuple[KeyPath, str, KeyPath]]:
    """Pydantic errors as (key path, message, path to locate in the text) in our wording."""
    out: list[tuple[KeyPath, str, KeyPath]] = []
    for err in exc.errors(include_url=False):
        loc: KeyPath = tuple(err["loc"])
        etype = err["type"]
        ctx = err.get("ctx") or {}
        value = err.get("input")
        if etype == "value_error" and isinstance(ctx.get("error"), _FieldErrors):
            for rel, msg in ctx["error"].items:
                out.append((loc + tuple(rel), msg, loc + tuple(rel)))
            continue
        if etype == "extra_forbidden":
            key = loc[-1]
            parent = loc[:-1]
            model = _model_at(Config, parent)
            fields = list(model.model_fields) if model is not None else []
            out.append((parent, f"unknown key {str(key)!r}" + _did_you_mean(str(key), fields), loc))
            continue
        out.append((loc, _message(etype, ctx, value, err.get("msg", "")), loc))
    return out


def _message(etype: str, ctx: dict, value: Any, default: str) -> str:
    got = f", got {_describe(value)}"
    integer = isinstance(value, int) and not isinstance(value, bool)
    if etype == "greater_than":
        if ctx.get("gt") == 0:
            return ("must be a positive integer" if integer else "must be a positive number") + got
        return f"must be greater than {ctx.get('gt')}" + got
    if etype == "greater_than_equal":
        if ctx.get("ge") == 0:
            return ("must be a non-negative integer" if integer else "must be >= 0") + got
        return f"must be >= {ctx.get('ge')}" + got
    if etype == "less_than_equal":
        return f"must be <= {ctx.get('le')}" + got
    if etype == "less_than":
        return f"must be less than {ctx.get('lt')}" + got
    if etype in ("int_type", "int_parsing", "int_from_float"):
        return "must be an integer" + got
    if etype in ("float_type", "float_parsing", "finite_number"):
        return "must be a number" + got
    if etype in ("bool_type", "bool_parsing"):
        return "must be true or false" + got
    if etype in ("string_type", "string_unicode"):
        return "must be a string" + got
    if etype == "string_pattern_mismatch":
        return "must be a name of letters, digits, '_' or '-' (not starting with a digit)" + got
    if etype in ("string_too_short", "too_short"):
        if isinstance(value, str):
            return "must not be empty"
        return f"must have at least {ctx.get('min_length')} item(s)" + (
            f", got {len(value)}" if hasattr(value, "__len__") else ""
        )
    if etype == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)" + (
            f", got {len(value)}" if hasattr(value, "__len__") else ""
        )
    if etype == "literal_error":
        expected = ctx.get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        return f"must be one of {expected}" + got + (_did_you_mean(str(value), options) if options else "")
    if etype in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a mapping" + got
    if etype == "list_type":
        return "must be a list" + got
    if etype == "missing":
        return "required key is missing"
    if etype == "value_error":
        return default.removeprefix("Value error, ")
    return default


# --------------------------------------------------------------------------------------------
# YAML with line numbers
# --------------------------------------------------------------------------------------------


class LineLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that records the 1-based line of every mapping key and sequence item.

    After ``get_single_data()``, :meth:`key_lines` maps key paths to lines.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._map_lines: dict[int, tuple[dict, dict[Any, int]]] = {}
        self._seq_lines: dict[int, tuple[list, list[int]]] = {}

    def construct_line_map(self, node: yaml.MappingNode):  # type: ignore[override]
        data: dict = {}
        yield data
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:  # the mapping's own keys (before merge keys are flattened)
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            try:
                if key in first_line:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first on line {first_line[key]})",
                        key_node.start_mark,
                    )
                first_line[key] = key_node.start_mark.line + 1
            except TypeError:  # unhashable key: construct_mapping reports it
                pass
        value = self.construct_mapping(node)  # flattens merge keys ("<<") into node.value
        data.update(value)
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:  # merged keys first, the mapping's own keys override
            key = self.construct_object(key_node)
            try:
                lines[key] = key_node.start_mark.line + 1
            except TypeError:
                pass
        self._map_lines[id(data)] = (data, lines)

    def construct_line_seq(self, node: yaml.SequenceNode):  # type: ignore[override]
        data: list = []
        yield data
        data.extend(self.construct_sequence(node))
        self._seq_lines[id(data)] = (data, [item.start_mark.line + 1 for item in node.value])

    def key_lines(self, data: Any, root_line: int = 1) -> dict[KeyPath, int]:
        """Key path -> line for everything inside ``data`` (the loaded document)."""
        out: dict[KeyPath, int] = {(): root_line}

        def walk(node: Any, path: KeyPath, depth: int) -> None:
            if depth > 200:
                return
            if isinstance(node, dict) and id(node) in self._map_lines:
                lines = self._map_lines[id(node)][1]
                for key, child in node.items():
                    if key in lines:
                        out[path + (key,)] = lines[key]
                    walk(child, path + (key,), depth + 1)
            elif isinstance(node, list) and id(node) in self._seq_lines:
                lines = self._seq_lines[id(node)][1]
                for i, child in enumerate(node):
                    if i < len(lines):
                        out[path + (i,)] = lines[i]
                    walk(child, path + (i,), depth + 1)

        walk(data, (), 0)
        return out


LineLoader.add_constructor("tag:yaml.org,2002:map", LineLoader.construct_line_map)
LineLoader.add_constructor("tag:yaml.org,2002:seq", LineLoader.construct_line_seq)

Origin = tuple[str, int | None]  # (source, line)


def _read_yaml(path: str) -> tuple[Any, dict[KeyPath, Origin]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", source=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file: {exc}", source=path) from None
    loader = LineLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = ": ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigError(f"invalid YAML: {problem}", source=path, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=path) from None
    finally:
        loader.dispose()
    if data is None:  # no content, only comments, or a lone `null`: never a default experiment
        raise ConfigError("the file is empty (no keys, only comments or null); a config needs at "
                          "least one key, e.g. `experiment:` (see configs/schema_example.yaml)", source=path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"the top level must be a mapping of keys, got {_describe(data)}", source=path, line=1
        )
    lines = loader.key_lines(data)
    return data, {k: (path, v) for k, v in lines.items()}


def _deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge recursively; anything else in ``override`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def _load_with_extends(
    path: str, chain: tuple[str, ...] = ()
) -> tuple[dict, dict[KeyPath, Origin]]:
    real = os.path.realpath(path)
    data, origins = _read_yaml(path)
    chain = chain + (real,)
    parents = data.pop("extends", None)
    if parents is None:
        return data, origins
    ext_line = origins.get(("extends",), (path, None))[1]
    items = [parents] if isinstance(parents, str) else parents
    if not isinstance(items, list) or not all(isinstance(p, str) and p for p in items):
        raise ConfigError(
            f"must be a file name or a list of file names, got {_describe(parents)}",
            source=path, line=ext_line, key_path="extends",
        )
    merged: dict = {}
    merged_origins: dict[KeyPath, Origin] = {}
    for i, parent in enumerate(items):
        parent_path = os.path.normpath(os.path.join(os.path.dirname(path), parent))
        line = origins.get(("extends", i), (path, ext_line))[1] if isinstance(parents, list) else ext_line
        if os.path.realpath(parent_path) in chain:
            names = [os.path.basename(p) for p in chain] + [os.path.basename(parent_path)]
            raise ConfigError(
                "extends cycle: " + " -> ".join(names), source=path, line=line, key_path="extends"
            )
        if not os.path.exists(parent_path):
            raise ConfigError(
                f"extended file {parent_path!r} not found", source=path, line=line, key_path="extends"
            )
        p_data, p_origins = _load_with_extends(parent_path, chain)
        merged = _deep_merge(merged, p_data)
        merged_origins.update(p_origins)
    merged = _deep_merge(merged, data)
    merged_origins.update({k: v for k, v in origins.items() if k[:1] != ("extends",)})
    return merged, merged_origins


def _apply_overrides(
    data: dict, origins: dict[KeyPath, Origin], overrides: Iterable[str]
) -> None:
    for text in overrides:
        source = f"--set {text}"
        if not isinstance(text, str) or "=" not in text:
            raise ConfigError(f"expected KEY=VALUE (e.g. regions[0].columns=4), got {text!r}",
                              source="--set")
        key, _, raw = text.partition("=")
        try:
            path = _normalise_path(data, parse_key_path(key))
        except ValueError as exc:
            raise ConfigError(str(exc), source=source) from None
        if path and path[0] == "extends":
            raise ConfigError("'extends' cannot be overridden", source=source)
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"value is not valid YAML: {exc}", source=source) from None
        try:
            set_by_path(data, path, value)
        except KeyError as exc:
            raise ConfigError(str(exc.args[0]), source=source, key_path=format_key_path(path)) from None
        for k in [k for k in origins if k[: len(path)] == path]:
            del origins[k]
        origins[path] = (source, None)
        _mark_subtree(value, path, source, origins)


def _mark_subtree(value: Any, path: KeyPath, source: str, origins: dict[KeyPath, Origin]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            origins[path + (k,)] = (source, None)
            _mark_subtree(v, path + (k,), source, origins)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            origins[path + (i,)] = (source, None)
            _mark_subtree(v, path + (i,), source, origins)


def _locate(loc: KeyPath, origins: Mapping[KeyPath, Origin], default_source: str | None) -> Origin:
    """(source, line) of the longest prefix of ``loc`` that appears in the loaded text."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in origins:
            source, line = origins[loc[:n]]
            return source, line
    return (default_source or "", None)


def _validate(
    data: dict, origins: Mapping[KeyPath, Origin], default_source: str | None
) -> Config:
    data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise _errors_to_config_error(_translate(exc, data), origins, default_source) from None
    _validate_plugin_params(cfg, origins, default_source)
    return cfg


def _errors_to_config_error(
    items: Sequence[tuple[KeyPath, str, KeyPath]], origins: Mapping[KeyPath, Origin], default_source: str | None
) -> ConfigError:
    errors = []
    for loc, msg, where in items:
        source, line = _locate(where, origins, default_source)
        errors.append(ConfigError(msg, source=source or None, line=line, key_path=format_key_path(loc)))
    errors.sort(key=lambda e: (e.source != default_source, e.line or 10**9))
    first = errors[0]
    return ConfigError(first.message, source=first.source, line=first.line,
                       key_path=first.key_path, errors=errors)


def _validate_plugin_params(
    cfg: Config, origins: Mapping[KeyPath, Origin], default_source: str | None
) -> None:
    """Validate ``world.params`` / ``experiment.params`` with the registered kinds' models, and
    refuse every key the registered experiment would not read (:class:`regions.builder.Uses`)."""
    from regions import builder

    items: list[tuple[KeyPath, str, KeyPath]] = []
    try:
        reg = builder.get_registration("experiment", cfg.experiment.kind)
    except builder.BuilderNotFoundError as exc:
        items.append((("experiment", "kind"), str(exc), ("experiment", "kind")))
        raise _errors_to_config_error(items, origins, default_source) from None
    world_params = dict(cfg.world.params)
    for category, block in (("world", cfg.world), ("experiment", cfg.experiment)):
        if category == "world" and reg.uses is not None and "world" not in reg.uses.keys:
            continue  # a world the experiment does not read: its params are refused below
        model = builder.get_params_model(category, block.kind)
        if model is None:
            continue
        try:
            validated = model.model_validate(block.params)
        except ValidationError as exc:
            for loc, msg, where in _translate_plugin(exc, model):
                prefix = (category, "params")
                items.append((prefix + loc, msg, prefix + where))
            continue
        block.params = validated.model_dump(mode="json")
    if items:
        raise _errors_to_config_error(items, origins, default_source)
    items.extend((loc, msg, loc) for loc, msg in _usage_errors(cfg, reg.kind, reg.uses, world_params))
    if items:
        raise _errors_to_config_error(items, origins, default_source)


def _differs(model: BaseModel, name: str) -> bool:
    """True when field ``name`` of ``model`` holds something other than its default."""
    info = type(model).model_fields[name]
    default = info.get_default(call_default_factory=True)
    return getattr(model, name) != default


def _usage_errors(cfg: Config, kind: str, uses: Any, world_params: Mapping[str, Any]) -> list[tuple[KeyPath, str]]:
    """Keys ``cfg`` sets (to other than their default) that experiment ``kind`` would not read."""
    if uses is None:
        return []
    errors: list[tuple[KeyPath, str]] = []
    exp = cfg.experiment
    if ("world" in uses.keys or _differs(cfg.world, "kind")) and cfg.world.kind not in uses.worlds:
        errors.append((("world", "kind"), f"experiment {kind!r} runs in world {' or '.join(sorted(uses.worlds))}, "
                                          f"not {cfg.world.kind!r}"))
    if "world" not in uses.keys and world_params:
        errors.append((("world", "params"), f"experiment {kind!r} does not read world.params"))
    lo, hi = uses.regions
    if "region" not in uses.keys:
        if _differs(cfg, "regions"):
            errors.append((("regions",), f"experiment {kind!r} builds no column region: remove 'regions'"))
    else:
        if len(cfg.regions) < lo:
            errors.append((("regions",), f"experiment {kind!r} needs at least {lo} regions, got {len(cfg.regions)}"))
        for i, region in enumerate(cfg.regions[hi:], start=hi):
            errors.append((("regions", i), f"region {region.name!r}: experiment {kind!r} runs "
                                           f"{'at most ' if hi > lo else ''}{hi} region(s)"))
        for i, region in enumerate(cfg.regions[:hi]):
            layers = region.column.layers
            for name in layers:
                if name not in uses.layers:
                    errors.append((("regions", i, "column", "layers"),
                                   f"experiment {kind!r} does not drive {name} (it drives "
                                   f"{', '.join(n for n in LAYER_ORDER if n in uses.layers)})"))
            for name in sorted(uses.required - set(layers)):
                errors.append((("regions", i, "column", "layers"),
                               f"experiment {kind!r} needs {name} in every column; layers are {layers}"))
            if "L6" in layers and region.column.L6.kind not in uses.l6_kinds:
                errors.append((("regions", i, "column", "L6", "kind"),
                               f"experiment {kind!r} runs L6 of kind {' or '.join(sorted(uses.l6_kinds))}, "
                               f"not {region.column.L6.kind!r}"))
    for key in ("connections", "recording", "growth"):
        if key not in uses.keys and _differs(cfg, key):
            errors.append(((key,), f"experiment {kind!r} does not use {key}"))
    for field_name in ("sweep", "phases", "noise", "max_sensations", "n_objects", "n_features", "n_locations",
                       "features_per_object"):
        if field_name not in uses.keys and _differs(exp, field_name):
            errors.append((("experiment", field_name), f"experiment {kind!r} does not use experiment.{field_name}"))
    return errors


def _translate_plugin(
    exc: ValidationError, model: type[BaseModel]
) -> list[tuple[KeyPath, str, KeyPath]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            fields = list(parent.model_fields) if parent is not None else []
            out.append((loc[:-1], f"unknown key {str(loc[-1])!r}" + _did_you_mean(str(loc[-1]), fields), loc))
        elif err["type"] == "value_error" and isinstance((err.get("ctx") or {}).get("error"), _FieldErrors):
            out.extend((loc + tuple(r), m, loc + tuple(r)) for r, m in err["ctx"]["error"].items)
        else:
            msg = _message(err["type"], err.get("ctx") or {}, err.get("input"), err.get("msg", ""))
            out.append((loc, msg, loc))
    return out


# --------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Config:
    """Load, merge (``extends``), override (``key.path=value``) and validate a YAML config.

    Parameters
    ----------
    path : the YAML file.
    overrides : ``"key.path=value"`` strings applied in order after ``extends`` merging; the
        value is parsed as YAML (``"regions[0].columns=4"``, ``"experiment.noise={feature: 0.1}"``).

    Raises
    ------
    ConfigError : with ``source:line: key.path: message`` for any problem.
    """
    source = os.fspath(path)
    data, origins = _load_with_extends(source)
    _apply_overrides(data, origins, overrides)
    return _validate(data, origins, source)


def config_from_dict(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> Config:
    """Validate a config given as a dict (errors are ``ConfigError`` without line numbers)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"a config must be a mapping, got {_describe(data)}")
    plain = copy.deepcopy(dict(data))
    if "extends" in plain:
        raise ConfigError("'extends' is only supported in YAML files (use load_config)",
                          key_path="extends")
    origins: dict[KeyPath, Origin] = {}
    _apply_overrides(plain, origins, overrides)
    return _validate(plain, origins, None)


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Config` (pydantic's ``model_json_schema``)."""
    schema = Config.model_json_schema()
    schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    schema.setdefault("title", "cortical-columns configuration")
    return schema
