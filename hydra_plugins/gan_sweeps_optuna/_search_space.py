"""From Hydra overrides to an Optuna search space, and from sampled values back to overrides.

Sweep syntax understood (one dimension per key):

=============================================  ===========================================================
``k=1,2,5`` / ``k=choice(1,2,5)`` / glob       categorical over the values
``k=range(1,4)`` (integers)                    integers 1..3, the stop excluded as in Hydra (``tag(log, ...)``)
``x=range(0.5,2.5,step=0.5)`` (floats)         floats 0.5..2.0 in steps of 0.5 (FloatDistribution with step)
``x=shuffle(range(1,4))``                      categorical over 1, 2, 3
``lr=interval(1e-5,1e-2)``                     float in [1e-5, 1e-2] (``tag(log, interval(...))``: log scale)
``n=int(interval(1,8))``                       integer in [1, 8]
=============================================  ===========================================================

Any other override (``model=dcgan``) is fixed: passed to every trial unchanged."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

_PLAIN_TEXT = re.compile(r"^[A-Za-z_][A-Za-z0-9_./@:+-]*$")
_CATEGORICAL_TYPES = (bool, int, float, str)


class SearchSpaceError(ValueError):
    """An override cannot become an Optuna dimension (the message names the override and why)."""


@dataclass
class Dimension:
    """One searched key: its Optuna distribution and how its values are written as an override."""

    key: str  # the override's key as typed (``+x.y``, ``model``, ``optim.lr``): used to build the override
    name: str  # the Optuna parameter name (the key without ``+``/``++``): what best_params shows
    distribution: BaseDistribution
    spelling: dict[Any, str] = field(default_factory=dict)  # categorical value -> override text (as Hydra escaped it)
    source: str = ""  # the sweep as typed (``interval(1e-5, 1e-2)``): part of the study's identity

    def override(self, value: Any) -> str:
        return f"{self.key}={self.spelling.get(value, format_value(value))}"

    def grid_values(self) -> list[Any]:
        """The values a grid sampler enumerates (only discrete dimensions have them)."""
        dist = self.distribution
        if isinstance(dist, CategoricalDistribution):
            return list(dist.choices)
        if isinstance(dist, IntDistribution) and not dist.log:
            return list(range(dist.low, dist.high + 1, dist.step))
        if isinstance(dist, FloatDistribution) and dist.step is not None:
            count = int(round((dist.high - dist.low) / dist.step)) + 1
            return [round(dist.low + i * dist.step, 12) for i in range(count)]
        raise SearchSpaceError(f"{self.key}={self.source}: the grid sampler needs a finite list of values "
                               "(use choice(...), range(...) or a comma list)")


@dataclass
class SearchSpace:
    """The dimensions to search and the fixed overrides every trial gets."""

    dimensions: dict[str, Dimension]  # by Optuna parameter name, in command-line order
    fixed: list[str]  # overrides passed unchanged to every trial

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return {name: dim.distribution for name, dim in self.dimensions.items()}

    def overrides(self, params: dict[str, Any]) -> list[str]:
        """A trial's overrides: the fixed ones, then one per sampled parameter (``custom_search_space``'s own
        parameters too, spelled ``name=value`` with the name as suggested, e.g. ``+w``)."""
        extra = [f"{name}={format_value(value)}" for name, value in params.items() if name not in self.dimensions]
        return self.fixed + [dim.override(params[name]) for name, dim in self.dimensions.items()
                             if name in params] + extra

    @property
    def fixed_keys(self) -> set[str]:
        """The keys the fixed overrides set (``~key`` deletions included), without ``+``/``~`` prefixes."""
        return {line.split("=", 1)[0].lstrip("+~") for line in self.fixed}

    def described(self) -> dict[str, str]:
        """``{name: sweep as typed}``: the search space as text (part of the study's identity)."""
        return {name: dim.source for name, dim in self.dimensions.items()}

    def grid(self) -> dict[str, list[Any]]:
        return {name: dim.grid_values() for name, dim in self.dimensions.items()}


def format_value(value: Any) -> str:
    """A sampled value as Hydra override text: ``true``, ``null``, ``3``, ``0.000316``, ``dcgan``, ``'a b'``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _PLAIN_TEXT.match(text) and text.lower() not in ("true", "false", "null", "nan", "inf"):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _choices(override: Override) -> tuple[list[Any], dict[Any, str]]:
    """Categorical choices (plain values where Optuna allows them, else their text) and how to spell each."""
    values = list(override.sweep_iterator())
    if getattr(override.value(), "shuffle", False):  # each iteration shuffles anew: spell the values themselves
        texts = [format_value(v) for v in values]
    else:
        texts = list(override.sweep_string_iterator())
    choices, spelling = [], {}
    for value, text in zip(values, texts):
        choice = value if value is None or isinstance(value, _CATEGORICAL_TYPES) else text
        if choice in spelling:
            continue
        choices.append(choice)
        spelling[choice] = text
    return choices, spelling


def _range_dimension(override: Override, key: str, name: str, value: RangeSweep, log: bool,
                     source: str) -> Dimension:
    """``range(start, stop[, step])``: integers, or floats when any bound or the step is a float; the stop is
    excluded as in Hydra's own ``range`` (the official plugin includes it)."""
    numbers = list(override.sweep_iterator())
    if not numbers:
        raise SearchSpaceError(f"{override.input_line}: the range is empty")
    step = abs(value.step)
    low, count = min(numbers), len(numbers)
    if log and (step != 1 or low <= 0):
        raise SearchSpaceError(f"{override.input_line}: a log-scale range needs step 1 and values > 0")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (value.start, value.stop, value.step)):
        return Dimension(key, name, IntDistribution(low, max(numbers), step=step, log=log), source=source)
    high = round(float(low) + float(step) * (count - 1), 12)  # no float noise from accumulating the step
    return Dimension(key, name, FloatDistribution(float(low), high, step=None if log else float(step), log=log),
                     source=source)


def dimension_of(override: Override) -> Dimension:
    """The Optuna dimension of one sweep override (raises SearchSpaceError for what Optuna cannot search)."""
    key = override.get_key_element()
    name = key.lstrip("+")
    value = override.value()
    source = (override.input_line or "").partition("=")[2].strip() or str(value)
    tags = set(getattr(value, "tags", None) or ())
    log = "log" in tags
    if isinstance(value, IntervalSweep):
        low, high = value.start, value.end
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            raise SearchSpaceError(f"{override.input_line}: interval needs finite start < end")
        if log and low <= 0:
            raise SearchSpaceError(f"{override.input_line}: a log-scale interval needs start > 0")
        if isinstance(low, int) and isinstance(high, int):
            return Dimension(key, name, IntDistribution(low, high, log=log), source=source)
        return Dimension(key, name, FloatDistribution(float(low), float(high), log=log), source=source)
    if isinstance(value, RangeSweep) and not value.shuffle:
        return _range_dimension(override, key, name, value, log, source)
    if log:
        raise SearchSpaceError(f"{override.input_line}: tag(log, ...) needs interval(...) or range(...)")
    if isinstance(value, (ChoiceSweep, RangeSweep)) or override.is_discrete_sweep():  # shuffle(range) too
        choices, spelling = _choices(override)
        if not choices:
            raise SearchSpaceError(f"{override.input_line}: no values to choose from")
        return Dimension(key, name, CategoricalDistribution(choices), spelling=spelling, source=source)
    raise SearchSpaceError(f"{override.input_line}: unsupported sweep for Optuna")


def build_search_space(overrides: list[Override]) -> SearchSpace:
    """Sweep overrides become dimensions, others fixed overrides; a later override of the same key wins (the command
    line is parsed after the sweeper's ``params``)."""
    dimensions: dict[str, Dimension] = {}
    fixed: dict[str, str] = {}
    for override in overrides:
        key = override.get_key_element()
        name = key.lstrip("+")
        dimensions.pop(name, None)
        fixed.pop(name, None)
        if override.is_sweep_override():
            dimensions[name] = dimension_of(override)
        else:
            fixed[name] = override.input_line
    return SearchSpace(dimensions=dimensions, fixed=list(fixed.values()))
