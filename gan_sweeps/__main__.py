"""``python -m gan_sweeps [-m] KEY=VALUE ...`` (also ``gan-sweeps``): the Hydra app; ``gan-sweeps report DIR``,
``gan-sweeps status DIR``, ``gan-sweeps provenance KEY=VALUE ...`` and ``gan-sweeps studies STUDY DIR...`` run the
report, the sweep status, the provenance command and the studies (``SUBCOMMANDS``).

Every config is checked once, before torch is imported (``gan_sweeps.config.checks.preflight``): a single run by
the ``Preflight`` Hydra callback before its run folder is made, every job of a sweep by the sweeper before the first
one starts (through the sweepers' app hooks, ``gan_sweeps.sweep_hooks``); ``task`` asks again and gets the same
answer without a second check when the job runs in that process (a launcher's worker process checks it there), then
passes the checked config on to ``train.run``. A bad command line ends with one line on stderr naming the key and
exit status 2; no input prints a Python traceback (``HYDRA_FULL_ERROR=1`` shows one)."""

from __future__ import annotations

import logging
import math
import os
import sys

import hydra
from omegaconf import DictConfig

from gan_sweeps import CONF_DIR
from gan_sweeps.config.checks import ConfigError, preflight
from gan_sweeps.config.errors import one_line
from gan_sweeps.config.registry import register_configs
from gan_sweeps.config.errors import is_config_failure

PROVENANCE_FILE = "provenance.yaml"
log = logging.getLogger("gan_sweeps.run.train")

register_configs()


def task(cfg: DictConfig) -> float:
    """One job: its pre-flight (no torch; a no-op for a config this process passed already), its provenance record,
    then the training run of the checked config."""
    from gan_sweeps.run.timings import job_started

    job_started()
    from gan_sweeps.config.provenance import write_record
    from gan_sweeps.run.run_record import RunRecord, is_primary_process, run_dir_of

    try:
        provenance = preflight(cfg)
    except ConfigError as exc:  # a sweeper without a pre-flight launched it: recorded, the sweep goes on
        log.error("%s", exc)
        RunRecord(run_dir_of(cfg), read_only=not is_primary_process()).write(
            {"status": "failed", "error": str(exc), "model": cfg.model.get("name"), "health": "failed"})
        return math.nan
    if is_primary_process():
        write_record(run_dir_of(cfg) / PROVENANCE_FILE, provenance, cfg)
    from gan_sweeps.run.train import run  # torch, Lightning and W&B load from here on

    return run(cfg)


main = hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(task)


def _hydra_app() -> int:
    """Run the Hydra app with its errors as one line (Hydra's own report is several lines or a traceback)."""
    user_wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises instead of printing; we print one line
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - every failure ends in one line (a traceback on request)
        if user_wants_traceback:
            raise
        overrides = [a for a in sys.argv[1:] if not a.startswith("-")]
        hint = "" if is_config_failure(exc, overrides) else " (HYDRA_FULL_ERROR=1 shows the traceback)"
        print(f"error: {one_line(exc, overrides)}{hint}", file=sys.stderr)
        return 2
    finally:
        if not user_wants_traceback:
            os.environ.pop("HYDRA_FULL_ERROR", None)
    return 0


# ``gan-sweeps NAME ARGS...`` runs ``python -m gan_sweeps.NAME ARGS...``: the module's ``main(argv) -> int``.
SUBCOMMANDS = {"report": "gan_sweeps.report.command", "status": "gan_sweeps.sweep.status",
               "provenance": "gan_sweeps.config.provenance", "studies": "gan_sweeps.studies.cli"}


def cli() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS:
        import importlib

        sys.exit(importlib.import_module(SUBCOMMANDS[sys.argv[1]]).main(sys.argv[2:]))
    if any(a in ("--help", "-h") for a in sys.argv[1:]):  # Hydra's --help composes ~100 times: slow
        from gan_sweeps.config.help import help_text
        from gan_sweeps.run.train_config import RunConfig

        print(help_text(RunConfig), end="")
        return
    status = _hydra_app()
    if status:
        sys.exit(status)
    from gan_sweeps.run.hydra_callbacks import FAILED

    if FAILED:
        print(f"{len(FAILED)} run(s) failed (metrics.json says why; error.log holds a traceback where there is "
              f"one): {', '.join(FAILED)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    cli()
