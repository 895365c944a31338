"""Where a study lives: its default name and its sweep folder (pure functions, no Optuna).

A study is named by what defines the experiment: the command's fixed overrides (``model=dcgan data=...``), the
search space and the direction. Order on the command line does not matter, the number of trials, the sampler, the
pruner, the launcher and ``n_jobs`` do not either, so re-running a command (perhaps with more trials, or in
parallel) reaches the same study; changing the experiment starts a new one.

The name is ``<slug>-<hash>``: a readable, filesystem-safe slug of the fixed overrides (config group choices
first, whole overrides, up to 60 characters) and 8 hex digits of a SHA-1 of everything above, e.g.
``data=fashion_mnist_model=dcgan_data.train_size=512-3f9c2a1b``."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import PurePath
from typing import Collection, Mapping, Sequence

SLUG_LENGTH = 60
HASH_LENGTH = 8
STUDIES_FOLDER = "optuna"  # <multirun root>/optuna/<study_name>/ holds one study's trial folders
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


def slug(overrides: Sequence[str], groups: Collection[str] = ()) -> str:
    """``['objective=train/d_loss', 'model=dcgan']`` -> ``model=dcgan_objective=train-d_loss``: config group choices
    (keys in ``groups``) first, each part sorted, whole overrides only, up to SLUG_LENGTH characters."""
    def order(item: str) -> tuple[bool, str]:
        return item.lstrip("+").split("=", 1)[0] not in groups, item

    text = ""
    for part in (_UNSAFE.sub("-", item).strip("-") for item in sorted(overrides, key=order)):
        if part and len(text) + len(part) + 1 > SLUG_LENGTH:
            text = text or part[:SLUG_LENGTH]  # whole overrides only, unless the first alone is too long
            break
        text = f"{text}_{part}" if text and part else text or part
    return text.rstrip("_-") or "defaults"


def study_name_for(fixed_overrides: Sequence[str], search_space: Mapping[str, str], direction: str,
                   groups: Collection[str] = ()) -> str:
    """The default study name of a command: the same overrides, search space and direction give the same name
    (``groups``, the config group names, only put ``model=...``/``experiment=...`` first in the readable part)."""
    identity = {"overrides": sorted(fixed_overrides), "search_space": dict(sorted(search_space.items())),
                "direction": direction.lower()}
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:HASH_LENGTH]
    return f"{slug(fixed_overrides, groups)}-{digest}"


def stable_sweep_dir(configured: str, study_name: str) -> str | None:
    """The sweep folder of a study when the configured ``hydra.sweep.dir`` is time-stamped (Hydra's default
    ``multirun/${now:%Y-%m-%d}/${now:%H-%M-%S}``): ``multirun/optuna/<study_name>``, so that re-running the command
    adds trial folders beside the earlier ones. None when ``configured`` is already a fixed folder (keep it)."""
    if "${now:" not in configured:
        return None
    root = []
    for part in PurePath(configured).parts:
        if "${" in part:
            break
        root.append(part)
    return str(PurePath(*(root or ["multirun"]), STUDIES_FOLDER, study_name))
