"""gan-sweeps' sweepers stand alone: ``hydra_plugins/`` imports nothing of gan_sweeps and no private Optuna
attribute, and an app that gives no hook (``hydra.sweeper.app_hooks`` unset: tests/optuna_apps/sphere.py, a
quadratic objective) runs through both sweepers; an app's hooks are loaded from a module or an object."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import optuna
import pytest
import yaml

from hydra_plugins.gan_sweeps_grid.hooks import load_app_hooks

ROOT = Path(__file__).resolve().parents[1]
SPHERE = ROOT / "tests" / "optuna_apps" / "sphere.py"
PRIVATE_OPTUNA = {"_storage", "_study_id", "_trial_id"}


def run_sphere(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SPHERE), "--config-name=quadratic", "-m", *args], cwd=cwd,
                          text=True, capture_output=True, timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": ""})


class OnlyStatus:
    """Hooks as an object that has one of them."""

    def run_status(self, run_dir: Path) -> str:
        return "pruned"


@pytest.mark.unit
def test_no_plugin_module_imports_the_app_or_a_private_optuna_attribute():
    files = sorted((ROOT / "hydra_plugins").rglob("*.py"))
    assert len(files) >= 10
    for path in files:
        assert not re.search(r"\._(storage|study_id|trial_id)\b", path.read_text()), path  # the grep
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                names = []
            assert not [n for n in names if n.split(".")[0] == "gan_sweeps"], f"{path}:{node.lineno}"
            if isinstance(node, ast.Attribute):
                assert node.attr not in PRIVATE_OPTUNA, f"{path}:{node.lineno}: .{node.attr}"


@pytest.mark.unit
def test_hooks_come_from_a_module_or_an_object_and_missing_ones_do_nothing(monkeypatch):
    default = load_app_hooks(None)
    assert default.preflight(None) is None and default.plan([], [], None, None) is None
    assert default.run_status(Path(".")) is None
    assert default.explain_error(ValueError("bad\n  value"), []) == "bad value"

    hooks = load_app_hooks("gan_sweeps.sweep_hooks")  # gan-sweeps' own: a module
    assert hooks.run_status(ROOT / "no such folder") is None
    from gan_sweeps.config.checks import preflight

    assert hooks.preflight is preflight and hooks.explain_error is not default.explain_error

    monkeypatch.setitem(sys.modules, "an_app", types.SimpleNamespace(OnlyStatus=OnlyStatus))
    only = load_app_hooks("an_app.OnlyStatus")  # a class: instantiated
    assert only.run_status(Path(".")) == "pruned"
    assert only.preflight(None) is None and only.plan([], [], None, None) is None  # the missing ones: the defaults
    with pytest.raises(Exception, match=r"^hydra.sweeper.app_hooks=no_such.module: cannot load it \(No module"):
        load_app_hooks("no_such.module")
    with pytest.raises(Exception, match="it has none of the hooks"):
        load_app_hooks("json")


@pytest.mark.e2e
def test_an_app_without_hooks_runs_a_grid(tmp_path):
    proc = run_sphere("hydra/sweeper=grid", "x=-1,0,2", "y=0,3", "hydra.sweep.dir=grid", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = sorted((tmp_path / "grid").iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else -1)
    jobs = [p for p in jobs if p.name.isdigit()]
    assert [p.name for p in jobs] == [str(n) for n in range(6)]  # the cartesian product, 6 jobs
    done = {tuple(yaml.safe_load((p / ".hydra" / "overrides.yaml").read_text())) for p in jobs}
    assert done == {(f"x={x}", f"y={y}") for x in (-1, 0, 2) for y in (0, 3)}
    assert "pre-flight: all 6 jobs are valid" in proc.stderr + proc.stdout

    plan = run_sphere("hydra/sweeper=grid", "x=-1,0", "hydra.sweeper.plan=true", cwd=tmp_path)
    assert plan.returncode == 1 and "hydra.sweeper.plan=true: this app has no plan hook" in plan.stderr

    bad = run_sphere("hydra/sweeper=grid", "x=1,2", "typo=0,1", "hydra.sweep.dir=bad", cwd=tmp_path)
    assert bad.returncode == 1 and "4 of 4 jobs are invalid; nothing was started:" in bad.stderr
    assert "  job 3 (x=2 typo=1): Could not override 'typo'. To append to your config use +typo=1" in bad.stderr
    assert not (tmp_path / "bad").exists()


@pytest.mark.e2e
def test_an_app_without_hooks_finds_the_optimum_with_optuna_on_sqlite(tmp_path):
    db = tmp_path / "study.db"
    proc = run_sphere("hydra/sweeper=optuna", "hydra/sweeper/sampler=grid", f"hydra.sweeper.storage=sqlite:///{db}",
                      "hydra.sweeper.study_name=quadratic", "x=choice(-1, 0, 2)", "y=choice(0, 3)",
                      "hydra.sweep.dir=opt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = optuna.load_study(study_name="quadratic", storage=f"sqlite:///{db}")
    assert len(study.trials) == 6 and study.best_params == {"x": 0, "y": 0} and study.best_value == 0
    results = yaml.safe_load((tmp_path / "opt" / "optimization_results.yaml").read_text())
    assert results["best_params"] == {"x": 0, "y": 0} and results["best_value"] == 0
    assert {t.user_attrs["run_status"] for t in study.trials} == {"completed"}  # no run_status hook: the value's
