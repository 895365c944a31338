"""Locate and read the MNIST-style IDX files (``<root>/<Name>/raw/*-ubyte[.gz]``).

The files are read directly (gzip + numpy), so a read-only dataset folder works and the compressed files'
checksums never matter. When they are absent and ``download`` is set, torchvision's own dataset class fetches
them (the normal path on a machine with internet). Where they are looked for: ``gan_sweeps.data.datasets``."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan_sweeps.data.datasets import (TORCHVISION_NAMES, DatasetNotFoundError, candidate_roots, find_file,
                                      find_raw_dir, not_found_message)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # uint8, (N, 28, 28)
    labels: torch.Tensor  # int64, (N,)


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (optionally gzip-compressed) into a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)


def _file_stem(train: bool) -> str:
    return "train" if train else "t10k"


def _download(name: str, root: Path) -> None:
    import torchvision.datasets as tvd

    cls = getattr(tvd, TORCHVISION_NAMES[name])
    for train in (True, False):
        cls(str(root), train=train, download=True)


def load_split(name: str, root: str | os.PathLike | None = None, train: bool = True,
               download: bool = False) -> Split:
    """Return a split as uint8 images (N, 28, 28) and int64 labels, reading IDX files without network."""
    if name not in TORCHVISION_NAMES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(TORCHVISION_NAMES)}")
    raw = find_raw_dir(name, root)
    if raw is None and download:
        target = candidate_roots(root)[0]  # data.root, else $GAN_SWEEPS_DATA, else ./data
        try:
            _download(name, target)
        except Exception as exc:  # network errors: fall through to the clear message below
            reason = " ".join(str(exc).split())  # one line, whatever the downloader printed
            raise DatasetNotFoundError(
                f"{TORCHVISION_NAMES[name]} not found and download into {target} failed ({reason})") from exc
        raw = find_raw_dir(name, target)
    if raw is None:
        raise DatasetNotFoundError(not_found_message(name, root))
    stem = _file_stem(train)
    images = read_idx(find_file(raw, f"{stem}-images-idx3-ubyte"))
    labels = read_idx(find_file(raw, f"{stem}-labels-idx1-ubyte"))
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{raw}: {images.shape[0]} images but {labels.shape[0]} labels")
    return Split(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))
