"""gan-sweeps' Optuna sweeper for Hydra (``hydra/sweeper=optuna``): persistent studies that resume, and pruning.

Hydra imports every public module of this package at start-up to find plugins, so the public modules
(``config``, ``optuna_sweeper``, ``trial_link``) import nothing heavy; the sweep itself lives in ``_impl`` and the
modules it uses, imported only when a sweep starts."""
