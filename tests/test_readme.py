"""The README cannot rot: every `python -m gan_sweeps` / `gan-sweeps` command line in README.md is found, every job
of it is composed and pre-flighted as the sweeper does before launching, and its first job trains to completion
at smoke size (in-process); `python -m gan_sweeps.config.provenance` commands run; the mission command runs as a user
types it (a subprocess) and the README's report commands run on the sweep it leaves."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

import pytest

from conftest import (REPO, checked, compose_config, job_dirs, read_metrics, run_cli, train_in_process,
                      wandb_run_record)
from gan_sweeps import CONF_DIR
from gan_sweeps.__main__ import SUBCOMMANDS
from gan_sweeps.config.provenance import main as provenance_main
from gan_sweeps.report import main as report_main
from hydra_plugins.gan_sweeps_grid.grid_sweeper import grid_jobs

README = REPO / "README.md"
SWEEP_PLACEHOLDERS = ("multirun/<date>/<time>", "<sweep dir>", "SWEEP_DIR", "DIR")
# What the README says to add for a smoke run ("Reproducing the seed studies"); a preset's own needs after it.
SMOKE = ["data.train_size=256", "trainer.max_epochs=1", "eval=off", "logger=csv", "sample_epochs=[1]"]
PRESET_SMOKE = {"seed000_triplet": ["data.train_size=2400", "trainer.max_epochs=2", "model.pretrain_epochs=1",
                                    "model.triplets_per_epoch=500"]}
SWEEP_SYNTAX = re.compile(r"^[^=]+=(.*,.*|.*\(.*\).*)$")  # a,b,c / interval(...) / choice(...) / range(...)


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    program: str  # "app" or a subcommand of gan_sweeps.__main__.SUBCOMMANDS
    args: tuple[str, ...]

    @property
    def multirun(self) -> bool:
        return "-m" in self.args or "--multirun" in self.args

    @property
    def overrides(self) -> list[str]:
        return [a for a in self.args if not a.startswith("-")]

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


SYNTAX_WORDS = ("...", "KEY=VALUE", "GROUP=OPTION")  # `python -m gan_sweeps KEY=VALUE ...` describes, not runs


def _command(line: int, text: str) -> Command | None:
    """A README command line, or None for prose that names a program (``gan-sweeps status``) without running it."""
    text = text.split(" #")[0].strip()
    tokens = shlex.split(text)
    if tokens[:3] == ["python", "-m", "gan_sweeps"]:
        program, args = "app", tokens[3:]
    elif tokens[:2] == ["python", "-m"] and tokens[2].startswith("gan_sweeps."):
        program, args = tokens[2].rsplit(".", 1)[1], tokens[3:]  # gan_sweeps[.PACKAGE].MODULE: the subcommand
    elif tokens[:1] == ["gan-sweeps"]:
        program = tokens[1] if len(tokens) > 1 and tokens[1] in SUBCOMMANDS else "app"
        args = tokens[2:] if program != "app" else tokens[1:]
    else:
        return None
    if not args or any(word in token for token in args for word in SYNTAX_WORDS):
        return None
    return Command(line, text, program, tuple(args))


def readme_commands() -> list[Command]:
    """Commands in code blocks (fenced or indented, with backslash continuations) and in inline code spans."""
    found: list[Command] = []
    lines = README.read_text().splitlines()
    fenced, pending, start = False, "", 0
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        in_block = fenced or line.startswith("    ")
        if in_block or pending:
            text = line.strip()
            if pending:
                text = pending + " " + text
            elif not text.startswith(("python -m gan_sweeps", "gan-sweeps ")):
                continue
            else:
                start = number
            if text.endswith("\\"):
                pending = text[:-1].strip()
                continue
            pending = ""
            command = _command(start, text)
            if command:
                found.append(command)
            continue
        for span in re.findall(r"`([^`]+)`", line):
            if span.startswith(("python -m gan_sweeps", "gan-sweeps ")):
                command = _command(number, span)
                if command:
                    found.append(command)
    return found


COMMANDS = readme_commands()
APP = [c for c in COMMANDS if c.program == "app" and c.overrides]  # `--help` alone: tests/test_config.py


def _first_value(override: str) -> str:
    """A sweep override's first point: the first of a,b,c / choice(...), the start of interval(...) / range(...)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    parsed = OverridesParser.create().parse_override(override)
    value = parsed.value()
    if isinstance(value, ChoiceSweep):
        value = value.list[0]
    elif isinstance(value, (RangeSweep, IntervalSweep)):
        value = value.start
    return f"{parsed.get_key_element()}={value}"


def jobs(command: Command) -> list[list[str]]:
    """The overrides of each job the command would launch (the grid sweeper's expansion; an Optuna search: its
    first point), without Hydra's own overrides (they configure the sweeper, not the run)."""
    app = [o for o in command.overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]
    fixed = [o for o in app if not SWEEP_SYNTAX.match(o)]
    hydra_cfg = compose_config(*fixed, hydra_node=True).hydra
    params = [f"{k}={v}" for k, v in (hydra_cfg.sweeper.get("params") or {}).items()] if command.multirun else []
    optuna = "optuna" in str(hydra_cfg.sweeper._target_).lower() or "hydra/sweeper=optuna" in command.overrides
    if optuna:
        return [[*fixed, *(_first_value(o) for o in params + app if SWEEP_SYNTAX.match(o))]]
    return grid_jobs(params + app)


def _smoke(job: list[str]) -> list[str]:
    preset = next((o.split("=", 1)[1] for o in job if o.startswith("experiment=")), None)
    return [*job, *SMOKE, *PRESET_SMOKE.get(preset, [])]


# ---- the commands ------------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_the_readme_shows_the_mission_every_preset_and_the_provenance_command():
    assert any(c.multirun and "model=cgan" in c.args and "k=1,2,3" in c.args for c in APP)
    presets = {p.stem for p in (CONF_DIR / "experiment").glob("*.yaml")}
    shown = {o.split("=", 1)[1] for c in APP for o in c.overrides if o.startswith("experiment=")}
    assert shown == presets
    assert any(c.program == "provenance" and c.args == ("loss=wgan_gp",) for c in COMMANDS)
    assert all(c.args for c in COMMANDS) and len(APP) >= 15


@pytest.mark.integration
@pytest.mark.parametrize("command", APP, ids=lambda c: f"line{c.line}")
def test_every_readme_command_passes_the_pre_flight_and_its_first_job_completes(command, tmp_path):
    runs = jobs(command)
    assert runs
    for job in runs:  # what the grid sweeper checks before launching anything
        checked(*_smoke(job))
    metrics = train_in_process(tmp_path, *_smoke(runs[0]))
    assert metrics["status"] == "completed", f"{command}: {metrics.get('error')}"


@pytest.mark.unit
@pytest.mark.parametrize("command", [c for c in COMMANDS if c.program == "provenance"], ids=lambda c: f"line{c.line}")
def test_every_readme_provenance_command_runs(command, capsys):
    assert provenance_main(list(command.args)) == 0, capsys.readouterr().out
    assert capsys.readouterr().out.splitlines()[-1] == "valid: this run would start"


# ---- as a user types it ------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_the_mission_command_and_the_readme_report_commands_run_as_written(tmp_path):
    """The README's first command (seed 001's k x beta1 cGAN grid) as a subprocess at smoke size: six complete runs,
    one W&B group, a provenance record each; then every README report command on the sweep it leaves."""
    (mission,) = [c for c in APP if c.args == ("-m", "model=cgan", "k=1,2,3", "optim.beta1=0.5,0.9")]
    sweep = tmp_path / "sweep"
    proc = run_cli(*mission.args, "data.train_size=256", "batch_size=64", "trainer.max_epochs=1", "eval=off",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = job_dirs(sweep)
    assert len(runs) == 6
    group = f"{sweep.parent.name}_{sweep.name}".encode()  # the sweep folder names the W&B group
    for job in runs:
        metrics = read_metrics(job)
        assert metrics["status"] == "completed" and metrics["epochs_done"] == 1 and metrics["images_per_s"] > 0
        for name in ("samples/epoch_001.png", "checkpoints/last.ckpt", "csv/metrics.csv", "provenance.yaml"):
            assert (job / name).is_file(), name
        (record,) = (job / "wandb").glob("offline-run-*/run-*.wandb")  # one offline W&B run per job
        data = record.read_bytes()
        assert group in data and f"{job.name}:batch_size=64,".encode() in data  # the sweep's group; job + overrides
        assert b"gan_sweeps.models.ConditionalGAN" in data  # the run's config went to W&B with it
        run = wandb_run_record(job)  # job type and the sweep's columns, to group runs (and average seeds) by
        columns = json.loads(next(item.value_json for item in run.config.update if item.key == "sweep"))
        assert run.job_type == "train" and columns["swept"] == ["k", "optim.beta1"]
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        assert columns["setting"] == " ".join(line[2:] for line in overrides.splitlines()
                                              if line[2:].split("=")[0] in ("k", "optim.beta1"))
    assert sorted(read_metrics(j)["g_steps_done"] for j in runs) == [1, 1, 2, 2, 4, 4]  # 4 batches / k
    reports = [c for c in COMMANDS if c.program == "report"]
    assert len(reports) >= 3
    for command in reports:
        args = [str(sweep) if a in SWEEP_PLACEHOLDERS else a for a in command.args]
        assert report_main(args) == 0, command
    assert (sweep / "report.md").is_file()


@pytest.mark.unit
def test_placeholder_paths_stand_for_a_sweep_folder():
    """Every argument of a report command that is not an option is one of the placeholders above."""
    for command in (c for c in COMMANDS if c.program == "report"):
        positional = [a for i, a in enumerate(command.args) if not a.startswith("-")
                      and not (i and command.args[i - 1].startswith("--"))]
        assert positional and all(p in SWEEP_PLACEHOLDERS for p in positional), command

