"""Within-class diversity (evaluation/diversity.py): the k-NN manifold scores on point sets small enough to check by
hand, the health rule that reads them, and re-scoring a finished run (``python -m gan_sweeps.evaluation --run``).
The scores of real and collapsed generators on MNIST are in test_evaluation.py (with its trained evaluator)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch

from conftest import TINY, checked, read_metrics, run_cli
from gan_sweeps.config.checks import ConfigError
from gan_sweeps.callbacks.health import RunHealth, recovered_text
from gan_sweeps.evaluation.diversity import SPREAD_THRESHOLD, knn_radii, low_diversity, manifold_scores

# The unit square as real points, and three generated ones: two near its corners, one far off (see the test).
SQUARE = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
FAKE = torch.tensor([[0.5, 0.5], [3.0, 3.0], [0.0, 0.1]])


@pytest.mark.unit
def test_knn_radii_by_hand():
    points = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [6.0, 0.0]])
    first, second = knn_radii(points, (1, 2), chunk=3)  # chunks of 3 rows: the blocks are joined correctly
    assert first.tolist() == [1.0, 1.0, 2.0, 3.0]
    assert second.tolist() == [3.0, 2.0, 3.0, 5.0]
    with pytest.raises(ValueError, match="need more than 4 points"):
        knn_radii(points, (4,))


@pytest.mark.unit
def test_precision_recall_coverage_spread_by_hand():
    # k = 1. Real radii: 1 for every corner. Generated radii: (0.5, 0.5) and (0, 0.1) are each other's nearest,
    # sqrt(0.41) = 0.640; (3, 3)'s nearest is (0.5, 0.5), sqrt(12.5) = 3.536.
    # precision: (0.5, 0.5) is 0.707 from (0, 0) (inside its radius 1), (0, 0.1) 0.1 from it, (3, 3) 2.83 from
    #   (1, 1): 2 of 3.
    # recall: (0, 0) lies 0.1 from (0, 0.1) (radius 0.640); (1, 1) 2.83 from (3, 3) (radius 3.536); (1, 0) and
    #   (0, 1) are 0.707 from (0.5, 0.5) (> 0.640) and 3.61 from (3, 3) (> 3.536): 2 of 4.
    # coverage: every corner has a generated point within 0.707 < 1: 4 of 4.
    # spread: median generated radius 0.640 over median real radius 1.
    scores = manifold_scores(SQUARE, FAKE, pr_k=1, dc_k=1)
    assert scores == pytest.approx({"precision": 2 / 3, "recall": 0.5, "coverage": 1.0, "spread": math.sqrt(0.41)})
    same = manifold_scores(SQUARE, SQUARE, pr_k=1, dc_k=1)
    assert same == pytest.approx({"precision": 1.0, "recall": 1.0, "coverage": 1.0, "spread": 1.0})


@pytest.mark.unit
def test_duplicates_have_no_spread_and_no_recall():
    real = torch.randn(200, 5, generator=torch.Generator().manual_seed(0))
    copies = real[:2].repeat(50, 1)  # two points, 50 times each: a generator that ignores its noise
    scores = manifold_scores(real, copies)
    assert scores["spread"] == 0.0 and scores["recall"] == pytest.approx(2 / 200) and scores["precision"] == 1.0


@pytest.mark.unit
def test_low_diversity_rule_names_the_metric_the_classes_and_the_threshold():
    healthy = {"eval/intra_spread_by_class": [1.0] * 10, "eval/spread": 1.0}
    assert low_diversity(healthy) is None
    two_collapsed = {"eval/intra_spread_by_class": [1.0] * 7 + [0.02, 1.0, 0.3], "eval/intra_recall": 0.7,
                     "eval/intra_fid": 30.0, "eval/spread": 0.9}
    reason = low_diversity(two_collapsed)
    assert reason.startswith(f"within-class diversity: eval/intra_spread_by_class under {SPREAD_THRESHOLD:g} in 2 "
                             "of 10 classes (7, 9; worst: class 7 at 0.020")
    assert "intra_recall 0.700, intra_fid 30.000" in reason
    unconditional = {"eval/spread": 0.1, "eval/recall": 0.05, "eval/coverage": 0.2}
    assert low_diversity(unconditional) == (f"sample diversity: eval/spread 0.100 < {SPREAD_THRESHOLD:g} "
                                            "(recall 0.050, coverage 0.200)")
    assert low_diversity({"eval/fid": 3.0}) is None  # evaluations without the diversity scores


@pytest.mark.unit
def test_health_flags_low_diversity_with_the_sample_grid(tmp_path):
    for epoch in (1, 2, 5):
        (tmp_path / "samples").mkdir(exist_ok=True)
        (tmp_path / "samples" / f"epoch_{epoch:03d}.png").write_bytes(b"")
    health = RunHealth(run_dir=tmp_path)
    collapsed = {"eval/mode_collapse": False, "eval/intra_spread_by_class": [0.01] * 10}
    assert health.check_evaluation(collapsed, epoch=3) == "low_diversity"
    summary = health.summary()
    assert summary["health"] == "low_diversity" and summary["health_epoch"] == 3
    assert summary["health_figure"] == "samples/epoch_002.png"  # the newest grid up to the evaluated epoch
    assert "10 of 10 classes" in summary["health_reason"]
    # A missing class is the worse diagnosis: it replaces the first, with its own epoch and grid.
    both = {**collapsed, "eval/mode_collapse": True, "eval/class_hist": [1.0] + [0.0] * 9}
    assert health.check_evaluation(both, epoch=5) == "mode_collapse"
    assert health.summary()["health"] == "mode_collapse" and health.summary()["health_figure"] == \
        "samples/epoch_005.png"
    assert RunHealth().check_evaluation(collapsed, epoch=1) == "low_diversity"  # no run folder: no figure
    assert RunHealth().summary()["health_figure"] is None


@pytest.mark.unit
def test_the_new_scores_are_objectives_of_the_models_that_produce_them():
    assert checked(*TINY, "model=cgan", "objective=eval/intra_fid").objective == "eval/intra_fid"
    assert checked(*TINY, "model=dcgan", "objective=eval/spread").objective == "eval/spread"
    with pytest.raises(ConfigError, match="objective='eval/intra_recall' .* names no metric of model=dcgan"):
        checked(*TINY, "objective=eval/intra_recall")  # per-class scores need a conditional model


@pytest.mark.unit
def test_rescoring_keeps_trainings_diagnoses_and_replaces_the_evaluations(tmp_path):
    from gan_sweeps.evaluation.rescore import _health

    healthy = {"eval/mode_collapse": False, "eval/intra_spread_by_class": [1.0] * 10}
    collapsed = {"eval/mode_collapse": False, "eval/intra_spread_by_class": [0.02] * 10}
    earlier = [{"diagnosis": "d_collapse", "epoch": 1, "until": 3, "reason": "D won"}]
    final = {"health": "mode_collapse", "health_epoch": 5, "health_reason": "old", "epochs_done": 15,
             "health_recovered": earlier}
    assert _health(final, healthy, tmp_path) == {"health": "ok", "health_epoch": None, "health_reason": None,
                                                 "health_figure": None, "health_recovered": earlier}
    assert _health(final, collapsed, tmp_path)["health"] == "low_diversity"
    losses = {"health": "d_collapse", "health_epoch": 3, "health_reason": "D won", "epochs_done": 15}
    assert _health(losses, collapsed, tmp_path)["health"] == "d_collapse"  # held when training ended: stands


@pytest.mark.unit
def test_a_collapse_a_later_evaluation_does_not_see_is_recovered(tmp_path):
    healthy = {"eval/mode_collapse": False, "eval/intra_spread_by_class": [1.0] * 10}
    collapsed = {"eval/mode_collapse": False, "eval/intra_spread_by_class": [0.02] * 10}
    health = RunHealth(run_dir=tmp_path)
    health.check_evaluation(collapsed, epoch=5)
    health.check_evaluation({}, epoch=10)  # evaluation off, or not the primary process: judges nothing
    assert health.health == "low_diversity"
    health.check_evaluation(healthy, epoch=15)
    summary = health.summary()
    assert summary["health"] == "ok" and summary["health_reason"] is None
    assert [(r["diagnosis"], r["epoch"], r["until"]) for r in summary["health_recovered"]] == \
        [("low_diversity", 5, 15)]
    assert recovered_text(summary["health_recovered"]) == "recovered from low_diversity (epochs 5-14)"


def rescore_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    """`python -m gan_sweeps.evaluation ARGS` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "gan_sweeps.evaluation", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=600, env={**os.environ, "CI": "1"})


@pytest.mark.integration
def test_rescore_updates_a_runs_metrics_and_keeps_the_rest(tmp_path):
    run_dir = tmp_path / "run"
    trained = run_cli(*TINY, "model=cgan", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    before = read_metrics(run_dir)
    assert before["status"] == "completed" and "eval/fid" not in before  # trained with eval=off
    done = rescore_cli("--run", str(run_dir), "--num-samples", "1000", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    after = read_metrics(run_dir)
    assert {k: v for k, v in after.items() if k in before and not k.startswith("health")} == \
        {k: v for k, v in before.items() if not k.startswith("health")}  # training's record kept
    assert after["eval/num_samples"] == 1000 and len(after["eval/intra_fid_by_class"]) == 10
    assert after["rescored"]["num_samples"] == 1000 and after["health"] in ("ok", "low_diversity", "mode_collapse")
    assert after["rescored"]["health"] == after["health"]  # nothing from training to keep: eval=off
    assert f"eval/intra_fid = {after['eval/intra_fid']:.6g}" in done.stdout
    assert f"health = {after['health']}" in done.stdout
    reference = json.loads((run_dir / "reference.json").read_text())
    assert 0.9 < reference["eval/intra_spread"] < 1.1  # the real data's row, with the new metrics
    not_a_run = rescore_cli("--run", str(tmp_path), cwd=tmp_path)
    assert not_a_run.returncode == 2 and not_a_run.stderr.strip() == f"error: {tmp_path} is not a run folder " \
        "(no .hydra/config.yaml)"
