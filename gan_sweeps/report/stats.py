"""Statistics over repeats: a metric's spread over the seeds of one setting, and whether two settings differ.

Definitions (also printed under the report's tables):

- **Interval**: the two-sided 95 % Student t confidence interval of the mean over the n repeats,
  ``mean ± t(0.975, n - 1) · s / sqrt(n)``, with ``s`` the sample standard deviation (``n - 1`` in its
  denominator). Given for n >= 3 only: with n = 2 the t quantile is 12.7 and the interval says nothing, so the
  values themselves are shown.
- **Difference**: Welch's unequal-variance t-test, two-sided, at level ``ALPHA`` = 0.05
  (``scipy.stats.ttest_ind(equal_var=False)``), between the setting with the best mean and each other setting.
  The best setting is marked only when it differs from every other setting; the settings it cannot be told apart
  from are reported as tied with it. A setting with fewer than two values cannot be tested and counts as tied.
  The tests are not corrected for multiple comparisons (with many settings, a few false "differs" are expected).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Hashable, Sequence

CONFIDENCE = 0.95
ALPHA = 0.05
MIN_N_FOR_INTERVAL = 3
INTERVAL_NAME = "95 % t-interval of the mean"
TEST_NAME = "Welch's t-test"


def t_quantile(n: int, confidence: float = CONFIDENCE) -> float:
    """The two-sided Student t quantile for a mean of ``n`` values (``n - 1`` degrees of freedom)."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, n - 1))


@dataclass(frozen=True)
class Summary:
    """A metric over the repeats of one setting (or the runs of one pivot cell)."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / self.n

    @property
    def std(self) -> float:
        """Sample standard deviation (n - 1 in the denominator); 0 for a single value."""
        if self.n < 2:
            return 0.0
        mean = self.mean
        return math.sqrt(sum((v - mean) ** 2 for v in self.values) / (self.n - 1))

    @property
    def half_width(self) -> float | None:
        """Half the width of the 95 % t-interval; None when n < 3 (too few values for an interval)."""
        if self.n < MIN_N_FOR_INTERVAL:
            return None
        return t_quantile(self.n) * self.std / math.sqrt(self.n)

    @property
    def low(self) -> float | None:
        return None if self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.half_width is None else self.mean + self.half_width

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)


def summarize(values: Sequence[float]) -> Summary | None:
    """A Summary of the finite numbers in ``values`` (None when there are none)."""
    numbers = tuple(float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
                    and math.isfinite(v))
    return Summary(numbers) if numbers else None


# ---- numbers as people read them (the report's cells and sentences) ----
def _decimals(value: float) -> int:
    size = abs(value)
    return 0 if size >= 1000 else 1 if size >= 100 else 2 if size >= 10 else 3 if size >= 1 else 4


def format_number(value: float) -> str:
    """About 4 significant digits (thousands separated)."""
    return f"{value:,.{_decimals(value)}f}"


def format_interval(mean: float, half_width: float) -> str:
    """``0.912 ± 0.013``: the half-width to 2 significant digits and the mean to the same decimal place."""
    if not math.isfinite(half_width) or half_width <= 1e-9 * max(1.0, abs(mean)):  # equal values (to rounding)
        return f"{format_number(mean)} ± 0"
    decimals = max(0, 1 - math.floor(math.log10(half_width)))
    return f"{mean:,.{decimals}f} ± {half_width:,.{decimals}f}"


def describe_summary(summary: Summary | None, extent: bool = False) -> str:
    """``0.912 ± 0.013 (n=3)`` (``extent``: ``(n=3, 0.901–0.925)``) / ``0.9100, 0.9300 (n=2)`` / ``0.9100 (n=1)``."""
    if summary is None:
        return "no value"
    if summary.half_width is None:
        return ", ".join(format_number(v) for v in summary.values) + f" (n={summary.n})"
    spread = f", {format_number(summary.min)}–{format_number(summary.max)}" if extent else ""
    return f"{format_interval(summary.mean, summary.half_width)} (n={summary.n}{spread})"


def welch_p_value(a: Summary, b: Summary) -> float | None:
    """Two-sided p-value of Welch's t-test for equal means; None when either side has fewer than 2 values.
    Two settings without any spread differ exactly when their means do (p 0 or 1), where scipy gives NaN."""
    if a.n < 2 or b.n < 2:
        return None
    if a.std == 0 and b.std == 0:
        return 1.0 if a.mean == b.mean else 0.0
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "precision loss" on nearly identical values
        p = float(stats.ttest_ind(a.values, b.values, equal_var=False).pvalue)
    return p if math.isfinite(p) else 1.0


@dataclass
class Verdict:
    """Which setting is best for a metric, and whether the data can tell it from the others.

    ``ranked``: (setting, Summary) pairs, best mean first. ``p_values``: Welch's p-value of the best against each
    other setting (None: untestable). ``tied``: the settings that do not differ from the best at level ALPHA."""

    metric: str
    direction: str  # "min" or "max"
    ranked: list[tuple[Hashable, Summary]]
    p_values: dict[Hashable, float | None] = field(default_factory=dict)

    @property
    def best(self) -> Hashable | None:
        return self.ranked[0][0] if self.ranked else None

    @property
    def tied(self) -> list[Hashable]:
        return [setting for setting, _ in self.ranked[1:]
                if self.p_values.get(setting) is None or self.p_values[setting] >= ALPHA]

    @property
    def decided(self) -> bool:
        """True when the best setting differs from every other one (so it may be marked best)."""
        return len(self.ranked) >= 2 and not self.tied

    @property
    def runner_up(self) -> tuple[Hashable, Summary] | None:
        return self.ranked[1] if len(self.ranked) > 1 else None


def compare(settings: Sequence[tuple[Hashable, Summary | None]], metric: str, direction: str) -> Verdict:
    """Rank the settings by their mean (``direction`` "min": lower is better) and test the best against the rest."""
    scored = [(setting, summary) for setting, summary in settings if summary is not None]
    scored.sort(key=lambda pair: pair[1].mean, reverse=direction != "min")
    verdict = Verdict(metric=metric, direction=direction, ranked=scored)
    if scored:
        best = scored[0][1]
        verdict.p_values = {setting: welch_p_value(best, summary) for setting, summary in scored[1:]}
    return verdict

