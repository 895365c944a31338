"""The evaluator classifier (seed 001's) and its on-disk cache.

Architecture (seed 001, section 5): conv 3x3 stride 2, 32 filters -> conv 3x3 stride 2, 64 filters -> FC 50 ->
FC 10, ReLU after every layer but the last (which gives logits; softmax is applied by the metrics). "Valid"
padding, Keras' default (the seed used Keras): 28x28 -> 13x13x32 -> 6x6x64 -> 2304 -> 50 -> 10; as accurate as
padding 1 here (98.9 % on MNIST either way) and about 25 % cheaper. The 50 post-ReLU activations of the
penultimate layer are the features FID/KID compare; the logits feed the inception score and class metrics.

``train_classifier`` is the one training loop for this architecture: the cached evaluator and every classifier a
study trains (real:generated mixes, sequential training) go through it, with per-epoch training and validation
curves. ``get_evaluator`` trains one per (dataset, recipe) the first time and caches it as
``<cache_dir>/evaluator-<dataset>-<recipehash>.pt`` holding ``{state_dict, test_acc, conf_correct,
conf_incorrect, recipe, train_seconds, history, test_features, test_logits, test_labels}`` (``history``: per-epoch
training loss/accuracy and test loss/accuracy, seed 001's Fig. 23): the test split's features and
logits are the real side of every later FID/KID, so no run recomputes them. The file is written to a temporary
name and moved into place with ``os.replace`` (readers never see half a file) while an inter-process file lock
is held, so jobs of a sweep that start together train it once: the first trains, the others wait and then load.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ContextManager, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gan_sweeps.data import load_split, to_model_range
from gan_sweeps.atomic import atomic_write
from gan_sweeps.evaluation.cache import load_or_build
from gan_sweeps.evaluation.passes import seeded
from gan_sweeps.evaluation.threads import adaptive_threads, fastest_threads

log = logging.getLogger(__name__)

# Bump when the architecture, the training code or the cache file's content changes: old files then stop matching.
ARCH_VERSION = 3


class Evaluator(nn.Module):
    """Seed 001's classifier. Input: float images in [0, 1], shape (N, 1, 28, 28).

    The input is standardised with the training split's pixel mean/std (buffers saved with the weights), which
    makes the few-epoch training converge faster; callers always pass plain [0, 1] images."""

    num_features = 50  # read by torchmetrics (no dummy forward pass) and by the feature wrapper

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.num_classes = num_classes
        self.register_buffer("input_mean", torch.tensor(0.0))
        self.register_buffer("input_std", torch.tensor(1.0))
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2), nn.ReLU(),   # 28 -> 13
            nn.Conv2d(32, 64, 3, stride=2), nn.ReLU(),  # 13 -> 6
            nn.Flatten(),
            nn.Linear(64 * 6 * 6, self.num_features), nn.ReLU(),
        )
        self.head = nn.Linear(self.num_features, num_classes)
        self.info: EvaluatorInfo | None = None  # set by get_evaluator

    def reset_parameters(self) -> None:
        """He (Kaiming) normal weights for the ReLU layers, zero biases."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 50) penultimate (post-ReLU) activations."""
        return self.conv((x - self.input_mean) / self.input_std)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Logits (N, C) from features (N, 50): the last layer alone."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, C)."""
        return self.classify(self.features(x))

    @torch.inference_mode()
    def embed(self, images01: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (N, 50) and logits (N, C) of [0, 1] images, in batches, on the evaluator's device.

        One network pass gives both (the logits come from the features), so FID, KID and the class metrics
        share it."""
        device = next(self.parameters()).device
        feats, logits = [], []
        for start in range(0, len(images01), batch_size):
            f = self.features(images01[start:start + batch_size].to(device, torch.float32))
            feats.append(f)
            logits.append(self.classify(f))
        return torch.cat(feats), torch.cat(logits)


@dataclass(frozen=True)
class TrainRecipe:
    """How an evaluator is trained; its hash names the cache file (change anything -> a new file).

    Adam under a one-cycle learning-rate schedule (warm-up to ``lr`` over the first ``warmup`` fraction of the
    steps, cosine decay after), cross-entropy, tensors in memory, shuffled with a seeded generator and initialised
    under ``seed`` (the caller's global RNG is left untouched)."""

    epochs: int = 3
    batch_size: int = 128
    lr: float = 3e-3
    warmup: float = 0.15
    seed: int = 0
    train_size: int | None = None  # first N training images only (fast tests of the cache); None = all
    arch_version: int = ARCH_VERSION

    def digest(self, dataset: str) -> str:
        text = json.dumps({"dataset": dataset, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


DEFAULT_RECIPES: dict[str, TrainRecipe] = {
    "mnist": TrainRecipe(epochs=3),  # ~98.9 % test accuracy
    "fashion_mnist": TrainRecipe(epochs=4),  # ~90.7 %
}


@dataclass
class EvaluatorInfo:
    """What the cache file holds besides the weights: test-split scores and the real side of FID/KID."""

    dataset: str
    recipe: dict[str, Any]
    path: Path
    test_acc: float
    conf_correct: float
    conf_incorrect: float
    train_seconds: float
    trained_now: bool  # True when this call trained it; False when it was loaded from the cache
    history: list[dict[str, Any]] = field(repr=False)  # per epoch: train_loss/acc, val_loss/acc on the test split
    test_features: torch.Tensor = field(repr=False)  # (N_test, 50), CPU float32
    test_logits: torch.Tensor = field(repr=False)  # (N_test, C)
    test_labels: torch.Tensor = field(repr=False)  # (N_test,) int64


def cache_path(dataset: str, cache_dir: str | os.PathLike, recipe: TrainRecipe | None = None) -> Path:
    """``<cache_dir>/evaluator-<dataset>-<recipehash>.pt``."""
    recipe = resolve_recipe(dataset, recipe)
    return Path(cache_dir).expanduser() / f"evaluator-{dataset}-{recipe.digest(dataset)}.pt"


def unit_images(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1], the evaluator's input."""
    return to_model_range(images_uint8, "none")


def evaluation_threads(evaluator: Evaluator) -> ContextManager[int]:
    """CPU thread count for a block of evaluation work, picked by timing work of the same shape (a feature pass
    over 100 images and one 300x300 KID kernel); see ``threads.fastest_threads``. A no-op on accelerators."""
    if next(evaluator.parameters()).device.type != "cpu":
        return contextlib.nullcontext(torch.get_num_threads())
    gen = torch.Generator().manual_seed(0)
    images, feats = torch.rand(100, 1, 28, 28, generator=gen), torch.rand(300, evaluator.num_features, generator=gen)

    def probe() -> None:
        evaluator.embed(images)
        (feats @ feats.T / feats.shape[1] + 1).pow(3).sum()

    return fastest_threads(probe)


@dataclass
class TrainingPhase:
    """Epochs of training on one set of images: ``images01`` float (N, 1, 28, 28) in [0, 1], ``labels`` (N,)."""

    name: str
    images01: torch.Tensor
    labels: torch.Tensor
    epochs: int


def _fresh_classifier(phases: Sequence[TrainingPhase], seed: int, num_classes: int, device: torch.device
                      ) -> Evaluator:
    """A new classifier initialised under ``seed``, its input standardisation set to the pixel mean/std over all
    phases' images (computed without concatenating them)."""
    with seeded(seed, device):  # the device's RNG is restored too
        net = Evaluator(num_classes=num_classes)
        net.reset_parameters()
    count = sum(p.images01.numel() for p in phases)
    mean = sum(float(p.images01.sum(dtype=torch.float64)) for p in phases) / count
    squares = sum(float((p.images01 - mean).square().sum(dtype=torch.float64)) for p in phases)
    net.input_mean.fill_(mean)
    net.input_std.fill_((squares / max(count - 1, 1)) ** 0.5)
    return net


def train_classifier(phases: Sequence[TrainingPhase], recipe: TrainRecipe, device: torch.device | str = "cpu",
                     validation: tuple[torch.Tensor, torch.Tensor] | None = None, num_classes: int = 10
                     ) -> tuple[Evaluator, list[dict[str, Any]]]:
    """A freshly trained classifier (eval mode) and its per-epoch history.

    The phases run one after the other on one net, one optimizer and one learning-rate schedule spanning all their
    steps (so training on generated images first and then on real ones differs from training on real ones only
    in what the first epochs see). ``recipe`` gives batch size, learning rate, warm-up and seed (its ``epochs``
    and ``train_size`` are the cached evaluator's: phases carry their own). The input standardisation uses the
    pixel mean/std of all phases' images. History rows: ``epoch`` (1-based), ``data`` (the phase's name),
    ``train_loss``/``train_acc`` (means over the epoch's batches) and, with ``validation`` ([0, 1] images,
    labels), ``val_loss``/``val_acc`` after the epoch."""
    phases = [p for p in phases if p.epochs > 0]
    if not phases or any(len(p.labels) == 0 for p in phases):
        raise ValueError("a classifier needs at least one epoch on a non-empty training set")
    device = torch.device(device)
    net = _fresh_classifier(phases, recipe.seed, num_classes, device).to(device).train()
    total_steps = sum(p.epochs * -(-len(p.labels) // recipe.batch_size) for p in phases)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, pct_start=recipe.warmup,
                                                total_steps=total_steps)
    gen = torch.Generator().manual_seed(recipe.seed)
    data = [(p, p.images01.to(device), p.labels.to(device)) for p in phases]
    history: list[dict[str, Any]] = []
    sums = torch.zeros(3, device=device, dtype=torch.float64)  # loss sum, correct, seen (no sync per step)

    def epoch_end(phase: TrainingPhase) -> None:  # runs inside the batch iterator: not timed by adaptive_threads
        loss_sum, correct, seen = sums.tolist()
        row = {"epoch": len(history) + 1, "data": phase.name, "train_loss": loss_sum / seen,
               "train_acc": correct / seen}
        if validation is not None:
            row.update(_validate(net, *validation, recipe.batch_size * 8))
        history.append(row)
        sums.zero_()

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for phase, x, y in data:
            for _ in range(phase.epochs):
                for idx in torch.randperm(len(y), generator=gen).to(device).split(recipe.batch_size):
                    yield x[idx], y[idx]
                epoch_end(phase)

    steps = adaptive_threads(batches()) if device.type == "cpu" else batches()
    for xb, yb in steps:
        logits = net(xb)
        loss = F.cross_entropy(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            sums += torch.stack([loss.detach().double() * len(yb), (logits.argmax(1) == yb).sum().double(),
                                 sums.new_tensor(len(yb))])
    return net.eval(), history


@torch.no_grad()
def _validate(net: Evaluator, images01: torch.Tensor, labels: torch.Tensor, batch_size: int) -> dict[str, float]:
    """Mean cross-entropy and accuracy on a held-out set (the net is put back in training mode)."""
    net.eval()
    loss, correct = 0.0, 0
    try:
        for start in range(0, len(labels), batch_size):
            x, y = images01[start:start + batch_size], labels[start:start + batch_size]
            logits = net(x.to(net.input_mean.device))
            y = y.to(logits.device)
            loss += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    finally:
        net.train()
    return {"val_loss": loss / len(labels), "val_acc": correct / len(labels)}


def train_evaluator(dataset: str, data_root: str | os.PathLike | None, recipe: TrainRecipe,
                    device: torch.device | str = "cpu") -> tuple[Evaluator, list[dict[str, Any]]]:
    """A freshly trained evaluator on the dataset's training split (see ``TrainRecipe``), in eval mode, and its
    history (validation: the test split)."""
    split = load_split(dataset, data_root, train=True)
    images, labels = split.images, split.labels
    if recipe.train_size is not None:
        images, labels = images[:recipe.train_size], labels[:recipe.train_size]
    test = load_split(dataset, data_root, train=False)
    return train_classifier([TrainingPhase("real", unit_images(images), labels, recipe.epochs)], recipe, device,
                            validation=(unit_images(test.images), test.labels), num_classes=int(labels.max()) + 1)


def _build_entry(dataset: str, data_root: str | os.PathLike | None, recipe: TrainRecipe,
                 device: torch.device | str) -> dict[str, Any]:
    """Train, score on the test split and return the dict the cache file stores (CPU tensors)."""
    from gan_sweeps.evaluation.metrics import conditional_accuracy

    start = time.perf_counter()
    net, history = train_evaluator(dataset, data_root, recipe, device)
    train_seconds = time.perf_counter() - start
    test = load_split(dataset, data_root, train=False)
    with evaluation_threads(net):
        feats, logits = net.embed(unit_images(test.images))
    scores = conditional_accuracy(logits.softmax(1).cpu(), test.labels)
    log.info("evaluator for %s trained in %.1f s: test accuracy %.4f", dataset, train_seconds, scores["acc"])
    return {"state_dict": {k: v.cpu() for k, v in net.state_dict().items()}, "test_acc": scores["acc"],
            "conf_correct": scores["conf_correct"], "conf_incorrect": scores["conf_incorrect"],
            "recipe": {"dataset": dataset, **asdict(recipe)}, "train_seconds": train_seconds, "history": history,
            "test_features": feats.cpu(), "test_logits": logits.cpu(), "test_labels": test.labels.clone()}


def _save_entry(entry: dict[str, Any], path: Path) -> None:
    atomic_write(path, lambda fh: torch.save(entry, fh))


def _load_entry(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def _from_entry(entry: dict[str, Any], dataset: str, path: Path, trained_now: bool,
                device: torch.device | str) -> Evaluator:
    net = Evaluator(num_classes=entry["test_logits"].shape[1])
    net.load_state_dict(entry["state_dict"])
    net.to(device).eval().requires_grad_(False)
    net.info = EvaluatorInfo(dataset=dataset, recipe=entry["recipe"], path=path, test_acc=entry["test_acc"],
                             conf_correct=entry["conf_correct"], conf_incorrect=entry["conf_incorrect"],
                             train_seconds=entry["train_seconds"], trained_now=trained_now, history=entry["history"],
                             test_features=entry["test_features"], test_logits=entry["test_logits"],
                             test_labels=entry["test_labels"])
    return net


def resolve_recipe(dataset: str, recipe: TrainRecipe | None = None) -> TrainRecipe:
    """``recipe``, or the dataset's default one."""
    if recipe is not None:
        return recipe
    if dataset not in DEFAULT_RECIPES:
        raise ValueError(f"no evaluator recipe for dataset {dataset!r}; known: {sorted(DEFAULT_RECIPES)}")
    return DEFAULT_RECIPES[dataset]


def get_evaluator(dataset: str, data_root: str | os.PathLike | None, cache_dir: str | os.PathLike,
                  device: torch.device | str = "cpu", recipe: TrainRecipe | None = None,
                  lock_timeout: float = 3600.0) -> Evaluator:
    """The dataset's evaluator in eval mode (frozen) on ``device``: loaded from the cache, or trained once.

    Safe for concurrent processes (see ``cache.load_or_build``): jobs that start together train it once.
    ``evaluator.info`` holds its test scores, the cached test-split features/logits and ``trained_now``."""
    recipe = resolve_recipe(dataset, recipe)
    path = cache_path(dataset, cache_dir, recipe)
    entry, trained_now = load_or_build(path, _load_entry, lambda: _build_entry(dataset, data_root, recipe, device),
                                       _save_entry, timeout=lock_timeout)
    return _from_entry(entry, dataset, path, trained_now, device)


def with_recipe(dataset: str, **changes: Any) -> TrainRecipe:
    """The dataset's default recipe with some fields changed (e.g. ``train_size`` for quick tests)."""
    return replace(DEFAULT_RECIPES[dataset], **changes)
