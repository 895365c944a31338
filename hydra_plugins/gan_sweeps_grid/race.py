"""Racing: ``hydra.sweeper.repeats=auto`` spends seeds only on the settings whose ranking is still open.

Imports nothing from the app: the grid sweeper hands :func:`run_race` itself and the sweep's arguments; the race
learns each job's objective from the task function's return value (a float; NaN, or anything that is not a finite
number, for a failed or diverged run) and the direction from ``hydra.sweeper.direction``.

The procedure (successive elimination, as in F-race, with Welch's t-test):

- Round 1 gives every setting seeds ``0 .. race.initial - 1`` of ``race.repeat_key``; each later round gives every
  setting still open one more seed (``0 .. initial + r - 2`` at round r), so the open settings share their seeds.
- After each round, the open setting with the best mean (``direction``) is the current best, and each other open
  setting is compared with it by **Welch's unequal-variance t-test** (two-sided; the test of ``gan_sweeps.report``).
  A setting with p <= ``alpha`` is dropped (it is worse: the best has the better mean). Drops are not corrected
  for multiplicity, as in F-race: a drop declares no winner, and a wrong drop only costs power (measured below).
- **The winner's test is corrected for the repeated looks.** Testing after every round would, with two equal
  settings, separate them at some round in about 16 % of races at ``alpha = 0.05`` (rounds of 2 to 10 seeds), so
  the comparison that would leave the best alone (the largest p-value of the round, against the runner-up) must
  also be at most the **final level**: a constant per-round level calibrated, Pocock-style, so that a race of two
  equal settings over rounds ``initial .. max_repeats`` declares a winner in ``alpha`` of races (``final_level``:
  the ``alpha`` quantile of the smallest p-value over the rounds in a seeded simulation of 20,000 such races;
  0.0141 for the defaults, 0.0087 for ``max_repeats=20``). Two equal settings are the worst case, as a winner
  among more equal settings must beat each of them; the simulation test measures 2 and 12. A single round
  (``initial = max_repeats``) is the report's plain test at ``alpha``.
- It stops when the best is separated from every other setting (``separated``: the winner), or every open
  setting has ``max_repeats`` seeds (``max_repeats``), or the next round does not fit in ``max_runs`` runs in all
  (``max_runs``). Without a winner, the open settings other than the best are tied with it.
- The winner's **level** is the p-value of that last comparison (at most the final level); the settings dropped
  earlier were each separated at p <= ``alpha`` (their p-values are in race.json).
- **Failed and diverged runs** (a non-finite objective) are left out of a setting's mean and n, as
  ``gan_sweeps.report`` leaves them out, and counted in its ``failed``; they still use one of its ``max_repeats``
  seeds and one run of the budget. A setting with fewer than two values cannot be tested: it stays open (tied).
- **Resume and reuse.** The rounds are a function of the values, so a race re-run in the same sweep folder
  replays its rounds from the values it finds (``race.json``, and the run folders of jobs whose value it lacks,
  relaunched in their own folders: with ``resume=true`` the app returns a completed run's value without training)
  and launches only what the new knobs (a larger ``max_repeats``) ask for. Settings and runs are matched by
  their swept overrides and seed, so other overrides (``resume=true``) may change between the runs. More rounds
  mean more looks, so a larger ``max_repeats`` has a stricter final level: a winner of the shorter race may need
  more seeds to stand.

``race.json`` in the sweep folder holds the settings (overrides, n, failed, mean, status, dropped round, the value
of each seed), the rounds (jobs launched, open and dropped settings) and the outcome; it is rewritten after every
round.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

RACE_FILE = "race.json"
DIRECTIONS = ("minimize", "maximize")
CALIBRATION_RACES = 20_000
TEST_NAME = ("Welch's t-test of each open setting vs the current best; the winner's last comparison at the final "
             "level, calibrated for the repeated looks")


@dataclass
class RaceConfig:
    """``hydra.sweeper.race``: the race's knobs."""

    initial: int = 2  # seeds every setting starts with
    repeat_key: str = "seed"  # the override that takes the seeds 0, 1, 2, ...
    alpha: float = 0.05  # the chance of declaring a winner among equal settings (see race.py)
    max_repeats: int = 10  # at most this many seeds per setting
    max_runs: Optional[int] = None  # at most this many runs in all (null: only max_repeats bounds the race)


def check_config(race: Any, settings: int) -> None:
    """Raise ValueError (one line) for knobs the race cannot run with."""
    if int(race.initial) < 2:
        raise ValueError(f"hydra.sweeper.race.initial={race.initial}: at least 2 seeds are needed for a t-test")
    if int(race.max_repeats) < int(race.initial):
        raise ValueError(f"hydra.sweeper.race.max_repeats={race.max_repeats} is below race.initial={race.initial}")
    if not 0 < float(race.alpha) < 1:
        raise ValueError(f"hydra.sweeper.race.alpha={race.alpha}: must be between 0 and 1")
    if race.max_runs is not None and int(race.max_runs) < settings * int(race.initial):
        raise ValueError(f"hydra.sweeper.race.max_runs={race.max_runs} is less than the first round "
                         f"({settings} settings x {race.initial} seeds = {settings * int(race.initial)} runs)")


# ---- statistics ----------------------------------------------------------------------------------------------------
def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def mean_sd(values: Sequence[float]) -> Tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    return mean, (math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0)


def welch_p(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    """Two-sided p-value of Welch's t-test for equal means (None when a side has fewer than 2 values); two
    samples without spread differ exactly when their means do."""
    if len(a) < 2 or len(b) < 2:
        return None
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    va, vb = sa * sa / len(a), sb * sb / len(b)
    if va + vb == 0:
        return 1.0 if ma == mb else 0.0
    from scipy.special import stdtr

    t = (ma - mb) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va * va / (len(a) - 1) + vb * vb / (len(b) - 1))
    return float(min(1.0, 2 * stdtr(df, -abs(t))))


@lru_cache(maxsize=None)
def smallest_p_values(initial: int, max_repeats: int, races: int = CALIBRATION_RACES) -> Any:
    """For each of ``races`` races of two equal settings (Gaussian values, seeded), the smallest Welch p-value over
    its rounds ``initial .. max_repeats`` (a NumPy array)."""
    import numpy as np
    from scipy.special import stdtr

    rng = np.random.default_rng(20260)
    a, b = rng.normal(size=(races, max_repeats)), rng.normal(size=(races, max_repeats))
    smallest = np.ones(races)
    for n in range(initial, max_repeats + 1):
        va, vb = a[:, :n].var(axis=1, ddof=1) / n, b[:, :n].var(axis=1, ddof=1) / n
        t = (a[:, :n].mean(axis=1) - b[:, :n].mean(axis=1)) / np.sqrt(va + vb)
        df = (va + vb) ** 2 / ((va * va + vb * vb) / (n - 1))
        smallest = np.minimum(smallest, 2 * stdtr(df, -np.abs(t)))
    return smallest


def looks_false_rate(level: float, initial: int, max_repeats: int) -> float:
    """The share of two-equal-setting races that Welch's test separates at ``level`` at some round."""
    return float((smallest_p_values(initial, max_repeats) <= level).mean())


@lru_cache(maxsize=None)
def final_level(alpha: float, initial: int, max_repeats: int) -> float:
    """The per-round level at which a race of two equal settings declares a winner in ``alpha`` of races: the
    ``alpha`` quantile of the races' smallest p-values; ``alpha`` itself when there is a single round."""
    if max_repeats <= initial:
        return alpha
    import numpy as np

    smallest = np.sort(smallest_p_values(initial, max_repeats))
    return float(smallest[max(0, int(alpha * len(smallest)) - 1)])


# ---- the race ------------------------------------------------------------------------------------------------------
@dataclass
class Setting:
    overrides: List[str]
    values: Dict[int, float] = field(default_factory=dict)  # seed -> objective (NaN: failed or diverged)
    status: str = "open"  # open | dropped | winner
    dropped_round: Optional[int] = None
    p_value: Optional[float] = None  # Welch's p-value of the comparison that separated it from the best

    def finite_values(self, seeds: int) -> List[float]:
        return [v for s, v in sorted(self.values.items()) if s < seeds and finite(v)]


class Race:
    """The race over ``settings`` (each a list of overrides, without the repeat key). Drive it with ``needed()``
    (the (setting, seed) pairs the current round lacks), ``record()`` and ``advance()``, or with ``run()``."""

    def __init__(self, settings: Sequence[Sequence[str]], config: Any, direction: str,
                 objective: Optional[str] = None) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"hydra.sweeper.direction={direction or 'null'}: a raced sweep "
                             f"(hydra.sweeper.repeats=auto) needs minimize or maximize")
        check_config(config, len(settings))
        self.initial, self.max_repeats = int(config.initial), int(config.max_repeats)
        self.alpha, self.repeat_key = float(config.alpha), str(config.repeat_key)
        self.max_runs = None if config.max_runs is None else int(config.max_runs)
        self.final = final_level(self.alpha, self.initial, self.max_repeats)
        self.direction, self.objective = direction, objective
        self.settings = [Setting(list(s)) for s in settings]
        self.round = 1
        self.rounds: List[Dict[str, Any]] = []
        self.outcome: Optional[Dict[str, Any]] = None
        self.jobs: Dict[Tuple[int, int], Any] = {}  # (setting, seed) -> what ran it this time (a job folder)

    @property
    def seeds(self) -> int:
        """Seeds each open setting has once the current round is in."""
        return min(self.initial + self.round - 1, self.max_repeats)

    @property
    def open(self) -> List[int]:
        return [i for i, s in enumerate(self.settings) if s.status == "open"]

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def runs_used(self) -> int:
        """Runs the race asked for (a value found in the sweep folder counts as a run)."""
        return sum(1 for s in self.settings for seed in s.values if seed < self._last_seeds(s))

    def _last_seeds(self, setting: Setting) -> int:
        if setting.status == "dropped":
            return min(self.initial + setting.dropped_round - 1, self.max_repeats)
        return self.seeds

    def needed(self) -> List[Tuple[int, int]]:
        """(setting, seed) pairs of the current round without a value yet."""
        if self.finished:
            return []
        return [(i, seed) for i in self.open for seed in range(self.seeds) if seed not in self.settings[i].values]

    def record(self, setting: int, seed: int, value: Any, job: Any = None) -> None:
        self.settings[setting].values[seed] = float(value) if finite(value) else float("nan")
        if job is not None:
            self.jobs[(setting, seed)] = job

    def overrides(self, setting: int, seed: int) -> List[str]:
        return [*self.settings[setting].overrides, f"{self.repeat_key}={seed}"]

    def best(self, candidates: Sequence[int]) -> Optional[int]:
        sign = 1 if self.direction == "minimize" else -1
        scored = [(sign * mean_sd(v)[0], i) for i in candidates if (v := self.settings[i].finite_values(self.seeds))]
        return min(scored)[1] if scored else None

    def advance(self) -> None:
        """Test the current round (all its values in), drop the settings separated from the best, and finish or
        move on to the next round."""
        if self.needed():
            raise RuntimeError(f"round {self.round} lacks {len(self.needed())} values")
        seeds, open_now = self.seeds, self.open
        best = self.best(open_now)
        dropped: List[int] = []
        if best is not None:
            others = [i for i in open_now if i != best]
            base = self.settings[best].finite_values(seeds)
            p_values = [welch_p(base, self.settings[i].finite_values(seeds)) for i in others]
            p_values = [1.0 if p is None else p for p in p_values]
            separated = [p <= self.alpha for p in p_values]
            if others and all(separated) and max(p_values) > self.final:  # no winner yet: the runner-up stays
                separated[p_values.index(max(p_values))] = False
            for i, p, out in zip(others, p_values, separated):
                if out:
                    self.settings[i].status, self.settings[i].dropped_round = "dropped", self.round
                    self.settings[i].p_value = p
                    dropped.append(i)
        self.rounds.append({"round": self.round, "seeds": seeds,
                            "launched": [self.jobs[(i, s)] for i in open_now for s in range(seeds)
                                         if (i, s) in self.jobs and s >= (seeds - 1 if self.round > 1 else 0)],
                            "open": [self.settings[i].overrides for i in self.open],
                            "dropped": [self.settings[i].overrides for i in dropped]})
        if best is not None and self.open == [best]:
            return self._finish(best, "separated")
        if seeds >= self.max_repeats:
            return self._finish(best, "max_repeats")
        if self.max_runs is not None and self.runs_used() + len(self.open) > self.max_runs:
            return self._finish(best, "max_runs")
        self.round += 1

    def _finish(self, best: Optional[int], reason: str) -> None:
        won = reason == "separated"
        if won:
            self.settings[best].status = "winner"
        last = [s.p_value for s in self.settings if s.dropped_round == self.round and s.p_value is not None]
        self.outcome = {"winner": self.settings[best].overrides if won else None,
                        "best": self.settings[best].overrides if best is not None else None,
                        "level": (max(last) if last else None) if won else None,
                        "final_level": self.final,
                        "tied": [self.settings[i].overrides for i in self.open if i != best],
                        "reason": reason, "rounds": self.round}

    def run(self, evaluate: Callable[[List[Tuple[int, int]]], Sequence[Any]]) -> Dict[str, Any]:
        """Race to the end: ``evaluate(pairs)`` returns the objective of each (setting, seed) pair of a round."""
        while not self.finished:
            pairs = self.needed()
            for (i, seed), value in zip(pairs, evaluate(pairs) if pairs else []):
                self.record(i, seed, value)
            self.advance()
        return self.outcome

    def to_json(self) -> Dict[str, Any]:
        """race.json: plain lists and dicts."""
        settings = []
        for s in self.settings:
            values = s.finite_values(self.max_repeats)
            mean, sd = mean_sd(values) if values else (None, None)
            settings.append({"overrides": s.overrides, "n": len(values),
                             "failed": sum(1 for v in s.values.values() if not finite(v)),
                             "mean": mean, "sd": sd, "status": s.status, "dropped_round": s.dropped_round,
                             "p_value": s.p_value,
                             "values": [{"seed": seed, "value": v if finite(v) else None}
                                        for seed, v in sorted(s.values.items())]})
        return {"objective": self.objective, "direction": self.direction, "alpha": self.alpha,
                "final_level": self.final, "test": TEST_NAME, "repeat_key": self.repeat_key,
                "initial": self.initial, "max_repeats": self.max_repeats, "max_runs": self.max_runs,
                "settings": settings, "rounds": self.rounds, "outcome": self.outcome, "runs_used": self.runs_used(),
                "full_grid_runs": len(self.settings) * self.max_repeats}

    def identity(self, overrides: Sequence[str]) -> Tuple[str, ...]:
        """What tells a setting (or a run, with the repeat key) from the others: its overrides of the keys that differ
        between the settings (the swept ones), so that a re-run with other fixed overrides (``resume=true``) still
        finds the same settings and runs."""
        keys = set(self.swept) | {self.repeat_key}
        return tuple(sorted(o for o in overrides if o.split("=", 1)[0].lstrip("+~") in keys))

    @property
    def swept(self) -> List[str]:
        values: Dict[str, set] = {}
        for setting in self.settings:
            for o in setting.overrides:
                key, _, value = o.partition("=")
                values.setdefault(key.lstrip("+~"), set()).add(value)
        return [k for k, v in values.items() if len(v) > 1 or any(k not in _keys(s) for s in self.settings)]

    def load(self, previous: Dict[str, Any]) -> None:
        """Take the values of an earlier race.json (same settings, same repeat key) as found."""
        if previous.get("repeat_key") != self.repeat_key:
            return
        index = {self.identity(s.overrides): i for i, s in enumerate(self.settings)}
        for entry in previous.get("settings", []):
            i = index.get(self.identity(entry.get("overrides", [])))
            for item in entry.get("values", []) if i is not None else []:
                value = item.get("value")
                self.settings[i].values[int(item["seed"])] = float(value) if finite(value) else float("nan")


# ---- the sweep: rounds launched through Hydra's launcher -----------------------------------------------------------
def read_json(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: Dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=1, default=str) + "\n")
    os.replace(temporary, path)


def _keys(setting: Setting) -> set:
    return {o.split("=", 1)[0].lstrip("+~") for o in setting.overrides}


def run_folders(sweep_dir: Path, identity: Callable[[Sequence[str]], Tuple[str, ...]]) -> Dict[Tuple[str, ...], int]:
    """Job folders already in the sweep folder (named by ``hydra.job.num``): ``identity(overrides)`` -> job number."""
    import yaml

    found: Dict[Tuple[str, ...], int] = {}
    for path in sweep_dir.glob("*/.hydra/overrides.yaml") if sweep_dir.is_dir() else []:
        if not path.parent.parent.name.isdigit():
            continue
        try:
            overrides = yaml.safe_load(path.read_text()) or []
        except (OSError, yaml.YAMLError):
            continue
        found[identity([str(o) for o in overrides])] = int(path.parent.parent.name)
    return found


def job_value(result: Any) -> float:
    """A job's objective: its return value as a float, NaN when it failed or returned no number."""
    try:
        value = result.return_value
        return float(value) if finite(value) else float("nan")
    except Exception:  # noqa: BLE001 - a job that raised is a failed run
        return float("nan")


def contiguous(numbers: Sequence[int]) -> List[List[int]]:
    groups: List[List[int]] = []
    for number in sorted(numbers):
        if groups and groups[-1][-1] == number - 1:
            groups[-1].append(number)
        else:
            groups.append([number])
    return groups


def run_race(settings: Sequence[Sequence[str]], race_config: Any, direction: Optional[str], objective: Optional[str],
             sweep_dir: Path, launch: Callable[[List[List[str]], int], Sequence[Any]],
             max_batch_size: Optional[int] = None, log: Callable[[str], None] = print) -> Tuple[Race, List[Any]]:
    """Race ``settings`` with the launcher: ``launch(job_overrides, initial_job_idx)`` runs a batch and returns its
    JobReturns. Values in ``sweep_dir`` (race.json, run folders) are reused; race.json is rewritten every round."""
    race = Race(settings, race_config, direction or "", objective)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    race.load(read_json(sweep_dir / RACE_FILE))
    folders = run_folders(sweep_dir, race.identity)
    next_job = max(folders.values(), default=-1) + 1
    returns: List[Any] = []
    while not race.finished:
        pairs = race.needed()
        numbers: Dict[Tuple[int, int], int] = {}
        for pair in pairs:  # a folder of this job already: relaunched in it (resume=true continues or skips it)
            known = folders.get(race.identity(race.overrides(*pair)))
            numbers[pair] = known if known is not None else next_job
            next_job += known is None
        by_number = {number: pair for pair, number in numbers.items()}
        if pairs:
            log(f"race round {race.round}: {len(race.open)} settings open, {len(pairs)} runs "
                f"({race.repeat_key} < {race.seeds})")
        for group in contiguous(list(by_number)):
            for start in range(0, len(group), max_batch_size or len(group)):
                batch = group[start:start + (max_batch_size or len(group))]
                results = launch([race.overrides(*by_number[n]) for n in batch], batch[0])
                returns.append(results)
                for number, result in zip(batch, results):
                    race.record(*by_number[number], job_value(result), job=str(sweep_dir / str(number)))
        race.advance()
        write_json(sweep_dir / RACE_FILE, race.to_json())
    outcome = race.outcome
    log(f"race over ({outcome['reason']}): " + (f"winner {' '.join(outcome['winner'])} (p = {outcome['level']:.3g})"
        if outcome["winner"] else "no winner; tied: " + "; ".join(" ".join(o) for o in [outcome["best"] or [],
                                                                                          *outcome["tied"]]))
        + f"; {race.runs_used()} runs of the full grid's {len(race.settings) * race.max_repeats}")
    return race, returns


def refused(message: str) -> Exception:
    """A race that cannot start: one line, shaped as the grid's pre-flight refusal (a ``lines`` attribute) so an
    app's error handler prints it as it is."""
    from hydra.errors import CompactHydraException

    error = CompactHydraException(message)
    error.lines = []
    return error


def race_sweep(sweeper: Any, arguments: List[str]) -> List[Any]:
    """``GridSweeper.sweep`` with ``repeats=auto``: the settings are the grid's jobs (without the repeat key); the
    pre-flight checks them with seed 0, ``plan=true`` prints the plans of the fewest and the most runs."""
    from omegaconf import OmegaConf

    from hydra_plugins.gan_sweeps_grid.grid_sweeper import PreflightRefused, grid_jobs

    config, race_config = sweeper.config, sweeper.race
    if str(sweeper.repeats) != "auto":
        raise refused(f"hydra.sweeper.repeats={sweeper.repeats}: only 'auto' (a race) is known")
    key = str(race_config.repeat_key)
    settings = grid_jobs(sweeper._parse_config() + list(arguments), sweeper.hydra_context.config_loader)
    if any(o.split("=", 1)[0].lstrip("+~") == key for job in settings for o in job):
        raise refused(f"hydra.sweeper.repeats=auto gives {key} its values itself: remove {key} from "
                                    "the sweep's overrides")
    try:
        Race(settings, race_config, str(sweeper.direction or ""), None)  # the knobs, before anything composes
    except ValueError as exc:
        raise refused(str(exc)) from None
    most = len(settings) * int(race_config.max_repeats)
    if race_config.max_runs is not None:
        most = min(most, int(race_config.max_runs))
    seeds = ",".join(str(s) for s in range(int(race_config.initial)))
    total, lines, composed = sweeper._compose(list(arguments) + [f"{key}={seeds}"])
    if lines:
        raise PreflightRefused(total, lines)
    if sweeper.plan_only:
        print(f"race: {len(settings)} settings; at least {total} runs (round 1: {race_config.initial} seeds each), at "
              f"most {most} runs (max_repeats={race_config.max_repeats}"
              + (f", max_runs={race_config.max_runs}" if race_config.max_runs is not None else "") + ")")
        fewest = sweeper.hooks.plan([c for _, c in composed], [o for o, _ in composed], config.hydra, None)
        if fewest is not None:  # the app's plan hook (hooks.py)
            print("fewest runs (the first round):")
            print(fewest)
            every = ",".join(str(s) for s in range(int(race_config.max_repeats)))
            _, _, full = sweeper._compose(list(arguments) + [f"{key}={every}"])
            print(f"most runs (every setting {race_config.max_repeats} seeds"
                  + (f"; the budget caps it at {most}" if most < len(full) else "") + "):")
            print(sweeper.hooks.plan([c for _, c in full], [o for o, _ in full], config.hydra, None))
        return []
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, sweep_dir / "multirun.yaml")
    import logging

    logger = logging.getLogger(__name__)
    _, returns = run_race(settings, race_config, str(sweeper.direction), config.get("objective"), sweep_dir,
                          lambda batch, start: sweeper.launcher.launch(batch, initial_job_idx=start),
                          sweeper.max_batch_size, logger.info)
    return returns
