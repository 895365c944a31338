"""``python -m gan_sweeps.config.provenance [--all] KEY=VALUE ...`` (also ``gan-sweeps provenance``): what a command
line changes, and which file or override changed it, before anything runs.

Prints every config-group option and every value of the config ``python -m gan_sweeps KEY=VALUE ...`` would run that
differs from ``python -m gan_sweeps`` with no arguments, or that something other than the base defaults set (an
explicitly typed default counts), with its source: ``command line``, a recipe
(``gan_sweeps/conf/loss/wgan_gp.yaml``), a preset (``gan_sweeps/conf/experiment/...``), an optimiser specialisation
(``gan_sweeps/conf/loss/optim/...``) or the option's own typed config (``gan_sweeps/.../*_config.py``). Then it
checks the config as a run would and says whether it would be refused (exit status 2) or not (0). ``--all`` lists
every key with its type and range.

Each run folder holds the same record as ``provenance.yaml`` (:func:`write_record`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from omegaconf import DictConfig

from gan_sweeps.config.checks import ConfigError, validate
from gan_sweeps.config.errors import one_line
from gan_sweeps.config.registry import register_configs
from gan_sweeps.config.checks import fields
from gan_sweeps.config.schema import describe
from gan_sweeps.config import hydra_defaults
from gan_sweeps.config.sources import ABSENT, CONF_DIR, Change, Provenance

HEADER = ("# Every config-group option and value of this run that differs from `python -m gan_sweeps` with no\n"
          "# arguments, or that was set by something other than the base defaults, and what set it (the command\n"
          "# line, a recipe, a preset, ...). The same as `python -m gan_sweeps.config.provenance OVERRIDES`.\n")


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def record(provenance: Provenance, cfg: DictConfig) -> dict[str, Any]:
    """The provenance record of a composed config as plain data (what ``provenance.yaml`` holds)."""

    def entry(change: Change) -> dict[str, Any]:
        out: dict[str, Any] = {"value": change.value}
        if change.default != ABSENT:
            out["default"] = change.default
        out["source"] = str(change.source)
        return out

    changes = provenance.changes(cfg)
    return {"overrides": list(provenance.overrides),
            "choices": {c.key: entry(c) for c in changes if c.choice},
            "values": {c.key: entry(c) for c in changes if not c.choice}}


def write_record(path: Path, provenance: Provenance, cfg: DictConfig) -> None:
    """``provenance.yaml`` in a run folder (written atomically, a report may read the folder meanwhile)."""
    import yaml

    from gan_sweeps.atomic import atomic_write_text

    body = yaml.safe_dump(record(provenance, cfg), sort_keys=False, default_flow_style=False, width=120)
    atomic_write_text(Path(path), HEADER + body)


def compose(overrides: Sequence[str]) -> DictConfig:
    """The config ``python -m gan_sweeps OVERRIDES`` runs (with its ``hydra`` node)."""
    return hydra_defaults.compose(str(CONF_DIR), overrides)


def render(provenance: Provenance, cfg: DictConfig, include_all: bool = False) -> list[str]:
    """The provenance table: key, value, the default it replaces, source; ``include_all``: every key, each followed
    by its type, range and help."""
    rules = {f.key: describe(f.type, f.rule) for f in fields(cfg)} if include_all else {}
    changes = provenance.changes(cfg, include_all=include_all)
    rows = [("KEY", "VALUE", "DEFAULT", "SET BY", "")]
    for c in changes:
        default = "-" if c.default == ABSENT else _text(c.default)
        rows.append((f"{c.key}=" if c.choice else c.key, _text(c.value), "" if c.default == c.value else default,
                     str(c.source), "" if c.choice else rules.get(c.key, "")))
    widths = [min(max(len(r[i]) for r in rows), 44) for i in range(3)]
    lines = []
    for *cells, source, rule in rows:
        lines.append("  ".join([cell.ljust(width) for cell, width in zip(cells, widths)] + [source]).rstrip())
        if rule:
            lines.append(f"    {rule}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gan_sweeps.config.provenance",
        description="Every value the command `python -m gan_sweeps KEY=VALUE ...` changes (group options first), "
                    "the default it replaces and the file or override that set it; then whether the run would be "
                    "refused. Sweep syntax (a,b,c) is not expanded: give one job's overrides.")
    parser.add_argument("--all", action="store_true", help="every key, with its type and range")
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE, GROUP=OPTION, +KEY=VALUE as for python -m gan_sweeps")
    args = parser.parse_args(argv)
    register_configs()
    overrides = list(args.overrides)
    try:
        cfg = compose(overrides)
        provenance = Provenance.of(overrides)
    except Exception as exc:  # noqa: BLE001 - a command line that does not compose: one line, as the app says
        print(f"error: {one_line(exc, overrides)}", file=sys.stderr)
        return 2
    command = " ".join(["python -m gan_sweeps", *overrides])
    print(f"{command}: {'every value' if args.all else 'what differs from the defaults or was set'}, "
          "and what set it")
    print("\n".join(render(provenance, cfg, include_all=args.all)))
    try:
        validate(cfg, provenance)
    except ConfigError as exc:
        print(f"refused: {exc}")
        return 2
    print("valid: this run would start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
