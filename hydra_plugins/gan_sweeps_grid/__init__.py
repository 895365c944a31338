"""gan-sweeps' grid sweeper for Hydra (``hydra/sweeper=grid``, gan-sweeps' default): Hydra's basic sweeper that
composes and checks every job of the grid before the first one starts. Imported by Hydra's start-up scan of
plugins, so it imports nothing but Hydra."""
