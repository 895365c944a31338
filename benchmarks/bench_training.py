"""Training throughput: gan-sweeps vs a plain PyTorch loop vs a DataLoader-with-PIL-transforms loop.

Same nets (built from the framework's own configs), same batch size, same images, one D and one G update per
batch (k=1), fakes reused for the G step, all on this machine's CPU in one run. Prints images/s and ratios.
Usage: python benchmarks/bench_training.py [--mlp-images N] [--dcgan-images N] [--full-epoch]"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GAN_SWEEPS_DATA", str(REPO.parent / "shared" / "datasets"))

from gan_sweeps import CONF_DIR  # noqa: E402
from gan_sweeps.data import load_split, to_model_range  # noqa: E402
from gan_sweeps.run.build import build_model  # noqa: E402
from gan_sweeps.run.train import run  # noqa: E402

BATCH = 128


def config(*overrides: str):
    from gan_sweeps.config.registry import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def plain_step(g, d, g_opt, d_opt, real: torch.Tensor, latent: int) -> None:
    """One D and one G update, the textbook way (BCE on logits, fakes reused)."""
    n = real.shape[0]
    fake = g(torch.randn(n, latent))
    d_opt.zero_grad(set_to_none=True)
    r, f = d(real)["adv"], d(fake.detach())["adv"]
    d_loss = F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) + \
        F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    d_loss.backward()
    d_opt.step()
    g_opt.zero_grad(set_to_none=True)
    f = d(fake)["adv"]
    F.binary_cross_entropy_with_logits(f, torch.ones_like(f)).backward()
    g_opt.step()


def nets(model: str):
    module = build_model(config(f"model={model}"))
    g, d = module.generator, module.discriminator
    opt = lambda p: torch.optim.Adam(p, lr=2e-4, betas=(0.5, 0.999))  # noqa: E731
    return g, d, opt(g.parameters()), opt(d.parameters()), module.latent_dim


def plain_tensor_loop(model: str, images: torch.Tensor) -> float:
    g, d, g_opt, d_opt, latent = nets(model)
    order = torch.randperm(len(images))
    batches = len(images) // BATCH
    start = time.perf_counter()
    for b in range(batches):
        plain_step(g, d, g_opt, d_opt, images[order[b * BATCH:(b + 1) * BATCH]], latent)
    return batches * BATCH / (time.perf_counter() - start)


class PILDataset(Dataset):
    """What torchvision.datasets.MNIST does per item: uint8 array -> PIL image -> transforms."""

    def __init__(self, images: np.ndarray):
        self.images = images
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i], mode="L")), 0


def pil_dataloader_loop(model: str, images_uint8: np.ndarray) -> float:
    g, d, g_opt, d_opt, latent = nets(model)
    loader = DataLoader(PILDataset(images_uint8), batch_size=BATCH, shuffle=True, drop_last=True)
    start = time.perf_counter()
    seen = 0
    for real, _ in loader:
        plain_step(g, d, g_opt, d_opt, real, latent)
        seen += real.shape[0]
    return seen / (time.perf_counter() - start)


def framework(model: str, n_images: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(f"model={model}", f"data.train_size={n_images}", f"batch_size={BATCH}", "trainer.max_epochs=1",
                     "logger=csv", "eval=off", f"run_dir={tmp}", "trainer.accelerator=cpu")
        run(cfg)
        metrics = json.loads((Path(tmp) / "metrics.json").read_text())
    assert metrics["status"] == "completed", metrics
    return metrics["images_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp-images", type=int, default=25_600)
    parser.add_argument("--dcgan-images", type=int, default=5_120)
    parser.add_argument("--full-epoch", action="store_true", help="also time one 60,000-image MLP GAN epoch")
    args = parser.parse_args()
    torch.manual_seed(0)
    split = load_split("mnist", os.environ["GAN_SWEEPS_DATA"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, k=1")
    print(f"{'model':<10}{'loop':<28}{'images/s':>10}{'vs plain':>10}")
    for model, n in (("mlp_gan", args.mlp_images), ("dcgan", args.dcgan_images)):
        tensors = to_model_range(split.images[:n], "tanh")
        framework(model, BATCH * 4)  # warm-up (imports, first allocations)
        results = {"plain tensor loop": plain_tensor_loop(model, tensors),
                   "gan-sweeps (Lightning)": framework(model, n),
                   "DataLoader + PIL transforms": pil_dataloader_loop(model, split.images[:n].numpy())}
        base = results["plain tensor loop"]
        for name, value in results.items():
            print(f"{model:<10}{name:<28}{value:>10.0f}{value / base:>10.2f}")
    if args.full_epoch:
        rate = framework("mlp_gan", 60_000)
        print(f"mlp_gan full 60,000-image epoch through gan-sweeps: {60_000 / rate:.2f} s ({rate:.0f} images/s; "
              f"seed 002 reports 15.86 s at batch 100)")


if __name__ == "__main__":
    main()
