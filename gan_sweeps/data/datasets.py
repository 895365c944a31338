"""What the datasets are and where their files live; no torch, so the pre-flight check can use it.

``data.root`` names the folder holding ``<Name>/raw/`` (torchvision's layout: ``MNIST/raw/``,
``FashionMNIST/raw/``). A set ``data.root`` is the only place looked at: a folder without the dataset is an error
naming it, never a reason to train on data found elsewhere. Only ``data.root=null`` (the default) searches
``$GAN_SWEEPS_DATA`` and then ``./data``."""

from __future__ import annotations

import os
from pathlib import Path

# Dataset name (data=..., data.name) -> torchvision class name (= the folder torchvision uses).
TORCHVISION_NAMES = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion_mnist": ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"],
}
# Pixel normalisation name -> (low, high): uint8 0..255 maps linearly onto [low, high] (seed 003 compares them).
NORMALIZATIONS = {"tanh": (-1.0, 1.0), "half": (-0.5, 0.5), "none": (0.0, 1.0)}
IDX_STEMS = tuple(f"{split}-{kind}" for split in ("train", "t10k")
                  for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"))
SEARCH_ENV = "GAN_SWEEPS_DATA"


class DatasetNotFoundError(FileNotFoundError):
    """Raised with a one-line message naming the folders searched and how to get the data."""


def candidate_roots(root: str | os.PathLike | None) -> list[Path]:
    """Where a dataset is looked for: ``root`` alone when it is set, else ``$GAN_SWEEPS_DATA`` then ``./data``."""
    searched = [root] if root else [os.environ.get(SEARCH_ENV), "data"]
    roots: list[Path] = []
    for r in searched:
        if r:
            p = Path(r).expanduser().resolve()
            if p not in roots:
                roots.append(p)
    return roots


def find_file(raw: Path, stem: str) -> Path | None:
    for candidate in (raw / stem, raw / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_raw_dir(name: str, root: str | os.PathLike | None) -> Path | None:
    """The first ``<root>/<Name>/raw`` holding all four IDX files, or None."""
    folder = TORCHVISION_NAMES[name]
    for r in candidate_roots(root):
        raw = r / folder / "raw"
        if all(find_file(raw, stem) for stem in IDX_STEMS):
            return raw
    return None


def not_found_message(name: str, root: str | os.PathLike | None) -> str:
    """One line: which folders were searched for which dataset, and the ways out."""
    folder = TORCHVISION_NAMES[name]
    if root:
        return (f"data.root={root} holds no {folder} (no IDX files in {Path(root).expanduser().resolve() / folder}"
                f"/raw): point data.root at the folder holding {folder}/raw/, set data.root=null to search "
                f"${SEARCH_ENV} and ./data, or pass data.download=true")
    searched = ", ".join(str(r / folder / "raw") for r in candidate_roots(root)) or "nowhere"
    return (f"{folder} IDX files not found (data.root=null searched: {searched}): set data.root=PATH or "
            f"{SEARCH_ENV}=PATH to a folder holding {folder}/raw/, or pass data.download=true")


def locate(name: str, root: str | os.PathLike | None) -> Path:
    """The raw folder of dataset ``name``; DatasetNotFoundError (one line) when it is absent."""
    raw = find_raw_dir(name, root)
    if raw is None:
        raise DatasetNotFoundError(not_found_message(name, root))
    return raw
