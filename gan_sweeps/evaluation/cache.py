"""Build-once files shared by concurrent processes (evaluator weights, reference scores).

``load_or_build`` is the whole protocol: read the file if it is there; otherwise take ``<file>.lock`` (an
inter-process lock from ``filelock``), read again (another job may have written it while we waited), and only
then build and write it. Writes go to a temporary file in the same folder and are moved into place with
``os.replace``, so a reader sees the old file, no file or the complete new one, never half of it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, TypeVar

from filelock import FileLock


log = logging.getLogger(__name__)
T = TypeVar("T")


def load_or_build(path: Path, load: Callable[[Path], T], build: Callable[[], T], save: Callable[[T, Path], None],
                  timeout: float = 3600.0) -> tuple[T, bool]:
    """``(value, built_now)``: the value loaded from ``path``, or built, saved and returned when the file is
    missing or unreadable (``load`` raising is treated as missing: a damaged file is rebuilt)."""
    value = _try(load, path)
    if value is not None:
        return value, False
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=timeout):
        value = _try(load, path)
        if value is not None:
            return value, False
        value = build()
        save(value, path)
    return value, True


def _try(load: Callable[[Path], T], path: Path) -> T | None:
    if not path.is_file():
        return None
    try:
        return load(path)
    except Exception as exc:  # noqa: BLE001 - an unreadable cache file is rebuilt, never fatal
        log.warning("ignoring unreadable cache file %s (%s)", path, exc)
        return None
