"""How close training and generation run to this machine's limit.

Measures the CPU's peak (fp32 and bf16 GEMM, and the cGAN generator's 14x14 -> 28x28 transposed conv at batch 128,
fp32 and bf16), counts each model's FLOPs per training image (one k=1 batch through ``train.run``: a D step and a G
step) and per generated sample with ``torch.utils.flop_counter.FlopCounterMode``, times training (``train.run``,
evaluation off) and generation (``passes.sample_pass``, fp32 and its fast path), and prints the achieved GFLOP/s and
their share of the peak. Peaks and models are measured interleaved in this one process (best of ``--repeats``
each: on a loaded machine other processes only ever add time).
Usage: python benchmarks/bench_limit.py [--models mlp_gan,dcgan,cgan,cgan_deep] [--train-images N] [--samples N]"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GAN_SWEEPS_DATA", str(REPO.parent / "shared" / "datasets"))
os.environ.setdefault("WANDB_MODE", "offline")

from gan_sweeps.evaluation.passes import eval_mode, sample_pass  # noqa: E402
from gan_sweeps.precision import cpu_has_native_bf16  # noqa: E402
from gan_sweeps.run.train import build_model, run  # noqa: E402

from bench_precision import BATCH, config  # noqa: E402  (benchmarks/ is the script's folder)
from bench_precision import MODELS as ALL_MODELS  # noqa: E402

MODELS = {name: ALL_MODELS[name] for name in ("mlp_gan", "dcgan", "cgan", "cgan_deep")}


def flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (oneDNN primitive creation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peaks(repeats: int) -> dict[str, float]:
    """GFLOP/s of a 1024^3 GEMM and of the cGAN G's transposed conv, fp32 and bf16."""
    out = {}
    for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        a, b = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
        gemm = partial(torch.linalg.multi_dot, [a, b, b, b, b])  # four GEMMs
        out[f"GEMM {name}"] = flops(gemm) / best_seconds(gemm, repeats) / 1e9
        conv = nn.ConvTranspose2d(256, 64, 3, 2, 1, output_padding=1).to(dtype).to(memory_format=torch.channels_last)
        x = torch.randn(BATCH, 256, 14, 14, dtype=dtype).to(memory_format=torch.channels_last)
        with torch.no_grad():
            step = partial(conv, x)
            out[f"cGAN G conv {name}"] = flops(step) / best_seconds(step, repeats) / 1e9
    return out


def train_run(model: str, images: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(*MODELS[model], f"data.train_size={images}", f"batch_size={BATCH}", "trainer.max_epochs=1",
                     "logger=csv", "eval=off", f"run_dir={tmp}", "trainer.accelerator=cpu", "sample_epochs=[]")
        run(cfg)
        metrics = json.loads((Path(tmp) / "metrics.json").read_text())
    assert metrics["status"] == "completed", metrics.get("error")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--train-images", type=int, default=2560)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="0: print the FLOP counts only")
    args = parser.parse_args()
    models = args.models.split(",")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU native bf16: {cpu_has_native_bf16()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    per_image = {m: flops(partial(train_run, m, BATCH)) / BATCH for m in models}  # one batch: one D + one G step
    modules = {m: build_model(config(*MODELS[m])) for m in models}
    per_sample = {}
    for m, module in modules.items():
        with eval_mode(module), torch.no_grad():
            per_sample[m] = flops(partial(module.generate, 100)) / 100
    peak: dict[str, list[float]] = {}
    train_rate: dict[str, list[float]] = {m: [] for m in models}
    gen_rate: dict[str, dict[str, list[float]]] = {m: {"32": [], "auto": []} for m in models}
    for _ in range(args.repeats):  # interleaved: peaks, then each model's training and generation
        for name, value in peaks(3).items():
            peak.setdefault(name, []).append(value)
        for m in models:
            train_rate[m].append(train_run(m, args.train_images)["images_per_s"])
            for precision in ("32", "auto"):
                start = time.perf_counter()
                sample_pass(modules[m], [lambda x, y: None], normalize="tanh", num_samples=args.samples,
                            precision=precision)
                gen_rate[m][precision].append(args.samples / (time.perf_counter() - start))
    if not args.repeats:  # --repeats 0: the FLOP counts only
        for m in models:
            print(f"{m:<10} {per_image[m] / 1e6:>8.1f} MFLOP a training image, "
                  f"{per_sample[m] / 1e6:>8.2f} MFLOP a sample")
        return
    best = {name: max(v) for name, v in peak.items()}
    print("\npeak (best of the repeats):")
    for name, value in best.items():
        print(f"  {name:<20} {value:8.1f} GFLOP/s")
    fp32_peak, bf16_peak = best["GEMM fp32"], best["GEMM bf16"]
    print(f"\n{'model':<10} {'MFLOP/img':>10} {'train img/s':>12} {'GFLOP/s':>8} {'of fp32':>8} | "
          f"{'MFLOP/sample':>12} {'gen fp32/s':>11} {'GFLOP/s':>8} {'of fp32':>8} | {'gen fast/s':>10} "
          f"{'GFLOP/s':>8} {'of bf16':>8}")
    for m in models:
        t = max(train_rate[m])
        g32, gfast = max(gen_rate[m]["32"]), max(gen_rate[m]["auto"])
        tg, g32g, gfg = t * per_image[m] / 1e9, g32 * per_sample[m] / 1e9, gfast * per_sample[m] / 1e9
        print(f"{m:<10} {per_image[m] / 1e6:>10.1f} {t:>12,.0f} {tg:>8.1f} {tg / fp32_peak:>8.1%} | "
              f"{per_sample[m] / 1e6:>12.2f} {g32:>11,.0f} {g32g:>8.1f} {g32g / fp32_peak:>8.1%} | {gfast:>10,.0f} "
              f"{gfg:>8.1f} {gfg / bf16_peak:>8.1%}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
