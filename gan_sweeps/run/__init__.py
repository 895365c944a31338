"""One job: its config (``train_config``), its parts built from it (``build``), its steps (``train``: build, fit,
record), its record (``run_record``, ``timings``, ``tracking``), how a launcher runs it (``launch``) and the app's Hydra
callbacks (``hydra_callbacks``)."""
