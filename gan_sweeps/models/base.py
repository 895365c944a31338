"""What every generative LightningModule shares: manual optimisation, one update block, divergence checks,
optimizer construction from the ``optim`` group, the fixed noise of sample grids and loss bookkeeping.

Models say what they can do (``generate``/``decode``; adversarial models ``discriminate``; autoencoders ``encode``,
``reconstruct``; the semi-supervised ones ``classify``/``embed``) and never what to measure or draw: metrics and
figures live in ``gan_sweeps.evaluation`` (the end-of-run evaluation and the studies) and ``gan_sweeps.callbacks``
(grids during training)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Mapping

import pytorch_lightning as pl
import torch
from torch import nn

from gan_sweeps.optim import build_optimizer
from gan_sweeps.train_config import LATENT_DISTS



class Diverged(RuntimeError):
    """A loss became NaN or infinite; the run stops with status ``diverged``."""


class GenerativeModule(pl.LightningModule):
    """Base class. Subclasses define ``configure_optimizers`` roles, ``training_step`` and ``decode``.

    ``conditional`` models take class labels in ``generate``; ``num_classes`` is the dataset's class count;
    ``fixed_z`` is the noise of the per-epoch sample grids (saved in checkpoints: a resumed run draws the same
    grid)."""

    conditional = False
    is_generative = True  # False for plain autoencoders: no sample metrics (FID/IS) at the end

    def __init__(self, *, optim: Mapping[str, Any], latent_dim: int, normalize: str = "tanh",
                 num_classes: int = 10, grad_clip: float = 0.0, grid_size: int = 64, grid_seed: int = 1234,
                 latent_dist: str = "normal"):
        super().__init__()
        if latent_dist not in LATENT_DISTS:
            raise ValueError(f"unknown latent_dist {latent_dist!r}; choose one of {list(LATENT_DISTS)}")
        self.automatic_optimization = False
        self.optim_cfg = dict(optim)
        self.latent_dim = latent_dim
        self.latent_dist = latent_dist
        self.normalize = normalize
        self.num_classes = num_classes
        self.grad_clip = grad_clip
        gen = torch.Generator().manual_seed(grid_seed)
        n = num_classes * num_classes if self.conditional else grid_size
        self.register_buffer("fixed_z", self.draw_z(n, generator=gen), persistent=True)
        self.steps_done: dict[str, int] = defaultdict(int)  # optimizer steps per role ("d", "g", "vae")
        self._loss_sums: dict[str, float] = defaultdict(float)
        self._loss_counts: dict[str, int] = defaultdict(int)
        self.epoch_losses: dict[str, float] = {}  # mean of each loss over the last finished epoch

    # ---- optimisation -------------------------------------------------------------------------------------
    def build_optimizer(self, params, role: str) -> torch.optim.Optimizer:
        return build_optimizer(params, self.optim_cfg, role)

    def optimize(self, opt, role: str, compute_loss: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The one update block: toggle, forward, finiteness check, zero_grad, backward, clip, step."""
        self.toggle_optimizer(opt)
        try:
            loss = compute_loss()
            if not torch.isfinite(loss):
                raise Diverged(f"{role} loss became {loss.item()} at {role}-step {self.steps_done[role] + 1} "
                               f"(epoch {self.current_epoch})")
            opt.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            if self.grad_clip > 0:
                self.clip_gradients(opt, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")
            opt.step()
        finally:
            self.untoggle_optimizer(opt)
        self.steps_done[role] += 1
        return loss.detach()

    # ---- bookkeeping ---------------------------------------------------------------------------------------
    def record(self, values: Mapping[str, torch.Tensor]) -> None:
        """Log step values (CSV/W&B/progress bar) and accumulate them for the epoch means."""
        self.log_dict({f"train/{k}": v for k, v in values.items()}, on_step=True, on_epoch=False, prog_bar=True)
        for k, v in values.items():
            self._loss_sums[k] += float(v)
            self._loss_counts[k] += 1

    def running_epoch_losses(self) -> dict[str, float]:
        """Means of the losses recorded so far in this epoch (the whole epoch's, seen from a callback's
        ``on_train_epoch_end``, which Lightning calls before the module's own)."""
        return {k: self._loss_sums[k] / self._loss_counts[k] for k in self._loss_sums}

    def on_train_epoch_end(self) -> None:
        self.epoch_losses = self.running_epoch_losses()
        self._loss_sums.clear()
        self._loss_counts.clear()
        if self.epoch_losses:
            self.log_dict({f"epoch/{k}": v for k, v in self.epoch_losses.items()}, on_step=False, on_epoch=True,
                          sync_dist=True)  # data-parallel runs: the mean over ranks

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["gan_sweeps_steps"] = dict(self.steps_done)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.steps_done = defaultdict(int, checkpoint.get("gan_sweeps_steps", {}))

    # ---- sampling ------------------------------------------------------------------------------------------
    def sample_labels(self, n: int) -> torch.Tensor | None:
        return torch.randint(0, self.num_classes, (n,), device=self.device) if self.conditional else None

    def draw_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latent codes: N(0, I), or U[0, 1) per coordinate (``latent_dist=uniform``: the Triplet GAN code's
        ``theano_rng.uniform(size=(batch_size, 100))``)."""
        draw = torch.rand if self.latent_dist == "uniform" else torch.randn
        device = self.device if generator is None else "cpu"
        return draw(n, self.latent_dim, generator=generator, device=device)

    def generate(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        """n images in the model's pixel range, (n, 1, 28, 28); random labels for conditional models."""
        z = self.draw_z(n)
        if self.conditional and labels is None:
            labels = self.sample_labels(n)
        return self.decode(z, labels.to(self.device) if labels is not None else None)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
