"""The autoencoder family of seed 004: ``model=ae``, ``model=dae`` and (``models/vae.py``) ``model=vae``.

One base, :class:`Autoencoder`, holds everything the family shares: the training step (encode the possibly
corrupted input, decode, Bernoulli reconstruction loss against the clean image, plus the variant's latent terms),
the test-time reconstruction metrics, the per-epoch reconstruction grids and the end-of-run figures. Variants
override hooks only:

- ``corrupt(x01)``: the encoder's input in training (denoising AE: ``x + N(0, noise_std)``, training mode only);
- ``latent(code)`` / ``sample_latent(code)``: the deterministic code, and the one decoded while training
  (VAE: ``mu``, and the reparameterised sample);
- ``latent_terms(code)`` / ``total_loss(terms)``: extra loss terms and how they add up (VAE: KL, recon + beta KL).

Pixels are compared in [0, 1] whatever ``data.normalize`` is: ``recon`` / ``recon_bce`` is the binary cross-entropy
summed over the 784 pixels (nats per image), ``recon_mse`` the summed squared error per image; the corruption noise
is added in [0, 1] units too.

Files in the run folder: ``reconstructions/epoch_XXX.png`` after every epoch (rows of test inputs, each followed by
its reconstruction; two images per class), and at the end (evaluation enabled) ``latent.png`` (the test set's
latent codes coloured by class: the codes themselves for a 2-D latent, a PCA otherwise) and ``interpolation.png``
(decoded straight lines between the codes of test images of classes c and c+1, the real images at both ends).
Plain autoencoders are not samplers (``is_generative = False``: no FID/IS); their sample grid is the reconstruction
grid and their end-of-run metrics are ``eval/recon_bce`` and ``eval/recon_mse`` over the test split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan_sweeps.callbacks.samples import save_grid
from gan_sweeps.data import CLASS_NAMES, from_unit_range, to_unit_range
from gan_sweeps.models.base import GenerativeModule

Code = Any  # what the encoder returns: a tensor (AE) or (mu, logvar) (VAE)


def first_per_class(labels: torch.Tensor, per_class: int, num_classes: int) -> torch.Tensor:
    """Indices (per_class * num_classes,): the first image of each class, then the second of each class, ..."""
    cols = [torch.nonzero(labels == c).squeeze(1)[:per_class] for c in range(num_classes)]
    if any(len(c) < per_class for c in cols):
        raise ValueError(f"every class needs {per_class} test images for the reconstruction grid")
    return torch.stack(cols, 1).flatten()


class Autoencoder(GenerativeModule):
    """Deterministic autoencoder: loss = BCE(decoder(encoder(corrupt(x))), x), summed over pixels, batch mean."""

    is_generative = False
    role = "ae"  # optimizer role: train/<role>_loss, <role>_steps_done, optim.<role>_lr
    grid_per_class = 2  # test images per class in the reconstruction grid
    interpolation_steps = 10

    def __init__(self, encoder: nn.Module, decoder: nn.Module, **base: Any):
        super().__init__(**base)
        self.encoder = encoder
        self.decoder = decoder
        self.register_buffer("grid_images", None, persistent=False)  # fixed test batch, set when fitting starts

    def configure_optimizers(self):
        return self.build_optimizer(self.parameters(), self.role)

    # ---- hooks the variants override -------------------------------------------------------------------------
    def corrupt(self, x01: torch.Tensor) -> torch.Tensor:
        """The encoder's input for clean [0, 1] images (identity here)."""
        return x01

    def latent(self, code: Code) -> torch.Tensor:
        """The deterministic latent point of an encoder output."""
        return code

    def sample_latent(self, code: Code) -> torch.Tensor:
        """The latent decoded in the loss (training mode may add noise; eval mode is ``latent``)."""
        return self.latent(code)

    def latent_terms(self, code: Code) -> dict[str, torch.Tensor]:
        """Extra per-batch loss terms computed from the code (logged, and reported at test time)."""
        return {}

    def total_loss(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        return terms["recon"]

    # ---- the shared computation ------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Model-range images -> deterministic latent codes (n, latent_dim); no corruption."""
        return self.latent(self.encoder(to_unit_range(x, self.normalize)))

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return from_unit_range(torch.sigmoid(self.decoder(z)), self.normalize)

    def _pass(self, x: torch.Tensor) -> tuple[torch.Tensor, Code, torch.Tensor]:
        """(clean [0, 1] target, encoder output, decoder logits) for model-range images ``x``."""
        target = to_unit_range(x, self.normalize)
        code = self.encoder(self.corrupt(target))
        return target, code, self.decoder(self.sample_latent(code))

    def terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-batch means: ``recon`` (BCE, nats/image), the variant's latent terms, and the ``loss``."""
        target, code, logits = self._pass(x)
        out = {"recon": F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / len(x),
               **self.latent_terms(code)}
        out["loss"] = self.total_loss(out)
        return out

    def training_step(self, batch, batch_idx):
        x, _ = batch
        logged: dict[str, torch.Tensor] = {}

        def loss() -> torch.Tensor:
            t = self.terms(x)
            logged.update({k: v.detach() for k, v in t.items() if k != "loss"})
            return t["loss"]

        logged[f"{self.role}_loss"] = self.optimize(self.optimizers(), self.role, loss)
        self.record(logged)

    @torch.no_grad()
    def reconstruction_metrics(self, x: torch.Tensor) -> dict[str, float]:
        """Test-time batch means in eval mode (no corruption, no sampling): ``recon_bce`` (nats/image),
        ``recon_mse`` (summed squared pixel error per image, [0, 1] pixels) and the latent terms."""
        was_training = self.training
        self.train(False)
        try:
            target, code, logits = self._pass(x)
            n = len(x)
            out = {"recon_bce": float(F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / n),
                   "recon_mse": float(F.mse_loss(torch.sigmoid(logits), target, reduction="sum") / n)}
            out.update({k: float(v) for k, v in self.latent_terms(code).items()})
        finally:
            self.train(was_training)
        return out

    # ---- figures -----------------------------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and self.grid_images is None:
            x, y = datamodule.load(train=False, device=self.device)
            self.grid_images = x[first_per_class(y, self.grid_per_class, self.num_classes)]

    @torch.no_grad()
    def reconstruction_grid(self) -> tuple[torch.Tensor, int]:
        """[0, 1] images of the fixed test batch: a row of inputs (one per class), then their reconstructions."""
        if self.grid_images is None:
            raise RuntimeError("no test batch for the reconstruction grid (set when fitting starts)")
        was_training = self.training
        self.train(False)
        try:
            x = self.grid_images
            rec = self.decode(self.encode(x))
        finally:
            self.train(was_training)
        c = self.num_classes
        rows = [img for pair in zip(x.split(c), rec.split(c)) for img in pair]
        return to_unit_range(torch.cat(rows).float(), self.normalize), c

    def sample_grid(self) -> tuple[torch.Tensor, int]:
        """Samplers (VAE) show decoded fixed noise; plain autoencoders show their reconstructions."""
        if self.is_generative or self.grid_images is None:
            return super().sample_grid()
        return self.reconstruction_grid()

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        if self.grid_images is not None and self.trainer.is_global_zero:
            epoch = self.current_epoch + 1
            save_grid(*self.reconstruction_grid(),
                      Path(self.trainer.default_root_dir) / "reconstructions" / f"epoch_{epoch:03d}.png")

    @torch.no_grad()
    def interpolation_grid(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
        """One row per class c: the first test image of c, decoded points on the straight line from its code to
        the code of the first test image of class c+1 (mod C), then that image. [0, 1] images, row length."""
        first = first_per_class(y, 1, self.num_classes)
        a, b = x[first], x[first.roll(-1)]
        za, zb = self.encode(a), self.encode(b)
        t = torch.linspace(0.0, 1.0, self.interpolation_steps, device=za.device).view(1, -1, 1)
        z = za.unsqueeze(1) * (1 - t) + zb.unsqueeze(1) * t  # (C, steps, d)
        decoded = self.decode(z.flatten(0, 1)).view(len(a), self.interpolation_steps, *a.shape[1:])
        rows = torch.cat([a.unsqueeze(1), decoded, b.unsqueeze(1)], 1).flatten(0, 1)
        return to_unit_range(rows.float(), self.normalize), self.interpolation_steps + 2

    def extra_metrics(self, datamodule, run_dir) -> dict:
        """Test-split reconstruction metrics (``eval/recon_*`` and latent terms) and ``latent.png`` /
        ``interpolation.png`` (train.py then tells ``evaluate_generative`` not to compute them again for the VAE)."""
        from gan_sweeps.evaluation.evaluate import reconstruction_scores
        from gan_sweeps.evaluation.retrieval import embed, plot_embeddings

        run_dir = Path(run_dir)
        out = reconstruction_scores(self, dataset=datamodule.name, data_root=datamodule.root,
                                    normalize=datamodule.normalize, device=self.device)
        x, y = datamodule.load(train=False, device=self.device)
        was_training = self.training
        self.train(False)
        try:
            z = embed(self.encode, x)
            plot_embeddings(z, y, run_dir / "latent.png", class_names=CLASS_NAMES.get(datamodule.name),
                            title=f"{type(self).__name__}: test set in latent space ({z.shape[1]}-D"
                                  + (", PCA)" if z.shape[1] > 2 else ")"))
            save_grid(*self.interpolation_grid(x, y), run_dir / "interpolation.png")
        finally:
            self.train(was_training)
        return out


class DenoisingAutoencoder(Autoencoder):
    """Autoencoder trained to undo ``x + N(0, noise_std)`` (seed 004: std 0.1); the target is the clean image."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, *, noise_std: float = 0.1, **base: Any):
        super().__init__(encoder, decoder, **base)
        if noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {noise_std}")
        self.noise_std = float(noise_std)

    def corrupt(self, x01: torch.Tensor) -> torch.Tensor:
        if not self.training or self.noise_std == 0:
            return x01
        return x01 + torch.randn_like(x01) * self.noise_std
