"""A raced sweep's outcome (``race.json``, written by ``hydra.sweeper.repeats=auto``: hydra_plugins/gan_sweeps_grid/
race.py) as the report's summary lines: the winner and the level it is separated at, or the settings still tied
when the race ran out of seeds or runs; each setting's n, mean and 95 % t-interval (as the settings table), its
status and the round that dropped it; the runs used against the full grid's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gan_sweeps.report.render import format_interval, format_number
from gan_sweeps.report.stats import summarize

RACE_FILE = "race.json"
REASONS = {"max_repeats": "every open setting has max_repeats seeds", "max_runs": "the run budget (max_runs) is spent"}


def load_race(root: Path) -> dict[str, Any] | None:
    try:
        race = json.loads((Path(root) / RACE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return race if isinstance(race, dict) and isinstance(race.get("settings"), list) else None


def _label(overrides: list[str] | None) -> str:
    return " ".join(overrides or []) or "(the only setting)"


def _estimate(setting: dict[str, Any]) -> str:
    summary = summarize([item.get("value") for item in setting.get("values", [])])
    if summary is None:
        return "no value"
    if summary.half_width is None:
        return "values " + ", ".join(format_number(v) for v in summary.values)
    return format_interval(summary.mean, summary.half_width) + " (95 % t-interval)"


def race_lines(race: dict[str, Any]) -> list[str]:
    """The summary lines of a race (see the module docstring)."""
    outcome = race.get("outcome") or {}
    word = "higher" if race.get("direction") == "maximize" else "lower"
    head = f"Race on {race.get('objective')} ({word} is better; {race.get('test', 'Welch t-tests')}; alpha " \
           f"{race.get('alpha')}): "
    if not outcome:
        head += f"still running (round {len(race.get('rounds', [])) + 1})"
    elif outcome.get("winner") is not None:
        level = outcome.get("level")
        head += f"winner: {_label(outcome['winner'])}, separated from every other setting (last comparison " \
                f"p = {level:.3g} <= {outcome.get('final_level', 0):.3g}, the per-round level that keeps a false " \
                f"winner at alpha) after {outcome.get('rounds')} rounds" if level is not None else \
                f"winner: {_label(outcome['winner'])} (the only setting)"
    else:
        tied = [outcome.get("best"), *outcome.get("tied", [])]
        head += f"no winner ({REASONS.get(outcome.get('reason'), outcome.get('reason'))}); still tied: " + \
                "; ".join(_label(o) for o in tied if o is not None)
    lines = [head]
    for setting in race["settings"]:
        status = setting.get("status", "open")
        if status == "dropped":
            status = f"dropped at round {setting.get('dropped_round')} (p = {setting.get('p_value', 0):.3g})"
        failed = f", {setting['failed']} failed/diverged (left out of n and the mean)" if setting.get("failed") \
            else ""
        lines.append(f"  {_label(setting.get('overrides'))}: n={setting.get('n')}{failed}, "
                     f"{_estimate(setting)}; {status}")
    lines.append(f"Runs used: {race.get('runs_used')} of the full grid's {race.get('full_grid_runs')} "
                 f"({len(race['settings'])} settings x {race.get('max_repeats')} seeds)")
    return lines
