"""Finding the typed configs: every ``*_config.py`` module under ``gan_sweeps/`` registers its options in Hydra's
ConfigStore when imported. :func:`register_configs` imports them all (once per process), so adding a model, a
loss or a dataset means adding such a module beside its code, never editing a list here."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # gan_sweeps/
_registered = False


def config_modules() -> list[str]:
    """Dotted names of the ``*_config.py`` modules of the package, in a stable order."""
    names = []
    for path in sorted(PACKAGE.rglob("*_config.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts))
    return names


def register_configs() -> None:
    """Import every config module (each registers its options) and the generated ``--help``; idempotent.

    Called by ``python -m gan_sweeps``, the provenance command and the tests' compose fixture; anything else
    that composes gan-sweeps' ``gan_sweeps/conf/config.yaml`` with Hydra's compose API calls it first."""
    global _registered
    if _registered:
        return
    for name in config_modules():
        import_module(name)
    from gan_sweeps.config.help import register_help

    register_help()
    _registered = True
