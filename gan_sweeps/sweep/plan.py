"""A sweep's plan: its jobs and their estimated wall time, before anything trains.

``python -m gan_sweeps -m ... hydra.sweeper.plan=true`` prints it and runs nothing (the grid sweeper,
hydra_plugins/gan_sweeps_grid); every sweep that runs writes it as ``plan.json`` in its folder, so the report can
set the estimate beside the actual wall time.

A job's estimate is ``train + eval + overhead`` seconds, each part from a named source:

- ``history``: completed earlier runs under ``multirun/`` and ``outputs/`` (or the folders given) with the same
  model, nets (``arch``: a hash of the resolved ``model`` node, ``d_step`` and the regulariser, so a deep net or a
  gradient penalty is never timed by a shallow plain run), batch size and device, those with the same ``k`` and
  ``g_steps`` preferred: the median of their
  ``images_per_s`` gives ``train`` (epochs x images per epoch / images/s), their ``timings``
  (gan_sweeps/run/timings.py) give ``eval`` (scaled by ``eval.num_samples``) and the overhead (W&B, Lightning's set-up,
  record), and the first job of their process its start-up (imports: once per process);
- ``probe``: without such runs, ``--plan`` trains the job's config for two epochs of 4 batches (the second timed)
  and evaluates 500 samples (the plan takes a few seconds more), and keeps the result in
  ``<eval.cache_dir>/probes.json`` for later plans and sweeps; a sweep that runs never probes: without history
  or probe its jobs have no estimate (``source: none``).

The sweep's total is the start-up plus the jobs' sum over the jobs that run at the same time (the launcher's
parallelism, ``gan_sweeps.run.launch``)."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any, Iterable

from omegaconf import DictConfig, open_dict

from gan_sweeps.run.timings import process_start

PLAN_FILE = "plan.json"
HISTORY_ROOTS = ("multirun", "outputs")
PROBE_BATCHES = 4
PROBE_SAMPLES = 500
OVERHEAD_PHASES = ("setup", "wandb", "fit_other", "reference", "teardown")


# ---- what a job is -----------------------------------------------------------------------------------------------
def arch_key(cfg: DictConfig) -> str:
    """What sets a job's speed besides batch size, k and device: its resolved nets, D's step and regulariser."""
    import hashlib

    from omegaconf import OmegaConf

    model = OmegaConf.to_container(cfg.model, resolve=True)
    model.pop("module", None)  # the loop's knobs (k, g_steps: keyed on their own), not its nets
    node = {"model": model, "d_step": cfg.get("d_step"),
            "regularizer": OmegaConf.to_container(cfg.regularizer, resolve=True) if "regularizer" in cfg else None}
    return hashlib.sha1(json.dumps(node, sort_keys=True, default=str).encode()).hexdigest()[:12]


def job_key(cfg: DictConfig, device: str) -> dict[str, Any]:
    return {"model": cfg.model.get("name"), "arch": arch_key(cfg), "batch_size": int(cfg.batch_size),
            "device": device, "k": cfg.get("k"), "g_steps": cfg.get("g_steps")}


def planned_device(cfg: DictConfig) -> str:
    """``cpu`` or ``cuda``: what ``trainer.accelerator`` gives on this machine (imports torch)."""
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    if accelerator == "cpu":
        return "cpu"
    import torch

    return "cuda" if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available() else accelerator.replace(
        "auto", "cpu").replace("gpu", "cpu")


def train_images(cfg: DictConfig) -> int:
    """Images per epoch: ``data.train_size``, else the dataset's training split length."""
    if cfg.data.get("train_size"):
        return int(cfg.data.train_size)
    from gan_sweeps.data.idx import find_file, find_raw_dir, read_idx

    raw = find_raw_dir(cfg.data.name, cfg.data.get("root"))
    return int(read_idx(find_file(raw, "train-labels-idx1-ubyte")).shape[0]) if raw else 60_000


# ---- earlier runs ------------------------------------------------------------------------------------------------
def _run_key(record: dict[str, Any], run_dir: Path) -> dict[str, Any] | None:
    """An earlier run's job key, from its metrics.json (newer runs) or its .hydra/config.yaml."""
    if all(k in record for k in ("arch", "batch_size", "device")):
        return {"model": record.get("model"), "arch": record["arch"], "batch_size": record["batch_size"],
                "device": str(record["device"]).split(":")[0], "k": record.get("k"), "g_steps": record.get("g_steps")}
    try:
        import yaml

        cfg = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    except (OSError, ValueError, ImportError):
        return None
    if not isinstance(cfg, dict) or "device" not in record:
        return None
    from omegaconf import OmegaConf

    try:
        arch = arch_key(OmegaConf.create(cfg))
    except Exception:  # noqa: BLE001 - a config this version cannot resolve: not comparable
        return None
    return {"model": record.get("model"), "arch": arch, "batch_size": cfg.get("batch_size"),
            "device": str(record["device"]).split(":")[0], "k": cfg.get("k"), "g_steps": cfg.get("g_steps")}


def history(roots: Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    """Completed runs with timings below ``roots``: ``{"key", "record", "dir"}`` each."""
    found = []
    for root in roots:
        for path in Path(root).rglob("metrics.json") if Path(root).is_dir() else []:
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if record.get("status") != "completed" or not record.get("images_per_s") or "timings" not in record:
                continue
            key = _run_key(record, path.parent)
            if key is not None:
                found.append({"key": key, "record": record, "dir": str(path.parent)})
    return found


def _matches(runs: list[dict[str, Any]], key: dict[str, Any]) -> list[dict[str, Any]]:
    same = [r for r in runs if all(r["key"].get(k) == key[k] for k in ("model", "arch", "batch_size", "device"))]
    exact = [r for r in same if r["key"].get("k") == key["k"] and r["key"].get("g_steps") == key["g_steps"]]
    return exact or same


def _costs(records: list[dict[str, Any]]) -> dict[str, float]:
    """Median images/s, eval seconds per sample, per-job overhead and once-per-process start-up of runs."""
    later = [r for r in records if r.get("job_in_process", 0) > 0] or records
    first = [r for r in records if r.get("job_in_process", 0) == 0]
    overhead = statistics.median(sum(r["timings"].get(p, 0.0) for p in OVERHEAD_PHASES) + r["timings"].get(
        "startup", 0.0) for r in later)
    evals = [r["timings"]["eval"] / r["eval/num_samples"] for r in records
             if r.get("eval/num_samples") and r["timings"].get("eval")]
    start = (statistics.median(r["timings"].get("startup", 0.0) + r["timings"].get("setup", 0.0) for r in first)
             - statistics.median(r["timings"].get("setup", 0.0) for r in later) if first and later is not records
             else None)
    return {"images_per_s": statistics.median(r["images_per_s"] for r in records),
            "eval_per_sample_s": statistics.median(evals) if evals else None, "overhead_s": overhead,
            "startup_s": max(0.0, start) if start is not None else None}


# ---- probing -----------------------------------------------------------------------------------------------------
def _probe_file(cfg: DictConfig) -> Path:
    return Path(os.path.expanduser(str(cfg.eval.cache_dir))) / "probes.json"


def cached_probe(cfg: DictConfig, key: dict[str, Any]) -> dict[str, Any] | None:
    try:
        probes = json.loads(_probe_file(cfg).read_text())
    except (OSError, ValueError):
        return None
    found = [p for p in probes if p.get("key") == key]
    return found[-1] if found else None


def probe(cfg: DictConfig, key: dict[str, Any]) -> dict[str, Any]:
    """Train the job's config for two epochs of ``PROBE_BATCHES`` batches and time the second; evaluate
    ``PROBE_SAMPLES`` samples; measure the set-up. Kept in ``probes.json`` (module docstring)."""
    import logging
    import tempfile
    import warnings

    imports = time.perf_counter()
    import pytorch_lightning as pl

    from gan_sweeps.callbacks.throughput import Throughput
    from gan_sweeps.run.build import build_datamodule, build_model, evaluate

    imports = time.perf_counter() - imports  # ~0 after the first probe of this process
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)  # a plan prints the plan only
    warnings.filterwarnings("ignore", module="pytorch_lightning")

    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.data.train_size = min(train_images(cfg), cfg.batch_size * PROBE_BATCHES)
        cfg.eval.num_samples = min(int(cfg.eval.num_samples), PROBE_SAMPLES)
    start = time.perf_counter()
    started_at = time.time()
    pl.seed_everything(cfg.seed, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg)
    throughput = Throughput()
    trainer = pl.Trainer(max_epochs=2, accelerator=cfg.trainer.get("accelerator", "auto"), devices=1,
                         logger=False, callbacks=[throughput], enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         limit_val_batches=0)
    fit_start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    fit = time.perf_counter() - fit_start
    setup = fit_start - start
    images = throughput.images / 2
    result: dict[str, Any] = {"key": key, "created": time.time(),
                              "images_per_s": images / throughput.epoch_seconds[-1],
                              "overhead_s": setup + fit - sum(throughput.epoch_seconds), "eval_per_sample_s": None,
                              "startup_s": started_at - process_start() if imports > 0.5 else None}
    if cfg.eval.get("enabled"):
        with tempfile.TemporaryDirectory() as tmp:
            eval_start = time.perf_counter()
            evaluate(cfg, model, datamodule, Path(tmp))
            result["eval_per_sample_s"] = (time.perf_counter() - eval_start) / cfg.eval.num_samples
    path = _probe_file(cfg)
    try:
        probes = json.loads(path.read_text())
    except (OSError, ValueError):
        probes = []
    from gan_sweeps.atomic import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(([p for p in probes if p.get("key") != key] + [result])[-50:], indent=1))
    return result


# ---- the plan ----------------------------------------------------------------------------------------------------
def estimate_job(cfg: DictConfig, runs: list[dict[str, Any]], device: str, allow_probe: bool) -> dict[str, Any]:
    """One job's estimate: ``estimate_s`` (None when there is no source), its parts and ``source``."""
    key = job_key(cfg, device)
    matched = _matches(runs, key)
    if matched:
        costs, source = _costs([m["record"] for m in matched]), (
            f"history: {len(matched)} run(s), e.g. {matched[0]['dir']}")
    else:
        found = cached_probe(cfg, key)
        if found is None and allow_probe:
            found = probe(cfg, key)
            source = "probe: measured now"
        else:
            source = "probe: measured " + time.strftime("%Y-%m-%d %H:%M", time.localtime(found["created"])) \
                if found else "none: no earlier run with these nets, batch size and device (a plan probes)"
        costs = dict(found or {})
    if not costs.get("images_per_s"):
        return {"estimate_s": None, "source": source, **key}
    epochs = int(cfg.trainer.get("max_epochs") or 1)
    train = epochs * train_images(cfg) / costs["images_per_s"]
    evaluate = (costs["eval_per_sample_s"] or 0.0) * int(cfg.eval.num_samples) if cfg.eval.get("enabled") else 0.0
    return {"estimate_s": round(train + evaluate + costs["overhead_s"], 1), "train_s": round(train, 1),
            "eval_s": round(evaluate, 1), "overhead_s": round(costs["overhead_s"], 1),
            "startup_s": costs.get("startup_s"), "source": source, **key}


def make_plan(configs: list[DictConfig], overrides: list[list[str]], hydra_cfg: Any, allow_probe: bool,
              roots: Iterable[str | os.PathLike] = HISTORY_ROOTS) -> dict[str, Any]:
    from gan_sweeps.run.launch import job_threads, launcher_name, parallel_jobs

    device = planned_device(configs[0]) if configs else "cpu"
    runs = history(roots)
    jobs = []
    for num, (cfg, ov) in enumerate(zip(configs, overrides)):
        jobs.append({"num": num, "overrides": " ".join(ov), **estimate_job(cfg, runs, device, allow_probe)})
    parallel = min(parallel_jobs(hydra_cfg), max(1, len(jobs)))
    starts = [j["startup_s"] for j in jobs if j.get("startup_s") is not None]
    startup = statistics.median(starts) if starts else 0.0
    known = [j["estimate_s"] for j in jobs if j["estimate_s"] is not None]
    total = startup + sum(known) / parallel if len(known) == len(jobs) and jobs else None
    return {"created": time.time(), "jobs": jobs, "launcher": launcher_name(hydra_cfg), "parallel": parallel,
            "device": device, "threads": job_threads(configs[0], hydra_cfg) if configs else None,
            "startup_s": round(startup, 1), "total_s": round(total, 1) if total is not None else None}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else (
        f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s")


def format_plan(plan: dict[str, Any]) -> str:
    threads = f", {plan['threads']} CPU thread(s) per job" if plan.get("threads") else ""
    lines = [f"plan: {len(plan['jobs'])} jobs, launcher {plan['launcher']} ({plan['parallel']} at a time), "
             f"device {plan['device']}{threads}"]
    for job in plan["jobs"]:
        parts = (f" (train {job['train_s']} + eval {job['eval_s']} + overhead {job['overhead_s']} s)"
                 if job["estimate_s"] is not None else "")
        lines.append(f"  #{job['num']} {job['overrides'] or '(defaults)'}: ~{duration(job['estimate_s'])}{parts}"
                     f"  [{job['source']}]")
    lines.append(f"start-up (imports, once per process): ~{duration(plan['startup_s'])}; whole sweep: "
                 f"~{duration(plan['total_s'])}")
    return "\n".join(lines)


def write_plan(sweep_dir: str | os.PathLike, plan: dict[str, Any]) -> None:
    from gan_sweeps.atomic import atomic_write_text

    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(sweep_dir) / PLAN_FILE, json.dumps(plan, indent=2))


def read_plan(sweep_dir: str | os.PathLike) -> dict[str, Any] | None:
    try:
        return json.loads((Path(sweep_dir) / PLAN_FILE).read_text())
    except (OSError, ValueError):
        return None



def estimate_vs_actual(sweep_dir: str | os.PathLike, records: dict[str, dict[str, Any]]) -> str | None:
    """The report's line comparing a sweep's plan.json with what its jobs took (``records``: job folder name ->
    metrics.json, flat or nested); None without a plan. The sweep's actual wall time runs from the plan (written
    just before the first job) to the last job's record, once every planned job has ended."""
    plan = read_plan(sweep_dir)
    if plan is None:
        return None
    if plan.get("total_s") is None:
        sources = sorted({j["source"].split(":")[0] for j in plan["jobs"] if j.get("estimate_s") is None})
        return f"Plan: no estimate for some jobs ({', '.join(sources)}: no earlier run; `hydra.sweeper.plan=true` " \
               "probes)"
    errors = []
    for job in plan["jobs"]:
        record = records.get(str(job["num"])) or {}
        timings = record.get("timings") or {k.split("/", 1)[1]: v for k, v in record.items()
                                             if k.startswith("timings/")}
        if record.get("status") == "completed" and record.get("wall_time_s") and job.get("estimate_s"):
            actual = record["wall_time_s"] + (timings.get("startup") or 0.0)
            errors.append(abs(job["estimate_s"] - actual) / actual)
    ended = [r for r in records.values() if r.get("status") not in (None, "running")]
    line = f"Plan: whole sweep estimated {duration(plan['total_s'])}"
    if len(ended) >= len(plan["jobs"]):
        stamps = [(Path(sweep_dir) / name / "metrics.json").stat().st_mtime for name in records
                  if (Path(sweep_dir) / name / "metrics.json").is_file()]
        actual = max(stamps) - plan["created"]
        line += f", took {duration(actual)} (estimate {(plan['total_s'] - actual) / actual:+.0%})"
    if errors:
        line += f"; per job median error {statistics.median(errors):.0%} over {len(errors)} jobs"
    return line
