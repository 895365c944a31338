"""Evaluating models that reconstruct (the autoencoder family of seed 004): test-split reconstruction metrics and
the latent-space figures. The models only encode, decode, reconstruct and compute their training terms; what is
measured and drawn is decided here.

Metrics (eval mode: no corruption, the VAE decodes ``mu``), averaged over the test split with each batch weighted
by its size: ``eval/recon_bce`` (the model's ``recon`` term: binary cross-entropy summed over the pixels, nats per
image, [0, 1] pixels), ``eval/recon_mse`` (summed squared pixel error per image), the model's latent terms (VAE:
``eval/kl``) and, where there is a KL term, ``eval/elbo`` = -(recon_bce + kl) (a one-point estimate of the expected
log-likelihood). Figures: ``latent.png`` (test codes coloured by class; PCA above 2-D) and ``interpolation.png``
(decoded straight lines between the codes of the first test images of classes c and c+1, the real images at both
ends)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gan_sweeps.data import to_unit_range
from gan_sweeps.data.subsets import first_per_class
from gan_sweeps.evaluation.passes import eval_mode, map_batches
from gan_sweeps.evaluation.retrieval import plot_embeddings
from gan_sweeps.images import save_grid

INTERPOLATION_STEPS = 10


def can_reconstruct(model: Any) -> bool:
    return callable(getattr(model, "reconstruct", None)) and callable(getattr(model, "terms", None))


@torch.no_grad()
def reconstruction_scores(model: Any, images: torch.Tensor, batch_size: int = 1000) -> dict[str, float]:
    """``eval/recon_bce``, ``eval/recon_mse``, the latent terms and (with a KL term) ``eval/elbo`` over model-range
    test ``images`` (module docstring)."""
    sums: dict[str, float] = {}
    with eval_mode(model):
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].to(model.device)
            n = len(x)
            terms = {("recon_bce" if k == "recon" else k): float(v) for k, v in model.terms(x).items() if k != "loss"}
            target, rec = to_unit_range(x, model.normalize), to_unit_range(model.reconstruct(x), model.normalize)
            terms["recon_mse"] = float((rec - target).pow(2).sum()) / n
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value * n
    out = {f"eval/{k}": v / len(images) for k, v in sums.items()}
    if "eval/kl" in out:
        out["eval/elbo"] = -(out["eval/recon_bce"] + out["eval/kl"])
    return out


@torch.no_grad()
def interpolation_grid(model: Any, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """One row per class c: the first image of c, decoded points on the straight line from its code to the code of
    the first image of class c+1 (mod C), then that image. [0, 1] images and the row length."""
    first = first_per_class(labels, 1, model.num_classes)
    a, b = images[first], images[first.roll(-1)]
    with eval_mode(model):
        za, zb = model.encode(a), model.encode(b)
        t = torch.linspace(0.0, 1.0, INTERPOLATION_STEPS, device=za.device).view(1, -1, 1)
        z = za.unsqueeze(1) * (1 - t) + zb.unsqueeze(1) * t  # (C, steps, d)
        decoded = model.decode(z.flatten(0, 1)).view(len(a), INTERPOLATION_STEPS, *a.shape[1:])
    rows = torch.cat([a.unsqueeze(1), decoded, b.unsqueeze(1)], 1).flatten(0, 1)
    return to_unit_range(rows.float(), model.normalize), INTERPOLATION_STEPS + 2


def latent_figures(model: Any, images: torch.Tensor, labels: torch.Tensor, run_dir: str | Path,
                   class_names: list[str] | None = None) -> None:
    """``latent.png`` and ``interpolation.png`` of model-range test ``images`` into ``run_dir``."""
    run_dir = Path(run_dir)
    with eval_mode(model):
        z = map_batches(model.encode, images.to(model.device))
    plot_embeddings(z, labels, run_dir / "latent.png", class_names=class_names,
                    title=f"{type(model).__name__}: test set in latent space ({z.shape[1]}-D"
                          + (", PCA)" if z.shape[1] > 2 else ")"))
    save_grid(*interpolation_grid(model, images.to(model.device), labels.to(model.device)),
              run_dir / "interpolation.png")
