"""Precision and memory format on this machine's CPU: training images/s of each model family in fp32, bf16-mixed
and bf16-mixed + channels-last (``trainer.precision``, ``channels_last``), evaluation's sample generation in fp32
against its fast path (``evaluation/passes.py``: no_grad, channels-last, bf16 autocast on CPUs with native bf16), and
``torch.compile``'s compile time against its per-epoch gain (``--compile``).

Every variant runs in this one process, interleaved (variant by variant within each repeat), so a machine loaded by
other work slows them alike; each line prints the median over ``--repeats``. Training goes through ``train.run``
(Lightning, the framework's loop), with evaluation off.
Usage: python benchmarks/bench_precision.py [--models cgan,cgan_deep] [--train-images N] [--samples N] [--repeats N]
       [--compile]"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GAN_SWEEPS_DATA", str(REPO.parent / "shared" / "datasets"))
os.environ.setdefault("WANDB_MODE", "offline")

from gan_sweeps.evaluation.passes import sample_pass  # noqa: E402
from gan_sweeps.precision import cpu_has_native_bf16  # noqa: E402
from gan_sweeps.run.train import build_model, run  # noqa: E402

from bench_training import config  # noqa: E402  (benchmarks/ is the script's folder)

# The cGANs as these benchmarks have always timed them (k=1, joint D step), not model=cgan's defaults (k=2, separate)
CGAN = ["model=cgan", "k=1", "d_step=joint"]
MODELS = {"mlp_gan": ["model=mlp_gan"], "dcgan": ["model=dcgan"], "cgan": [*CGAN, "model.depth=shallow"],
          "cgan_deep": [*CGAN, "model.depth=deep"], "wgan_gp": ["model=dcgan", "loss=wgan_gp"],
          "ssgan": ["model=ssgan", "data.labelled_per_class=10"], "vae": ["model=vae"]}
TRAINING = {"fp32": ["trainer.precision=32-true"], "bf16-mixed": ["trainer.precision=bf16-mixed"],
            "bf16 + channels-last": ["trainer.precision=bf16-mixed", "channels_last=true"]}
BATCH = 128


def train_rate(overrides: list[str], images: int, epochs: int = 1) -> dict:
    """One run of ``images`` training images per epoch; its metrics.json (images_per_s, epoch_seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(*overrides, f"data.train_size={images}", f"batch_size={BATCH}", f"trainer.max_epochs={epochs}",
                     "logger=csv", "eval=off", f"run_dir={tmp}", "trainer.accelerator=cpu", "sample_epochs=[]")
        run(cfg)
        metrics = json.loads((Path(tmp) / "metrics.json").read_text())
    assert metrics["status"] == "completed", metrics.get("error")
    return metrics


def generation_seconds(module, samples: int, precision: str) -> float:
    start = time.perf_counter()
    sample_pass(module, [lambda x, y: None], normalize="tanh", num_samples=samples, precision=precision)
    return time.perf_counter() - start


def median_table(title: str, results: dict, unit: str, higher_better: bool) -> None:
    print(f"\n{title}")
    for model, variants in results.items():
        base = statistics.median(next(iter(variants.values())))
        cells = []
        for name, values in variants.items():
            m = statistics.median(values)
            ratio = m / base if higher_better else base / m
            cells.append(f"{name} {m:,.1f} {unit} ({ratio:.2f}x)")
        print(f"  {model:<10} " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--train-images", type=int, default=2560)
    parser.add_argument("--samples", type=int, default=10_000, help="generated samples per timing (0: skip)")
    parser.add_argument("--generate", default="mlp_gan,dcgan,cgan,cgan_deep", help="models whose generation is timed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile on the cGAN (2 epochs)")
    parser.add_argument("--no-training", action="store_true")
    args = parser.parse_args()
    models = args.models.split(",")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU native bf16: {cpu_has_native_bf16()}, "
          f"load average {os.getloadavg()[0]:.1f} at start; medians of {args.repeats}, interleaved", flush=True)
    train_rate(MODELS["mlp_gan"], BATCH * 2)  # warm-up: imports, first allocations
    training = {m: {v: [] for v in TRAINING} for m in models} if not args.no_training else {}
    generation = {m: {"fp32": [], "fast path": []} for m in args.generate.split(",")} if args.samples else {}
    modules = {m: build_model(config(*MODELS[m])) for m in generation}
    for rep in range(args.repeats):
        for m in dict.fromkeys(models + list(generation)):
            for variant, overrides in TRAINING.items() if m in training else ():
                training[m][variant].append(train_rate(MODELS[m] + overrides, args.train_images)["images_per_s"])
                print(f"  {m} {variant}: {training[m][variant][-1]:,.1f} img/s", flush=True)
            for variant, precision in (("fp32", "32"), ("fast path", "auto")) if m in generation else ():
                generation[m][variant].append(generation_seconds(modules[m], args.samples, precision))
                print(f"  {m} generation {variant}: {generation[m][variant][-1]:.1f} s", flush=True)
        print(f"repeat {rep + 1}/{args.repeats} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    if training:
        median_table(f"training images/s (batch {BATCH}, {args.train_images} images a run)", training, "img/s",
                     True)
    if generation:
        median_table(f"generation of {args.samples:,} samples (sample_pass)", generation, "s", False)
    if args.compile:
        compile_gain(args.train_images)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def compile_gain(images: int) -> None:
    """torch.compile of the cGAN's nets: 2 epochs eager, 2 compiled; the compiled first epoch pays the compile."""
    import gan_sweeps.run.train as train

    eager = train_rate(MODELS["cgan"], images, epochs=2)["epoch_seconds"]
    build = train.build_model

    def compiled(cfg):
        module = build(cfg)
        module.generator, module.discriminator = torch.compile(module.generator), torch.compile(module.discriminator)
        return module

    train.build_model = compiled
    try:
        comp = train_rate(MODELS["cgan"], images, epochs=2)["epoch_seconds"]
    finally:
        train.build_model = build
    per_image_gain = (eager[1] - comp[1]) / images
    cost = comp[0] - comp[1]
    print(f"\ntorch.compile, cGAN shallow, {images} images an epoch: eager {eager[0]:.1f} s + {eager[1]:.1f} s, "
          f"compiled {comp[0]:.1f} s + {comp[1]:.1f} s; compile cost ~{cost:.0f} s; gain {per_image_gain * 1e3:.3f} "
          f"ms an image = {per_image_gain * 60_000:.0f} s on a 60,000-image epoch "
          f"({'pays' if per_image_gain * 60_000 > cost else 'does not pay'} within one epoch)")


if __name__ == "__main__":
    main()
