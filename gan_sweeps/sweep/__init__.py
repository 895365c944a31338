"""A sweep as a whole: its keys (``keys``: what it varies, from ``multirun.yaml``), its plan (``plan``), its jobs'
progress (``progress``) and the status command (``status``)."""
