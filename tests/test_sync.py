"""A training step never waits for the device: tensors are read back to the host only at the logging interval
(``trainer.log_every_n_steps``) and at the epoch's last batch, in every model family; a NaN still ends the run
``diverged``, naming the steps it happened in."""

from __future__ import annotations

import re
import sys
from collections import Counter

import pytest
import torch

from conftest import train_in_process
from gan_sweeps.models.base import GenerativeModule

STEPS, EVERY = 20, 10  # 20 batches of 8 images, a check every 10 batches
RUN = [f"data.train_size={STEPS * 8}", "batch_size=8", "trainer.max_epochs=1", "logger=csv", "eval=off",
       f"trainer.log_every_n_steps={EVERY}", "sample_epochs=[]"]
SEMI = ["data.labelled_per_class=2", "model.data_init=false"]
FAMILIES = {"mlp_gan": ["model=mlp_gan"], "dcgan": ["model=dcgan"], "cgan": ["model=cgan"],
            "cgan_separate_k2": ["model=cgan", "model.depth=deep", "d_step=separate", "k=2"],
            "wgan_gp": ["model=dcgan", "loss=wgan_gp"], "ssgan": ["model=ssgan", *SEMI],
            "triplet_gan": ["model=triplet_gan", *SEMI, "model.pretrain_epochs=0", "model.triplets_per_epoch=160"],
            "vae": ["model=vae"]}
CONVERSIONS = ("item", "tolist", "numpy", "__float__", "__int__", "__bool__", "__index__")


def count_reads_per_batch(monkeypatch) -> Counter:
    """Patch the tensor-to-host conversions; count them per training batch (from the module's
    ``on_train_batch_start`` of a batch to that of the next: the batch's callbacks and Lightning's logging count).
    The optimizers' own reads of their CPU step counters (torch.optim, not a device wait) are left out."""
    reads: Counter = Counter()
    state = {"batch": None}

    def counted(name):
        original = getattr(torch.Tensor, name)

        def wrapper(self, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if state["batch"] is not None and "/torch/optim/" not in caller:
                reads[state["batch"]] += 1
            return original(self, *args, **kwargs)
        return wrapper

    for name in CONVERSIONS:
        monkeypatch.setattr(torch.Tensor, name, counted(name))
    monkeypatch.setattr(GenerativeModule, "on_train_batch_start",
                        lambda self, batch, batch_idx: state.update(batch=batch_idx), raising=False)
    return reads


@pytest.mark.integration
@pytest.mark.parametrize("family", list(FAMILIES))
def test_no_tensor_is_read_back_inside_a_step_outside_the_logging_interval(family, tmp_path, monkeypatch):
    reads = count_reads_per_batch(monkeypatch)
    metrics = train_in_process(tmp_path, *FAMILIES[family], *RUN)
    assert metrics["status"] == "completed", metrics.get("error")
    batches = metrics["train_images"] // 8  # 20 (the semi-supervised models: their unlabelled rest, 17)
    checks = {b for b in range(batches) if (b + 1) % EVERY == 0} | {batches - 1}  # and the epoch's last batch
    assert set(reads) - checks == set(), f"host reads outside the logging interval: {dict(reads)}"
    assert reads[EVERY - 1] >= 1  # the patch sees the check's one read-back
    assert isinstance(metrics["train/vae_loss" if family == "vae" else "train/d_loss"], float)  # the epoch's mean


@pytest.mark.integration
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: torch.cuda.set_sync_debug_mode")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_no_step_outside_the_logging_interval_synchronises_the_gpu(family, tmp_path, monkeypatch):
    """The same steps on the GPU under ``set_sync_debug_mode("error")`` outside the check batches."""
    def mode(self, batch, batch_idx):
        check = (batch_idx + 1) % EVERY == 0 or batch_idx + 1 == self.trainer.num_training_batches
        torch.cuda.set_sync_debug_mode("default" if check else "error")

    monkeypatch.setattr(GenerativeModule, "on_train_batch_start", mode, raising=False)
    monkeypatch.setattr(GenerativeModule, "on_train_epoch_end", _epoch_end_unchecked(), raising=False)
    try:
        metrics = train_in_process(tmp_path, *FAMILIES[family], *RUN, "trainer.accelerator=gpu",
                                   "trainer.precision=32-true")
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert metrics["status"] == "completed", metrics.get("error")


def _epoch_end_unchecked():
    original = GenerativeModule.on_train_epoch_end

    def hook(self):
        torch.cuda.set_sync_debug_mode("default")
        original(self)
    return hook


@pytest.mark.integration
def test_a_nan_loss_ends_the_run_diverged_naming_the_step_window(tmp_path):
    metrics = train_in_process(tmp_path, "model=mlp_gan", "optim=sgd", "optim.lr=1e30", *RUN)
    assert metrics["status"] == "diverged" and metrics["health"] == "diverged"
    assert re.match(r"(d|g) loss became (nan|-?inf) within \1-steps (1-10|11-20) \(epoch 1; ", metrics["error"]), \
        metrics["error"]
