"""What every generative LightningModule shares: manual optimisation, one update block, divergence checks,
optimizer construction from the ``optim`` group, the fixed noise of sample grids and loss bookkeeping.

A training step never waits for the device: the logged values, their epoch sums and each role's sum of losses since
the last check stay on the device, and ``check_losses`` reads them all in one transfer every
``trainer.log_every_n_steps`` batches (the batches Lightning writes its logs at) and at the epoch's last batch. A
NaN or infinite loss ends the run ``diverged`` there, naming the optimizer steps of the window it happened in.

Models say what they can do (``generate``/``decode``; adversarial models ``discriminate``; autoencoders ``encode``,
``reconstruct``; the semi-supervised ones ``classify``/``embed``) and never what to measure or draw: metrics and
figures live in ``gan_sweeps.evaluation`` (the end-of-run evaluation and the studies) and ``gan_sweeps.callbacks``
(grids during training)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Callable, Mapping

import pytorch_lightning as pl
import torch
from torch import nn

from gan_sweeps.training.optim import build_optimizer
from gan_sweeps.run.train_config import LATENT_DISTS


def log_step(trainer: pl.Trainer) -> int:
    """The step Lightning writes its logs at (batches that stepped, not optimizer steps: a manual-optimisation batch
    steps several optimizers). Lightning keeps it private; read here only, so one place follows its renames."""
    return trainer.fit_loop.epoch_loop._batches_that_stepped


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
        self._loss_sums: dict[str, torch.Tensor] = {}  # this epoch's sum of each logged value (on the device)
        self._loss_counts: dict[str, int] = defaultdict(int)
        self._latest: dict[str, torch.Tensor] = {}  # each value's last step since the last check (on the device)
        self._window: dict[str, torch.Tensor] = {}  # per role: the sum of its losses since the last check
        self._window_first: dict[str, int] = {}  # per role: its first optimizer step since the last check
        self._unchecked = 0  # steps recorded since the last check
        self._running: dict[str, float] = {}  # the epoch's means as of the last check (host)
        self.epoch_losses: dict[str, float] = {}  # mean of each loss over the last finished epoch

    # ---- optimisation -------------------------------------------------------------------------------------
    def build_optimizer(self, params, role: str) -> torch.optim.Optimizer:
        return build_optimizer(params, self.optim_cfg, role)

    def optimize(self, opt, role: str, compute_loss: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The one update block: toggle, forward, zero_grad, backward, clip, step. The loss joins its role's
        window sum on the device (``check_losses`` looks at it; no wait for the device here)."""
        self.toggle_optimizer(opt)
        try:
            loss = compute_loss()
            opt.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            if self.grad_clip > 0:
                self.clip_gradients(opt, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")
            opt.step()
        finally:
            self.untoggle_optimizer(opt)
        self.steps_done[role] += 1
        loss = loss.detach()
        self._window_first.setdefault(role, self.steps_done[role])
        self._window[role] = self._window[role] + loss.float() if role in self._window else loss.float()
        return loss

    # ---- bookkeeping ---------------------------------------------------------------------------------------
    def record(self, values: Mapping[str, torch.Tensor]) -> None:
        """Accumulate a step's values on the device for the epoch means; at a check (``check_due``) look at them and
        log the last step's values (CSV/W&B)."""
        for k, v in values.items():
            v = v.detach().float()
            self._loss_sums[k] = self._loss_sums[k] + v if k in self._loss_sums else v
            self._loss_counts[k] += 1
            self._latest[k] = v
        self._unchecked += 1
        if self.check_due():
            latest = self.check_losses()
            if self._trainer is not None:
                self.log_dict({f"train/{k}": v for k, v in latest.items()}, on_step=True, on_epoch=False)

    def check_due(self) -> bool:
        """A check at the batches Lightning logs at (every ``trainer.log_every_n_steps``), at the epoch's last batch
        and when the trainer is stopping; at every step outside a Trainer (tests, notebooks)."""
        trainer = self._trainer
        if trainer is None:
            return True
        return ((log_step(trainer) + 1) % max(trainer.log_every_n_steps, 1) == 0
                or trainer.fit_loop.epoch_loop.batch_progress.is_last_batch or trainer.should_stop)

    def check_losses(self) -> dict[str, float]:
        """The one wait for the device: read the window sums, the epoch sums and the latest values in one transfer;
        raise ``Diverged`` if a loss of the window was NaN or infinite. Returns the latest values."""
        if not self._unchecked:
            return {}
        roles, sums, latest = list(self._window), list(self._loss_sums), list(self._latest)
        tensors = [self._window[r] for r in roles] + [self._loss_sums[k] for k in sums] + \
            [self._latest[k] for k in latest]
        values = torch.stack(tensors).tolist() if tensors else []
        windows = dict(zip(roles, values))
        for role, total in windows.items():
            if not math.isfinite(total):
                first, last = self._window_first[role], self.steps_done[role]
                raise Diverged(f"{role} loss became {total} within {role}-steps {first}-{last} (epoch "
                               f"{self.current_epoch + 1}; losses are checked every trainer.log_every_n_steps "
                               "batches)")
        self._running = {k: v / self._loss_counts[k] for k, v in zip(sums, values[len(roles):])}
        out = dict(zip(latest, values[len(roles) + len(sums):]))
        self._window.clear()
        self._window_first.clear()
        self._latest.clear()
        self._unchecked = 0
        return out

    def running_epoch_losses(self, check: bool = True) -> dict[str, float]:
        """Means of the losses recorded so far in this epoch (the whole epoch's, seen from a callback's
        ``on_train_epoch_end``, which Lightning calls before the module's own). ``check=False``: as of the last
        check, without waiting for the device (progress reports within an epoch)."""
        if check:
            self.check_losses()
        return dict(self._running)

    def on_train_epoch_end(self) -> None:
        self.epoch_losses = self.running_epoch_losses()
        self._loss_sums.clear()
        self._loss_counts.clear()
        self._running = {}
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
